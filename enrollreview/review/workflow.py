"""What a clerk does to flags: status, assignment, due date, reason code, notes, corrected values.

Every function here changes the store and writes its audit rows in the same transaction, so there is
never a change without its record (nor a record of a change that did not happen). Changes to flag
columns (status, assignee, due date, reason code) are grouped into a batch, so one undo reverts a
bulk action over a whole selection. Notes and corrections are append-only: a mistake is fixed by
recording another one.

Hooks for the rules engine (issue 3): after an import it calls `on_flags_resolved(db, flag_ids,
file_id)` for flags whose condition a newer file made go away (and `on_flags_reopened` for flags that
came back). Both are idempotent; `sync_resolutions(db)` catches up on any resolution that was not
announced.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from ..phi import mask_ssn
from . import statuses as st
from .audit import os_user, record_many, utcnow, write_transaction

log = logging.getLogger("enrollreview.review")


class ReviewError(ValueError):
    """Something the clerk asked for cannot be done; str() is one line of plain words."""


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


#: "leave this unchanged" (None means "clear it")
KEEP: Any = _Keep()

_FLAG_COLS = ("status", "assigned_to", "due_date", "reason_code")
_AUDIT_ACTION = {"status": "status", "assigned_to": "assign", "due_date": "due_date",
                 "reason_code": "reason_code"}

#: fields a clerk can correct: key -> (label, members column or None)
CORRECTABLE_FIELDS: dict[str, tuple[str, str | None]] = {
    "last_name": ("Last name (NM103)", "last_name"),
    "first_name": ("First name (NM104)", "first_name"),
    "middle_name": ("Middle name (NM105)", "middle_name"),
    "ssn": ("SSN (NM109)", "ssn"),
    "dob": ("Date of birth (DMG02)", "dob"),
    "gender": ("Gender (DMG03)", "gender"),
    "address1": ("Address line 1 (N301)", "address1"),
    "address2": ("Address line 2 (N302)", "address2"),
    "city": ("City (N401)", "city"),
    "state": ("State (N402)", "state"),
    "zip": ("ZIP code (N403)", "zip"),
    "phone": ("Phone (PER04)", "phone"),
    "email": ("E-mail (PER)", "email"),
    "member_id": ("Member id (REF*17)", "member_id"),
    "subscriber_id": ("Subscriber id (REF*0F)", "subscriber_id"),
    "policy_id": ("Exchange policy id (REF*1L)", "policy_id"),
    "relationship": ("Relationship (INS02)", "ins02"),
    "maintenance_type": ("Maintenance type (INS03)", "ins03"),
    "maintenance_reason": ("Maintenance reason (INS04)", "ins04"),
    "elig_begin": ("Eligibility begin (DTP*356)", "elig_begin"),
    "elig_end": ("Eligibility end (DTP*357)", "elig_end"),
    "plan_id": ("Plan id (HD04 / REF*CE)", None),
    "coverage_begin": ("Coverage begin (DTP*348)", None),
    "coverage_end": ("Coverage end (DTP*349)", None),
    "csr_variant": ("CSR variant", None),
    "aptc": ("APTC amount (2750 APTC AMT)", None),
    "premium": ("Total premium (2750 PRE AMT TOT)", None),
    "responsible_amount": ("Total responsible amount (2750 TOT RES AMT)", None),
    "other": ("Other (describe in the source)", None),
}


def is_ssn_field(name: str | None) -> bool:
    n = (name or "").lower()
    return n == "ssn" or "ssn" in n or n in ("nm109",)


def field_label(name: str) -> str:
    return CORRECTABLE_FIELDS.get(name, (name, None))[0]


# --------------------------------------------------------------------------------------------- reads


def get_flags(db: Database, flag_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The flags, in the order asked; ReviewError naming the ids that do not exist."""
    ids = list(dict.fromkeys(int(i) for i in flag_ids))
    if not ids:
        raise ReviewError("no flag ids given")
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids, 500):
        cur = db.execute(f"SELECT * FROM flags WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        cols = [c[0] for c in cur.description]
        for values in cur:
            row = dict(zip(cols, values, strict=True))
            found[row["id"]] = row
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise ReviewError(f"no flag with id {shown} (ids as listed by `enrollreview flags`)")
    return [found[i] for i in ids]


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _member(db: Database, member_row: int | None) -> dict[str, Any] | None:
    if member_row is None:
        return None
    cur = db.execute("SELECT * FROM members WHERE id = ?", [member_row])
    values = cur.fetchone()
    if values is None:
        return None
    return dict(zip([c[0] for c in cur.description], values, strict=True))


def member_key(m: dict[str, Any] | None) -> str | None:
    """A key that finds the same member in other files when the rules have not matched persons."""
    if not m:
        return None
    if m.get("member_id"):
        return f"17:{m['member_id']}"
    if m.get("subscriber_id"):
        return f"0F:{m['subscriber_id']}:{(m.get('first_name') or '').upper()}:{m.get('dob') or ''}"
    return f"row:{m['id']}"


# -------------------------------------------------------------------------------------------- dates


def parse_due(text: str | None, today: _dt.date | None = None) -> str | None:
    """'2025-03-01', '03/01/2025', 'today', 'tomorrow', '+3' (days) -> ISO date; ''/'none' -> None."""
    if text is None:
        return None
    t = str(text).strip().lower()
    if t in ("", "none", "clear", "-"):
        return None
    today = today or _dt.date.today()
    if t == "today":
        return today.isoformat()
    if t == "tomorrow":
        return (today + _dt.timedelta(days=1)).isoformat()
    m = re.fullmatch(r"\+(\d{1,4})d?", t)
    if m:
        return (today + _dt.timedelta(days=int(m.group(1)))).isoformat()
    from ..queries import parse_date

    d = parse_date(t)
    if d is None:
        raise ReviewError(f"cannot read the due date {text!r}; write it as YYYY-MM-DD, MM/DD/YYYY, today, "
                          "tomorrow or +N (days from today)")
    return d


# --------------------------------------------------------------------------------------- the changes


@dataclass
class ReviewResult:
    flags: int
    changed: int = 0
    batch_id: int | None = None
    notes: int = 0
    audit_ids: list[int] = field(default_factory=list)


def review(db: Database, flag_ids: Sequence[int], *, status: str | None = None, note: str | None = None,
           assign: Any = KEEP, due: Any = KEEP, reason: Any = KEEP, user: str | None = None,
           action: str = "review") -> ReviewResult:
    """Apply one clerk action to one or more flags, all or nothing, audited in the same transaction.

    `status` and `reason` accept the CLI spellings; `assign` is an account name (None: unassign);
    `due` is anything `parse_due` reads (None: clear). KEEP leaves a field alone.
    """
    who = user or os_user()
    want: dict[str, Any] = {}
    if status is not None:
        try:
            want["status"] = st.normalize(status)
        except st.StatusError as e:
            raise ReviewError(str(e)) from None
    if assign is not KEEP:
        want["assigned_to"] = (str(assign).strip() or None) if assign is not None else None
    if due is not KEEP:
        want["due_date"] = parse_due(due)
    if reason is not KEEP:
        try:
            want["reason_code"] = st.normalize_reason(reason) if reason else None
        except st.StatusError as e:
            raise ReviewError(str(e)) from None
    note_text = (note or "").strip()
    if not want and not note_text:
        raise ReviewError("nothing to do: give a status, a note, an assignee, a due date or a reason code")

    with write_transaction(db):
        flags = get_flags(db, flag_ids)
        if "status" in want:
            bad = [f for f in flags if not st.can_transition(f["status"] or st.NEW, want["status"])]
            if bad:
                first = bad[0]
                try:
                    st.check_transition(first["status"] or st.NEW, want["status"])
                except st.StatusError as e:
                    ids = ", ".join(str(f["id"]) for f in bad[:10])
                    raise ReviewError(f"flag {ids}: {e}; nothing was changed") from None
        now = utcnow()
        before: dict[str, dict[str, Any]] = {}
        entries: list[tuple[str, int | None, int | None, dict[str, Any] | None]] = []
        updates: list[tuple[dict[str, Any], int]] = []
        for f in flags:
            diff = {c: v for c, v in want.items() if (f[c] or None) != v}
            if diff:
                before[str(f["id"])] = {c: f[c] for c in diff}
                updates.append((diff, f["id"]))
                for c, v in diff.items():
                    entries.append((_AUDIT_ACTION[c], f["id"], f["member_id"], {"from": f[c], "to": v}))
        batch_id = None
        if updates:
            batch_id = db.execute(
                "INSERT INTO review_batches (created_at, author, action, before, after) VALUES (?,?,?,?,?)",
                [now, who, action, json.dumps(before, separators=(",", ":")),
                 json.dumps(want, separators=(",", ":"))]).lastrowid
            for diff, fid in updates:
                sets = ", ".join(f"{c} = ?" for c in diff)
                extra = ", status_changed_at = ?" if "status" in diff else ""
                params = [*diff.values(), *([now] if "status" in diff else []), fid]
                db.execute(f"UPDATE flags SET {sets}{extra} WHERE id = ?", params)
            for e in entries:
                e[3]["batch"] = batch_id  # type: ignore[index]
        notes = 0
        if note_text:
            for f in flags:
                entries.append(_insert_note(db, note_text, f["id"], f["member_id"], f.get("person_id"), who,
                                            now))
                notes += 1
        audit_ids = record_many(db, entries, user=who)
    log.info("review by batch %s: %d flags, %d changed, %d notes", batch_id, len(flags), len(updates), notes)
    return ReviewResult(len(flags), len(updates), batch_id, notes, audit_ids)


def set_status(db: Database, flag_ids: Sequence[int], status: str, **kw: Any) -> ReviewResult:
    return review(db, flag_ids, status=status, **kw)


def assign(db: Database, flag_ids: Sequence[int], to: str | None = KEEP, **kw: Any) -> ReviewResult:
    """Assign flags to an account; to yourself when no account is given (None unassigns)."""
    who = to if to is not KEEP else (kw.get("user") or os_user())
    return review(db, flag_ids, assign=who, **kw)


def set_due(db: Database, flag_ids: Sequence[int], due: str | None, **kw: Any) -> ReviewResult:
    return review(db, flag_ids, due=due, **kw)


def set_reason(db: Database, flag_ids: Sequence[int], reason: str | None, **kw: Any) -> ReviewResult:
    return review(db, flag_ids, reason=reason, **kw)


def bulk(db: Database, flag_ids: Sequence[int], *, status: str | None = None, assign: Any = KEEP,
         user: str | None = None) -> ReviewResult:
    """A bulk action on a selection in the queue (set status and/or assign); undo with `undo()`."""
    return review(db, flag_ids, status=status, assign=assign, user=user, action="bulk")


def _insert_note(db: Database, text: str, flag_id: int | None, member_row: int | None, person_id: int | None,
                 who: str, now: str) -> tuple[str, int | None, int | None, dict[str, Any]]:
    m = _member(db, member_row)
    nid = db.execute(
        "INSERT INTO notes (flag_id, member_id, member_key, person_id, created_at, author, text) "
        "VALUES (?,?,?,?,?,?,?)",
        [flag_id, member_row, member_key(m),
         person_id if person_id is not None else (m or {}).get("person_id"), now, who, text]).lastrowid
    return ("note", flag_id, member_row, {"note": nid, "text": text})


def add_note(db: Database, text: str, *, flag_id: int | None = None, member_id: int | None = None,
             user: str | None = None) -> int:
    """A note on a flag, or on a member (members.id) when no flag is given. Returns the note id."""
    text = (text or "").strip()
    if not text:
        raise ReviewError("the note is empty")
    who = user or os_user()
    with write_transaction(db):
        person = None
        if flag_id is not None:
            f = get_flags(db, [flag_id])[0]
            member_id, person = f["member_id"], f.get("person_id")
        elif member_id is None or _member(db, member_id) is None:
            raise ReviewError(f"no member {member_id} in the store")
        entry = _insert_note(db, text, flag_id, member_id, person, who, utcnow())
        record_many(db, [entry], user=who)
        return int(entry[3]["note"])


def value_in_834(db: Database, member_row: int | None, fieldname: str) -> str | None:
    """The value the 834 carried for a correctable field, as stored at import (None if unknown)."""
    m = _member(db, member_row)
    if not m:
        return None
    col = CORRECTABLE_FIELDS.get(fieldname, (None, None))[1]
    if col:
        return m.get(col)
    cov_cols = {"plan_id": "plan_id", "coverage_begin": "begin", "coverage_end": '"end"',
                "csr_variant": "csr_variant"}
    if fieldname in cov_cols:
        r = db.execute(f"SELECT {cov_cols[fieldname]} FROM coverages WHERE member_id = ? "
                       "ORDER BY seq LIMIT 1", [member_row]).fetchone()
        return r[0] if r else None
    cat_names = {"aptc": "APTC AMT", "premium": "PRE AMT TOT", "responsible_amount": "TOT RES AMT"}
    if fieldname in cat_names:
        r = db.execute("SELECT value FROM categories WHERE member_id = ? AND upper(name) = ? "
                       "ORDER BY seq DESC LIMIT 1", [member_row, cat_names[fieldname]]).fetchone()
        return r[0] if r else None
    return None


def record_correction(db: Database, *, field: str, corrected_value: str | None, source: str,
                      flag_id: int | None = None, member_id: int | None = None, value_834: Any = KEEP,
                      mark_corrected: bool = False, user: str | None = None) -> int:
    """Record a corrected value (field, value in the 834, corrected value, source). Returns its id.

    The 834 value is looked up from the stored member unless given. With `mark_corrected` the flag's
    status becomes `corrected` in the same transaction.
    """
    fieldname = (field or "").strip()
    if not fieldname:
        raise ReviewError("say which field was corrected")
    src = (source or "").strip()
    if not src:
        raise ReviewError("say where the corrected value comes from (e.g. 'confirmed by phone with the "
                          "member', 'exchange ticket 1234')")
    who = user or os_user()
    with write_transaction(db):
        f = None
        if flag_id is not None:
            f = get_flags(db, [flag_id])[0]
            member_id = f["member_id"] if member_id is None else member_id
        m = _member(db, member_id)
        if m is None and f is None:
            raise ReviewError(f"no member {member_id} in the store")
        old = value_in_834(db, member_id, fieldname) if value_834 is KEEP else value_834
        new = None if corrected_value is None else str(corrected_value).strip()
        now = utcnow()
        cid = db.execute(
            "INSERT INTO corrections (flag_id, member_id, member_key, person_id, policy_id, file_id, field, "
            "value_834, corrected_value, source, created_at, author) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [flag_id, member_id, member_key(m), (m or {}).get("person_id") or (f or {}).get("person_id"),
             (m or {}).get("policy_id") or (f or {}).get("policy_id"),
             (m or {}).get("file_id") or (f or {}).get("file_id"), fieldname, old, new, src, now,
             who]).lastrowid
        shown_old, shown_new = (mask_ssn(old), mask_ssn(new)) if is_ssn_field(fieldname) else (old, new)
        record_many(db, [("correction", flag_id, member_id,
                          {"correction": cid, "field": fieldname, "value_834": shown_old,
                           "corrected_value": shown_new, "source": src})], user=who)
        if mark_corrected and f is not None and (f["status"] or st.NEW) != st.CORRECTED:
            review(db, [f["id"]], status=st.CORRECTED, user=who)
    log.info("correction %s recorded on flag %s member %s", cid, flag_id, member_id)
    return int(cid)


# ------------------------------------------------------------------------------------------------ undo


@dataclass
class UndoResult:
    batch_id: int
    restored: int
    skipped: list[int]  # flags changed again since the batch: left as they are


def last_batch(db: Database, user: str | None = None) -> dict[str, Any] | None:
    who = user or os_user()
    cur = db.execute("SELECT id, created_at, action, before, after FROM review_batches "
                     "WHERE undone_at IS NULL AND author = ? ORDER BY id DESC LIMIT 1", [who])
    values = cur.fetchone()
    if values is None:
        return None
    row = dict(zip([c[0] for c in cur.description], values, strict=True))
    row["count"] = len(json.loads(row["before"]))
    return row


def undo(db: Database, batch_id: int | None = None, *, user: str | None = None) -> UndoResult:
    """Revert a batch of flag changes (the user's latest by default), audited.

    A flag whose changed columns no longer hold the batch's values (someone changed it since) is left
    alone and reported in `skipped`.
    """
    who = user or os_user()
    with write_transaction(db):
        if batch_id is None:
            b = last_batch(db, who)
            if b is None:
                raise ReviewError("there is nothing to undo")
            batch_id = int(b["id"])
        row = db.execute("SELECT before, after, undone_at FROM review_batches WHERE id = ?",
                         [batch_id]).fetchone()
        if row is None:
            raise ReviewError(f"no change batch {batch_id}")
        if row[2]:
            raise ReviewError(f"change batch {batch_id} was already undone")
        before: dict[str, dict[str, Any]] = json.loads(row[0])
        after: dict[str, Any] = json.loads(row[1])
        flags = {f["id"]: f for f in get_flags(db, [int(k) for k in before])} if before else {}
        entries = []
        skipped: list[int] = []
        restored = 0
        now = utcnow()
        for key, old in before.items():
            f = flags[int(key)]
            if any((f[c] or None) != after.get(c) for c in old):
                skipped.append(f["id"])
                continue
            sets = ", ".join(f"{c} = ?" for c in old)
            extra = ", status_changed_at = ?" if "status" in old else ""
            db.execute(f"UPDATE flags SET {sets}{extra} WHERE id = ?",
                       [*old.values(), *([now] if "status" in old else []), f["id"]])
            restored_cols = {c: {"from": f[c], "to": v} for c, v in old.items()}
            entries.append(("undo", f["id"], f["member_id"], {"batch": batch_id, "restored": restored_cols}))
            restored += 1
        db.execute("UPDATE review_batches SET undone_at = ?, undone_by = ? WHERE id = ?",
                   [now, who, batch_id])
        record_many(db, entries, user=who)
    log.info("undo of batch %s: %d restored, %d skipped", batch_id, restored, len(skipped))
    return UndoResult(batch_id, restored, skipped)


# ---------------------------------------------------------------------------- hooks for the rules engine


def on_flags_resolved(db: Database, flag_ids: Iterable[int], file_id: int) -> int:
    """Record "resolved by file NAME" for flags a newer file resolved. Idempotent; returns rows written.

    Called by the rules engine inside its import transaction, after it set `resolved_at` and
    `resolved_by_file_id`.
    """
    return _file_event(db, "resolved_by_file", flag_ids, file_id)


def on_flags_reopened(db: Database, flag_ids: Iterable[int], file_id: int) -> int:
    """Record that a newer file raised a resolved flag's condition again."""
    return _file_event(db, "reopened_by_file", flag_ids, file_id)


def _file_event(db: Database, action: str, flag_ids: Iterable[int], file_id: int) -> int:
    ids = list(dict.fromkeys(int(i) for i in flag_ids))
    if not ids:
        return 0
    name_row = db.execute("SELECT name FROM files WHERE id = ?", [file_id]).fetchone()
    name = name_row[0] if name_row else f"#{file_id}"
    with write_transaction(db):
        entries = []
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            done = {r[0] for r in db.execute(
                f"SELECT flag_id FROM audit WHERE action = ? AND flag_id IN ({marks}) "
                "AND json_extract(detail, '$.file_id') = ?", [action, *chunk, file_id])}
            for fid, member, rule in db.execute(
                    f"SELECT id, member_id, rule FROM flags WHERE id IN ({marks})", list(chunk)).fetchall():
                if fid not in done:
                    entries.append((action, fid, member, {"file_id": file_id, "file": name, "rule": rule}))
        entries.sort(key=lambda e: e[1] or 0)
        record_many(db, entries)
    return len(entries)


def sync_resolutions(db: Database, file_id: int | None = None) -> int:
    """Audit every resolution the engine did not announce (safe to call after any import)."""
    cond = " AND f.resolved_by_file_id = ?" if file_id is not None else ""
    rows = db.execute(
        "SELECT f.id, f.resolved_by_file_id FROM flags f WHERE f.resolved_at IS NOT NULL "
        "AND f.resolved_by_file_id IS NOT NULL" + cond + " AND NOT EXISTS (SELECT 1 FROM audit a "
        "WHERE a.action = 'resolved_by_file' AND a.flag_id = f.id "
        "AND json_extract(a.detail, '$.file_id') = f.resolved_by_file_id)",
        [file_id] if file_id is not None else []).fetchall()
    by_file: dict[int, list[int]] = {}
    for fid, rf in rows:
        by_file.setdefault(rf, []).append(fid)
    return sum(_file_event(db, "resolved_by_file", ids, rf) for rf, ids in sorted(by_file.items()))
