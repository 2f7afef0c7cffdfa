"""Read queries behind the review window (queue, member sheet, raw segments, files, history).

Pure SQL and plain Python, no Qt: the CLI may use the same functions. Nothing here parses an 834
file; everything comes from the store (members.raw + members.segs hold the raw segments).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from . import queries, segpos
from .phi import mask_ssn
from .store import rows as _rows

CATEGORIES = ("duplicate", "maintenance", "family", "subsidy", "data_quality", "missing")
CATEGORY_LABELS = {"duplicate": "Duplicate", "maintenance": "Maintenance", "family": "Family",
                   "subsidy": "Subsidy", "data_quality": "Data quality", "missing": "Missing"}
SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_SEV_SQL = "CASE {c} WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"

# A flag is "open" until a later file resolves it or a clerk closes it (statuses from issue 5).
OPEN_SQL = "(f.resolved_at IS NULL AND f.status NOT LIKE 'closed%' AND f.status <> 'corrected')"


# -- the queue -----------------------------------------------------------------------------------

@dataclass
class QueueFilter:
    """What the clerk chose above the queue. `status` is 'open', 'all', 'resolved' or a status value."""

    mode: str = "flags"            # 'flags' (one row per flag) or 'members' (one row per flagged member)
    category: str | None = None
    severity: str | None = None
    status: str = "open"
    file_id: int | None = None
    text: str = ""


# A roster-only person (MISS-01: the exchange lists them, no 834 came) has no members row; the queue
# names them from the exchange's roster row instead (alias rr, joined only for flags without a member).
_ROSTER_JOIN = " LEFT JOIN roster_rows rr ON rr.id = f.roster_row_id AND f.member_id IS NULL"
_QUEUE_JOINS = (" LEFT JOIN members m ON m.id = f.member_id LEFT JOIN files fi ON fi.id = f.file_id"
                + _ROSTER_JOIN)
_NAME_SQL = "COALESCE(m.last_name, rr.last_name, '') || ' ' || COALESCE(m.first_name, rr.first_name, '')"

# Sort keys: column key -> SQL expression (flags mode, members mode).
FLAG_SORT = {
    "severity": _SEV_SQL.format(c="f.severity"), "rule": "f.rule", "category": "f.category",
    "name": _NAME_SQL, "member_id": "COALESCE(m.member_id, rr.member_id)",
    "policy_id": "COALESCE(f.policy_id, m.policy_id)", "message": "f.message", "file": "fi.name",
    "received": "fi.received_at", "status": "f.status",
}
MEMBER_SORT = {
    "severity": "MIN(" + _SEV_SQL.format(c="f.severity") + ")", "name": f"MIN({_NAME_SQL})",
    "member_id": "MIN(COALESCE(m.member_id, rr.member_id))", "subscriber_id": "MIN(m.subscriber_id)",
    "policy_id": "MIN(COALESCE(f.policy_id, m.policy_id))", "dob": "MIN(m.dob)", "flags": "COUNT(*)",
    "categories": "MIN(f.category)", "file": "MIN(fi.name)", "received": "MIN(fi.received_at)",
    "status": "MIN(f.status)",
}


def _queue_where(flt: QueueFilter) -> tuple[str, list[Any], bool]:
    """WHERE clause, parameters, and whether the members table is needed."""
    conds: list[str] = []
    params: list[Any] = []
    need_members = False
    if flt.status == "open":
        conds.append(OPEN_SQL)
    elif flt.status == "resolved":
        conds.append("f.resolved_at IS NOT NULL")
    elif flt.status and flt.status != "all":
        conds.append("f.status = ?")
        params.append(flt.status)
    if flt.category:
        conds.append("f.category = ?")
        params.append(flt.category)
    if flt.severity:
        conds.append("f.severity = ?")
        params.append(flt.severity)
    if flt.file_id is not None:
        conds.append("f.file_id = ?")
        params.append(flt.file_id)
    text = flt.text.strip()
    if text:
        need_members = True
        like = f"%{text}%"
        conds.append("(f.message LIKE ? OR f.rule LIKE ? OR m.last_name LIKE ? OR m.first_name LIKE ? "
                     "OR m.member_id LIKE ? OR m.subscriber_id LIKE ? OR f.policy_id LIKE ? "
                     "OR m.policy_id LIKE ? OR rr.last_name LIKE ? OR rr.first_name LIKE ? "
                     "OR rr.member_id LIKE ?)")
        params += [like] * 11
    return (" AND ".join(conds) or "1"), params, need_members


def queue_keys(db: Database, flt: QueueFilter, sort: str = "severity", descending: bool = False) -> list[int]:
    """Every row key of the queue, in display order (flag ids, or member row ids; -flag id for file flags).

    Only integers: the GUI model fetches the rows themselves in batches (`queue_rows`).
    """
    where, params, need_members = _queue_where(flt)
    direction = "DESC" if descending else "ASC"
    if flt.mode == "members":
        expr = MEMBER_SORT.get(sort, MEMBER_SORT["severity"])
        sql = (f"SELECT COALESCE(f.member_id, -f.id) AS k FROM flags f{_QUEUE_JOINS} "
               f"WHERE {where} GROUP BY k ORDER BY {expr} {direction}, MIN(f.id)")
        return _int_column(db, sql, params)
    else:
        expr = FLAG_SORT.get(sort, FLAG_SORT["severity"])
        joins = ""
        if need_members or any(t in expr for t in ("m.", "fi.", "rr.")):
            joins = _QUEUE_JOINS
        sql = f"SELECT f.id FROM flags f{joins} WHERE {where} ORDER BY {expr} {direction}, f.id {direction}"
    return _int_column(db, sql, params)


def _int_column(db: Database, sql: str, params: list[Any]) -> list[int]:
    # Row by row: no list of 100,000 one-tuples beside the list of ints.
    return [r[0] for r in db.execute(sql, params)]


_FLAG_ROW_SQL = f"""
    SELECT f.id AS key, f.id AS flag_id, f.rule, f.category, f.severity, f.status, f.message, f.next_step,
           f.member_id AS member_row, f.file_id, f.resolved_at, rr.id AS roster_row,
           COALESCE(m.last_name, rr.last_name) AS last_name,
           COALESCE(m.first_name, rr.first_name) AS first_name,
           COALESCE(m.member_id, rr.member_id) AS member_id,
           COALESCE(m.subscriber_id, rr.subscriber_id) AS subscriber_id, COALESCE(m.dob, rr.dob) AS dob,
           COALESCE(f.policy_id, m.policy_id, rr.policy_id) AS policy_id,
           COALESCE(fi.name, ro.name || ' (exchange roster)') AS file,
           COALESCE(fi.received_at, ro.imported_at) AS received
    FROM flags f{_QUEUE_JOINS} LEFT JOIN rosters ro ON ro.id = rr.roster_id
    WHERE f.id IN ({{marks}})"""

_MEMBER_ROW_SQL = """
    SELECT m.id AS key, m.id AS member_row, m.last_name, m.first_name, m.member_id, m.subscriber_id,
           m.policy_id, m.dob, fi.name AS file, fi.received_at AS received,
           (SELECT COUNT(*) FROM flags f WHERE f.member_id = m.id AND {where}) AS flags,
           (SELECT MIN({sev}) FROM flags f WHERE f.member_id = m.id AND {where}) AS worst,
           (SELECT group_concat(DISTINCT f.category) FROM flags f WHERE f.member_id = m.id AND {where})
               AS categories,
           (SELECT group_concat(DISTINCT f.rule) FROM flags f WHERE f.member_id = m.id AND {where}) AS rules,
           (SELECT group_concat(DISTINCT f.status) FROM flags f WHERE f.member_id = m.id AND {where})
               AS statuses,
           (SELECT f.id FROM flags f WHERE f.member_id = m.id AND {where}
               ORDER BY {sev}, f.id LIMIT 1) AS flag_id
    FROM members m JOIN files fi ON fi.id = m.file_id
    WHERE m.id IN ({marks})"""


def queue_rows(db: Database, flt: QueueFilter, keys: list[int]) -> dict[int, dict[str, Any]]:
    """The display rows for some queue keys (as returned by `queue_keys`), keyed by key."""
    out: dict[int, dict[str, Any]] = {}
    if not keys:
        return out
    if flt.mode != "members":
        for i in range(0, len(keys), 900):
            chunk = keys[i:i + 900]
            for r in _rows(db, _FLAG_ROW_SQL.format(marks=",".join("?" * len(chunk))), chunk):
                out[r["key"]] = r
        return out
    # Members mode: per-member aggregates under the same status/category/severity filter (no text).
    sub = QueueFilter(status=flt.status, category=flt.category, severity=flt.severity, file_id=flt.file_id)
    where, params, _ = _queue_where(sub)
    members = [k for k in keys if k > 0]
    sev = _SEV_SQL.format(c="f.severity")
    for i in range(0, len(members), 500):
        chunk = members[i:i + 500]
        sql = _MEMBER_ROW_SQL.format(where=where, sev=sev, marks=",".join("?" * len(chunk)))
        for r in _rows(db, sql, params * 6 + chunk):
            r["worst"] = SEVERITIES[r["worst"]] if r["worst"] is not None else None
            out[r["key"]] = r
    file_flags = [-k for k in keys if k < 0]
    for i in range(0, len(file_flags), 900):
        chunk = file_flags[i:i + 900]
        for r in _rows(db, _FLAG_ROW_SQL.format(marks=",".join("?" * len(chunk))), chunk):
            key = -r["flag_id"]
            out[key] = {"key": key, "member_row": None, "last_name": r["last_name"],
                        "first_name": r["first_name"], "member_id": r["member_id"],
                        "subscriber_id": r["subscriber_id"], "policy_id": r["policy_id"], "dob": r["dob"],
                        "roster_row": r["roster_row"], "file": r["file"], "received": r["received"],
                        "flags": 1, "worst": r["severity"], "categories": r["category"], "rules": r["rule"],
                        "statuses": r["status"], "flag_id": r["flag_id"]}
    return out


def open_flag_ids(db: Database, member_rows: list[int]) -> list[int]:
    """The open flags of some members (members.id), for a bulk action on member rows of the queue."""
    out: list[int] = []
    for i in range(0, len(member_rows), 900):
        chunk = member_rows[i:i + 900]
        marks = ",".join("?" * len(chunk))
        out += _int_column(db, f"SELECT f.id FROM flags f WHERE f.member_id IN ({marks}) AND {OPEN_SQL} "
                               "ORDER BY f.id", chunk)
    return out


def queue_choices(db: Database) -> dict[str, list[Any]]:
    """Values for the filter boxes: statuses present, and the files (id, name)."""
    statuses = [r[0] for r in db.execute("SELECT DISTINCT status FROM flags ORDER BY status").fetchall()]
    files = [(r[0], r[1]) for r in db.execute(
        "SELECT id, name FROM files WHERE status = 'imported' ORDER BY id").fetchall()]
    return {"statuses": statuses, "files": files}


def count_open_flags(db: Database) -> int:
    return db.execute(f"SELECT COUNT(*) FROM flags f WHERE {OPEN_SQL}").fetchone()[0]


# -- files and error rates -----------------------------------------------------------------------

def files_overview(db: Database) -> list[dict[str, Any]]:
    """Every received file with its status, counts, open flags per category and error rate.

    The error rate is members with an open error or warning flag / members in the file.
    """
    files = _rows(db, """
        SELECT id, name, status, reason, is_demo, received_at, imported_at, member_count AS members,
               transaction_count AS transactions, finding_count AS findings, isa_sender, isa_control, isa_date,
               gs_sender, size
        FROM files ORDER BY COALESCE(received_at, imported_at), id""")
    per_cat: dict[int, dict[str, int]] = {}
    for fid, cat, n in db.execute(
            f"SELECT f.file_id, f.category, COUNT(*) FROM flags f WHERE {OPEN_SQL} AND f.file_id IS NOT NULL "
            "GROUP BY f.file_id, f.category").fetchall():
        per_cat.setdefault(fid, {})[cat] = n
    flagged = dict(db.execute(
        f"SELECT f.file_id, COUNT(DISTINCT f.member_id) FROM flags f "
        f"WHERE {OPEN_SQL} AND f.severity IN ('error', 'warning') AND f.member_id IS NOT NULL "
        f"GROUP BY f.file_id").fetchall())
    for f in files:
        cats = per_cat.get(f["id"], {})
        f["by_category"] = {c: cats.get(c, 0) for c in CATEGORIES}
        f["flags"] = sum(cats.values())
        f["flagged_members"] = flagged.get(f["id"], 0)
        f["error_rate"] = (f["flagged_members"] / f["members"]) if f["members"] else None
        f["received"] = file_date(f)
    return files


def file_date(f: dict[str, Any]) -> str:
    """The date the sender made the file (ISA09), else when it arrived here (file time)."""
    isa = (f.get("isa_date") or "").strip()
    if len(isa) == 6 and isa.isdigit():
        return f"20{isa[:2]}-{isa[2:4]}-{isa[4:]}"
    return (f.get("received_at") or f.get("imported_at") or "")[:10]


def error_rate_by_month(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Error rate over time: imported files grouped by the month they were received."""
    months: dict[str, list[int]] = {}
    for f in files:
        if f["status"] != "imported" or not f["members"]:
            continue
        key = (f["received"] or "")[:7] or "unknown"
        acc = months.setdefault(key, [0, 0, 0])
        acc[0] += f["members"]
        acc[1] += f["flagged_members"]
        acc[2] += 1
    return [{"month": k, "members": v[0], "flagged_members": v[1], "files": v[2],
             "error_rate": v[1] / v[0] if v[0] else None} for k, v in sorted(months.items())]


def store_summary(db: Database) -> dict[str, Any]:
    r = db.execute("SELECT COUNT(*), COALESCE(SUM(member_count), 0), MIN(COALESCE(received_at, imported_at)), "
                   "MAX(COALESCE(received_at, imported_at)), COALESCE(MAX(is_demo), 0) FROM files "
                   "WHERE status = 'imported'").fetchone()
    return {"files": r[0], "members": r[1], "first": (r[2] or "")[:10], "last": (r[3] or "")[:10],
            "has_demo": bool(r[4])}


def recent_files(db: Database, limit: int = 10) -> list[dict[str, Any]]:
    return _rows(db, "SELECT id, name, status, imported_at FROM files ORDER BY id DESC LIMIT ?", [limit])


# -- one member: sheet, segments, highlights ----------------------------------------------------

@dataclass
class Source:
    """Where a displayed value came from: a segment ordinal and, if known, the element (e.g. 'DMG02')."""

    ordinal: int
    element: str | None = None


@dataclass
class SheetField:
    section: str
    label: str
    value: str
    sources: list[Source] = field(default_factory=list)


@dataclass
class SegmentLine:
    """One raw segment as shown: masked text, its ordinal, loop id, and whether it is the member's own."""

    ordinal: int
    loop: str
    text: str
    own: bool = True
    note: str = ""


def split_element(name: str) -> tuple[str, int, int | None] | None:
    """'N301' -> ('N3', 1, None); 'DMG05-3' -> ('DMG', 5, 3); 'REF02' -> ('REF', 2, None)."""
    n = (name or "").strip().upper()
    m = re.fullmatch(r"([A-Z][A-Z0-9]{1,2})(\d{2})(?:-(\d+))?", n)
    if not m:
        return None
    return m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None


def element_span(line: str, element: str | None, sep: str = "*", comp: str = ":") -> tuple[int, int]:
    """Character range [start, end) of an element inside one raw segment line.

    None (or an unparseable name) is the whole segment. An element beyond the end of the segment (a
    missing element) is an empty range at the end of the line.
    """
    if not element:
        return 0, len(line)
    parsed = split_element(element)
    if parsed is None:
        return 0, len(line)
    _seg, pos, sub = parsed
    parts = line.split(sep)
    if pos >= len(parts):
        return len(line), len(line)
    start = sum(len(p) + 1 for p in parts[:pos])
    end = start + len(parts[pos])
    if sub is not None:
        comps = parts[pos].split(comp)
        if sub - 1 >= len(comps):
            return end, end
        start += sum(len(c) + 1 for c in comps[:sub - 1])
        end = start + len(comps[sub - 1])
    return start, end


def get_member(db: Database, member_row: int) -> dict[str, Any] | None:
    rows = _rows(db, "SELECT m.*, f.name AS file_name, f.delims, f.received_at AS file_received, "
                     "f.is_demo FROM members m JOIN files f ON f.id = m.file_id WHERE m.id = ?", [member_row])
    return rows[0] if rows else None


def delimiters(m: dict[str, Any]) -> tuple[str, str]:
    d = m.get("delims") or "*:^~"
    return d[0], (d[1] if len(d) > 1 else ":")


def member_segments(db: Database, m: dict[str, Any], extra_ordinals: set[int] | None = None) -> list[SegmentLine]:
    """The member's raw segments (SSN masked), plus any segments outside the member that a flag names
    (transaction header/trailer or envelope), in file order."""
    lines = m["raw"].split("\n")
    segs = segpos.decode(m["segs"], lines)
    out = [SegmentLine(s[0], (s[1] or "").split("/")[-1], queries.mask_line(t, m))
           for s, t in zip(segs, lines, strict=False)]
    have = {s.ordinal for s in out}
    missing = {o for o in (extra_ordinals or set()) if o not in have}
    if missing:
        t = db.execute("SELECT raw, segs FROM transactions WHERE id = ?", [m["transaction_id"]]).fetchone()
        if t and t[1]:
            tlines = (t[0] or "").split("\n")
            for s, text in zip(segpos.decode(t[1], tlines), tlines, strict=False):
                if s[0] in missing:
                    loop = (s[1] or "").split("/")[-1] or "header"
                    out.append(SegmentLine(s[0], loop, text, own=False, note="transaction"))
                    missing.discard(s[0])
        for o in sorted(missing):   # segments of another member (e.g. the subscriber's date of birth)
            if o not in missing:
                continue
            other = db.execute("SELECT raw, segs, last_name, first_name, ins02, ssn, old FROM members WHERE file_id = ? "
                               "AND first_ordinal <= ? AND last_ordinal >= ? LIMIT 1",
                               [m["file_id"], o, o]).fetchone()
            if other is None:
                continue
            who = " ".join(x for x in (other[3], other[2]) if x) or "another member"
            rel = queries.RELATIONSHIPS.get(other[4] or "", "")
            note = f"member {who}" + (f" ({rel})" if rel else "")
            olines = other[0].split("\n")
            for s, text in zip(segpos.decode(other[1], olines), olines, strict=False):
                if s[0] in missing:
                    out.append(SegmentLine(s[0], (s[1] or "").split("/")[-1], queries.mask_line(text, {"ssn": other[5], "old": other[6]}),
                                           own=False, note=note))
                    missing.discard(s[0])
        if missing:
            env = db.execute("SELECT envelope FROM files WHERE id = ?", [m["file_id"]]).fetchone()
            for o, text, _off in json.loads(env[0] or "[]") if env else []:
                if o in missing:
                    out.append(SegmentLine(o, "env", text, own=False, note="envelope"))
        out.sort(key=lambda s: s.ordinal)
    return out


def flag_spans(lines: list[SegmentLine], flag_segments: list[dict[str, Any]], sep: str, comp: str,
               ) -> dict[int, list[tuple[int, int]]]:
    """Row index -> character ranges to highlight for one flag's `segments` list."""
    by_ordinal = {s.ordinal: i for i, s in enumerate(lines)}
    out: dict[int, list[tuple[int, int]]] = {}
    for ref in flag_segments:
        row = by_ordinal.get(int(ref.get("ordinal") or 0))
        if row is None:
            continue
        span = element_span(lines[row].text, ref.get("element"), sep, comp)
        spans = out.setdefault(row, [])
        if span not in spans:
            spans.append(span)
    return out


def parse_refs(value: Any) -> list[Any]:
    if not value:
        return []
    if isinstance(value, list):
        return value
    try:
        v = json.loads(value)
    except (TypeError, ValueError):
        return []
    return v if isinstance(v, list) else []


def member_sheet(db: Database, m: dict[str, Any], ssn_shown: str | None = None) -> list[SheetField]:
    """The member as a clerk reads it, each value with the segments and elements it came from."""
    sep, _comp = delimiters(m)
    lines = m["raw"].split("\n")
    segs = segpos.decode(m["segs"], lines)
    src: dict[str, list[Source]] = {}

    def add(key: str, ordinal: int, *elements: str | None) -> None:
        src.setdefault(key, []).extend(Source(ordinal, e) for e in (elements or (None,)))

    for s, text in zip(segs, lines, strict=False):
        ordinal, loop = s[0], (s[1] or "").split("/")[-1]
        f = text.split(sep)
        sid = f[0].strip()
        q = f[1] if len(f) > 1 else ""
        if sid == "INS":
            add("role", ordinal, "INS01", "INS02")
            add("maintenance", ordinal, "INS03", "INS04")
            add("benefit", ordinal, "INS05", "INS08")
        elif sid == "REF" and loop == "2000":
            key = {"17": "member_id", "0F": "subscriber_id", "1L": "policy_id", "23": "issuer_member_id"}.get(q)
            if key:
                add(key, ordinal, "REF02")
        elif sid == "DTP" and loop == "2000" and q in ("356", "357"):
            add("eligibility", ordinal, "DTP03")
        elif sid == "NM1" and loop == "2100A":
            add("name", ordinal, "NM103", "NM104", "NM105", "NM106", "NM107")
            add("ssn", ordinal, "NM108", "NM109")
        elif sid == "PER" and loop == "2100A":
            for i in (3, 5, 7):
                if i + 1 < len(f) and f[i]:
                    key = "email" if f[i] == "EM" else "phones"
                    add(key, ordinal, f"PER{i:02d}", f"PER{i + 1:02d}")
        elif sid in ("N3", "N4") and loop == "2100A":
            add("address", ordinal, None)
        elif sid == "DMG" and loop == "2100A":
            add("dob", ordinal, "DMG01", "DMG02")
            add("gender", ordinal, "DMG03")
            add("race", ordinal, "DMG05")
        elif loop in ("2100B",):
            add("old", ordinal, None)
        elif loop == "2100C":
            add("mailing", ordinal, None)
    shown_ssn = ssn_shown if ssn_shown is not None else mask_ssn(m.get("ssn"))
    base = {label: value for label, value in queries.member_fields(m, shown_ssn)}
    person = [
        ("Name", "name"), ("Role", "role"), ("Maintenance", "maintenance"), ("Member id (REF*17)", "member_id"),
        ("Subscriber id (REF*0F)", "subscriber_id"), ("Policy id", "policy_id"), ("SSN", "ssn"),
        ("Date of birth", "dob"), ("Gender", "gender"), ("Address", "address"), ("Phones", "phones"),
        ("Eligibility", "eligibility"),
    ]
    out = [SheetField("Member", label, base.get(label) or "(none)", list(src.get(key, []))) for label, key in person]
    if m.get("email"):
        out.append(SheetField("Member", "E-mail", m["email"], list(src.get("email", []))))
    if m.get("race"):
        out.append(SheetField("Member", "Race/ethnicity", m["race"], list(src.get("race", []))))
    if m.get("mailing"):
        mail = json.loads(m["mailing"])
        out.append(SheetField("Member", "Mailing address", ", ".join(v for v in mail.values() if v),
                              list(src.get("mailing", []))))
    if "Before the change" in base:
        out.append(SheetField("Member", "Before the change", base["Before the change"], list(src.get("old", []))))
    # Coverages: the HD segment and every 2300 segment after it until the next HD or loop change.
    cov_src: dict[int, list[Source]] = {}
    current: int | None = None
    for s, text in zip(segs, lines, strict=False):
        loop = (s[1] or "").split("/")[-1]
        if loop == "2300" and text.startswith("HD" + sep):
            current = s[0]
        if current is not None and loop in ("2300", "2310", "2320", "2330"):
            cov_src.setdefault(current, []).append(Source(s[0]))
        elif loop not in ("2300", "2310", "2320", "2330"):
            current = None
    for c in queries.member_coverages(db, m["id"]):
        dates = f"{c['begin'] or '?'} to {c['end'] or 'open'}"
        plan = c["plan_id"] or "-"
        csr = f", CSR variant {c['csr_variant']}" if c["csr_variant"] else ""
        pol = f", policy {c['policy_id']}" if c["policy_id"] else ""
        maint = queries.MAINTENANCE.get(c["hd01"] or "", c["hd01"] or "")
        level = f" {c['hd05']}" if c["hd05"] else ""
        value = f"{c['hd03'] or '?'}{level}: {dates}; plan {plan}{csr}{pol} ({maint})"
        out.append(SheetField("Coverage", f"Coverage {c['seq']}", value,
                              cov_src.get(c["ordinal"], [Source(c["ordinal"])] if c["ordinal"] else [])))
    if not any(f.section == "Coverage" for f in out):
        out.append(SheetField("Coverage", "Coverage", "no 2300 health coverage loop", []))
    for c in queries.member_categories(db, m["id"]):
        dates = (c["date_from"] or "") + (f" to {c['date_to']}" if c["date_to"] else "")
        value = c["value"] or ""
        if c["amount"] is not None:
            value = f"{c['amount']:,.2f}"
        sources = [Source(o) for o in (c["ordinal"], c["ref_ordinal"], c["dtp_ordinal"]) if o]
        if c["ref_ordinal"]:
            sources.append(Source(c["ref_ordinal"], "REF02"))
        out.append(SheetField("Reporting categories (2750)", c["name"] or "?",
                              value + (f"  (from {dates})" if dates else ""), sources))
    return out


def field_marked(f: SheetField, flag_segments: list[dict[str, Any]]) -> bool:
    """Whether a flag's segments name this value's segment (and element, when both are known)."""
    for ref in flag_segments:
        o = int(ref.get("ordinal") or 0)
        el = ref.get("element")
        for s in f.sources:
            if s.ordinal != o:
                continue
            if not el or not s.element:
                return True
            a, b = split_element(el), split_element(s.element)
            if a and b and a[:2] == b[:2]:
                return True
    return False


# -- related: family, duplicates, timeline --------------------------------------------------------

def member_flag_summary(db: Database, member_rows: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if not member_rows:
        return out
    marks = ",".join("?" * len(member_rows))
    for mid, n, worst, rules in db.execute(
            f"SELECT f.member_id, COUNT(*), MIN({_SEV_SQL.format(c='f.severity')}), group_concat(DISTINCT f.rule) "
            f"FROM flags f WHERE f.member_id IN ({marks}) AND {OPEN_SQL} GROUP BY f.member_id",
            member_rows).fetchall():
        out[mid] = {"flags": n, "worst": SEVERITIES[worst], "rules": rules or ""}
    return out


def family(db: Database, m: dict[str, Any]) -> list[dict[str, Any]]:
    """All members of the member's enrollment group in the same transaction (by REF*0F, else policy)."""
    if m.get("subscriber_id"):
        rows = _rows(db, "SELECT * FROM members WHERE transaction_id = ? AND subscriber_id = ? ORDER BY seq",
                     [m["transaction_id"], m["subscriber_id"]])
    elif m.get("policy_id"):
        rows = _rows(db, "SELECT * FROM members WHERE transaction_id = ? AND policy_id = ? ORDER BY seq",
                     [m["transaction_id"], m["policy_id"]])
    else:
        rows = _rows(db, "SELECT * FROM members WHERE id = ?", [m["id"]])
    flags = member_flag_summary(db, [r["id"] for r in rows])
    for r in rows:
        r.update(flags.get(r["id"], {"flags": 0, "worst": None, "rules": ""}))
        r["relationship"] = queries.RELATIONSHIPS.get(r.get("ins02") or "", r.get("ins02") or "")
        r["age"] = queries.age_on(r.get("dob"))
    return rows


def duplicate_rows(db: Database, m: dict[str, Any]) -> list[int]:
    """Member rows named as the other copy by duplicate flags on this member, or on a possible copy
    (same member id, subscriber id or policy id) that names this member."""
    out: list[int] = []

    def take(related: Any, owner: int) -> None:
        refs = [int(r) for r in parse_refs(related) if str(r).lstrip("-").isdigit()]
        if owner == m["id"]:
            out.extend(r for r in refs if r != m["id"] and r not in out)
        elif m["id"] in refs and owner not in out:
            out.append(owner)

    for related, owner in db.execute("SELECT related, member_id FROM flags WHERE member_id = ? AND "
                                     "category = 'duplicate' ORDER BY id", [m["id"]]).fetchall():
        take(related, owner)
    keys = [("member_id", m.get("member_id")), ("subscriber_id", m.get("subscriber_id")),
            ("policy_id", m.get("policy_id"))]
    cond = " OR ".join(f"x.{k} = ?" for k, v in keys if v)
    if cond:
        for related, owner in db.execute(
                f"SELECT f.related, f.member_id FROM members x JOIN flags f ON f.member_id = x.id "
                f"WHERE ({cond}) AND x.id <> ? AND f.category = 'duplicate' ORDER BY f.id",
                [v for _k, v in keys if v] + [m["id"]]).fetchall():
            take(related, owner)
    return out


def diff_segments(a: list[SegmentLine], b: list[SegmentLine], sep: str,
                  ) -> tuple[dict[int, list[tuple[int, int]]], dict[int, list[tuple[int, int]]]]:
    """Character ranges that differ between two copies, per row of each side.

    Segments are aligned by id and qualifier (so a changed value is an element difference, not a
    missing line); inside aligned segments each differing element is marked.
    """
    def key(s: SegmentLine) -> str:
        p = s.text.split(sep)
        return p[0] + (sep + p[1] if len(p) > 1 and p[0] in ("REF", "DTP", "NM1", "N1", "PER", "LX", "LS", "LE")
                       else "")

    da: dict[int, list[tuple[int, int]]] = {}
    db_: dict[int, list[tuple[int, int]]] = {}
    sm = difflib.SequenceMatcher(a=[key(s) for s in a], b=[key(s) for s in b], autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                if a[i].text == b[j].text:
                    continue
                pa, pb = a[i].text.split(sep), b[j].text.split(sep)
                for k in range(1, max(len(pa), len(pb))):
                    va = pa[k] if k < len(pa) else None
                    vb = pb[k] if k < len(pb) else None
                    if va != vb:
                        el = f"{pa[0]}{k:02d}"
                        da.setdefault(i, []).append(element_span(a[i].text, el, sep))
                        db_.setdefault(j, []).append(element_span(b[j].text, el, sep))
        else:
            for i in range(i1, i2):
                da.setdefault(i, []).append((0, len(a[i].text)))
            for j in range(j1, j2):
                db_.setdefault(j, []).append((0, len(b[j].text)))
    return da, db_


def timeline(db: Database, m: dict[str, Any]) -> list[dict[str, Any]]:
    """Every loaded transaction for this person (and on this policy), oldest first."""
    conds = ["m.id = ?"]
    params: list[Any] = [m["id"]]
    if m.get("person_id"):
        conds.append("m.person_id = ?")
        params.append(m["person_id"])
    if m.get("member_id"):
        conds.append("m.member_id = ?")
        params.append(m["member_id"])
    if m.get("subscriber_id") and m.get("dob"):
        conds.append("(m.subscriber_id = ? AND m.dob = ?)")
        params += [m["subscriber_id"], m["dob"]]
    if m.get("ssn") and len(m["ssn"]) == 9 and len(set(m["ssn"])) > 1:
        conds.append("m.ssn = ?")
        params.append(m["ssn"])
    rows = _rows(db, f"""
        SELECT m.id, m.file_id, m.ins01, m.ins02, m.ins03, m.ins04, m.amrc, m.policy_id, m.elig_begin,
               m.elig_end, m.member_id, m.last_name, m.first_name, fi.name AS file,
               COALESCE(fi.received_at, fi.imported_at) AS received, t.bgn_ref, t.bgn_date, t.bgn_time,
               (SELECT MIN(c.begin) FROM coverages c WHERE c.member_id = m.id) AS cov_begin,
               (SELECT MAX(c."end") FROM coverages c WHERE c.member_id = m.id) AS cov_end
        FROM members m JOIN files fi ON fi.id = m.file_id LEFT JOIN transactions t ON t.id = m.transaction_id
        WHERE {' OR '.join(conds)}
        ORDER BY received, t.bgn_date, t.bgn_time, m.file_id, m.seq""", params)
    flags = member_flag_summary(db, [r["id"] for r in rows])
    for r in rows:
        r.update(flags.get(r["id"], {"flags": 0, "worst": None, "rules": ""}))
        code = r.get("ins03") or ""
        r["action"] = f"{code} {queries.MAINTENANCE.get(code, '')}".strip()
        r["this"] = r["id"] == m["id"]
    return rows


# -- search ---------------------------------------------------------------------------------------

def search(db: Database, text: str, limit: int = 500) -> tuple[list[dict[str, Any]], list[str]]:
    """Members matching a clerk's search (flagged or not), and a description of what was searched."""
    _cond, _params, what = queries.search_conditions(text)
    rows = queries.search_members(db, text, limit=limit) if text.strip() else []
    for r in rows:
        r["ssn_masked"] = mask_ssn(r.get("ssn"))
        r["age"] = queries.age_on(r.get("dob"))
    return rows, what


def today() -> _dt.date:
    return _dt.date.today()
