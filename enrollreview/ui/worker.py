"""Background import: a worker QObject in its own QThread with its own database connection.

The GUI only receives signals. They are connected to @Slot methods of `ImportRunner`, a QObject
living in the GUI thread, so Qt queues them into the GUI thread (a lambda would run in the worker
thread). Cancel sets a threading.Event that `ingest.import_file` polls at every progress step;
the import is one `db.atomic()` block, so a cancel leaves the store exactly as it was.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..ingest import ImportResult, Progress, import_file
from ..store import StoreError, open_db

log = logging.getLogger("enrollreview.ui")

SKIP_SUFFIXES = (".md", ".997", ".999", ".txt~")


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given, and the files inside given folders (not hidden ones, not acknowledgements)."""
    out: list[Path] = []
    for s in paths:
        p = Path(s)
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.is_file() and not x.name.startswith(".")
                              and x.suffix.lower() not in SKIP_SUFFIXES))
        elif p.is_file():
            out.append(p)
    return out


@dataclass
class ImportProgress:
    """What the progress bar shows; computed in the worker so the GUI slot stays trivial."""

    file_name: str
    file_index: int          # 0-based
    file_count: int
    fraction: float          # all files together, 0..1
    members: int             # members read so far in this file
    members_per_second: float
    seconds_left: float | None
    phase: str               # 'reading' or 'rules'

    def text(self) -> str:
        which = f" (file {self.file_index + 1} of {self.file_count})" if self.file_count > 1 else ""
        if self.phase == "rules":
            return f"{self.file_name}{which}: {self.members:,} members read; checking the business rules\u2026"
        left = ""
        if self.seconds_left is not None:
            s = int(round(self.seconds_left))
            left = f", about {s // 60} min {s % 60:02d} s left" if s >= 60 else f", about {s} s left"
        return (f"{self.file_name}{which}: {self.members:,} members, "
                f"{self.members_per_second:,.0f} members/s{left}")


class ImportWorker(QObject):
    """Runs in the worker thread. Signals:

    progressed(ImportProgress), fileDone(ImportResult), problem(str): an expected failure in plain
    words (store locked, unreadable); crashed(str): a traceback for the crash dialog;
    done(list[ImportResult]): always emitted last.
    """

    progressed = Signal(object)
    fileDone = Signal(object)
    problem = Signal(str)
    crashed = Signal(str)
    done = Signal(object)

    def __init__(self, db_path: Path, paths: list[Path], is_demo: bool, cancel: threading.Event) -> None:
        super().__init__()
        self.db_path = db_path
        self.paths = paths
        self.is_demo = is_demo
        self._cancel = cancel
        self.results: list[ImportResult] = []

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except (StoreError, sqlite3.OperationalError) as e:
            msg = str(e)
            if "locked" in msg or "busy" in msg:
                msg = ("The store is busy: another enrollreview window or command is writing to it. "
                       "Nothing was changed by this import; try again when it has finished.")
            log.warning("import stopped: %s", type(e).__name__)
            self.problem.emit(msg)
        except Exception:  # noqa: BLE001 - every bug goes to the crash dialog, never silently
            self.crashed.emit(traceback.format_exc())
        finally:
            self.done.emit(self.results)

    def _run(self) -> None:
        sizes = []
        for p in self.paths:
            try:
                sizes.append(p.stat().st_size)
            except OSError:
                sizes.append(0)
        total = sum(sizes) or 1
        before = 0
        started = time.perf_counter()
        db = open_db(self.db_path)
        try:
            for i, path in enumerate(self.paths):
                if self._cancel.is_set():
                    self.results.append(ImportResult(path.name, "cancelled"))
                    continue
                reporter = _Reporter(self, path.name, i, len(self.paths), before, total, started)
                res = import_file(db, path, is_demo=self.is_demo, progress=reporter, cancel=self._cancel.is_set)
                before += sizes[i]
                self.results.append(res)
                self.fileDone.emit(res)
        finally:
            db.close()


class _Reporter:
    """The progress callable handed to import_file (called in the worker thread)."""

    def __init__(self, worker: ImportWorker, name: str, index: int, count: int, before: int, total: int,
                 started: float) -> None:
        self.worker, self.name, self.index, self.count = worker, name, index, count
        self.before, self.total, self.started = before, total, started

    def __call__(self, p: Progress) -> None:
        fraction = min(1.0, (self.before + p.bytes_done) / self.total)
        elapsed = time.perf_counter() - self.started
        left = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        rate = p.members / p.elapsed if p.elapsed > 0 else 0.0
        phase = "rules" if p.bytes_done >= p.bytes_total else "reading"
        self.worker.progressed.emit(ImportProgress(self.name, self.index, self.count, fraction, p.members, rate,
                                                   left, phase))


class ImportRunner(QObject):
    """Owns the import thread; lives in the GUI thread. Signals (all in the GUI thread):

    started(int): number of files; progressed(ImportProgress); fileDone(ImportResult);
    problem(str); crashed(str); finished(list[ImportResult]).
    """

    started = Signal(int)
    progressed = Signal(object)
    fileDone = Signal(object)
    problem = Signal(str)
    crashed = Signal(str)
    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: ImportWorker | None = None
        self._cancel = threading.Event()
        self.is_demo = False

    def running(self) -> bool:
        return self._thread is not None

    def start(self, db_path: Path, paths: list[Path], *, is_demo: bool = False) -> bool:
        if self._thread is not None or not paths:
            return False
        self._cancel = threading.Event()
        self.is_demo = is_demo
        thread = QThread()
        thread.setObjectName("import")
        worker = ImportWorker(db_path, paths, is_demo, self._cancel)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progress)
        worker.fileDone.connect(self._on_file_done)
        worker.problem.connect(self._on_problem)
        worker.crashed.connect(self._on_crashed)
        worker.done.connect(self._on_done)
        worker.done.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        log.info("import of %d file(s) started", len(paths))
        self.started.emit(len(paths))
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the worker to stop; the current file is rolled back, the rest are skipped."""
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the worker thread has ended (used on close)."""
        if self._thread is None:
            return True
        ok = self._thread.wait(ms)
        self._cleanup()
        return ok

    def cancel_and_wait(self, ms: int = 30_000) -> bool:
        self.cancel()
        return self.wait(ms)

    @Slot(object)
    def _on_progress(self, p: ImportProgress) -> None:
        self.progressed.emit(p)

    @Slot(object)
    def _on_file_done(self, r: ImportResult) -> None:
        log.info("import: file %s -> %s", r.file_id, r.status)
        self.fileDone.emit(r)

    @Slot(str)
    def _on_problem(self, text: str) -> None:
        self.problem.emit(text)

    @Slot(str)
    def _on_crashed(self, text: str) -> None:
        self.crashed.emit(text)

    @Slot(object)
    def _on_done(self, results: list[ImportResult]) -> None:
        self._results = results

    @Slot()
    def _on_thread_finished(self) -> None:
        results = getattr(self, "_results", [])
        self._results = []
        self._cleanup()
        self.finished.emit(results)

    def _cleanup(self) -> None:
        if self._thread is not None:
            if self._thread.isRunning():
                return
            self._thread.deleteLater()
        if self._worker is not None:
            self._worker.deleteLater()
        self._thread, self._worker = None, None
