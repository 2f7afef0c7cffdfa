"""The SQLite store: opening, schema migrations and shared queries."""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .schema import migrations

BUSY_TIMEOUT_MS = 10_000
#: helper threads SQLite may use for one large sort (an index rebuilt after a bulk insert, a GROUP BY over
#: a 100,000-member file): the rules otherwise run on one core while the other idles (about 1 s at 100k)
SORT_THREADS = min(4, os.cpu_count() or 1)


def rows(db: Database, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts keyed by column name."""
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def utcnow() -> str:
    """The timestamp format of the store: UTC, ISO 8601, whole seconds."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


class StoreError(Exception):
    """A store problem a clerk can act on (locked, unreadable, not an enrollreview database)."""


def open_db(path: str | os.PathLike[str] | None = None, *, memory: bool = False) -> Database:
    """Open (creating if needed, readable by the user only) and migrate the store."""
    if memory:
        db = Database(memory=True)
    else:
        p = Path(path) if path else None
        if p is None:
            from ..paths import db_path

            p = db_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            # Create the file 0600 before SQLite touches it: PHI is readable by this user only.
            fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        try:
            db = Database(sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False))
        except sqlite3.Error as e:
            raise StoreError(f"Cannot open the store {p}: {e}") from e
    try:
        db.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not memory:
            db.conn.execute("PRAGMA journal_mode = WAL")
            db.conn.execute("PRAGMA synchronous = NORMAL")
        db.conn.execute("PRAGMA foreign_keys = ON")
        db.conn.execute(f"PRAGMA threads = {SORT_THREADS}")
        migrations.apply(db)
    except sqlite3.DatabaseError as e:
        db.close()
        raise StoreError(f"{path} is not a usable enrollreview store ({e}).") from e
    if not memory:
        _restrict(Path(str(path) if path else "") if path else None, db)
    return db


def checkpoint(db: Database) -> None:
    """Copy the write-ahead log into the database file (PRAGMA wal_checkpoint, PASSIVE: never waits for
    or blocks readers). An import leaves this to its caller (ingest.import_file turns SQLite's automatic
    checkpoint off while it runs): a 100,000-member import writes about 170 MB of log, and copying it
    takes about a second that the clerk should not wait for before seeing the result."""
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error:
        pass  # busy or read-only: SQLite checkpoints again at a later commit or when the store closes


def _restrict(p: Path | None, db: Database) -> None:
    """Keep the database and its WAL/SHM side files readable by the user only."""
    row = db.conn.execute("PRAGMA database_list").fetchone()
    main = Path(row[2]) if row and row[2] else p
    if not main:
        return
    for suffix in ("", "-wal", "-shm"):
        f = Path(str(main) + suffix)
        if f.exists():
            try:
                os.chmod(f, 0o600)
            except OSError:
                pass
