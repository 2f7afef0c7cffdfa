"""import, files, members, show."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .. import queries, segpos
from ..ingest import import_file
from ..phi import format_ssn, mask_ssn
from ..store import checkpoint
from . import CliError
from ._common import TerminalProgress, add_format, emit, file_id, open_store


def register(sub: Any, common: Any) -> None:
    p = sub.add_parser("import", parents=[common], help="import 834 files into the store",
                       description="Import 834 files (or every file in a folder). Each file is imported "
                       "whole or not at all. Exit status 1 if any file was rejected or refused.")
    p.add_argument("paths", nargs="+", metavar="FILE", help="834 files or folders")
    p.add_argument("--demo", action="store_true", help="label the files as demo data")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("files", parents=[common], help="list received files")
    add_format(p)
    p.set_defaults(func=cmd_files)

    p = sub.add_parser("members", parents=[common], help="list members",
                       description="List stored members, optionally of one file or matching a search "
                       "(name, member id, subscriber id, policy id, last four of the SSN, date of birth).")
    p.add_argument("--file", metavar="NAME", help="only members of this file (name or id)")
    p.add_argument("--search", metavar="TEXT", help="search text")
    p.add_argument("--limit", type=int, default=200)
    add_format(p)
    p.set_defaults(func=cmd_members)

    p = sub.add_parser("show", parents=[common], help="show one member: parsed fields, then raw segments",
                       description="Show a member by row id (as listed by `members`) or by member id "
                       "(REF*17; the newest copy).")
    p.add_argument("member", metavar="MEMBER")
    p.add_argument("--show-ssn", action="store_true", help="show the full SSN (recorded in the audit trail)")
    p.set_defaults(func=cmd_show)


def _expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for s in paths:
        p = Path(s)
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.is_file() and not x.name.startswith(".")
                              and x.suffix.lower() not in (".md", ".997", ".999")))
        elif p.exists():
            out.append(p)
        else:
            raise CliError(f"no such file: {s}")
    return out


def cmd_import(args: Any) -> int:
    db = open_store(args)
    failed = 0
    for path in _expand(args.paths):
        prog = TerminalProgress(path.name)
        res = import_file(db, path, is_demo=args.demo, progress=prog)
        prog.done()
        if res.ok:
            print(res.summary())
        else:
            failed += 1
            print(res.summary(), file=sys.stderr)
        sys.stdout.flush()
        checkpoint(db)  # after the summary is out: the clerk does not wait for it
    return 1 if failed else 0


def cmd_files(args: Any) -> int:
    db = open_store(args)
    rows = queries.list_files(db)
    emit(args.format, ["id", "name", "status", "received", "imported", "members", "findings", "flags",
                       "reason"], rows)
    return 0


def cmd_members(args: Any) -> int:
    db = open_store(args)
    fid = file_id(db, args.file) if args.file else None
    rows = queries.search_members(db, args.search or "", file_id=fid, limit=args.limit)
    if args.search and not rows:
        print(f"No member matches {args.search!r} (searched name, member id, subscriber id, policy id, "
              "last four of the SSN and date of birth).", file=sys.stderr)
        return 1
    for r in rows:
        r["ssn"] = mask_ssn(r.get("ssn"))
    emit(args.format, ["id", "member_id", "subscriber_id", "policy_id", "last_name", "first_name", "dob",
                       "ssn", "rel", "file", "flags"], rows)
    return 0


def cmd_show(args: Any) -> int:
    db = open_store(args)
    m = queries.get_member(db, args.member)
    if m is None:
        raise CliError(f"no member {args.member!r} in the store (give a row id or a member id)")
    ssn = format_ssn(m["ssn"]) if args.show_ssn else mask_ssn(m["ssn"])
    if args.show_ssn:
        _audit_reveal(db, m["id"])
    out = sys.stdout
    print(f"Member {m['id']}: {m['last_name'] or ''}, {m['first_name'] or ''}  (file {m['file_name']})", file=out)
    for label, value in queries.member_fields(m, ssn):
        print(f"  {label:<22} {value}", file=out)
    for c in queries.member_coverages(db, m["id"]):
        print(f"  coverage {c['seq']}: {c['hd03']} HD01={c['hd01']} {c['begin'] or '?'} to {c['end'] or 'open'}"
              f" plan {c['plan_id'] or '-'} (CSR {c['csr_variant'] or '-'}) policy {c['policy_id'] or '-'}",
              file=out)
    for c in queries.member_categories(db, m["id"]):
        dates = c["date_from"] + (f" to {c['date_to']}" if c["date_to"] else "")
        print(f"  2750 {c['name']:<26} {c['ref_qual']} {c['value']:<14} {dates}", file=out)
    findings = queries.member_findings(db, m["id"])
    if findings:
        print("Syntax findings:", file=out)
        for f in findings:
            print(f"  segment {f['ordinal']}: {f['message']}", file=out)
    flags = queries.member_flags(db, m["id"])
    if flags:
        print("Flags:", file=out)
        for f in flags:
            print(f"  [{f['id']}] {f['severity']:<7} {f['rule']:<7} {f['message']}", file=out)
    print("Raw segments:", file=out)
    lines = m["raw"].split("\n")
    for (ordinal, loop, _off), line in zip(segpos.decode(m["segs"], lines), lines, strict=False):
        shown = line if args.show_ssn else queries.mask_line(line, m)
        print(f"  {ordinal:>7}  {loop.split('/')[-1]:<6} {shown}", file=out)
    return 0


def _audit_reveal(db: Any, member_row: int) -> None:
    try:
        from ..review.audit import record
    except ImportError:
        return
    record(db, "reveal_ssn", member_id=member_row, detail={"where": "cli show"})
