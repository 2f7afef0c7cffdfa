"""Import files in a process of their own, for the desktop app (issue 4: the window never stalls).

A large import run in a thread of the GUI process shares that process's GIL with the window, and
some of its steps keep the GIL for 50-200 ms at a time, during which the window cannot paint or
take a click: a full run of the cyclic garbage collector over the millions of row objects the
import holds, freeing a 100,000-row list at the end of a rules step, unpacking a chunk of rows from
a parser process, decoding the 36 MB file. None of these can be interrupted, so the only cure that
stays true as the import code changes is to keep the import out of the GUI process: `main` runs
`ingest.import_file` in a spawned child (with its own connection) and reports over a pipe. The
parent side is `ui.worker.ImportWorker`.

One child imports the whole batch of files (one start-up, about 0.7 s, per batch), file by file as
the worker thread would. Messages from the child, each a tuple:
    ("ready",)                      the child is up (sent before any import starts)
    ("progress", i, Progress)       for file i (0-based), as often as import_file reports
    ("log", level, name, text)      the child's log records, written to the app's log by the parent
    ("result", i, ImportResult)     file i is done (imported, rejected, duplicate or cancelled)
    ("skipped", i, ImportResult)    file i was not started: the batch was cancelled before it
and, ending the batch early:
    ("store_error", text)           the store could not be opened or was locked (StoreError, OperationalError)
    ("crash", traceback_text)       a bug
After the last result the child only checkpoints the store and ends; the parent does not wait for it
(see ui.worker.ImportWorker._import_in_child).

This module must not import PySide6 (tests/test_boundaries.py): the child never loads Qt.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import traceback
from typing import Any

CHILD_NAME = "enrollreview-import"


class _Sender:
    """conn.send from several threads of the child (the import, the executor's, logging) one at a time."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def __call__(self, *msg: Any) -> None:
        with self.lock:
            self.conn.send(msg)


class _PipeLogHandler(logging.Handler):
    """Sends the child's log records to the parent, which owns the log file (no two writers rotating it)."""

    def __init__(self, send: _Sender) -> None:
        super().__init__()
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.send("log", record.levelno, record.name, record.getMessage())
        except Exception:  # noqa: BLE001 - the parent is gone; logging must never stop the import
            self.handleError(record)


def main(conn: Any, db_path: str, paths: list[str], is_demo: bool, cancel: Any, parent_pid: int) -> None:
    """Entry point of the child process (multiprocessing, spawn). `cancel` is a multiprocessing.Event:
    once set, the current file is rolled back and the rest are reported cancelled."""
    from .parse import worker_init

    worker_init(parent_pid)  # exit if the window's process dies, like the parser processes do
    send = _Sender(conn)
    root = logging.getLogger("enrollreview")
    root.setLevel(logging.INFO)
    root.addHandler(_PipeLogHandler(send))
    root.propagate = False
    try:
        from pathlib import Path

        from .ingest import ImportResult, import_file
        from .store import StoreError, checkpoint, open_db

        send("ready")
        try:
            db = open_db(db_path)
        except (StoreError, sqlite3.OperationalError) as e:
            send("store_error", str(e))
            return
        try:
            for i, path in enumerate(paths):
                if cancel.is_set():
                    send("skipped", i, ImportResult(Path(path).name, "cancelled"))
                    continue
                res = import_file(db, path, is_demo=is_demo, progress=lambda p, i=i: send("progress", i, p),
                                  cancel=cancel.is_set)
                send("result", i, res)
                # After the result is sent: the window shows it (and, after the last file, refreshes)
                # while this process copies the write-ahead log into the store.
                checkpoint(db)
        except (StoreError, sqlite3.OperationalError) as e:
            send("store_error", str(e))
        finally:
            db.close()
    except Exception:  # noqa: BLE001 - every bug goes to the window's crash dialog
        send("crash", traceback.format_exc())
    finally:
        conn.close()
