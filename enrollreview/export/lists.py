"""The three lists supervisors export, as columns plus a stream of rows (never the whole list in memory).

- call-back list: one row per member whose open flags need a call, soonest due first;
- follow-up list for the exchange: one row per discrepancy to report (each recorded correction, and
  each flag waiting on the exchange that has none), with the value the 834 carried;
- summary: flags by category, severity and status, per file and for all files, with error rates.

SSNs are masked (***-**-1234) unless `show_ssn` is given; the caller audits that.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from .. import segpos
from ..phi import format_ssn, mask_ssn
from ..review import statuses as st
from ..review.history import rollup_sql
from ..review.workflow import field_label, is_ssn_field

CATEGORIES = ("duplicate", "maintenance", "family", "subsidy", "data_quality", "missing")
SEVERITIES = ("error", "warning", "info")
CATEGORY_LABELS = {"duplicate": "Duplicates", "maintenance": "Maintenance", "family": "Family",
                   "subsidy": "Subsidy", "data_quality": "Data quality", "missing": "Missing"}
SEV_ORDER = "CASE {a}.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"

PHONE_LABELS = {"TE": "phone", "HP": "home", "CP": "cell", "WP": "work", "BN": "pager", "FX": "fax",
                "EX": "ext."}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"      # text | date | int | pct
    width: int = 14


@dataclass
class Filters:
    """Which flags an export covers. Empty means everything (each list has its own default statuses)."""

    statuses: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    file_ids: list[int] = field(default_factory=list)
    date_from: str | None = None     # flag raised on or after (YYYY-MM-DD)
    date_to: str | None = None       # flag raised on or before
    clerk: str | None = None         # assigned to; '' or 'none' = unassigned
    include_resolved: bool = False   # flags a later file resolved

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], False)}

    def describe(self) -> str:
        parts = []
        if self.statuses:
            parts.append("status " + ", ".join(st.label(s) for s in self.statuses))
        if self.categories:
            parts.append("category " + ", ".join(self.categories))
        if self.severities:
            parts.append("severity " + ", ".join(self.severities))
        if self.file_ids:
            parts.append("file " + ", ".join(map(str, self.file_ids)))
        if self.date_from or self.date_to:
            parts.append(f"raised {self.date_from or '...'} to {self.date_to or '...'}")
        if self.clerk is not None:
            parts.append(f"assigned to {self.clerk or 'nobody'}")
        if self.include_resolved:
            parts.append("including flags resolved by later files")
        return "; ".join(parts) or "no filters"

    def sql(self, a: str = "f", *, statuses: bool = True, resolved: bool = True) -> tuple[str, list[Any]]:
        conds: list[str] = []
        params: list[Any] = []

        def isin(col: str, values: list[Any]) -> None:
            conds.append(f"{col} IN ({','.join('?' * len(values))})")
            params.extend(values)

        if statuses and self.statuses:
            isin(f"COALESCE({a}.status, 'new')", self.statuses)
        if self.categories:
            isin(f"{a}.category", self.categories)
        if self.severities:
            isin(f"{a}.severity", self.severities)
        if self.file_ids:
            isin(f"{a}.file_id", self.file_ids)
        if self.date_from:
            conds.append(f"substr({a}.created_at, 1, 10) >= ?")
            params.append(self.date_from)
        if self.date_to:
            conds.append(f"substr({a}.created_at, 1, 10) <= ?")
            params.append(self.date_to)
        if self.clerk is not None:
            if self.clerk in ("", "none"):
                conds.append(f"{a}.assigned_to IS NULL")
            else:
                conds.append(f"{a}.assigned_to = ?")
                params.append(self.clerk)
        if resolved and not self.include_resolved:
            conds.append(f"{a}.resolved_at IS NULL")
        return (" AND ".join(conds) or "1"), params


@dataclass
class ListData:
    kind: str
    title: str
    columns: list[Column]
    count: int
    rows: Iterator[tuple[Any, ...]]
    close: Callable[[], None] = lambda: None


def _ssn(value: str | None, show: bool) -> str:
    if show:
        return format_ssn(value)
    if value and len(value) >= 4 and value.isdigit():  # the common case, without phi.mask_ssn's scan
        return "***-**-" + value[-4:]
    return mask_ssn(value)


_NON_DIGITS = re.compile(r"\D")


def format_phone(number: str) -> str:
    d = number if number.isdigit() else _NON_DIGITS.sub("", number)
    if len(d) == 11 and d.startswith("1"):
        d = d[1:]
    if len(d) == 10:
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"
    return number


def split_contacts(phones_json: str | None) -> tuple[str, str, str]:
    """members.phones JSON -> (main phone, other phones with labels, e-mail addresses)."""
    try:
        phones: dict[str, list[str]] = json.loads(phones_json) if phones_json else {}
    except ValueError:
        phones = {}
    numbers: list[tuple[str, str]] = []
    emails: list[str] = []
    for q, values in phones.items():
        for v in values:
            if q == "EM":
                emails.append(v)
            elif q == "EX" and numbers:
                numbers[-1] = (numbers[-1][0], f"{numbers[-1][1]} ext. {v}")
            else:
                numbers.append((q, format_phone(v)))
    order = {"TE": 0, "HP": 1, "CP": 2, "WP": 3}
    numbers.sort(key=lambda n: order.get(n[0], 9))
    main = numbers[0][1] if numbers else ""
    others = "; ".join(f"{PHONE_LABELS.get(q, q)} {n}" for q, n in numbers[1:])
    return main, others, "; ".join(emails)


def parse_iso_date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.date):
        return value
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------ call-backs

CALLBACK_COLUMNS = [
    Column("due", "Due date", "date", 11),
    Column("days_open", "Days open", "int", 9),
    Column("status", "Status", "text", 18),
    Column("assigned", "Assigned to", "text", 14),
    Column("name", "Name", "text", 26),
    Column("phones", "Phone numbers", "text", 30),
    Column("email", "E-mail", "text", 26),
    Column("member_id", "Member id", "text", 13),
    Column("policy_id", "Policy id", "text", 13),
    Column("plan", "Plan", "text", 17),
    Column("ssn", "SSN", "text", 12),
    Column("reasons", "Reasons", "text", 70),
]

CALLBACK_DEFAULT_STATUSES = [st.NEEDS_CALL_BACK]
_SEP = "\x1e"


def _name(last: str | None, first: str | None) -> str:
    return ", ".join(x for x in (last, first) if x)


def callbacks(db: Database, filters: Filters | None = None, *, show_ssn: bool = False,
              today: _dt.date | None = None) -> ListData:
    """Members whose open flags need a call: one row per member, soonest due date first.

    A roster-only person (MISS-01: the exchange lists them, no 834 ever came, so the flag has no
    member row) is on the list too, with the name, phone and ids of the exchange's roster row.

    The selected flags are copied into a working table sorted by member, severity and id and indexed
    by member; grouping through that index (INDEXED BY) concatenates each member's reasons in that
    order. All of it runs inside SQLite and the rows stream, so 100,000 members need little memory.
    """
    f = filters or Filters()
    if not f.statuses:
        f = Filters(**{**asdict(f), "statuses": list(CALLBACK_DEFAULT_STATUSES)})
    today = today or _dt.date.today()
    cond, params = f.sql("f")
    name = f"_cb_{secrets.token_hex(6)}"
    work = f"temp.{name}"
    conn = db.conn
    conn.execute(f"""
        CREATE TABLE {work} AS
        SELECT COALESCE('p' || m.person_id, '17:' || NULLIF(m.member_id, ''), 'r' || m.id,
                        '17:' || NULLIF(rr.member_id, ''), 'rr' || rr.id) AS k,
               f.id, f.message, COALESCE(f.status, 'new') AS status, f.assigned_to, f.due_date, f.created_at,
               f.member_id, rr.id AS roster_row
        FROM flags f LEFT JOIN members m ON m.id = f.member_id
        LEFT JOIN roster_rows rr ON rr.id = f.roster_row_id AND f.member_id IS NULL
        WHERE (m.id IS NOT NULL OR rr.id IS NOT NULL) AND {cond}
        ORDER BY k, {SEV_ORDER.format(a="f")}, f.id""", params)
    conn.execute(f"CREATE INDEX temp.{name}_k ON {name}(k)")
    count = conn.execute(f"SELECT COUNT(DISTINCT k) FROM {work}").fetchone()[0]
    cur = conn.execute(f"""
        SELECT g.due, g.opened, g.status, g.assigned, COALESCE(m.last_name, rr.last_name),
               COALESCE(m.first_name, rr.first_name), m.phones, rr.phone,
               COALESCE(m.member_id, rr.member_id), COALESCE(m.policy_id, rr.policy_id),
               COALESCE(NULLIF(c.plan_id, ''), c.hd04, rr.plan_id) AS plan, COALESCE(m.ssn, rr.ssn), g.reasons
        FROM (SELECT k, MAX(member_id) AS mrow, MAX(roster_row) AS rrow, MIN(due_date) AS due,
                     MIN(created_at) AS opened, {rollup_sql('t')} AS status,
                     group_concat(DISTINCT assigned_to) AS assigned,
                     group_concat(message, char(30)) AS reasons
              FROM {work} t INDEXED BY {name}_k GROUP BY k) g
        LEFT JOIN members m ON m.id = g.mrow
        LEFT JOIN roster_rows rr ON rr.id = g.rrow AND g.mrow IS NULL
        LEFT JOIN coverages c ON c.member_id = m.id AND c.seq = 1
        ORDER BY g.due IS NULL, g.due, g.opened, g.k""")
    closed = []

    def close() -> None:
        """Finish early or late: close the cursor, drop the working table (idempotent)."""
        if closed:
            return
        closed.append(True)
        with contextlib.suppress(sqlite3.Error):
            cur.close()
            conn.execute(f"DROP TABLE IF EXISTS {work}")

    def rows() -> Iterator[tuple[Any, ...]]:
        try:
            for (due, opened, status, assigned, last, first, phones, roster_phone, mid, pid, plan, ssn,
                 reasons) in cur:
                opened_d = parse_iso_date(opened)
                if phones is None and roster_phone:   # a roster-only person: the roster's one phone
                    phone, others, email = format_phone(roster_phone), "", ""
                else:
                    phone, others, email = split_contacts(phones)
                if assigned and "," in assigned:
                    assigned = ", ".join(sorted(assigned.split(",")))
                reasons = "; ".join(dict.fromkeys(reasons.split(_SEP))) if _SEP in reasons else reasons
                yield (parse_iso_date(due), (today - opened_d).days if opened_d else None, st.label(status),
                       assigned or "", _name(last, first), f"{phone}; {others}" if others else phone, email,
                       mid or "", pid or "", plan or "", _ssn(ssn, show_ssn), reasons)
        finally:
            close()

    return ListData("callbacks", "Call-back list", CALLBACK_COLUMNS, count, rows(), close)


# ------------------------------------------------------------------------------------------- follow-ups

FOLLOWUP_COLUMNS = [
    Column("policy_id", "Exchange policy id", "text", 14),
    Column("member_id", "Member id", "text", 13),
    Column("subscriber_id", "Subscriber id", "text", 13),
    Column("last_name", "Last name", "text", 16),
    Column("first_name", "First name", "text", 14),
    Column("ssn", "SSN", "text", 12),
    Column("field", "Field", "text", 24),
    Column("value_834", "Value in the 834", "text", 20),
    Column("corrected", "Corrected or expected value", "text", 22),
    Column("source", "Source", "text", 28),
    Column("rule", "Rule", "text", 9),
    Column("problem", "Problem", "text", 50),
    Column("status", "Status", "text", 18),
    Column("file", "File", "text", 24),
    Column("file_date", "File received", "date", 11),
    Column("segment", "Segment", "text", 9),
    Column("flag_id", "Flag id", "int", 8),
    Column("recorded_by", "Recorded by", "text", 12),
    Column("recorded_on", "Recorded on", "date", 11),
]

FOLLOWUP_DEFAULT_STATUSES = [st.WAITING_ON_EXCHANGE, st.CORRECTED]


def element_value(raw: str | None, segs_json: str | None, delims: str | None, ordinal: int,
                  element: str | None) -> str | None:
    """The value of element 'DMG02' in segment number `ordinal` of a member's stored raw text."""
    if not raw or not segs_json or not element or len(element) < 3 or not element[-2:].isdigit():
        return None
    lines = raw.split("\n")
    sep = (delims or "*")[0]
    for (o, _loop, _off), line in zip(segpos.decode(segs_json, lines), lines, strict=False):
        if o == ordinal:
            parts = line.split(sep)
            i = int(element[-2:])
            return parts[i] if i < len(parts) else ""
    return None


def followups(db: Database, filters: Filters | None = None, *, show_ssn: bool = False) -> ListData:
    """Each discrepancy to report to the exchange: corrections first, then flags waiting without one.

    A roster-only person (MISS-01, no member row) is named from the exchange's roster row."""
    f = filters or Filters()
    statuses = f.statuses or list(FOLLOWUP_DEFAULT_STATUSES)
    cond, params = f.sql("g", statuses=False)
    smarks = ",".join("?" * len(statuses))
    flag_only_filters = bool(f.categories or f.severities or f.statuses or f.clerk is not None)
    corr_cond, corr_params = f.sql("g", statuses=False)
    c_date = []
    if f.date_from:
        c_date.append(("substr(c.created_at, 1, 10) >= ?", f.date_from))
    if f.date_to:
        c_date.append(("substr(c.created_at, 1, 10) <= ?", f.date_to))
    member_level = ("c.flag_id IS NULL" + "".join(f" AND {c}" for c, _ in c_date)
                    + (" AND c.file_id IN (" + ",".join("?" * len(f.file_ids)) + ")" if f.file_ids else ""))
    member_level_params = [v for _, v in c_date] + list(f.file_ids)
    sql_corr = f"""
        SELECT 0 AS part, c.id AS sort_id, COALESCE(m.policy_id, rr.policy_id),
               COALESCE(m.member_id, rr.member_id), COALESCE(m.subscriber_id, rr.subscriber_id),
               COALESCE(m.last_name, rr.last_name), COALESCE(m.first_name, rr.first_name),
               COALESCE(m.ssn, rr.ssn), c.field, c.value_834, c.corrected_value, c.source, g.rule,
               g.message, COALESCE(g.status, ''), fl.name, fl.received_at, NULL AS segs, g.id, c.author,
               c.created_at, NULL, NULL, NULL
        FROM corrections c LEFT JOIN flags g ON g.id = c.flag_id
        LEFT JOIN members m ON m.id = c.member_id
        LEFT JOIN files fl ON fl.id = COALESCE(c.file_id, g.file_id)
        LEFT JOIN roster_rows rr ON rr.id = g.roster_row_id AND c.member_id IS NULL
        WHERE (c.flag_id IS NOT NULL AND COALESCE(g.status, 'new') IN ({smarks}) AND {corr_cond})
           {'' if flag_only_filters else 'OR (' + member_level + ')'}"""
    corr_all_params = [*statuses, *corr_params, *([] if flag_only_filters else member_level_params)]
    sql_flags = f"""
        SELECT 1 AS part, g.id AS sort_id, COALESCE(m.policy_id, g.policy_id),
               COALESCE(m.member_id, rr.member_id), COALESCE(m.subscriber_id, rr.subscriber_id),
               COALESCE(m.last_name, rr.last_name), COALESCE(m.first_name, rr.first_name),
               COALESCE(m.ssn, rr.ssn), NULL, NULL, NULL, NULL, g.rule, g.message, COALESCE(g.status, 'new'),
               fl.name, fl.received_at, g.segments, g.id, g.assigned_to,
               COALESCE(g.status_changed_at, g.updated_at), m.raw, m.segs, fl.delims
        FROM flags g LEFT JOIN members m ON m.id = g.member_id LEFT JOIN files fl ON fl.id = g.file_id
        LEFT JOIN roster_rows rr ON rr.id = g.roster_row_id AND g.member_id IS NULL
        WHERE COALESCE(g.status, 'new') IN ({smarks}) AND {cond}
          AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.flag_id = g.id)"""
    conn = db.conn
    full = f"SELECT * FROM ({sql_corr} UNION ALL {sql_flags}) ORDER BY part, 3, 4, sort_id"
    all_params = [*corr_all_params, *statuses, *params]
    count = conn.execute(f"SELECT COUNT(*) FROM ({sql_corr} UNION ALL {sql_flags})", all_params).fetchone()[0]
    cur = conn.execute(full, all_params)

    def rows() -> Iterator[tuple[Any, ...]]:
        try:
            for (part, _sid, pid, mid, sid, last, first, ssn, fname, v834, corrected, source, rule, message,
                 status, file, received, segments, flag_id, who, when, raw, segs, delims) in cur:
                seg_ref = ""
                if part == 1:
                    fname, v834 = None, None
                    try:
                        spots = json.loads(segments or "[]")
                    except ValueError:
                        spots = []
                    for s in spots:
                        if s.get("element"):
                            fname = s["element"]
                            v834 = element_value(raw, segs, delims, s.get("ordinal"), s["element"])
                            seg_ref = f"#{s.get('ordinal')}"
                            break
                    if not seg_ref and spots:
                        seg_ref = f"#{spots[0].get('ordinal')}"
                    source = ""
                masked = is_ssn_field(fname) and not show_ssn
                yield (pid or "", mid or "", sid or "", last or "", first or "", _ssn(ssn, show_ssn),
                       field_label(fname) if fname else "", mask_ssn(v834) if masked else (v834 or ""),
                       mask_ssn(corrected) if masked else (corrected or ""), source or "", rule or "",
                       message or "", st.label(status) if status else "", file or "",
                       parse_iso_date(received), seg_ref, flag_id, who or "", parse_iso_date(when))
        finally:
            close()

    def close() -> None:
        with contextlib.suppress(sqlite3.Error):
            cur.close()

    return ListData("followups", "Follow-up list for the exchange", FOLLOWUP_COLUMNS, count, rows(), close)


# ---------------------------------------------------------------------------------------------- summary


def summary_columns() -> list[Column]:
    cols = [
        Column("file", "File", "text", 28),
        Column("received", "Received", "date", 11),
        Column("members", "Members", "int", 9),
        Column("flagged_members", "Flagged members", "int", 9),
        Column("error_rate", "Error rate", "pct", 9),
        Column("members_with_errors", "Members with errors", "int", 9),
        Column("flags", "Flags", "int", 8),
    ]
    cols += [Column(f"cat_{c}", CATEGORY_LABELS[c], "int", 9) for c in CATEGORIES]
    cols += [Column(f"sev_{s}", s.capitalize(), "int", 8) for s in SEVERITIES]
    cols += [Column(f"st_{s}", st.LABELS[s], "int", 10) for s in st.STATUSES]
    cols.append(Column("resolved", "Resolved by a later file", "int", 10))
    return cols


def summary(db: Database, filters: Filters | None = None, *, show_ssn: bool = False) -> ListData:
    """One row per file (oldest first) and a last row for all files.

    Error rate = members with at least one flag / members in the file. Status columns count flags not
    resolved by a later file; 'Resolved by a later file' counts those that were.
    """
    f = filters or Filters()
    cond, params = f.sql("g", resolved=False)
    cats = ", ".join(f"SUM(g.category = '{c}')" for c in CATEGORIES)
    sevs = ", ".join(f"SUM(g.severity = '{s}')" for s in SEVERITIES)
    stats = ", ".join(f"SUM(g.id IS NOT NULL AND g.resolved_at IS NULL AND COALESCE(g.status, 'new') = '{s}')"
                      for s in st.STATUSES)
    agg = (f"COUNT(g.id), COUNT(DISTINCT g.member_id), "
           f"COUNT(DISTINCT CASE WHEN g.severity = 'error' THEN g.member_id END), {cats}, {sevs}, {stats}, "
           f"SUM(g.resolved_at IS NOT NULL)")
    file_cond = ""
    file_params: list[Any] = []
    if f.file_ids:
        file_cond = f"WHERE fl.id IN ({','.join('?' * len(f.file_ids))})"
        file_params = list(f.file_ids)
    conn = db.conn
    per_file = conn.execute(f"""
        SELECT fl.id, fl.name, COALESCE(fl.received_at, fl.imported_at), fl.member_count, {agg}
        FROM files fl LEFT JOIN flags g ON g.file_id = fl.id AND {cond}
        {file_cond} GROUP BY fl.id ORDER BY fl.id""", [*params, *file_params]).fetchall()
    overall = conn.execute(f"""
        SELECT {agg} FROM flags g WHERE {cond}
        {'AND g.file_id IN (' + ','.join('?' * len(f.file_ids)) + ')' if f.file_ids else ''}""",
                           [*params, *file_params]).fetchone()
    total_members = sum(r[3] or 0 for r in per_file)

    def make(name: str, received: Any, members: int, a: tuple[Any, ...]) -> tuple[Any, ...]:
        flags, flagged, with_errors = a[0] or 0, a[1] or 0, a[2] or 0
        rest = [int(x or 0) for x in a[3:]]
        rate = (flagged / members) if members else None
        return (name, parse_iso_date(received), members, flagged, rate, with_errors, flags, *rest)

    out = [make(r[1], r[2], r[3] or 0, r[4:]) for r in per_file]
    out.append(make("All files", None, total_members, overall))
    return ListData("summary", "Summary of flags", summary_columns(), len(out), iter(out))


LISTS: dict[str, Callable[..., ListData]] = {"callbacks": callbacks, "followups": followups,
                                             "summary": summary}
