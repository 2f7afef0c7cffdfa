"""The parser compiled to C with mypyc, used when a build of the current sources exists.

The parser (reader, walker, member builder, chunk rows) is the CPU-heavy half of an import, and the
history step (rules/history.py) the Python-heavy part of the rules. mypyc compiles these same Python
modules into C extensions: the source stays the one truth, no second language, and where nothing is
compiled the plain Python runs unchanged. Compiled, the parser executes half the instructions per
segment (`./dev bench parse_instructions`).

A build lives outside the package, in `<checkout>/.build/accel/<python tag>-<digest>/`, the digest being
SHA-256 of the compiled modules' sources. `install()` (called by `enrollreview/__init__.py`) hashes the
sources and puts a finder on `sys.meta_path` only when a finished build of exactly those sources is
there, so an edited parser file is never shadowed by a stale compiled copy: it runs as plain Python until
the next build. `./dev` builds on first use and after every change (`accel.main(["build"])`);
without a C compiler or mypyc it says so and the parser stays plain Python.

`ENROLLREVIEW_ACCEL=0` turns the compiled parser off (the parity test compares both). No Qt here.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

#: the modules compiled (no Qt; they must pass mypy, which the build runs)
MODULES = (
    "enrollreview.x12.reader",
    "enrollreview.x12.walker",
    "enrollreview.x12.model",
    "enrollreview.parse",
    "enrollreview.rules.history",
)
#: mypyc puts the code of all modules in one shared library of this name; each module is a small shim
GROUP = "enrollreview_accel"
ENV_SWITCH = "ENROLLREVIEW_ACCEL"
DIR_SWITCH = "ENROLLREVIEW_ACCEL_DIR"  # a build directory to use instead (the build's own smoke test)
DONE = "ok"  # the file a build writes last: a directory without it is an unfinished build
PLAIN = "plain Python (slower on large files)"
_MYPY_FLAGS = ("--ignore-missing-imports", "--follow-imports=silent", "--no-warn-unused-configs")

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent


def _source(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def digest(root: Path = ROOT) -> str:
    """SHA-256 (first 16 hex digits) of the compiled modules' sources under `root`, with their names."""
    h = hashlib.sha256()
    for m in MODULES:
        h.update(m.encode() + b"\0")
        h.update(_source(m, root).read_bytes())
    return h.hexdigest()[:16]


def accel_root() -> Path:
    return ROOT / ".build" / "accel"


def build_dir(dig: str | None = None) -> Path:
    """Where the build of these sources (or of `dig`) lives."""
    return accel_root() / f"{sys.implementation.cache_tag}-{dig or digest()}"


def _suffix() -> str:
    return importlib.machinery.EXTENSION_SUFFIXES[0]


def _files(lib: Path) -> dict[str, Path]:
    files = {m: lib.joinpath(*m.split(".")).with_name(m.rsplit(".", 1)[1] + _suffix()) for m in MODULES}
    files[f"{GROUP}__mypyc"] = lib / f"{GROUP}__mypyc{_suffix()}"
    return files


class _Finder:
    """Finds exactly the compiled modules (and their shared library) in one build directory. (A plain
    class: sys.meta_path needs only find_spec, and importlib.abc would add 35 ms to every start.)"""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(self, fullname: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        p = self.files.get(fullname)
        if p is None:
            return None
        return importlib.util.spec_from_file_location(fullname, p)


_finder: _Finder | None = None


def install() -> bool:
    """Use the compiled parser when a finished build of the current sources exists. Cheap (hashes about
    100 KB); returns whether it is in use. Must run before the parser modules are first imported."""
    global _finder
    if _finder is not None:
        return True
    if os.environ.get(ENV_SWITCH, "1") == "0" or getattr(sys, "frozen", False):
        return False
    try:
        lib = Path(os.environ.get(DIR_SWITCH) or build_dir())
    except OSError:  # the sources cannot be read: nothing to compare a build with
        return False
    if not (lib / DONE).is_file():
        return False
    files = _files(lib)
    if not all(p.is_file() for p in files.values()):
        return False
    if any(m in sys.modules for m in MODULES):
        return False  # too late: the plain modules are loaded already
    _finder = _Finder(files)
    sys.meta_path.insert(0, _finder)
    return True


def active() -> bool:
    """True when the parser modules in use are the compiled ones."""
    import enrollreview.x12.walker as w

    return not str(w.__file__).endswith(".py")


def describe() -> str:
    """'compiled (mypyc)' or 'plain Python (slower on large files)', for benchmarks and Help > About."""
    return "compiled (mypyc)" if active() else PLAIN


# ---------------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------------
_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
target, lib, obj, *rest = sys.argv[1:]
n = rest.index("--")
flags, paths = rest[:n], rest[n + 1:]
setup(name="enrollreview-accel", packages=[], py_modules=[],
      ext_modules=mypycify([*flags, *paths], opt_level="3", target_dir=target, group_name="{group}"),
      script_args=["build_ext", "--build-lib", lib, "--build-temp", obj])
"""

_SMOKE = """
import sys
from enrollreview import accel
from enrollreview.parse import ChunkJob, parse_chunk
from enrollreview.x12.generator import write_benchmark_file
from enrollreview.x12.reader import read_interchanges
assert accel.active(), "the compiled modules were not loaded"
path = sys.argv[1]
write_benchmark_file(path, 40)
rr = read_interchanges(open(path, "rb").read())
res = parse_chunk(ChunkJob(0, path, rr.start, len(rr.text), 1, rr.delims, True, text=rr.text))
assert res.members == 40 and not res.finding_rows, (res.members, res.finding_rows[:2])
"""


class BuildError(Exception):
    """The compiled parser could not be built; str(exc) says why in one line."""


def _compiler() -> str | None:
    import shutil
    import sysconfig

    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


def up_to_date() -> bool:
    return (build_dir() / DONE).is_file()


def build() -> Path:
    """Compile the parser modules for the current sources (unless already built); returns the build
    directory. Raises BuildError with the reason when it cannot."""
    import shutil
    import subprocess
    import tempfile
    import time

    final = build_dir()
    if (final / DONE).is_file():
        return final
    if not (ROOT / "pyproject.toml").is_file():
        raise BuildError("not a source checkout: there is nothing to compile")
    if _compiler() is None:
        raise BuildError("no C compiler (install gcc: apt-get install gcc python3-dev)")
    if importlib.util.find_spec("mypyc") is None or importlib.util.find_spec("setuptools") is None:
        raise BuildError("mypyc or setuptools is not installed (they come with the dev dependencies)")
    accel_root().mkdir(parents=True, exist_ok=True)
    for stale in accel_root().glob("building-*"):  # left by a build that was killed an hour ago or more
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix="building-", dir=accel_root()))
    try:
        lib = tmp / "lib"
        paths = [str(_source(m).relative_to(ROOT)) for m in MODULES]
        cmd = [sys.executable, "-c", _SETUP.format(group=GROUP), str(tmp / "c"), str(lib), str(tmp / "obj"),
               *_MYPY_FLAGS, "--cache-dir", str(tmp / "mypy-cache"), "--", *paths]
        env = {**os.environ, ENV_SWITCH: "0"}
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            (accel_root() / "last-build.log").write_text(out.stdout + out.stderr, encoding="utf-8")
            errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ": error:" in ln]
            why = errors[0] if errors else (out.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise BuildError(f"mypyc failed ({why}); full log in {accel_root() / 'last-build.log'}")
        (lib / DONE).write_text("built by mypyc\n", encoding="utf-8")
        smoke = subprocess.run(
            [sys.executable, "-c", _SMOKE, str(tmp / "smoke.834")], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, ENV_SWITCH: "1", DIR_SWITCH: str(lib)})
        if smoke.returncode != 0:
            (lib / DONE).unlink()
            tail = (smoke.stderr.strip().splitlines() or ["no output"])[-1]
            raise BuildError(f"the compiled parser failed its smoke test: {tail}")
        if final.exists():  # a build that did not finish (no DONE file)
            shutil.rmtree(final, ignore_errors=True)
        try:
            lib.rename(final)
        except OSError as exc:
            if not (final / DONE).is_file():  # (another ./dev finishing the same build first is fine)
                raise BuildError(f"cannot move the build into place: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in accel_root().glob(f"{sys.implementation.cache_tag}-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="enrollreview.accel", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["build"])
    ap.parse_args(argv)
    if up_to_date():
        return 0
    print("compiling the parser with mypyc (about a minute, once per change of the parser's sources)",
          file=sys.stderr, flush=True)
    try:
        where = build()
    except BuildError as exc:
        print(f"the parser stays plain Python (imports of large files are slower): {exc}", file=sys.stderr)
        return 1
    print(f"compiled parser ready: {where}", file=sys.stderr)
    return 0
