"""Read queries shared by the CLI and the GUI (which must never parse files itself)."""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any

from sqlite_utils import Database

from .store import rows as _rows

RELATIONSHIPS = {
    "18": "self", "01": "spouse", "53": "life partner", "19": "child", "15": "ward", "17": "stepchild",
    "09": "adopted child", "10": "foster child", "03": "father or mother", "04": "grandparent",
    "05": "grandchild", "07": "nephew or niece", "13": "guardian", "16": "sponsored dependent",
    "24": "dependent of a minor dependent", "25": "ex-spouse", "23": "sponsored dependent",
    "32": "mother", "33": "father", "38": "collateral dependent", "G8": "other relationship",
}
MAINTENANCE = {"001": "change", "021": "addition", "024": "cancellation or termination", "025": "reinstatement",
               "030": "audit or compare", "032": "employee information not applicable"}




def list_files(db: Database) -> list[dict[str, Any]]:
    return _rows(db, """
        SELECT f.id, f.name, f.status, substr(f.received_at, 1, 16) AS received,
               substr(f.imported_at, 1, 16) AS imported, f.member_count AS members,
               f.finding_count AS findings, f.is_demo,
               (SELECT COUNT(*) FROM flags g WHERE g.file_id = f.id AND g.resolved_at IS NULL) AS flags,
               f.reason
        FROM files f ORDER BY f.id""")


def resolve_file(db: Database, name_or_id: str) -> int | None:
    if name_or_id.isdigit():
        r = db.execute("SELECT id FROM files WHERE id = ?", [int(name_or_id)]).fetchone()
        if r:
            return r[0]
    r = db.execute("SELECT id FROM files WHERE name = ? ORDER BY id DESC", [name_or_id]).fetchone()
    return r[0] if r else None


def parse_date(text: str) -> str | None:
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m-%d-%Y"):
        try:
            return _dt.datetime.strptime(t, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def search_conditions(text: str) -> tuple[str, list[Any], list[str]]:
    """SQL condition over `m` (members) for a clerk's search text, and a description of what was searched."""
    t = text.strip()
    if not t:
        return "1", [], []
    conds: list[str] = []
    params: list[Any] = []
    what: list[str] = []
    date = parse_date(t)
    if date:
        conds.append("m.dob = ?")
        params.append(date)
        what.append(f"date of birth {date}")
    if re.fullmatch(r"\d{4}", t):
        conds.append("m.ssn LIKE ?")
        params.append("%" + t)
        what.append(f"SSN ending {t}")
    if re.fullmatch(r"\d{3}-?\d{2}-?\d{4}", t):
        conds.append("m.ssn = ?")
        params.append(t.replace("-", ""))
        what.append("SSN")
    if re.fullmatch(r"[\w\-]+", t) and not date:
        conds += ["m.member_id = ?", "m.subscriber_id = ?", "m.policy_id = ?", "m.issuer_member_id = ?"]
        params += [t, t, t, t]
        what += [f"member id {t}", f"subscriber id {t}", f"policy id {t}"]
    words = [w for w in re.split(r"[,\s]+", t) if w]
    if words and not date and not any(c.isdigit() for c in t):
        if len(words) == 1:
            conds.append("(m.last_name LIKE ? OR m.first_name LIKE ?)")
            params += [words[0] + "%", words[0] + "%"]
            what.append(f"name {words[0]}")
        else:
            a, b = words[0], words[-1]
            if "," in t:  # "Last, First"
                a, b = b, a
            conds.append("((m.first_name LIKE ? AND m.last_name LIKE ?) OR (m.first_name LIKE ? AND m.last_name LIKE ?))")
            params += [a + "%", b + "%", b + "%", a + "%"]
            what.append(f"name {' '.join(words)}")
    if not conds:
        return "0", [], [f"'{t}'"]
    return "(" + " OR ".join(conds) + ")", params, what


def search_members(db: Database, text: str, *, file_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    cond, params, _ = search_conditions(text)
    if file_id is not None:
        cond += " AND m.file_id = ?"
        params.append(file_id)
    return _rows(db, f"""
        SELECT m.id, m.member_id, m.subscriber_id, m.policy_id, m.last_name, m.first_name, m.dob, m.ssn,
               m.ins02 AS rel, f.name AS file,
               (SELECT COUNT(*) FROM flags g WHERE g.member_id = m.id AND g.resolved_at IS NULL) AS flags
        FROM members m JOIN files f ON f.id = m.file_id
        WHERE {cond} ORDER BY m.id LIMIT ?""", [*params, limit])


def get_member(db: Database, key: str | int) -> dict[str, Any] | None:
    sql = "SELECT m.*, f.name AS file_name, f.delims FROM members m JOIN files f ON f.id = m.file_id WHERE "
    rows: list[dict[str, Any]] = []
    if isinstance(key, int) or str(key).isdigit():
        rows = _rows(db, sql + "m.id = ?", [int(key)])
    if not rows:
        rows = _rows(db, sql + "m.member_id = ? ORDER BY m.id DESC LIMIT 1", [str(key)])
    return rows[0] if rows else None


def age_on(dob: str | None, on: _dt.date | None = None) -> int | None:
    try:
        d = _dt.date.fromisoformat(dob or "")
    except ValueError:
        return None
    on = on or _dt.date.today()
    return on.year - d.year - ((on.month, on.day) < (d.month, d.day))


def member_fields(m: dict[str, Any], ssn_shown: str) -> list[tuple[str, str]]:
    """(label, value) pairs in the order a clerk reads a member."""
    age = age_on(m.get("dob"))
    phones = json.loads(m["phones"]) if m.get("phones") else {}
    rel = m.get("ins02") or ""
    out = [
        ("Name", " ".join(x for x in (m.get("prefix"), m.get("first_name"), m.get("middle_name"),
                                      m.get("last_name"), m.get("suffix")) if x)),
        ("Role", ("Subscriber" if m.get("ins01") == "Y" else "Dependant") + f" ({RELATIONSHIPS.get(rel, rel)})"),
        ("Maintenance", f"{m.get('ins03') or ''} {MAINTENANCE.get(m.get('ins03') or '', '')} "
                        f"reason {m.get('ins04') or '-'}" + (f", {m['amrc']}" if m.get("amrc") else "")),
        ("Member id (REF*17)", m.get("member_id") or ""),
        ("Subscriber id (REF*0F)", m.get("subscriber_id") or ""),
        ("Policy id", m.get("policy_id") or ""),
        ("SSN", ssn_shown),
        ("Date of birth", (m.get("dob") or "") + (f" (age {age})" if age is not None else "")),
        ("Gender", m.get("gender") or ""),
        ("Address", ", ".join(x for x in (m.get("address1"), m.get("address2"), m.get("city"),
                                          " ".join(y for y in (m.get("state"), m.get("zip")) if y)) if x)),
        ("Phones", "; ".join(f"{q} {', '.join(v)}" for q, v in phones.items())),
        ("Eligibility", f"{m.get('elig_begin') or '-'} to {m.get('elig_end') or 'open'}"),
    ]
    if m.get("old"):
        old = json.loads(m["old"])
        out.append(("Before the change", ", ".join(f"{k} {v}" for k, v in old.items() if v)))
    return out


def member_coverages(db: Database, member_row: int) -> list[dict[str, Any]]:
    return _rows(db, 'SELECT * FROM coverages WHERE member_id = ? ORDER BY seq', [member_row])


def member_categories(db: Database, member_row: int) -> list[dict[str, Any]]:
    return _rows(db, "SELECT * FROM categories WHERE member_id = ? ORDER BY seq", [member_row])


def member_findings(db: Database, member_row: int) -> list[dict[str, Any]]:
    return _rows(db, "SELECT * FROM findings WHERE member_id = ? ORDER BY ordinal, id", [member_row])


def member_flags(db: Database, member_row: int) -> list[dict[str, Any]]:
    return _rows(db, "SELECT * FROM flags WHERE member_id = ? ORDER BY resolved_at IS NOT NULL, "
                     "CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, id", [member_row])


def mask_line(line: str, m: dict[str, Any]) -> str:
    """Mask the SSN inside a raw NM1 segment line (the raw view masks by default too)."""
    ssns = [m.get("ssn")]
    if m.get("old"):
        ssns.append(json.loads(m["old"]).get("ssn"))
    for ssn in ssns:
        if ssn and len(ssn) >= 4 and ssn in line:
            line = line.replace(ssn, "*" * (len(ssn) - 4) + ssn[-4:])
    return line
