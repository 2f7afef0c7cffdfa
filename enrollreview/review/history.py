"""Read side of the clerk workflow: a member's flags, notes, corrections and status across files.

A member is found in every file it appears in through `person_id` (filled by the rules' history)
and the member id REF*17; the fallback key (subscriber id + first name + date of birth) covers
dependants sent without REF*17 before the rules have matched persons.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from ..phi import mask_ssn
from ..store import rows as _rows
from . import statuses as st
from .workflow import _member, field_label, is_ssn_field, member_key


def rollup_sql(alias: str = "f") -> str:
    """A SQL aggregate giving the rolled-up status of the (open) flags in a GROUP BY (see statuses.rollup)."""
    whens = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(st.ROLLUP_ORDER))
    back = " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(st.ROLLUP_ORDER))
    return (f"CASE MIN(CASE COALESCE({alias}.status, 'new') {whens} ELSE {len(st.ROLLUP_ORDER)} END) {back} "
            f"ELSE MIN({alias}.status) END")


def member_rows(db: Database, member_row: int) -> list[int]:
    """Every members.id that is the same member as `member_row` (across files), oldest first."""
    m = _member(db, member_row)
    if m is None:
        return []
    conds, params = ["id = ?"], [member_row]
    if m.get("person_id") is not None:
        conds.append("person_id = ?")
        params.append(m["person_id"])
    if m.get("member_id"):
        conds.append("member_id = ?")
        params.append(m["member_id"])
    elif m.get("subscriber_id"):
        conds.append("(member_id IS NULL AND subscriber_id = ? AND upper(COALESCE(first_name, '')) = ? "
                     "AND COALESCE(dob, '') = ?)")
        params += [m["subscriber_id"], (m.get("first_name") or "").upper(), m.get("dob") or ""]
    sql = f"SELECT id FROM members WHERE {' OR '.join(conds)} ORDER BY id"
    return [r[0] for r in db.execute(sql, params)]


def _in(ids: list[int]) -> str:
    return ",".join("?" * len(ids)) or "NULL"


def member_flags(db: Database, rows: list[int]) -> list[dict[str, Any]]:
    return _rows(db, f"""
        SELECT g.*, rf.name AS resolved_by_file, src.name AS file
        FROM flags g LEFT JOIN files rf ON rf.id = g.resolved_by_file_id
        LEFT JOIN files src ON src.id = g.file_id
        WHERE g.member_id IN ({_in(rows)})
        ORDER BY g.resolved_at IS NOT NULL, g.id""", rows)


def member_status(db: Database, member_row: int) -> str | None:
    """The member's rolled-up status over its open (unresolved) flags in every file; None if none."""
    rows = member_rows(db, member_row)
    if not rows:
        return None
    flags = db.execute(f"SELECT status FROM flags WHERE member_id IN ({_in(rows)}) AND resolved_at IS NULL",
                       rows).fetchall()
    return st.rollup(r[0] for r in flags)


def member_history(db: Database, member_row: int, *, show_ssn: bool = False) -> dict[str, Any]:
    """Everything recorded about a member: flags with statuses, notes, corrections, audit rows."""
    rows = member_rows(db, member_row)
    m = _member(db, member_row)
    key = member_key(m)
    params: list[Any] = [*rows, key]
    notes = _rows(db, f"SELECT n.*, g.rule FROM notes n LEFT JOIN flags g ON g.id = n.flag_id "
                      f"WHERE n.member_id IN ({_in(rows)}) OR n.member_key = ? ORDER BY n.id", params)
    corrections = _rows(db, f"SELECT c.*, g.rule, fl.name AS file FROM corrections c "
                            f"LEFT JOIN flags g ON g.id = c.flag_id LEFT JOIN files fl ON fl.id = c.file_id "
                            f"WHERE c.member_id IN ({_in(rows)}) OR c.member_key = ? ORDER BY c.id", params)
    for c in corrections:
        c["label"] = field_label(c["field"])
        if is_ssn_field(c["field"]) and not show_ssn:
            c["value_834"], c["corrected_value"] = mask_ssn(c["value_834"]), mask_ssn(c["corrected_value"])
    flags = member_flags(db, rows)
    flag_ids = [f["id"] for f in flags]
    audit = _rows(db, f"SELECT id, at, os_user, action, flag_id, member_id, detail FROM audit "
                      f"WHERE member_id IN ({_in(rows)}) OR flag_id IN ({_in(flag_ids)}) ORDER BY id",
                  [*rows, *flag_ids])
    for a in audit:
        a["detail"] = json.loads(a["detail"] or "{}")
    return {"member": m, "rows": rows, "key": key, "flags": flags, "notes": notes, "corrections": corrections,
            "audit": audit, "status": st.rollup(f["status"] for f in flags if f["resolved_at"] is None)}


def timeline(history: dict[str, Any]) -> list[dict[str, Any]]:
    """Notes and corrections of a history merged oldest first: {at, author, kind, flag_id, text}."""
    out = []
    for n in history["notes"]:
        out.append({"at": n["created_at"], "author": n["author"], "kind": "note", "flag_id": n["flag_id"],
                    "text": n["text"]})
    for c in history["corrections"]:
        old, new = c["value_834"] or "(empty)", c["corrected_value"] or "(empty)"
        out.append({"at": c["created_at"], "author": c["author"], "kind": "correction",
                    "flag_id": c["flag_id"], "text": f"{c['label']}: {old} -> {new} ({c['source']})"})
    out.sort(key=lambda r: r["at"])
    return out
