"""The desktop installer (issue 7): spec, Inno Setup script, .desktop file, icons, --self-check, and
resources found the same way from a source checkout, an installed wheel and a frozen build.

The PyInstaller build itself is not run here (about 30 s and 140 MB): `python3 installer/build.py`.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
SPEC = INSTALLER / "enrollreview.spec"
ISS = INSTALLER / "enrollreview.iss"
DESKTOP = INSTALLER / "enrollreview.desktop"
ICONS = ROOT / "resources" / "icons"
APP_ID = "DA842B7F-6907-4B6B-A1DB-D9B40DEF5013"  # the installed base depends on it: never change
PNG_SIZES = (16, 32, 48, 64, 128, 256)
UV = ROOT / ".tools" / "bin" / "uv"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENROLLREVIEW_")}
    env.update({"ENROLLREVIEW_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"})
    return env


# -- the PyInstaller spec ---------------------------------------------------------------------------------

def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _spec_constants() -> dict[str, object]:
    """Module-level NAME = <literal> assignments of the spec."""
    out: dict[str, object] = {}
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return out


def _spec_calls(name: str) -> list[ast.Call]:
    return [n for n in ast.walk(_spec_tree())
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name]


def _kw(call: ast.Call, key: str) -> object:
    for k in call.keywords:
        if k.arg == key:
            return ast.literal_eval(k.value) if isinstance(k.value, ast.Constant) else ast.unparse(k.value)
    return None


def test_spec_references_files_that_exist():
    consts = _spec_constants()
    named = {k: consts[k] for k in ("ENTRY", "ICON", "RESOURCES", "PYPROJECT")}
    assert {k: v for k, v in named.items() if not (ROOT / str(v)).exists()} == {}
    # every repository path written as a string anywhere in the spec exists too
    literals = {n.value for n in ast.walk(_spec_tree()) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    repo_paths = {s for s in literals if re.match(r"^(installer|resources|enrollreview)/[\w./-]+$", s)}
    assert repo_paths >= {named["ENTRY"], named["ICON"]}
    assert [p for p in repo_paths if not (ROOT / p).exists()] == []


def test_spec_bundles_pyx12_maps_that_exist():
    import pyx12

    map_dir = Path(pyx12.__file__).parent / "map"
    files = _spec_constants()["PYX12_MAP_FILES"]
    assert isinstance(files, list) and files
    assert [f for f in files if not (map_dir / f).is_file()] == []


def test_spec_bundles_every_pyx12_file_an_import_opens(tmp_path):
    """The spec bundles 5 of pyx12's 45 map files; an import must open no other (traced in a fresh process)."""
    code = (
        "import sys\n"
        "opened = set()\n"
        "def hook(event, args):\n"
        "    if event == 'open' and isinstance(args[0], str) and '/pyx12/map/' in args[0].replace(chr(92), '/'):\n"
        "        opened.add(args[0].replace(chr(92), '/').rsplit('/', 1)[1])\n"
        "sys.addaudithook(hook)\n"
        "from enrollreview.ingest import import_file\n"
        "from enrollreview.paths import demo_dir\n"
        "from enrollreview.store import open_db\n"
        "db = open_db(memory=True)\n"
        "for f in sorted(demo_dir().glob('CMSFFM*')):\n"
        "    assert import_file(db, f, workers=1).ok\n"
        "print(sorted(opened))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path),
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    opened = set(ast.literal_eval(r.stdout.strip().splitlines()[-1]))
    assert opened, "the trace saw no map file at all"
    assert opened <= set(_spec_constants()["PYX12_MAP_FILES"])


def test_spec_is_one_folder_windowed_without_upx():
    exes = _spec_calls("EXE")
    assert exes, "no EXE() in the spec"
    main = next(c for c in exes if _kw(c, "name") == "NAME")
    assert _kw(main, "console") is False
    assert _kw(main, "exclude_binaries") is True  # one-folder: binaries go to COLLECT
    for call in exes + _spec_calls("COLLECT"):
        assert _kw(call, "upx") is False
    assert _kw(main, "icon") == "str(ROOT / ICON)"
    assert "version" in {k.arg for k in main.keywords}
    assert len(_spec_calls("COLLECT")) == 1
    assert _spec_constants()["NAME"] == "enrollreview"
    src = SPEC.read_text(encoding="utf-8")
    assert '(str(ROOT / RESOURCES), "resources")' in src  # where paths.resources_dir() looks when frozen
    assert '"pyx12/map"' in src


def test_spec_version_comes_from_pyproject():
    src = SPEC.read_text(encoding="utf-8")
    assert 'tomllib.loads((ROOT / PYPROJECT)' in src and '["project"]["version"]' in src


def test_build_group_pins_pyinstaller():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    group = data["dependency-groups"]["build"]
    assert any(re.match(r"^pyinstaller==\d+\.\d+(\.\d+)?$", d) for d in group), group
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "pyinstaller"' in lock


# -- the Inno Setup script --------------------------------------------------------------------------------

def _iss() -> str:
    return ISS.read_text(encoding="utf-8")


def _iss_setup() -> dict[str, str]:
    section = re.search(r"^\[Setup\]\s*$(.*?)^\[", _iss(), re.M | re.S)
    assert section
    out = {}
    for line in section.group(1).splitlines():
        if "=" in line and not line.lstrip().startswith(";"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _iss_defines() -> dict[str, str]:
    return dict(re.findall(r'^\s*#define\s+(\w+)\s+"([^"]*)"', _iss(), re.M))


def _iss_expand(value: str) -> str:
    defines = _iss_defines()
    return re.sub(r"\{#(\w+)\}", lambda m: defines.get(m.group(1), m.group(0)), value)


def _iss_paths() -> list[str]:
    """Every file the script reads: Source: entries, SetupIconFile, and #define'd bundle paths."""
    text = _iss()
    paths = [_iss_expand(p) for p in re.findall(r'^\s*Source:\s*"([^"]+)"', text, re.M)]
    paths.append(_iss_setup()["SetupIconFile"])
    paths += [v for v in _iss_defines().values() if "\\" in v]
    return paths


def test_iss_references_files_that_exist_or_the_spec_produces():
    produced_dir = "dist/" + str(_spec_constants()["NAME"])  # COLLECT(name=NAME) under --distpath dist
    for raw in _iss_paths():
        rel = (INSTALLER / raw.replace("\\", "/")).resolve().relative_to(ROOT).as_posix()
        if rel.startswith("dist/"):
            assert rel.removesuffix("/*") == produced_dir, f"{raw}: not what the spec builds"
        else:
            assert (ROOT / rel).exists(), f"{raw} does not exist"
    defines = _iss_defines()
    assert defines["AppExe"] == f"{_spec_constants()['NAME']}.exe"


def test_iss_is_per_user_with_a_stable_app_id_and_keeps_user_data():
    setup = _iss_setup()
    assert setup["AppId"] == "{{" + APP_ID + "}"
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"].startswith("{autopf}")
    assert "UninstallDisplayIcon" in setup
    text = _iss()
    assert re.search(r"^\[Icons\]\s*$\s*^Name:\s*\"\{autoprograms\}", text, re.M), "no Start-menu entry"
    assert not re.search(r"^\[UninstallDelete\]", text, re.M), "uninstall must leave the clerk's data"
    assert "{localappdata}" not in text.lower() and "{userappdata}" not in text.lower()
    assert setup["OutputDir"] == "..\\dist"


# -- the Linux .desktop file and the install script -------------------------------------------------------

def test_desktop_file_is_valid():
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str  # keys are case-sensitive
    cp.read(DESKTOP, encoding="utf-8")
    e = cp["Desktop Entry"]
    for key in ("Type", "Name", "Exec", "Icon", "Terminal", "Categories", "Comment"):
        assert e.get(key), key
    assert e["Type"] == "Application"
    assert e["Terminal"] == "false"
    assert e["Categories"].endswith(";") and "Office" in e["Categories"].split(";")
    exe = e["Exec"].split()[0]
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert exe == "enrollreview" and exe in scripts
    assert "%" not in e["Exec"], "the app takes no file arguments"
    assert e["Icon"] == "enrollreview" and "/" not in e["Icon"]  # a theme name, installed by install.sh
    assert (ICONS / f"{e['Icon']}.svg").is_file()
    assert all((ICONS / f"{e['Icon']}-{n}.png").is_file() for n in PNG_SIZES)
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_linux_install_script_installs_and_uninstalls(tmp_path):
    """install.sh against a fake unpacked tarball: files land in the user's dirs; uninstall keeps the data."""
    if sys.platform != "linux":
        pytest.skip("Linux only")
    pkg = tmp_path / "enrollreview-0.1.0"
    (pkg / "_internal" / "resources").mkdir(parents=True)
    shutil.copytree(ICONS, pkg / "_internal" / "resources" / "icons")
    exe = pkg / "enrollreview"
    exe.write_text("#!/bin/sh\necho \"enrollreview self-check passed: fake\"\n")
    exe.chmod(0o755)
    shutil.copy(INSTALLER / "install-linux.sh", pkg / "install.sh")
    shutil.copy(DESKTOP, pkg / "enrollreview.desktop")
    home = tmp_path / "home"
    data = home / ".local" / "share" / "enrollreview"
    data.mkdir(parents=True)
    (data / "enrollreview.sqlite").write_text("the clerk's store")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    r = subprocess.run(["sh", str(pkg / "install.sh")], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    dest = home / ".local" / "opt" / "enrollreview"
    assert (dest / "enrollreview").is_file()
    assert os.readlink(home / ".local" / "bin" / "enrollreview") == str(dest / "enrollreview")
    desktop = (home / ".local" / "share" / "applications" / "enrollreview.desktop").read_text()
    assert f"Exec={dest}/enrollreview\n" in desktop
    assert (home / ".local/share/icons/hicolor/48x48/apps/enrollreview.png").is_file()
    assert (home / ".local/share/icons/hicolor/scalable/apps/enrollreview.svg").is_file()
    r = subprocess.run(["sh", str(pkg / "install.sh"), "--uninstall"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not dest.exists() and not (home / ".local" / "bin" / "enrollreview").exists()
    assert not (home / ".local/share/applications/enrollreview.desktop").exists()
    assert (data / "enrollreview.sqlite").read_text() == "the clerk's store"


# -- the icon ---------------------------------------------------------------------------------------------

def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_icon_files():
    ET.parse(ICONS / "enrollreview.svg")  # well-formed
    for n in PNG_SIZES:
        assert _png_size(ICONS / f"enrollreview-{n}.png") == (n, n)
    data = (ICONS / "enrollreview.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _c, _r, _planes, bpp, length, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i:22 + 16 * i])
        assert bpp == 32 and offset + length <= len(data)
        sizes.append(w or 256)
    assert {16, 32, 48, 256} <= set(sizes) and min(sizes) == 16 and max(sizes) == 256


# -- --self-check -----------------------------------------------------------------------------------------

def test_self_check_passes_from_the_source_checkout(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "enrollreview", "--self-check"], capture_output=True, text=True,
                       env=_env(home), timeout=180, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("enrollreview self-check passed:"), r.stdout
    assert "(source checkout)" in lines[0] and " members" in lines[0] and " flags" in lines[0]
    assert "worker processes work" in lines[0] and "main window opened" in lines[0]
    assert list(home.iterdir()) == [], "the self-check wrote into the user's data directory"
    assert time.perf_counter() - t0 < 60


def test_self_check_takes_no_other_arguments(capsys):
    from enrollreview.cli import main

    assert main(["--self-check", "files"]) == 2
    assert "--self-check takes no other" in capsys.readouterr().err


def test_self_check_fails_loudly_without_demo_files(monkeypatch, tmp_path):
    from enrollreview import selfcheck

    monkeypatch.setattr(selfcheck, "demo_dir", lambda: tmp_path / "nowhere")
    lines: list[str] = []
    assert selfcheck.run_self_check(lines.append) == 1
    assert lines == [f"enrollreview self-check FAILED: resources: the demo folder is missing (looked in "
                     f"{tmp_path / 'nowhere'})"]


def test_self_check_fails_when_worker_processes_cannot_run(monkeypatch):
    from enrollreview import ingest, selfcheck

    def broken(*_a, **_k):
        raise ingest._PoolFailed("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(ingest, "_run_parallel", broken)
    monkeypatch.setattr(selfcheck, "_qt_present", lambda: False)
    lines: list[str] = []
    assert selfcheck.run_self_check(lines.append) == 1
    assert len(lines) == 1 and "FAILED: worker processes: parallel parse unavailable" in lines[0]


def test_self_check_restores_the_environment(monkeypatch):
    from enrollreview import selfcheck

    monkeypatch.setenv("ENROLLREVIEW_DB", "/somewhere/real.sqlite")
    monkeypatch.setattr(selfcheck, "_qt_present", lambda: False)
    home_before = os.environ["ENROLLREVIEW_HOME"]
    lines: list[str] = []
    assert selfcheck.run_self_check(lines.append) == 0, lines
    assert os.environ["ENROLLREVIEW_DB"] == "/somewhere/real.sqlite"
    assert os.environ["ENROLLREVIEW_HOME"] == home_before
    assert "Qt: not installed" in lines[0]


# -- resources: source checkout, installed wheel, frozen build -------------------------------------------

DEMO_FILES = sorted(p.name for p in (ROOT / "resources" / "demo").iterdir())


def test_resources_from_the_source_checkout():
    from enrollreview import about, paths

    assert paths.resources_dir() == ROOT / "resources"
    assert sorted(p.name for p in paths.demo_dir().iterdir()) == DEMO_FILES
    assert about.install_kind() == "source checkout"
    assert about.version_info()["build"] == "source checkout"


def test_resources_from_a_frozen_build(monkeypatch, tmp_path):
    """PyInstaller sets sys._MEIPASS to the bundle's _internal/; the spec puts resources/ there."""
    from enrollreview import about, paths

    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "build_info.json").write_text(json.dumps(
        {"version": "0.1.0", "built_at": "2026-03-02T06:00:00Z", "commit": "abc1234", "platform": "Windows AMD64"}))
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert paths.resources_dir() == tmp_path / "resources"
    assert paths.demo_dir() == tmp_path / "resources" / "demo"
    info = about.version_info()
    assert about.install_kind() == "frozen"
    assert info["build"] == "2026-03-02T06:00:00Z on Windows AMD64" and info["commit"] == "abc1234"


@pytest.mark.slow
def test_resources_from_an_installed_wheel(tmp_path):
    """Build the wheel, install it (no deps) into a fresh venv, and ask it where its resources are.

    About 3 s with uv (wheel build ~1.5 s, venv + install ~0.5 s); pip is the fallback (~10 s)."""
    wheels = tmp_path / "wheels"
    if UV.exists():
        build = [str(UV), "build", "--wheel", "--out-dir", str(wheels), "--quiet", str(ROOT)]
    else:
        build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), "-q", str(ROOT)]
    r = subprocess.run(build, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if r.returncode != 0 and "Failed to fetch" in r.stderr + r.stdout:
        pytest.skip("no package index reachable to get the build backend")
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = wheels.glob("enrollreview-*.whl")
    venv = tmp_path / "venv"
    if UV.exists():
        subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
        py = venv / "bin" / "python"
        subprocess.run([str(UV), "pip", "install", "--quiet", "--no-deps", "--python", str(py), str(whl)],
                       check=True, timeout=120)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(whl)], check=True, timeout=300)
    # the wheel's own dependencies (platformdirs, sqlite-utils, ...) come from this environment, placed
    # AFTER the venv's site-packages so the installed wheel, not the checkout, provides enrollreview
    deps = sysconfig.get_paths()["purelib"]
    code = (
        f"import sys; sys.path.append({deps!r})\n"
        "import json, enrollreview, enrollreview.paths as p, enrollreview.about as a\n"
        "print(json.dumps({'pkg': enrollreview.__file__, 'res': str(p.resources_dir()),\n"
        "    'demo': sorted(x.name for x in p.demo_dir().iterdir()), 'kind': a.install_kind(),\n"
        "    'icon': (p.resources_dir() / 'icons' / 'enrollreview.ico').is_file()}))\n"
    )
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                       env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert Path(got["pkg"]).is_relative_to(venv), got["pkg"]
    assert Path(got["res"]) == Path(got["pkg"]).parent / "_resources"
    assert got["demo"] == DEMO_FILES
    assert got["kind"] == "wheel" and got["icon"] is True


# -- version information for Help > About ----------------------------------------------------------------

def test_version_info_never_loads_qt(tmp_path):
    code = (
        "import sys, json\n"
        "from enrollreview.about import version_info, version_text\n"
        "info = version_info(); text = version_text(info)\n"
        "print(json.dumps({'info': info, 'qt_loaded': any(m.startswith('PySide6') for m in sys.modules)}))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    info = out["info"]
    assert out["qt_loaded"] is False
    from enrollreview import __version__

    assert info["version"] == __version__
    for key in ("build", "python", "pyx12", "sqlite-utils", "sqlite"):
        assert info[key] and info[key] != "unknown", key
    assert "qt" not in info  # the Qt runtime version is asked only once the GUI has loaded QtCore
    assert info.get("pyside6"), "PySide6 is installed here, so its version is reported"


def test_version_info_reports_the_running_qt(qapp):
    from PySide6.QtCore import qVersion

    from enrollreview.about import version_info, version_text

    info = version_info()
    assert info["qt"] == qVersion()
    assert f"Qt: {qVersion()}" in version_text(info)


def test_installer_readme_explains_both_platforms():
    text = (INSTALLER / "README.md").read_text(encoding="utf-8")
    for needle in ("installer/build.py", "enrollreview-<version>-linux-x86_64.tar.gz", "Inno Setup",
                   "windows-x64-setup.exe", "--self-check", "install.sh", "%LOCALAPPDATA%"):
        assert needle in text, needle
