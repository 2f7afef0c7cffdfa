"""Reading flags for the CLI and the GUI (the engine writes them)."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from .base import CATEGORIES, SEVERITIES

SEVERITY_ORDER = "CASE g.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"


class QueryError(ValueError):
    """A filter value the store cannot use; str() is one line for the user."""


def list_flags(db: Database, *, category: str | None = None, severity: str | None = None, file_id: int | None = None,
               status: str | None = None, rule: str | None = None, member_row: int | None = None,
               include_resolved: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Flags as dicts with the keys of the CLI's JSON contract (id, rule, category, severity, member_id
    (REF*17), subscriber_id, policy_id, last_name, first_name, file, message, segments, status, next_step,
    member_row, related, resolved_at, resolved_by_file)."""
    conds, params = [], []
    if category:
        c = category.strip().lower().replace("-", "_").replace(" ", "_")
        if c not in CATEGORIES:
            raise QueryError(f"unknown category {category!r}; use one of: {', '.join(CATEGORIES)}")
        conds.append("g.category = ?")
        params.append(c)
    if severity:
        s = severity.strip().lower()
        if s not in SEVERITIES:
            raise QueryError(f"unknown severity {severity!r}; use one of: {', '.join(SEVERITIES)}")
        conds.append("g.severity = ?")
        params.append(s)
    if file_id is not None:
        conds.append("g.file_id = ?")
        params.append(file_id)
    if status:
        conds.append("g.status = ?")
        params.append(status.strip().lower())
    if rule:
        conds.append("g.rule = ?")
        params.append(rule.strip().upper())
    if member_row is not None:
        conds.append("g.member_id = ?")
        params.append(member_row)
    if not include_resolved:
        conds.append("g.resolved_at IS NULL")
    where = " AND ".join(conds) or "1"
    sql = f"""
        SELECT g.id, g.rule, g.category, g.severity, m.member_id AS member_id, m.subscriber_id AS subscriber_id,
               g.policy_id, m.last_name, m.first_name, f.name AS file, g.message, g.segments, g.status,
               g.next_step, g.member_id AS member_row, g.related, g.file_id, g.person_id, g.created_at,
               g.updated_at, g.resolved_at, rf.name AS resolved_by_file
        FROM flags g LEFT JOIN members m ON m.id = g.member_id LEFT JOIN files f ON f.id = g.file_id
        LEFT JOIN files rf ON rf.id = g.resolved_by_file_id
        WHERE {where}
        ORDER BY g.file_id, {SEVERITY_ORDER}, g.member_id, g.rule, g.id"""
    if limit:
        sql += f" LIMIT {int(limit)}"
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    out = []
    for r in cur.fetchall():
        d = dict(zip(cols, r, strict=True))
        d["segments"] = json.loads(d["segments"] or "[]")
        d["related"] = json.loads(d["related"] or "[]")
        d["member_id"] = d["member_id"] or None
        d["subscriber_id"] = d["subscriber_id"] or None
        d["policy_id"] = d["policy_id"] or None
        out.append(d)
    return out


def flag_counts(db: Database, file_id: int | None = None) -> dict[str, dict[str, int]]:
    """Open flags by category and severity."""
    cond, params = ("AND file_id = ?", [file_id]) if file_id is not None else ("", [])
    out: dict[str, dict[str, int]] = {c: {s: 0 for s in SEVERITIES} for c in CATEGORIES}
    for c, s, n in db.execute(f"SELECT category, severity, count(*) FROM flags WHERE resolved_at IS NULL {cond} "
                              "GROUP BY category, severity", params):
        out.setdefault(c, {})[s] = n
    return out
