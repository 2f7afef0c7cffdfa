"""What the CLI and the GUI show about rosters and reconciliations (read-only).

- `roster_row_detail`: the member view of a roster-only person (a MISS-01 flag has no `members` row,
  no raw 834 segments): the roster row, field by field and as it was in the file, with the note that
  no 834 was received.
- `reconciliation_summary` / `summaries`: the latest reconciliation of a roster, or of every roster.
- `discrepancy_list` / `write_discrepancies`: the discrepancy file for the monthly dispute, in the
  exchange's terms: one row per discrepancy with "Exchange Value" and "Issuer Value" columns.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..phi import format_ssn, mask_ssn
from ..store import rows as _rows
from .normalize import cents_to_text
from .reconcile import FIELD_LABELS, ROSTER_FIELD, STATUS_WORDS

NO_834_NOTE = ("No 834 was received for this person: the exchange roster lists them as enrolled, but no "
               "enrollment file for them has been loaded. What is shown is the exchange's roster row.")

_REL = {"18": "self", "01": "spouse", "19": "child", "53": "life partner", "17": "stepchild",
        "09": "adopted child", "10": "foster child", "15": "ward"}


def _ssn(v: str | None, show: bool) -> str:
    return format_ssn(v) if show else mask_ssn(v)


def roster_row_detail(db: Database, roster_row_id: int, *, show_ssn: bool = False) -> dict[str, Any] | None:
    """{'title', 'note', 'roster', 'row_number', 'fields': [(label, value)], 'original': [(column, value)]}.

    'original' is the row exactly as in the file; an SSN column there is masked too unless show_ssn.
    """
    rows = _rows(db, "SELECT r.*, ro.name AS roster_name, ro.headers, ro.mapping, ro.imported_at, ro.sender "
                     "FROM roster_rows r JOIN rosters ro ON ro.id = r.roster_id WHERE r.id = ?", [roster_row_id])
    if not rows:
        return None
    r = rows[0]
    rel = r["relationship"] or ""
    role = "Subscriber" if r["subscriber_ind"] == "Y" else "Dependant"
    fields = [
        ("Name", " ".join(x for x in (r["first_name"], r["middle_name"], r["last_name"]) if x)),
        ("Role", f"{role} ({_REL.get(rel, rel) or '-'})"),
        ("Exchange member id", r["member_id"] or ""),
        ("Exchange subscriber id", r["subscriber_id"] or ""),
        ("Exchange policy id", r["policy_id"] or ""),
        ("SSN", _ssn(r["ssn"], show_ssn)),
        ("Date of birth", r["dob"] or ""),
        ("Gender", r["gender"] or ""),
        ("Coverage year", str(r["coverage_year"])),
        ("Benefit", f"{r['benefit_start'] or '-'} to {r['benefit_end'] or 'open'}"),
        ("Status (exchange)", STATUS_WORDS.get(r["status"] or "", r["status_raw"] or "")),
        ("Plan id", r["plan_id"] or ""),
        ("APTC", cents_to_text(r["aptc_cents"])),
        ("Total premium", cents_to_text(r["total_premium_cents"])),
        ("Member premium", cents_to_text(r["member_premium_cents"])),
        ("Rating area", r["rating_area"] or ""),
        ("Paid through", r["paid_through"] or ""),
        ("Address", ", ".join(x for x in (r["address1"], r["city"], " ".join(
            y for y in (r["state"], r["zip"]) if y)) if x)),
        ("Phone", r["phone"] or ""),
    ]
    headers = json.loads(r["headers"])
    mapping = json.loads(r["mapping"])
    ssn_col = mapping.get("ssn")
    values = json.loads(r["raw"])
    original = []
    for h, v in zip(headers, values, strict=False):
        original.append((h, _ssn(v, show_ssn) if h == ssn_col and v and not show_ssn else v))
    return {
        "title": f"{r['last_name'] or ''}, {r['first_name'] or ''} (roster only)",
        "note": NO_834_NOTE,
        "roster": r["roster_name"], "roster_id": r["roster_id"], "row_number": r["row_number"],
        "sender": r["sender"], "imported_at": r["imported_at"],
        "fields": [(k, v) for k, v in fields if v != ""],
        "original": original,
    }


def flag_roster_row(db: Database, flag_id: int, *, show_ssn: bool = False) -> dict[str, Any] | None:
    """The roster row behind a flag (MISS-01: the only record of the person; MISS-03: the exchange side)."""
    row = db.execute("SELECT roster_row_id FROM flags WHERE id = ?", [flag_id]).fetchone()
    if not row or row[0] is None:
        return None
    return roster_row_detail(db, row[0], show_ssn=show_ssn)


def reconciliation_summary(db: Database, roster_id: int) -> dict[str, Any] | None:
    rows = _rows(db, "SELECT c.*, r.name AS roster_name, r.sender FROM reconciliations c JOIN rosters r "
                     "ON r.id = c.roster_id WHERE c.roster_id = ? ORDER BY c.id DESC LIMIT 1", [roster_id])
    if not rows:
        return None
    s = rows[0]
    for k in ("by_field", "by_level", "coverage_years"):
        s[k] = json.loads(s[k])
    return s


def summaries(db: Database) -> list[dict[str, Any]]:
    """The latest reconciliation of each roster, flattened for a table or CSV (one row per roster)."""
    out = []
    for (rid,) in db.execute("SELECT DISTINCT roster_id FROM reconciliations ORDER BY roster_id").fetchall():
        s = reconciliation_summary(db, rid)
        if s is None:
            continue
        row = {k: s[k] for k in ("roster_id", "roster_name", "sender", "run_at", "as_of", "roster_persons",
                                 "matched", "missing_from_834", "missing_from_roster", "mismatched",
                                 "not_effectuated", "not_checked")}
        row["coverage_years"] = ", ".join(map(str, s["coverage_years"]))
        row["mismatched_by_field"] = "; ".join(f"{FIELD_LABELS.get(k, k)} {v}" for k, v in
                                               sorted(s["by_field"].items(), key=lambda kv: -kv[1]))
        out.append(row)
    return out


# -- the discrepancy file ----------------------------------------------------------------------------

REASONS = {
    "MISS-01": ("MISSING-ISSUER", "On the exchange roster; the issuer never received an 834"),
    "MISS-02": ("MISSING-EXCHANGE", "Active with the issuer; not on the exchange roster"),
    "MISS-03": ("FIELD-MISMATCH", "Exchange and issuer values differ"),
    "MISS-07": ("NOT-EFFECTUATED", "Enrolled but not effectuated past the grace period"),
}

DISCREPANCY_HEADERS = [
    "Coverage Year", "Exchange Assigned Policy ID", "Plan ID", "Member Last Name", "Member First Name",
    "Exchange Assigned Member ID", "Issuer Assigned Member ID", "Exchange Assigned Subscriber ID",
    "Issuer Assigned Subscriber ID", "Subscriber Indicator", "Discrepancy Reason Code",
    "Discrepancy Reason Text", "Field", "Roster Column", "Exchange Value", "Issuer Value",
    "Date of Discrepancy", "Recon File Name", "Roster Row", "Rule", "Flag Id", "Flag Status",
]


def discrepancy_list(db: Database, roster_id: int, *, show_ssn: bool = False) -> tuple[int, Iterator[list[Any]]]:
    """(row count, rows) of the discrepancy file for the roster's latest reconciliation."""
    ro = db.execute("SELECT name, mapping, coverage_year FROM rosters WHERE id = ?", [roster_id]).fetchone()
    if ro is None:
        raise LookupError(f"there is no roster {roster_id}")
    name, mapping_json, year = ro
    mapping = json.loads(mapping_json)
    run = db.execute("SELECT substr(run_at, 1, 10) FROM reconciliations WHERE roster_id = ? ORDER BY id DESC "
                     "LIMIT 1", [roster_id]).fetchone()
    when = run[0] if run else _dt.date.today().isoformat()
    count = db.execute("SELECT COUNT(*) FROM reconcile_discrepancies WHERE roster_id = ?", [roster_id]).fetchone()[0]
    cur = db.execute("""
        SELECT d.rule, d.field, d.exchange_value, d.issuer_value, r.row_number, r.coverage_year,
               COALESCE(r.policy_id, m.policy_id), COALESCE(r.plan_id,
                   (SELECT c.plan_id FROM coverages c WHERE c.member_id = m.id ORDER BY c.seq LIMIT 1)),
               COALESCE(r.last_name, m.last_name), COALESCE(r.first_name, m.first_name),
               COALESCE(r.member_id, m.member_id), COALESCE(r.issuer_member_id, m.issuer_member_id),
               COALESCE(r.subscriber_id, m.subscriber_id),
               COALESCE(r.issuer_subscriber_id, m.issuer_subscriber_id),
               COALESCE(r.subscriber_ind, m.ins01), f.id, f.status
        FROM reconcile_discrepancies d
        LEFT JOIN roster_rows r ON r.id = d.roster_row_id
        LEFT JOIN members m ON m.id = d.member_row_id
        LEFT JOIN flags f ON f.fingerprint = d.fingerprint
        WHERE d.roster_id = ?
        ORDER BY COALESCE(r.policy_id, m.policy_id), COALESCE(r.member_id, m.member_id), d.rule, d.id""",
                     [roster_id])

    def rows() -> Iterator[list[Any]]:
        try:
            for (rule, fld, ex, ours, rown, ryear, pol, plan, last, first, mem, imem, sub, isub, si, fid,
                 fstatus) in cur:
                code, text = REASONS[rule]
                if fld == "ssn":
                    ex, ours = _ssn(ex, show_ssn), _ssn(ours, show_ssn)
                column = mapping.get(ROSTER_FIELD.get(fld or "", fld or ""), "") if fld else ""
                yield [ryear or year, pol or "", plan or "", last or "", first or "", mem or "", imem or "",
                       sub or "", isub or "", si or "", code, text, FIELD_LABELS.get(fld or "", fld or ""),
                       column, ex or "", ours or "", when, name, rown or "", rule, fid or "", fstatus or ""]
        finally:
            cur.close()

    return count, rows()


def write_discrepancies(db: Database, roster_id: int, out: str | os.PathLike[str], *, fmt: str | None = None,
                        show_ssn: bool = False) -> tuple[Path, int]:
    """Write the discrepancy file (CSV, or XLSX when `fmt` or the file name says so); returns (path, rows).

    Written 0600 under a temporary name and renamed into place; audited like every export.
    """
    from ..export.lists import Column
    from ..export.run import create_private
    from ..export.writers import write_csv, write_xlsx
    from ..review.audit import record_many

    dest = Path(out).expanduser()
    fmt = (fmt or ("xlsx" if dest.suffix.lower() == ".xlsx" else "csv")).lower()
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown format {fmt!r}; choose csv or xlsx")
    if dest.is_dir():
        raise ValueError(f"{dest} is a folder; give a file name")
    if not dest.parent.is_dir():
        raise ValueError(f"the folder {dest.parent} does not exist")
    count, rows = discrepancy_list(db, roster_id, show_ssn=show_ssn)
    columns = [Column(h.lower().replace(" ", "_"), h, "int" if h in ("Coverage Year",) else "text",
                      max(12, min(len(h) + 2, 40))) for h in DISCREPANCY_HEADERS]
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
    fd = create_private(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            if fmt == "csv":
                n = write_csv(fh, columns, rows, count)
            else:
                n = write_xlsx(fh, columns, rows, count, sheet="Discrepancies")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    detail = {"kind": "roster discrepancies", "roster_id": roster_id, "format": fmt,
              "path": str(dest.resolve()), "rows": n, "show_ssn": show_ssn}
    entries: list[tuple[str, int | None, int | None, dict[str, Any] | None]] = [("export", None, None, detail)]
    if show_ssn:
        entries.append(("reveal_ssn", None, None, {"where": "roster discrepancy file", "path": detail["path"]}))
    record_many(db, entries)
    return dest, n
