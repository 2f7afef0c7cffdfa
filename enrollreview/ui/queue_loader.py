"""The queue's query off the GUI thread: the ordered keys (and the first rows) of the triage queue.

On a store with 100,000 open flags `ui_queries.queue_keys` sorts and fetches every key (about 100 to
250 ms, more in members mode or sorted by name); run in the GUI thread at the end of an import it
stalled the window past issue 4's 100 ms. So `QueueModel` asks a `QueueLoader` instead, a
`read_loader.ReadLoader` whose job is `load_queue`:

- each query (`QueueQuery`: filter, sort, and the keys whose rows the view must get back, such as the
  selection) runs in a worker thread with the loader's own read connection; `load_queue` returns the
  keys, the rows of the first batches and where the kept keys are now (`QueueResult`), so the GUI thread
  only swaps them in;
- at most one query runs at a time, a newer request interrupts the running one, and only the latest
  query's result is ever delivered (`loaded`), so a slow stale query can never overwrite a newer filter
  (all of it `ReadLoader`'s).

`load_queue` is plain Python over a connection: the model also calls it directly, in the GUI thread,
when it must have the rows at once (the window's first load, before it is shown).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from sqlite_utils import Database

from .. import ui_queries as uq
from .read_loader import Job, ReadLoader, Stale, store_file

__all__ = ["VIEW_MARGIN", "QueueLoader", "QueueQuery", "QueueResult", "Stale", "load_queue", "store_file"]

#: rows fetched below the last kept row, so the restored screenful is there without a fetch
VIEW_MARGIN = 100


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


def _job(batch: int) -> Job:
    def job(db: Database, query: QueueQuery, stale: Callable[[], bool]) -> QueueResult:
        return load_queue(db, query, batch, stale)
    return job


class QueueLoader(ReadLoader):
    """Lives in the GUI thread; runs the queue's queries (`load_queue`) one at a time, the latest wins.

    Signals: loaded(QueueResult) for the latest query only; failed(QueueQuery, str).
    `shutdown()` (the window closes) stops a running query and waits for its thread.
    """

    def __init__(self, path: Path, batch: int, parent: QObject | None = None) -> None:
        super().__init__(path, _job(batch), "queue query", "queueLoader", parent)
        self.batch = batch
