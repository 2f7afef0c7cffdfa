"""Background import: a worker QObject in its own QThread with its own database connection.

The GUI only receives signals. They are connected to @Slot methods of `ImportRunner`, a QObject
living in the GUI thread, so Qt queues them into the GUI thread (a lambda would run in the worker
thread). Cancel sets a threading.Event that `ingest.import_file` polls at every progress step;
the import is one `db.atomic()` block, so a cancel leaves the store exactly as it was.

A batch with a file of OWN_PROCESS_MIN_BYTES or more is imported in a child process
(`import_process`), and the worker thread only relays its messages: in this process the import would
share the window's GIL and hold it for up to 200 ms at a time (a full garbage collection over its
rows, freeing a 100,000-row list, unpickling a parsed chunk), far over the 100 ms a window may stall
(issue 4). Batches of small files are imported in the thread: they finish before such pauses matter,
and a process costs about 0.7 s to start.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import sqlite3
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from .. import import_process
from ..ingest import ImportResult, Progress, import_file
from ..store import StoreError, checkpoint, open_db

log = logging.getLogger("enrollreview.ui")

SKIP_SUFFIXES = (".md", ".997", ".999", ".txt~")

#: a batch with a file this large is imported in a child process (about 5,000 members and up)
OWN_PROCESS_MIN_BYTES = 2_000_000


class ImportProcessCrashed(Exception):
    """The import process hit a bug or died; `details` is its traceback, or what is known."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


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
        self.child_pid: int | None = None   # the import process while one runs

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
        except ImportProcessCrashed as e:
            self.crashed.emit(e.details)
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
        started = time.perf_counter()
        befores = itertools.accumulate(sizes, initial=0)   # bytes of the files before each one
        reporters = [_Reporter(self, p.name, i, len(self.paths), before, total, started)
                     for i, (p, before) in enumerate(zip(self.paths, befores, strict=False))]
        if max(sizes, default=0) >= OWN_PROCESS_MIN_BYTES and self._import_in_child(reporters):
            return
        db = open_db(self.db_path)
        try:
            for i, path in enumerate(self.paths):
                if self._cancel.is_set():
                    self.results.append(ImportResult(path.name, "cancelled"))
                    continue
                res = import_file(db, path, is_demo=self.is_demo, progress=reporters[i], cancel=self._cancel.is_set)
                self.results.append(res)
                self.fileDone.emit(res)
                checkpoint(db)  # a small file here (large ones go to a child): milliseconds
        finally:
            db.close()

    def _import_in_child(self, reporters: list[_Reporter]) -> bool:
        """Import the batch in a child process, relaying its progress and results. False when no process
        could be started (nothing was imported; the caller imports in this thread)."""
        ctx = multiprocessing.get_context("spawn")  # never fork a threaded Qt process
        receiver, sender = ctx.Pipe(duplex=False)
        cancel = ctx.Event()
        proc = ctx.Process(target=import_process.main, name=import_process.CHILD_NAME,
                           args=(sender, str(self.db_path), [str(p) for p in self.paths], self.is_demo, cancel,
                                 os.getpid()))
        try:
            proc.start()
        except OSError as e:
            log.warning("import process unavailable (%s); importing in the window's process", type(e).__name__)
            receiver.close()
            sender.close()
            return False
        sender.close()  # the child holds the only writing end: its exit ends the pipe (EOFError)
        self.child_pid = proc.pid
        ready = False
        try:
            while True:
                if self._cancel.is_set():
                    cancel.set()
                if not receiver.poll(0.05):
                    continue
                try:
                    msg = receiver.recv()
                except EOFError:
                    break
                kind = msg[0]
                if kind == "progress":
                    reporters[msg[1]](msg[2])
                elif kind == "log":
                    logging.getLogger(msg[2]).log(msg[1], "%s", msg[3])
                elif kind == "result":
                    self.results.append(msg[2])
                    self.fileDone.emit(msg[2])
                    if len(self.results) == len(self.paths):
                        break  # the child only checkpoints the store now; no need to wait for it
                elif kind == "skipped":   # cancelled before it was started, as in _run
                    self.results.append(msg[2])
                elif kind == "ready":
                    ready = True
                elif kind == "store_error":
                    raise StoreError(msg[1])
                elif kind == "crash":
                    raise ImportProcessCrashed(msg[1])
        finally:
            if len(self.results) < len(self.paths):
                cancel.set()  # a failure here: the child rolls back and ends
                proc.join(30)
                if proc.is_alive():
                    proc.terminate()
                    proc.join(5)
            else:
                # Every file is done and committed; the child is checkpointing the store, which readers
                # and a next import do not wait for. multiprocessing reaps it (at the next start, or at exit).
                proc.join(0)
            receiver.close()
            self.child_pid = None
        if len(self.results) == len(self.paths):
            return True
        if not ready:  # it died before running any of our code: this environment cannot start one
            log.warning("import process ended at start (exit code %s); importing in the window's process",
                        proc.exitcode)
            return False
        name = self.paths[len(self.results)].name
        raise ImportProcessCrashed(f"The import process ended unexpectedly (exit code {proc.exitcode}) while "
                                   f"importing {name}. Nothing was changed by the import of that file.")


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

    def process_id(self) -> int | None:
        """The process id of the child importing the current file, if it is imported in one."""
        return self._worker.child_pid if self._worker is not None else None

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
