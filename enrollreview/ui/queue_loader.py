"""The queue's query off the GUI thread: the ordered keys (and the first rows) of the triage queue.

On a store with 100,000 open flags `ui_queries.queue_keys` sorts and fetches every key (about 100 to
250 ms, more in members mode or sorted by name); run in the GUI thread at the end of an import it
stalled the window past issue 4's 100 ms. So `QueueModel` asks a `QueueLoader` instead:

- each query (`QueueQuery`: filter, sort, and the keys whose rows the view must get back, such as the
  selection) runs in a `QueryThread` with the loader's own read connection (the store is WAL: a reader
  never blocks the importer, nor the importer the reader); `load_queue` returns the keys, the rows of
  the first batches and where the kept keys are now (`QueueResult`), so the GUI thread only swaps them in;
- at most one query runs at a time. A newer request interrupts the running query
  (`sqlite3.Connection.interrupt`, safe from another thread) and waits for its thread to end; requests
  made meanwhile collapse into the latest. Only the latest query's result is ever delivered (`loaded`),
  so a slow stale query can never overwrite a newer filter;
- the thread emits its result to the loader, a QObject of the GUI thread, so Qt queues it into the GUI
  thread (a lambda would run in the query's thread).

`load_queue` is plain Python over a connection: the model also calls it directly, in the GUI thread,
when it must have the rows at once (the window's first load, before it is shown).
"""

from __future__ import annotations

import logging
import sqlite3
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot
from sqlite_utils import Database

from .. import ui_queries as uq
from ..store import BUSY_TIMEOUT_MS

log = logging.getLogger("enrollreview.ui")

#: rows fetched below the last kept row, so the restored screenful is there without a fetch
VIEW_MARGIN = 100

# Every query thread until it has ended, whatever becomes of its loader: a QThread destroyed while it
# runs aborts the process.
_LIVE: set[QThread] = set()


@dataclass(frozen=True)
class QueueQuery:
    """One request for the queue: what to show, and the keys whose rows must come back with it."""

    generation: int
    filter: uq.QueueFilter
    sort_key: str = "severity"
    descending: bool = False
    keep: tuple[int, ...] = ()


@dataclass
class QueueResult:
    """The queue's keys in display order, the first rows (whole batches, down past the last kept key),
    and the row of each kept key still in the queue."""

    query: QueueQuery
    keys: list[int]
    rows: list[dict[str, Any]]
    positions: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


class Stale(Exception):
    """A newer query was requested while this one ran: its result would be thrown away."""


def load_queue(db: Database, query: QueueQuery, batch: int,
               stale: Callable[[], bool] = lambda: False) -> QueueResult:
    """Run one queue query: keys, first rows and kept positions. No Qt: runs in any thread.

    `stale()` is asked between the steps; when it says so, `Stale` is raised instead of going on."""
    t0 = time.perf_counter()
    keys = uq.queue_keys(db, query.filter, query.sort_key, query.descending)
    if stale():
        raise Stale
    positions: dict[int, int] = {}
    if query.keep:
        want = set(query.keep)
        positions = {k: i for i, k in enumerate(keys) if k in want}
    need = max(positions.values(), default=-1) + 1 + VIEW_MARGIN
    first = keys[:batch * max(1, -(-need // batch))]
    found = uq.queue_rows(db, query.filter, first)
    rows = [found.get(k) or {"key": k, "missing": True} for k in first]
    return QueueResult(query, keys, rows, positions, time.perf_counter() - t0)


def store_file(db: Database) -> Path | None:
    """The file behind a connection; None for an in-memory store (no second connection can see it)."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row and row[2] else None


class _Reader:
    """The loader's read connection and the generation it wants; shared with its query threads
    (one at a time), so plain Python, no Qt."""

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


class QueryThread(QThread):
    """Runs one `QueueQuery` with the reader's connection. Signals (queued into the GUI thread, where
    the loader lives): done(QueueResult), failed(QueueQuery, str)."""

    done = Signal(object)
    failed = Signal(object, str)

    def __init__(self, reader: _Reader, query: QueueQuery, batch: int) -> None:
        super().__init__()
        self.setObjectName("queueQuery")
        self.reader, self.query, self.batch = reader, query, batch

    def _stale(self) -> bool:
        return self.query.generation != self.reader.latest

    def run(self) -> None:
        try:
            result = load_queue(self.reader.open(), self.query, self.batch, self._stale)
        except Stale:
            return
        except sqlite3.OperationalError as e:
            if self._stale():   # interrupted for a newer query
                return
            log.warning("queue query failed: %s", e)
            self.failed.emit(self.query, str(e))
            return
        except Exception:  # noqa: BLE001 - a bug: to the log and to the clerk's status text, never silently
            log.error("queue query crashed:\n%s", traceback.format_exc())
            self.failed.emit(self.query, "unexpected error, details are in the log file")
            return
        if not self._stale():
            self.done.emit(result)


class QueueLoader(QObject):
    """Lives in the GUI thread; runs the queue's queries one at a time, the latest wins.

    Signals: loaded(QueueResult) for the latest query only; failed(QueueQuery, str).
    `shutdown()` (the window closes) stops a running query and waits for its thread.
    """

    loaded = Signal(object)
    failed = Signal(object, str)

    def __init__(self, path: Path, batch: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueLoader")
        self.batch = batch
        self._reader = _Reader(path)
        self._pending: QueueQuery | None = None
        self._thread: QueryThread | None = None
        self._closed = False

    def running(self) -> bool:
        return self._thread is not None

    def request(self, query: QueueQuery) -> None:
        """Run `query` as soon as the running one (if any, now stale) has stopped."""
        if self._closed:
            return
        self._reader.latest = query.generation
        self._pending = query
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
        """No more queries: stop the running one, wait for its thread, close the connection."""
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
        query, self._pending = self._pending, None
        if query is None or self._closed:
            return
        thread = QueryThread(self._reader, query, self.batch)
        thread.done.connect(self._on_done)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        _LIVE.add(thread)
        thread.start()

    @Slot(object)
    def _on_done(self, result: QueueResult) -> None:
        if result.query.generation == self._reader.latest:
            self.loaded.emit(result)

    @Slot(object, str)
    def _on_failed(self, query: QueueQuery, text: str) -> None:
        if query.generation == self._reader.latest:
            self.failed.emit(query, text)

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
