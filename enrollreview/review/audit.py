"""The append-only, hash-chained audit trail.

Every status change, assignment, note, correction, export and SSN reveal is one row: UTC time, the
operating-system account (from the process uid, never from $USER), the action, the flag and/or
member, and what changed as canonical JSON. Triggers refuse UPDATE and DELETE. Each row's hash is
SHA-256 over the previous row's hash and the row's own content, so `verify()` finds the first row
that was edited, inserted or removed behind the app's back (with the triggers dropped by hand).
Removing only the newest rows cannot be seen from the chain alone; exports record the row count
they saw, which narrows that down.

`record()` joins the caller's transaction when there is one (so the change and its audit row commit
or roll back together) and otherwise takes the write lock itself.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

GENESIS = "0" * 64

ACTIONS = {
    "status": "Status changed",
    "assign": "Assigned",
    "due_date": "Due date set",
    "reason_code": "Reason code set",
    "note": "Note added",
    "correction": "Corrected value recorded",
    "bulk": "Bulk change",
    "undo": "Bulk change undone",
    "resolved_by_file": "Resolved by a newer file",
    "reopened_by_file": "Raised again by a newer file",
    "export": "Exported",
    "reveal_ssn": "Full SSN shown",
}


def os_user() -> str:
    """The account this process runs as, from its uid (POSIX) or its access token (Windows)."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows builds only
        return _windows_user()
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, ImportError, OSError):
        return f"uid {os.getuid()}"  # an account without a passwd entry (containers)


def _windows_user() -> str:  # pragma: no cover
    import ctypes
    from ctypes import wintypes

    secur32 = ctypes.WinDLL("secur32", use_last_error=True)
    size = wintypes.ULONG(0)
    name_sam_compatible = 2  # DOMAIN\\user, from the process token (not from %USERNAME%)
    secur32.GetUserNameExW(name_sam_compatible, None, ctypes.byref(size))
    buf = ctypes.create_unicode_buffer(size.value or 256)
    if secur32.GetUserNameExW(name_sam_compatible, buf, ctypes.byref(size)):
        return buf.value
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    n = wintypes.DWORD(257)
    buf = ctypes.create_unicode_buffer(n.value)
    if advapi32.GetUserNameW(buf, ctypes.byref(n)):
        return buf.value
    raise OSError("cannot determine the Windows account of this process")


def utcnow() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def canonical(detail: Any) -> str:
    return json.dumps(detail if detail is not None else {}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)


def row_hash(prev_hash: str, row_id: int, at: str, user: str, action: str, flag_id: int | None,
             member_id: int | None, detail: str) -> str:
    payload = json.dumps([row_id, at, user, action, flag_id, member_id, detail], separators=(",", ":"),
                         ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + payload).encode("utf-8")).hexdigest()


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """Join the caller's transaction (as a savepoint), or run one holding the write lock from the start.

    BEGIN IMMEDIATE matters for the hash chain: reading the newest row and appending the next one must
    not interleave with another process doing the same.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    conn.execute("COMMIT")


def record(db: Database, action: str, *, flag_id: int | None = None, member_id: int | None = None,
           detail: dict[str, Any] | None = None, user: str | None = None) -> int:
    """Append one audit row; returns its id. Inside the caller's transaction if there is one."""
    with write_transaction(db):
        return _append(db, action, flag_id, member_id, detail, user or os_user())


def record_many(db: Database, entries: list[tuple[str, int | None, int | None, dict[str, Any] | None]],
                *, user: str | None = None) -> list[int]:
    """Append (action, flag_id, member_id, detail) rows in one go (bulk actions, resolutions)."""
    who = user or os_user()
    with write_transaction(db):
        return [_append(db, a, f, m, d, who) for a, f, m, d in entries]


def _append(db: Database, action: str, flag_id: int | None, member_id: int | None,
            detail: dict[str, Any] | None, user: str) -> int:
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row_id = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS
    at = utcnow()
    text = canonical(detail)
    h = row_hash(prev, row_id, at, user, action, flag_id, member_id, text)
    db.execute("INSERT INTO audit (id, at, os_user, action, flag_id, member_id, detail, prev_hash, hash) "
               "VALUES (?,?,?,?,?,?,?,?,?)", [row_id, at, user, action, flag_id, member_id, text, prev, h])
    return row_id


@dataclass
class AuditProblem:
    """The first row of the audit trail that does not match the chain."""

    id: int
    reason: str
    row: dict[str, Any]

    def __str__(self) -> str:
        return f"audit row {self.id}: {self.reason}"


@dataclass
class VerifyResult:
    rows: int
    problem: AuditProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(db: Database) -> AuditProblem | None:
    """Walk the chain oldest first; return the first altered row, or None when intact."""
    return verify_all(db).problem


def verify_all(db: Database) -> VerifyResult:
    prev = GENESIS
    expected_id = 1
    n = 0
    cur = db.execute("SELECT id, at, os_user, action, flag_id, member_id, detail, prev_hash, hash "
                     "FROM audit ORDER BY id")
    cols = [c[0] for c in cur.description]
    for values in cur:
        row = dict(zip(cols, values, strict=True))
        n += 1
        if row["id"] != expected_id:
            why = (f"row {expected_id} is missing (removed)" if row["id"] > expected_id
                   else "row number out of sequence")
            return VerifyResult(n, AuditProblem(row["id"], why, row))
        if row["prev_hash"] != prev:
            why = "does not follow the previous row (a row before it was removed or replaced)"
            return VerifyResult(n, AuditProblem(row["id"], why, row))
        h = row_hash(prev, row["id"], row["at"], row["os_user"], row["action"], row["flag_id"],
                     row["member_id"], row["detail"])
        if h != row["hash"]:
            why = "its content was changed after it was written"
            return VerifyResult(n, AuditProblem(row["id"], why, row))
        prev = row["hash"]
        expected_id += 1
    return VerifyResult(n, None)


def list_rows(db: Database, *, flag_id: int | None = None, member_ids: list[int] | None = None,
              action: str | None = None, user: str | None = None, since: str | None = None,
              limit: int | None = 200, newest_first: bool = True) -> list[dict[str, Any]]:
    conds, params = [], []
    if flag_id is not None:
        conds.append("flag_id = ?")
        params.append(flag_id)
    if member_ids:
        conds.append(f"(member_id IN ({','.join('?' * len(member_ids))}))")
        params.extend(member_ids)
    if action:
        conds.append("action = ?")
        params.append(action)
    if user:
        conds.append("os_user = ?")
        params.append(user)
    if since:
        conds.append("at >= ?")
        params.append(since)
    sql = ("SELECT id, at, os_user, action, flag_id, member_id, detail FROM audit"
           + (" WHERE " + " AND ".join(conds) if conds else "")
           + f" ORDER BY id {'DESC' if newest_first else 'ASC'}" + (" LIMIT ?" if limit else ""))
    if limit:
        params.append(limit)
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    out = []
    for values in cur:
        r = dict(zip(cols, values, strict=True))
        r["detail"] = json.loads(r["detail"] or "{}")
        out.append(r)
    return out


def describe(row: dict[str, Any]) -> str:
    """One line of plain words for an audit row (what the audit view and `audit list` show)."""
    d = row.get("detail") or {}
    if isinstance(d, str):
        d = json.loads(d or "{}")
    a = row.get("action", "")
    if a == "status":
        return f"status {d.get('from')} -> {d.get('to')}"
    if a == "assign":
        return f"assigned to {d.get('to') or 'nobody'}" + (f" (was {d['from']})" if d.get("from") else "")
    if a == "due_date":
        return f"due date {d.get('to') or 'cleared'}"
    if a == "reason_code":
        return f"reason code {d.get('to') or 'cleared'}"
    if a == "note":
        return f"note: {d.get('text', '')}"
    if a == "correction":
        old, new = d.get("value_834") or "(empty)", d.get("corrected_value") or "(empty)"
        return f"{d.get('field')}: {old} -> {new} ({d.get('source')})"
    if a == "resolved_by_file":
        return f"resolved by file {d.get('file')}"
    if a == "reopened_by_file":
        return f"raised again by file {d.get('file')}"
    if a == "export":
        return (f"exported {d.get('kind')} as {d.get('format')} ({d.get('rows')} rows) to {d.get('path')}"
                + (" with full SSNs" if d.get("show_ssn") else ""))
    if a == "reveal_ssn":
        return f"full SSN shown ({d.get('where', '')})"
    if a == "bulk":
        return f"bulk change of {d.get('count')} flags: {d.get('change')} (batch {d.get('batch')})"
    if a == "undo":
        restored = d.get("restored") or {}
        what = ", ".join(f"{k} {v.get('from')} -> {v.get('to')}" for k, v in restored.items()
                         if isinstance(v, dict))
        return f"undo of batch {d.get('batch')}" + (f": {what}" if what else "")
    return ", ".join(f"{k} {v}" for k, v in d.items())
