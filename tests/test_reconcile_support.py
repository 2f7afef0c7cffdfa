"""Helpers for the roster and reconciliation tests (no tests here).

The store side is always built through the real importer from 834 text written by the project's
generator; rosters are written as CMS pre-audit style CSV (or other layouts) from the same groups,
so a test changes exactly one thing on one side.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from enrollreview.ingest import import_file
from enrollreview.x12 import generator as gen

BEGIN = date(2026, 1, 1)
SUBMITTED = datetime(2025, 12, 1, 9, 0)
AS_OF = date(2026, 3, 15)

#: CMS pre-audit / RCNI style column names
CMS_HEADER = [
    "Coverage-Year", "Exchange-Assigned-Policy-ID", "Exchange-Assigned-Subscriber-ID",
    "Exchange-Assigned-Member-ID", "QHPID-Identifier", "Subscriber-Indicator",
    "Relationship-to-Subscriber-Indicator", "Member-Last-Name", "Member-First-Name", "DOB", "Gender", "SSN",
    "Benefit-Start-Date", "Benefit-End-Date", "Policy-Status", "Applied-APTC-Amount", "Total-Premium-Amount",
    "Member-Premium-Amount", "Rating-Area", "Paid-Through-Date",
]


def factory(seed: int = 11) -> gen.Factory:
    return gen.Factory(seed)


def family(f: gen.Factory, roles: list[str] | None = None, **kw: Any) -> gen.Group:
    return f.group(begin=kw.pop("begin", BEGIN), submitted=kw.pop("submitted", SUBMITTED),
                   roles=roles if roles is not None else [], broker=False, **kw)


def write_834(dirpath: Path, groups: list[gen.Group], name: str, *, isa_control: int = 1,
              sender: str = gen.FFE_SENDER) -> Path:
    p = dirpath / name
    text = gen.render_file(groups, isa_control=isa_control, sender=sender,
                           file_date=datetime(2026, 1, 5, 6, 0) if isa_control < 2 else
                           datetime(2026, 1, 5 + isa_control, 6, 0))
    p.write_bytes(text.encode("latin-1"))
    return p


def load(db: Any, dirpath: Path, groups: list[gen.Group], name: str = "in.834", **kw: Any) -> Any:
    """Import through the real importer. The rules engine is not run: these tests are about the
    reconciliation's own flags, and must not depend on (or count) the other rules' flags."""
    res = import_file(db, write_834(dirpath, groups, name, **kw), run_rules=False)
    assert res.ok, res.summary()
    return res


def member_row(g: gen.Group, m: gen.Member, *, year: int = 2026, status: str = "Effectuated",
               end: str = "") -> dict[str, str]:
    """A roster row that agrees with what the 834 for `g` says about `m`."""
    sub = m.subscriber
    return {
        "Coverage-Year": str(year),
        "Exchange-Assigned-Policy-ID": g.policy_id,
        "Exchange-Assigned-Subscriber-ID": g.subscriber_id,
        "Exchange-Assigned-Member-ID": m.member_id,
        "QHPID-Identifier": m.plan_id or g.coverage.plan_id,
        "Subscriber-Indicator": "Y" if sub else "N",
        "Relationship-to-Subscriber-Indicator": m.relationship,
        "Member-Last-Name": m.last,
        "Member-First-Name": m.first,
        "DOB": (m.dob or BEGIN).strftime("%m/%d/%Y"),
        "Gender": m.gender,
        "SSN": m.ssn or "",
        "Benefit-Start-Date": (m.begin or g.coverage.begin).isoformat(),
        "Benefit-End-Date": end,
        "Policy-Status": status,
        "Applied-APTC-Amount": f"{g.aptc:.2f}" if sub else "",
        "Total-Premium-Amount": f"{g.total_premium():.2f}" if sub else "",
        "Member-Premium-Amount": f"{m.premium:.2f}",
        "Rating-Area": g.rating_area if sub else "",
        "Paid-Through-Date": "",
    }


def rows_for(groups: Iterable[gen.Group], **kw: Any) -> list[dict[str, str]]:
    return [member_row(g, m, **kw) for g in groups for m in g.members]


def write_roster(dirpath: Path, rows: list[dict[str, str]], name: str = "roster.csv", *,
                 header: list[str] | None = None, delimiter: str = ",",
                 rename: dict[str, str] | None = None) -> Path:
    header = header or CMS_HEADER
    rename = rename or {}
    p = dirpath / name
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow([rename.get(h, h) for h in header])
        for r in rows:
            w.writerow([r.get(h, "") for h in header])
    return p


def flags(db: Any, rule: str | None = None, *, open_only: bool = True) -> list[dict[str, Any]]:
    sql = "SELECT * FROM flags WHERE category = 'missing'"
    params: list[Any] = []
    if rule:
        sql += " AND rule = ?"
        params.append(rule)
    if open_only:
        sql += " AND resolved_at IS NULL"
    cur = db.execute(sql + " ORDER BY id", params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def money(x: Decimal) -> str:
    return f"{x:.2f}"
