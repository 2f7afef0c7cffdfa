"""export callbacks|followups|summary: lists for supervisors as CSV, XLSX or PDF."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .. import queries
from ..export import FORMATS, KINDS, Cancelled, ExportError, Filters, export
from ..export.lists import CATEGORIES, SEVERITIES
from ..review import statuses as st
from ..review.audit import os_user
from . import CliError
from ._common import file_id, open_store

_DESCRIPTIONS = {
    "callbacks": "members whose open flags need a call (status needs-call-back unless --status is given), "
                 "soonest due first",
    "followups": "discrepancies to report to the exchange: recorded corrections and flags waiting on the "
                 "exchange (statuses waiting-on-exchange and corrected unless --status is given)",
    "summary": "flags by category, severity and status per file and overall, with error rates",
}


def register(sub: Any, common: Any) -> None:
    p = sub.add_parser(
        "export", parents=[common], help="export the call-back list, the follow-up list or the summary",
        description="Write a list for supervisors. "
        + " ".join(f"{k}: {v}." for k, v in _DESCRIPTIONS.items())
        + " SSNs are masked unless --show-ssn is given; every export is recorded in the audit trail and the "
        "file is readable by you only.")
    p.add_argument("kind", choices=KINDS, metavar="{" + ",".join(KINDS) + "}")
    p.add_argument("--format", choices=FORMATS, help="default: from the --out file name's extension")
    p.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    p.add_argument("--status", action="append", default=[], metavar="STATUS",
                   help=f"only flags with this status (repeatable): {', '.join(st.STATUSES)}")
    p.add_argument("--category", action="append", default=[], choices=CATEGORIES, help="repeatable")
    p.add_argument("--severity", action="append", default=[], choices=SEVERITIES, help="repeatable")
    p.add_argument("--file", action="append", default=[], metavar="NAME", help="only flags from this file "
                   "(name or id; repeatable)")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="only flags raised on or after DATE")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="only flags raised on or before DATE")
    p.add_argument("--clerk", metavar="USER",
                   help="only flags assigned to USER ('me', or 'none' for unassigned)")
    p.add_argument("--include-resolved", action="store_true", help="include flags a later file resolved")
    p.add_argument("--show-ssn", action="store_true", help="write full SSNs (recorded in the audit trail)")
    p.set_defaults(func=cmd_export)


def _date(text: str | None, opt: str) -> str | None:
    if text is None:
        return None
    d = queries.parse_date(text)
    if d is None:
        raise CliError(f"cannot read the date {text!r} for {opt}; write it as YYYY-MM-DD or MM/DD/YYYY")
    return d


def build_filters(db: Any, args: Any) -> Filters:
    try:
        statuses = [st.normalize(s) for s in args.status]
    except st.StatusError as e:
        raise CliError(str(e)) from None
    file_ids = [file_id(db, name) for name in args.file]
    clerk = args.clerk
    if clerk is not None:
        clerk = clerk.strip()
        clerk = os_user() if clerk.lower() == "me" else ("" if clerk.lower() in ("none", "") else clerk)
    return Filters(statuses=statuses, categories=list(dict.fromkeys(args.category)),
                   severities=list(dict.fromkeys(args.severity)), file_ids=file_ids,
                   date_from=_date(args.date_from, "--from"), date_to=_date(args.date_to, "--to"),
                   clerk=clerk, include_resolved=args.include_resolved)


def cmd_export(args: Any) -> int:
    out = Path(args.out)
    fmt = args.format or out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise CliError(f"say --format {'|'.join(FORMATS)} (cannot tell it from {out.name!r})")
    db = open_store(args)
    filters = build_filters(db, args)
    try:
        r = export(db, args.kind, fmt, out, filters=filters, show_ssn=args.show_ssn)
    except ExportError as e:
        raise CliError(str(e)) from None
    except Cancelled:
        raise CliError("export cancelled; no file was written", 130) from None
    except OSError as e:
        raise CliError(f"cannot write {out}: {e.strerror or e}") from None
    print(f"{r.rows:,} row{'s' if r.rows != 1 else ''} written to {r.path} ({r.format}, {r.seconds:.1f} s)"
          + ("; full SSNs shown (recorded in the audit trail)" if args.show_ssn else ""))
    if r.rows == 0:
        print(f"note: nothing matched ({filters.describe()})", file=sys.stderr)
    return 0
