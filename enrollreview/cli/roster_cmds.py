"""roster import/list/mappings/errors/row, reconcile (summary, discrepancies)."""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path
from typing import Any

from ..reconcile import mapping as mp
from ..reconcile import views
from ..reconcile.reconcile import DEFAULT_GRACE_DAYS, ReconcileError, latest_roster_id, reconcile
from ..reconcile.roster import import_roster, list_rosters, row_errors
from . import CliError
from ._common import add_format, emit, open_store, print_json, print_table


def register(sub: Any, common: Any) -> None:
    p = sub.add_parser("roster", parents=[common], help="import exchange rosters (pre-audit files)",
                       description="Import the exchange's monthly roster (CSV, pipe-separated or .xlsx) to "
                       "reconcile it against the 834s: `roster import FILE`, then `reconcile`.")
    rs = p.add_subparsers(dest="roster_command", metavar="ACTION")
    q = rs.add_parser("import", parents=[common], help="import a roster file",
                      description="Import a roster. The column mapping is the saved mapping named with "
                      "--mapping, else the sender's saved mapping that fits the file, else a guess from the "
                      "column names; it is printed, with every row that could not be loaded and why. A roster "
                      "missing required columns, or with no good row, changes nothing. The same file is "
                      "refused a second time. Exit status 1 if nothing was imported.")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--mapping", metavar="NAME", help="use this saved column mapping")
    q.add_argument("--sender", metavar="S", default="", help="who sent the roster (e.g. CMSFFM); mappings "
                   "are saved per sender")
    q.add_argument("--map", metavar="FIELD=COLUMN", action="append", default=[],
                   help="map one field to a column by hand (repeatable), e.g. --map status='Eff Ind'")
    q.add_argument("--save-mapping", metavar="NAME", help="save the mapping used under this name "
                   "(default: the sender's name)")
    q.add_argument("--no-save", action="store_true", help="do not save the mapping")
    q.add_argument("--reconcile", action="store_true", help="reconcile right after a successful import")
    q.add_argument("--errors", type=int, default=50, metavar="N", help="row problems to print (default 50)")
    q.set_defaults(func=cmd_import)

    q = rs.add_parser("list", parents=[common], help="list imported rosters")
    add_format(q)
    q.set_defaults(func=cmd_list)

    q = rs.add_parser("mappings", parents=[common], help="list saved column mappings")
    add_format(q, "table", "json")
    q.set_defaults(func=cmd_mappings)

    q = rs.add_parser("errors", parents=[common], help="rows of a roster that were not loaded, and why")
    q.add_argument("roster", type=int, metavar="ID")
    q.set_defaults(func=cmd_errors)

    q = rs.add_parser("row", parents=[common], help="show one roster row (a person with no 834)")
    q.add_argument("row_id", type=int, metavar="ROW_ID", help="roster row id (as named by a MISS-01 flag)")
    q.add_argument("--show-ssn", action="store_true", help="show the full SSN (recorded in the audit trail)")
    q.set_defaults(func=cmd_row)
    p.set_defaults(func=lambda a, p=p: _usage(p))

    p = sub.add_parser("reconcile", parents=[common], help="reconcile a roster against the 834s",
                       description="Match every roster person to the 834s in the store (policy id + member "
                       "id, then subscriber id + date of birth, then SSN, then name + date of birth) and raise "
                       "the 'missing' flags: MISS-01 on the roster but no 834, MISS-02 active with us but not "
                       "on the roster, MISS-03 field differences, MISS-07 not effectuated past the grace "
                       "period. Prints the summary.")
    p.add_argument("--roster", type=int, metavar="ID", help="the roster (default: the newest)")
    p.add_argument("--as-of", metavar="DATE", help="today's date for MISS-07 (YYYY-MM-DD; default today)")
    p.add_argument("--grace-days", type=int, default=None, metavar="N",
                   help="binder grace period for MISS-07 (default: the miss07_grace_days setting, "
                   f"{DEFAULT_GRACE_DAYS} unless changed)")
    add_format(p, "table", "json")
    p.set_defaults(func=cmd_reconcile)
    rc = p.add_subparsers(dest="reconcile_command", metavar="ACTION")
    q = rc.add_parser("discrepancies", parents=[common], help="write the discrepancy file for the dispute",
                      description="One row per discrepancy of the roster's latest reconciliation, in the "
                      "exchange's terms, with Exchange Value and Issuer Value columns. CSV, or XLSX when the "
                      "file name ends in .xlsx. SSNs are masked unless --show-ssn.")
    q.add_argument("--roster", type=int, metavar="ID", required=True)
    q.add_argument("--out", metavar="PATH", required=True)
    q.add_argument("--format", choices=["csv", "xlsx"], default=None)
    q.add_argument("--show-ssn", action="store_true", help="full SSNs (recorded in the audit trail)")
    q.set_defaults(func=cmd_discrepancies)
    q = rc.add_parser("summary", parents=[common], help="the latest reconciliation of every roster")
    add_format(q)
    q.set_defaults(func=cmd_summary)


def _usage(p: Any) -> int:
    p.print_help()
    return 2


def _print_mapping(m: dict[str, str], source: str, out: Any = None) -> None:
    out = out or sys.stdout
    print(f"Column mapping ({source}):", file=out)
    print_table(["field", "", "column in the file"], [(a, b, c or "-") for a, b, c in mp.describe(m)], out)


def cmd_import(args: Any) -> int:
    db = open_store(args)
    path = Path(args.file)
    if not path.exists():
        raise CliError(f"no such file: {args.file}")
    given = None
    if args.map:
        from ..reconcile.roster import inspect_roster, resolve_mapping

        preview = inspect_roster(path)
        base, _, _ = resolve_mapping(db, preview.headers, mapping_name=args.mapping, sender=args.sender)
        given = dict(base)
        for item in args.map:
            field, _, column = item.partition("=")
            if field not in mp.BY_NAME or not column:
                raise CliError(f"--map wants FIELD=COLUMN with FIELD one of: {', '.join(mp.BY_NAME)}")
            given[field] = column
    res = import_roster(db, path, mapping=given, mapping_name=None if given else args.mapping,
                        sender=args.sender, save_as=args.save_mapping, save=not args.no_save)
    if res.mapping or res.headers:
        _print_mapping(res.mapping, res.mapping_source)
    report = res.report(args.errors)
    if report:
        print(f"Row report ({res.rows_rejected:,} rows not loaded, {res.warnings:,} warnings):")
        for line in report:
            print("  " + line)
    if not res.ok:
        print(res.summary(), file=sys.stderr)
        return 1
    print(res.summary())
    if res.saved_as:
        print(f"Mapping saved as {res.saved_as!r} for sender {args.sender or '(none)'}.")
    if args.reconcile:
        r = reconcile(db, res.roster_id)
        print("\n".join(r.lines()))
    else:
        print(f"Next: enrollreview reconcile --roster {res.roster_id}")
    return 0


def cmd_list(args: Any) -> int:
    db = open_store(args)
    emit(args.format, ["id", "name", "sender", "year", "imported", "rows", "loaded", "rejected", "warnings",
                       "format", "reconciled"], list_rosters(db))
    return 0


def cmd_mappings(args: Any) -> int:
    db = open_store(args)
    rows = mp.list_mappings(db)
    if args.format == "json":
        print_json(rows)
        return 0
    print_table(["name", "sender", "fields", "updated", "used"],
                [(m["name"], m["sender"], len(m["mapping"]), (m["updated_at"] or "")[:16],
                  (m["used_at"] or "")[:16]) for m in rows])
    return 0


def cmd_errors(args: Any) -> int:
    db = open_store(args)
    if not db.execute("SELECT 1 FROM rosters WHERE id = ?", [args.roster]).fetchone():
        raise CliError(f"there is no roster {args.roster} (enrollreview roster list)")
    errs = row_errors(db, args.roster)
    if not errs:
        print(f"Every row of roster {args.roster} was loaded without warnings.")
        return 0
    for e in errs:
        print(e.line())
    return 0


def cmd_row(args: Any) -> int:
    db = open_store(args)
    d = views.roster_row_detail(db, args.row_id, show_ssn=args.show_ssn)
    if d is None:
        raise CliError(f"there is no roster row {args.row_id}")
    if args.show_ssn:
        try:
            from ..review.audit import record

            record(db, "reveal_ssn", detail={"where": "cli roster row", "roster_row_id": args.row_id})
        except ImportError:  # pragma: no cover
            pass
    print(f"{d['title']}: roster {d['roster_id']} ({d['roster']}), row {d['row_number']}")
    print(f"  {d['note']}")
    for label, value in d["fields"]:
        print(f"  {label:<24} {value}")
    print("As in the file:")
    for col, value in d["original"]:
        print(f"  {col:<40} {value}")
    return 0


def cmd_reconcile(args: Any) -> int:
    db = open_store(args)
    as_of = None
    if args.as_of:
        try:
            as_of = _dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise CliError(f"--as-of wants a date YYYY-MM-DD, not {args.as_of!r}") from None
    if args.grace_days is not None and args.grace_days < 0:
        raise CliError("--grace-days cannot be negative")
    try:
        res = reconcile(db, args.roster, as_of=as_of, grace_days=args.grace_days)
    except ReconcileError as e:
        raise CliError(str(e)) from None
    if args.format == "json":
        print_json(views.reconciliation_summary(db, res.roster_id))
    else:
        print("\n".join(res.lines()))
    return 0


def cmd_discrepancies(args: Any) -> int:
    db = open_store(args)
    if not db.execute("SELECT 1 FROM rosters WHERE id = ?", [args.roster]).fetchone():
        raise CliError(f"there is no roster {args.roster} (enrollreview roster list)")
    if not db.execute("SELECT 1 FROM reconciliations WHERE roster_id = ?", [args.roster]).fetchone():
        raise CliError(f"roster {args.roster} has not been reconciled yet (enrollreview reconcile --roster "
                       f"{args.roster})")
    try:
        path, n = views.write_discrepancies(db, args.roster, args.out, fmt=args.format, show_ssn=args.show_ssn)
    except ValueError as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"cannot write {args.out} ({e.strerror or e})") from None
    print(f"{n:,} discrepancies written to {path}")
    return 0


def cmd_summary(args: Any) -> int:
    db = open_store(args)
    rows = views.summaries(db)
    if not rows and latest_roster_id(db) is None:
        print("No roster has been imported yet.", file=sys.stderr)
        return 1
    emit(args.format, ["roster_id", "roster_name", "sender", "coverage_years", "run_at", "roster_persons",
                       "matched", "missing_from_834", "missing_from_roster", "mismatched",
                       "mismatched_by_field", "not_effectuated", "not_checked"], rows)
    return 0
