"""`enrollreview --self-check`: prove that this installation works, without a display (issue 7).

The installer build runs it on the frozen executable; a clerk's help desk can run it too. It opens a
store in a temporary directory (the environment points ENROLLREVIEW_HOME and ENROLLREVIEW_DB there for
the duration, so the user's real store and logs are never touched), imports the first bundled demo
file, counts the flags the rules raised, imports the same file again through the worker-process
parser (which a frozen build breaks without multiprocessing support), and, when PySide6 is present,
opens the main window on the offscreen platform. It prints one line and returns 0, or prints one
line naming the failed step and returns 1.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .paths import ENV_DB, ENV_HOME, demo_dir, resources_dir

APP_ICON = "icons/enrollreview.svg"


class CheckFailed(Exception):
    """One step failed; str(exc) says which and why."""


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.WARNING]


@contextmanager
def _temporary_home() -> Iterator[Path]:
    saved = {k: os.environ.get(k) for k in (ENV_HOME, ENV_DB)}
    with tempfile.TemporaryDirectory(prefix="enrollreview-selfcheck-") as tmp:
        home = Path(tmp)
        os.environ[ENV_HOME] = str(home)
        os.environ[ENV_DB] = str(home / "selfcheck.sqlite")
        try:
            yield home
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _demo_file() -> Path:
    d = demo_dir()
    if not d.is_dir():
        raise CheckFailed(f"resources: the demo folder is missing (looked in {d})")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() != ".md")
    if not files:
        raise CheckFailed(f"resources: no demo 834 file in {d}")
    icon = resources_dir() / APP_ICON
    if not icon.is_file():
        raise CheckFailed(f"resources: the application icon is missing ({icon})")
    return files[0]


def _import(home: Path, name: str, demo: Path, workers: int) -> tuple[int, int, int, int]:
    """Import `demo` into a new store; (members, transactions, findings, flags in the store)."""
    from .ingest import import_file
    from .store import open_db

    db = open_db(home / name)
    try:
        res = import_file(db, demo, is_demo=True, workers=workers)
        if not res.ok:
            raise CheckFailed(f"import ({workers} worker{'s' if workers > 1 else ''}): {res.summary()}")
        if res.members <= 0:
            raise CheckFailed(f"import: {demo.name} gave no members")
        flags = int(db.execute("SELECT COUNT(*) FROM flags").fetchone()[0])
        return res.members, res.transactions, res.findings, flags
    finally:
        db.close()


def _rules_engine_present() -> bool:
    try:
        return importlib.util.find_spec("enrollreview.rules.engine") is not None
    except (ImportError, ValueError):
        return False


def _qt_present() -> bool:
    try:
        return importlib.util.find_spec("PySide6") is not None
    except (ImportError, ValueError):
        return False


def run_checks(home: Path, capture: _Capture) -> str:
    from .about import install_kind, version_info

    info = version_info()
    kind = install_kind()
    demo = _demo_file()

    members, txns, findings, flags = _import(home, "selfcheck.sqlite", demo, workers=1)
    rules = _rules_engine_present()
    if rules and flags == 0:
        raise CheckFailed(f"rules: the rules engine raised no flag on {demo.name}, which has planted problems")

    # The worker-process parser (used for large files): in a frozen build this needs freeze_support.
    parallel = _import(home, "selfcheck-parallel.sqlite", demo, workers=2)
    fell_back = [m for m in capture.warnings() if "parallel parse unavailable" in m]
    if fell_back:
        raise CheckFailed(f"worker processes: {fell_back[0]}")
    # Only what proves the workers ran this installation's parser; whether both parses agree finding
    # for finding is the parser's own business (tests/test_parallel_ingest.py).
    if parallel[:2] != (members, txns):
        raise CheckFailed(f"worker processes: the parallel import read {parallel[0]} members in {parallel[1]} "
                          f"transactions, the serial one {members} in {txns}")

    qt = "Qt: not installed"
    if _qt_present():
        from .ui import selfcheck_qt  # the only Qt in the self-check lives in the ui package

        try:
            qt = selfcheck_qt.check(home / "selfcheck.sqlite", home)
        except CheckFailed:
            raise
        except Exception as e:  # the GUI is broken: say how, in one line
            raise CheckFailed(f"Qt: {type(e).__name__}: {e}") from e

    built = f", built {info['build']}" if kind == "frozen" else ""
    return (f"enrollreview {info['version']} ({kind}{built}): imported {demo.name}: {members} members, "
            f"{txns} transactions, {findings} syntax findings, {flags} flags"
            f"{'' if rules else ' (rules engine not built)'}; worker processes work; {qt}")


def run_self_check(out: Callable[[str], None] | None = None) -> int:
    """Run every check in a throw-away home; print one line; 0 when all passed, 1 otherwise."""
    say = out or (lambda line: print(line, flush=True))
    fail = out or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.perf_counter()
    capture = _Capture()
    logger = logging.getLogger("enrollreview")
    old_level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        with _temporary_home() as home:
            line = run_checks(home, capture)
    except CheckFailed as e:
        fail(f"enrollreview self-check FAILED: {e}")
        return 1
    except Exception as e:  # anything else is a failure too, never a traceback
        fail(f"enrollreview self-check FAILED: unexpected {type(e).__name__}: {e}")
        return 1
    finally:
        logger.removeHandler(capture)
        logger.setLevel(old_level)
    say(f"enrollreview self-check passed: {line} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(run_self_check())
