"""Reads of the store off the GUI thread: one query at a time, in a short-lived thread, the latest wins.

On a store with 100,000 open flags some of the window's reads take 100 ms or more (the queue's sorted
keys, the per-file flag counts of the Files tab); run in the GUI thread, for instance at the end of an
import, they stalled the window past issue 4's 100 ms. A `ReadLoader` runs them instead:

- each request runs in a `ReadThread` with the loader's own read connection (`PRAGMA query_only`; the
  store is WAL: a reader never blocks the importer, nor the importer the reader). The loader's `job`
  (plain Python over a connection, no Qt) does the whole read and returns what the GUI thread swaps in;
- a request is any object with an int `generation`, which its owner raises for every new request;
- at most one request runs at a time. A newer request interrupts the running one
  (`sqlite3.Connection.interrupt`, safe from another thread) and waits for its thread to end; requests
  made meanwhile collapse into the latest. Only the latest request's result is ever delivered
  (`loaded`), so a slow stale read can never overwrite a newer one;
- the thread emits its result to the loader, a QObject of the GUI thread, so Qt queues it into the GUI
  thread (a lambda would run in the reading thread).

The owner also calls its job directly, in the GUI thread, when it must have the result at once (the
window's first load, or an in-memory store, which no second connection can see); `forget` then drops
whatever the loader still has on its way.

Used by the queue (`queue_loader.QueueLoader`), the Files tab (`files_panel`) and the open-flag count
in the status bar (`main_window`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot
from sqlite_utils import Database

from ..store import BUSY_TIMEOUT_MS

log = logging.getLogger("enrollreview.ui")

#: job(connection, request, stale) -> result; `stale()` says a newer request was made (the job may
#: raise `Stale` then instead of going on)
Job = Callable[[Database, Any, Callable[[], bool]], Any]

# Every read thread until it has ended, whatever becomes of its loader: a QThread destroyed while it
# runs aborts the process.
_LIVE: set[QThread] = set()


class Stale(Exception):
    """A newer request was made while this one ran: its result would be thrown away."""


@dataclass(frozen=True)
class Request:
    """A request with nothing to say but its generation (for a read that takes no arguments)."""

    generation: int


@dataclass
class Result:
    """What `whole` delivers: the request, the read's value and how long it took."""

    request: Request
    value: Any
    seconds: float = 0.0


def whole(read: Callable[[Database], Any]) -> Job:
    """The job for a read that takes no arguments and runs in one go: `read(db)` as a `Result`."""
    def job(db: Database, request: Request, _stale: Callable[[], bool]) -> Result:
        t0 = time.perf_counter()
        value = read(db)
        return Result(request, value, time.perf_counter() - t0)
    return job


def store_file(db: Database) -> Path | None:
    """The file behind a connection; None for an in-memory store (no second connection can see it)."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row and row[2] else None


class _Reader:
    """The loader's read connection and the generation it wants; shared with its threads (one at a
    time), so plain Python, no Qt."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: Database | None = None
        self.latest = 0

    def open(self) -> Database:
        if self.db is None:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = ON")
            self.db = Database(conn)
        return self.db

    def interrupt(self) -> None:
        db = self.db
        if db is not None:
            db.conn.interrupt()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


class ReadThread(QThread):
    """Runs one request's job with the reader's connection. Signals (queued into the GUI thread, where
    the loader lives): done(request, result), failed(request, str)."""

    done = Signal(object, object)
    failed = Signal(object, str)

    def __init__(self, reader: _Reader, job: Job, request: Any, what: str, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.reader, self.job, self.request, self.what = reader, job, request, what

    def _stale(self) -> bool:
        return self.request.generation != self.reader.latest

    def run(self) -> None:
        try:
            result = self.job(self.reader.open(), self.request, self._stale)
        except Stale:
            return
        except sqlite3.OperationalError as e:
            if self._stale():   # interrupted for a newer request
                return
            log.warning("%s failed: %s", self.what, e)
            self.failed.emit(self.request, str(e))
            return
        except Exception:  # noqa: BLE001 - a bug: to the log and to the clerk's status text, never silently
            log.error("%s crashed:\n%s", self.what, traceback.format_exc())
            self.failed.emit(self.request, "unexpected error, details are in the log file")
            return
        if not self._stale():
            self.done.emit(self.request, result)


class ReadLoader(QObject):
    """Lives in the GUI thread; runs `job` for its requests one at a time, the latest wins.

    Signals: loaded(result) for the latest request only; failed(request, str).
    `shutdown()` (the window closes) stops a running read and waits for its thread.
    """

    loaded = Signal(object)
    failed = Signal(object, str)

    def __init__(self, path: Path, job: Job, what: str, name: str, parent: QObject | None = None) -> None:
        """`job` runs every request; `what` names it in the log ("queue query"), `name` is the loader's
        object name (its threads are named `name` + "Thread")."""
        super().__init__(parent)
        self.setObjectName(name)
        self.job, self.what = job, what
        self._reader = _Reader(path)
        self._pending: Any = None
        self._thread: ReadThread | None = None
        self._closed = False

    def running(self) -> bool:
        return self._thread is not None

    def request(self, request: Any) -> None:
        """Run `request` as soon as the running one (if any, now stale) has stopped."""
        if self._closed:
            return
        self._reader.latest = request.generation
        self._pending = request
        if self._thread is None:
            self._start_pending()
        else:
            self._reader.interrupt()

    def forget(self, generation: int) -> None:
        """A newer load was done another way (at once, in the GUI thread): drop what is on its way."""
        self._reader.latest = generation
        self._pending = None
        if self._thread is not None:
            self._reader.interrupt()

    def shutdown(self) -> None:
        """No more requests: stop the running one, wait for its thread, close the connection."""
        self._closed = True
        self._pending = None
        self._reader.latest = -1
        thread = self._thread
        if thread is not None:
            self._reader.interrupt()
            thread.wait()
            self._cleanup()
        self._reader.close()

    def _start_pending(self) -> None:
        request, self._pending = self._pending, None
        if request is None or self._closed:
            return
        thread = ReadThread(self._reader, self.job, request, self.what, self.objectName() + "Thread")
        thread.done.connect(self._on_done)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        _LIVE.add(thread)
        thread.start()

    @Slot(object, object)
    def _on_done(self, request: Any, result: Any) -> None:
        if request.generation == self._reader.latest:
            self.loaded.emit(result)

    @Slot(object, str)
    def _on_failed(self, request: Any, text: str) -> None:
        if request.generation == self._reader.latest:
            self.failed.emit(request, text)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._cleanup()
        self._start_pending()

    def _cleanup(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            # `finished` is emitted just before the thread ends: wait (a moment) until it has, so that
            # dropping the last reference never destroys a running QThread.
            thread.wait()
            _LIVE.discard(thread)
