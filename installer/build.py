"""Build the enrollreview desktop bundle and smoke-test it (issue 7). Linux and Windows.

    python3 installer/build.py            (Windows: py -3.11 installer\\build.py)

1. Installs the build environment build/venv from uv.lock with the `build` dependency group
   (PyInstaller pinned in pyproject.toml), through uv (.tools/, set up as ./dev does if missing).
2. Runs PyInstaller on installer/enrollreview.spec: dist/enrollreview/ (one folder, windowed).
3. Packs it: Linux  -> dist/enrollreview-<version>-linux-<machine>.tar.gz (with install.sh and the
                       .desktop file);
             Windows -> dist/enrollreview-<version>-windows-x64-setup.exe through Inno Setup's ISCC
                       when it is installed (--no-installer skips, --require-installer insists).
4. Runs the built executable (on Linux: the copy unpacked from the tarball) with --self-check under
   QT_QPA_PLATFORM=offscreen in a throw-away ENROLLREVIEW_HOME and compares its counts with the source
   checkout's self-check. Any failure stops the build with exit status 1 and says why.
5. Prints build time, bundle size and start-up time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
SPEC = INSTALLER / "enrollreview.spec"
ISS = INSTALLER / "enrollreview.iss"
BUILD = ROOT / "build"
DIST = ROOT / "dist"
VENV = BUILD / "venv"
IS_WINDOWS = sys.platform == "win32"
NAME = "enrollreview"
SELF_CHECK_TIMEOUT = 180


class BuildError(Exception):
    pass


def say(msg: str) -> None:
    print(f"build: {msg}", flush=True)


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def run(cmd: list[str | os.PathLike[str]], *, env: dict[str, str] | None = None, log: Path | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(c) for c in cmd]
    r = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(r.stdout + r.stderr, encoding="utf-8")
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-25:])
        raise BuildError(f"`{' '.join(args)}` failed with exit status {r.returncode}:\n{tail}"
                         + (f"\n(full output in {log})" if log else ""))
    return r


# -- 1. build environment -------------------------------------------------------------------------------

def uv_version() -> str:
    m = re.search(r"^UV_VERSION=(\S+)", (ROOT / "dev").read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else "0.13.9"


def find_uv() -> Path:
    """The project's private uv (as ./dev installs it), installed on first use."""
    tools = ROOT / ".tools"
    for cand in (tools / "bin" / "uv", tools / "Scripts" / "uv.exe"):
        if cand.exists():
            return cand
    say(f"installing uv {uv_version()} into .tools/")
    run([sys.executable, "-m", "venv", tools])
    py = tools / ("Scripts/python.exe" if IS_WINDOWS else "bin/python")
    run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"uv=={uv_version()}"])
    for cand in (tools / "bin" / "uv", tools / "Scripts" / "uv.exe"):
        if cand.exists():
            return cand
    raise BuildError("uv did not install into .tools/")


def venv_bin(name: str) -> Path:
    return VENV / ("Scripts" if IS_WINDOWS else "bin") / (name + (".exe" if IS_WINDOWS else ""))


def sync_build_env(python: str | None) -> None:
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV), "UV_PYTHON": python or sys.executable}
    run([find_uv(), "sync", "--locked", "--no-dev", "--group", "build", "--quiet"], env=env,
        log=BUILD / "uv-sync.log")


def debian_package(soname: str) -> str:
    """libxcb-cursor.so.0 -> libxcb-cursor0, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (Debian's rule)."""
    base, _, major = soname.partition(".so.")
    base = base.lower()
    return f"{base}{'-' if base[-1:].isdigit() else ''}{major.split('.')[0]}"


def ensure_xcb_libs() -> None:
    """Linux: the X11 libraries Qt's xcb platform plugin links against must be on the build machine, so
    that PyInstaller copies them into the bundle (many desktops lack libxcb-cursor0, which Qt >= 6.5
    needs). Installed here when running as root with apt-get, as ./dev does for Qt's other libraries."""
    if not sys.platform.startswith("linux") or not shutil.which("ldd"):
        return
    qt = next((VENV / "lib").glob("python3*/site-packages/PySide6/Qt"), None)
    if qt is None:
        raise BuildError("PySide6 is missing from build/venv")
    targets = [*qt.glob("plugins/platforms/libqxcb.so"), *qt.glob("lib/libQt6XcbQpa.so*"),
               *qt.glob("plugins/xcbglintegrations/*.so")]
    missing: set[str] = set()
    for t in targets:
        out = subprocess.run(["ldd", str(t)], capture_output=True, text=True).stdout
        missing |= set(re.findall(r"^\s*(\S+) => not found", out, re.M))
    if not missing:
        return
    pkgs = sorted({debian_package(m) for m in missing})
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing the X11 libraries Qt's xcb plugin needs (bundled into the app): {' '.join(pkgs)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        r = subprocess.run(["apt-get", "install", "-y", "-qq", *pkgs], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            r = subprocess.run(["apt-get", "install", "-y", "-qq", *pkgs], env=env, capture_output=True, text=True)
        if r.returncode == 0:
            return
    raise BuildError(f"Qt's xcb platform plugin needs {', '.join(sorted(missing))} on the build machine (to bundle "
                     f"them); install them with:  sudo apt-get install {' '.join(pkgs)}")


# -- 2. PyInstaller ---------------------------------------------------------------------------------------

def pyinstaller() -> Path:
    bundle = DIST / NAME
    run([venv_bin("pyinstaller"), "--noconfirm", "--clean", "--log-level", "WARN", "--distpath", DIST,
         "--workpath", BUILD / "pyinstaller", SPEC], log=BUILD / "pyinstaller.log")
    exe = bundle / (NAME + (".exe" if IS_WINDOWS else ""))
    if not exe.is_file():
        raise BuildError(f"PyInstaller finished but {exe} is missing")
    return bundle


# -- 3. packages ------------------------------------------------------------------------------------------

def machine() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def linux_tarball(bundle: Path, ver: str) -> Path:
    """dist/enrollreview-<v>-linux-<machine>.tar.gz: enrollreview-<v>/ = bundle + install.sh + .desktop."""
    out = DIST / f"{NAME}-{ver}-linux-{machine()}.tar.gz"
    top = f"{NAME}-{ver}"
    extras = {INSTALLER / "install-linux.sh": "install.sh", INSTALLER / "enrollreview.desktop": "enrollreview.desktop"}

    def normalise(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    tmp = out.with_suffix(".partial")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=top, filter=normalise)
        for src, name in extras.items():
            ti = normalise(tar.gettarinfo(str(src), arcname=f"{top}/{name}"))
            ti.mode = 0o755 if name.endswith(".sh") else 0o644
            with open(src, "rb") as f:
                tar.addfile(ti, f)
    tmp.replace(out)
    return out


def find_iscc() -> Path | None:
    """Inno Setup 6's compiler: on PATH, or where its installer puts it (per user or machine-wide)."""
    found = shutil.which("ISCC")
    if found:
        return Path(found)
    places = [(os.environ.get("LOCALAPPDATA"), "Programs"), (os.environ.get("ProgramFiles(x86)"), ""),
              (os.environ.get("ProgramFiles"), "")]
    for base, sub in places:
        if base:
            cand = Path(base) / sub / "Inno Setup 6" / "ISCC.exe"
            if cand.is_file():
                return cand
    return None


def windows_installer(ver: str, required: bool) -> Path | None:
    iscc = find_iscc()
    if iscc is None:
        msg = ("Inno Setup 6 (ISCC.exe) not found, so no setup.exe was made; install it with "
               "`winget install JRSoftware.InnoSetup` and run this again")
        if required:
            raise BuildError(msg)
        say(msg)
        return None
    run([iscc, "/Q", f"/DAppVersion={ver}", ISS], log=BUILD / "iscc.log")
    out = DIST / f"{NAME}-{ver}-windows-x64-setup.exe"
    if not out.is_file():
        raise BuildError(f"ISCC finished but {out} is missing")
    return out


# -- 4. smoke test ----------------------------------------------------------------------------------------

def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLLREVIEW_", "PYTHON"))}
    env.update({"QT_QPA_PLATFORM": "offscreen", "ENROLLREVIEW_HOME": str(home)})
    return env


def self_check(cmd: list[str | os.PathLike[str]], what: str) -> str:
    with tempfile.TemporaryDirectory(prefix="enrollreview-build-home-") as tmp:
        try:
            r = subprocess.run([str(c) for c in cmd] + ["--self-check"], env=clean_env(Path(tmp)),
                               capture_output=True, text=True, timeout=SELF_CHECK_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BuildError(f"SELF-CHECK OF {what} HUNG (no answer in {SELF_CHECK_TIMEOUT} s)") from None
        except OSError as e:
            raise BuildError(f"SELF-CHECK OF {what} COULD NOT START: {e}") from None
        out = (r.stdout + r.stderr).strip()
        # a windowed Windows exe may have no stdout at all: there the exit status alone counts
        silent_ok = IS_WINDOWS and not r.stdout.strip()
        if r.returncode != 0 or ("self-check passed" not in r.stdout and not silent_ok):
            raise BuildError(f"SELF-CHECK OF {what} FAILED (exit status {r.returncode}):\n{out or '(no output)'}")
        leftovers = [p.name for p in Path(tmp).iterdir()]
        if leftovers:
            raise BuildError(f"the self-check of {what} wrote into ENROLLREVIEW_HOME: {leftovers}")
        return r.stdout.strip()


def counts(line: str) -> str:
    m = re.search(r"imported .*?flags", line)
    return m.group(0) if m else line


def smoke_test(exe_dir: Path) -> str:
    exe = exe_dir / (NAME + (".exe" if IS_WINDOWS else ""))
    line = self_check([exe], str(exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe))
    if IS_WINDOWS:  # the windowed exe gave the exit status; its console twin prints the line
        line = self_check([exe_dir / f"{NAME}-cli.exe"], f"{NAME}-cli.exe")
    source = self_check([venv_bin("python"), "-m", NAME], "the source checkout")
    if counts(line) != counts(source):
        raise BuildError(f"the frozen build and the source checkout disagree:\n  frozen: {line}\n  source: {source}")
    return line


# -- 5. measurements --------------------------------------------------------------------------------------

def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


#: log lines the GUI writes on its first start (empty store), in order: what each one marks
GUI_MARKERS = {
    "window opening": "window being built",
    "import of": "window shown (first-start demo import begins)",
}


def startup_times(exe_dir: Path, runs: int = 3) -> dict[str, float | None]:
    """Median seconds to `--version`, and from launching the GUI (empty store) to each GUI_MARKERS line."""
    cli = exe_dir / (NAME + ("-cli.exe" if IS_WINDOWS else ""))
    gui = exe_dir / (NAME + (".exe" if IS_WINDOWS else ""))
    seen: dict[str, list[float]] = {"--version": [], **{m: [] for m in GUI_MARKERS}}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([str(cli), "--version"], env=clean_env(Path(tmp)), capture_output=True, timeout=60)
            seen["--version"].append(time.perf_counter() - t0)
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "logs" / "enrollreview.log"
            t0 = time.perf_counter()
            proc = subprocess.Popen([str(gui), "gui"], env=clean_env(Path(tmp)),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pending = list(GUI_MARKERS)
            try:
                while pending and time.perf_counter() - t0 < 60 and proc.poll() is None:
                    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
                    now = time.perf_counter() - t0
                    for m in [m for m in pending if m in text]:
                        seen[m].append(now)
                        pending.remove(m)
                    time.sleep(0.01)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return {k: (statistics.median(v) if v else None) for k, v in seen.items()}


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", help="interpreter for the build environment (default: this one)")
    ap.add_argument("--no-installer", action="store_true", help="Windows: do not run Inno Setup")
    ap.add_argument("--require-installer", action="store_true", help="Windows: fail when Inno Setup is missing")
    ap.add_argument("--no-timing", action="store_true", help="skip the start-up measurements")
    args = ap.parse_args(argv)
    ver = version()
    started = time.perf_counter()
    try:
        say(f"enrollreview {ver} on {platform.system()} {machine()}, Python {platform.python_version()}")
        say("build environment: build/venv from uv.lock (group 'build')")
        sync_build_env(args.python)
        ensure_xcb_libs()
        say("PyInstaller: installer/enrollreview.spec -> dist/enrollreview/")
        t0 = time.perf_counter()
        bundle = pyinstaller()
        pyi_seconds = time.perf_counter() - t0
        package: Path | None = None
        with tempfile.TemporaryDirectory(prefix="enrollreview-unpacked-") as unpacked:
            if IS_WINDOWS:
                if not args.no_installer:
                    say("Inno Setup: installer/enrollreview.iss")
                    package = windows_installer(ver, args.require_installer)
                test_dir = bundle
            else:
                say("tarball")
                package = linux_tarball(bundle, ver)
                with tarfile.open(package) as tar:
                    if hasattr(tarfile, "tar_filter"):
                        tar.extractall(unpacked, filter="tar")
                    else:  # Python before 3.11.4; our own archive
                        tar.extractall(unpacked)  # noqa: S202
                test_dir = Path(unpacked) / f"{NAME}-{ver}"
            build_seconds = time.perf_counter() - started
            say(f"self-check of the {'unpacked tarball' if not IS_WINDOWS else 'bundle'} (QT_QPA_PLATFORM=offscreen)")
            line = smoke_test(test_dir)
            timing = None if args.no_timing else startup_times(test_dir)
    except BuildError as e:
        print(f"\nBUILD FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    size = dir_size(bundle)
    print()
    say(f"self-check: {line}")
    say(f"build time: {build_seconds:.0f} s (PyInstaller {pyi_seconds:.0f} s), total with checks "
        f"{time.perf_counter() - started:.0f} s")
    say(f"bundle: dist/{NAME}/ {mib(size)} in {sum(1 for _ in bundle.rglob('*'))} files")
    if package is not None:
        say(f"package: {package.relative_to(ROOT)} {mib(package.stat().st_size)}")
    if timing is not None:
        say("start-up of the frozen app (median of 3 runs):")
        for key, secs in timing.items():
            label = f"`{NAME} --version`" if key == "--version" else f"GUI launch -> {GUI_MARKERS[key]}"
            say(f"  {label}: " + (f"{secs:.2f} s" if secs is not None else "not measured (no such log line)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
