"""review, undo, history, audit verify, audit list: the clerk workflow on the command line."""

from __future__ import annotations

import sys
from typing import Any

from .. import queries
from ..review import statuses as st
from ..review import workflow as wf
from ..review.audit import describe, list_rows, os_user, record, verify_all, write_transaction
from ..review.history import member_history, timeline
from . import CliError
from ._common import add_format, emit, open_store

STATUS_HELP = ", ".join(st.STATUSES)
REASON_HELP = "; ".join(f"{k} ({v})" for k, v in st.REASON_CODES.items())


def register(sub: Any, common: Any) -> None:
    p = sub.add_parser(
        "review", parents=[common], help="set status, assignee, due date, reason code or a note on flags",
        description="Record what was done about one or more flags (ids as printed by `enrollreview flags`). "
        "Everything given is applied to every flag, all or nothing, and written to the audit trail.",
        epilog=f"Statuses: {STATUS_HELP}. Reason codes: {REASON_HELP}. Due dates: YYYY-MM-DD, MM/DD/YYYY, "
        "today, tomorrow or +N days.")
    p.add_argument("flag_ids", nargs="+", metavar="FLAG_ID", type=_flag_id)
    p.add_argument("--status", metavar="STATUS", help="new status, e.g. needs-call-back")
    p.add_argument("--note", metavar="TEXT", help="add a note")
    p.add_argument("--assign", metavar="USER", nargs="?", const="", default=None,
                   help="assign to an account (yourself when no USER is given)")
    p.add_argument("--unassign", action="store_true", help="remove the assignee")
    p.add_argument("--due", metavar="DATE", help="follow-up due date ('none' clears it)")
    p.add_argument("--reason", metavar="CODE", help="reason code ('none' clears it)")
    p.add_argument("--correct", nargs=2, metavar=("FIELD", "VALUE"),
                   help=f"record a corrected value (fields: {', '.join(wf.CORRECTABLE_FIELDS)}); "
                   "needs --source")
    p.add_argument("--source", metavar="TEXT", help="where the corrected value comes from, e.g. 'exchange "
                   "ticket 1234'")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("undo", parents=[common], help="undo your last review or bulk change",
                       description="Revert a batch of flag changes (your latest by default). Notes and "
                       "corrections are never removed; the undo itself is audited.")
    p.add_argument("batch", nargs="?", type=int, metavar="BATCH", help="the batch number printed by `review`")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("history", parents=[common], help="a member's flags, corrections and notes",
                       description="Show everything recorded about a member across all files: flags with "
                       "their status, corrected values, notes and the audit trail. MEMBER is a row id (as "
                       "listed by `members`) or a member id (REF*17).")
    p.add_argument("member", metavar="MEMBER")
    p.add_argument("--show-ssn", action="store_true", help="show corrected SSNs in full (audited)")
    add_format(p, "table", "json")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("audit", parents=[common], help="check or list the audit trail")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    v = asub.add_parser("verify", parents=[common], help="check that no audit row was altered",
                        description="Recompute the hash chain. Exit status 0 when intact, 1 with the first "
                        "altered row otherwise.")
    v.set_defaults(func=cmd_audit_verify)
    a = asub.add_parser("list", parents=[common], help="list audit rows, newest first")
    a.add_argument("--flag", type=int, metavar="FLAG_ID")
    a.add_argument("--member", metavar="MEMBER", help="row id or member id (REF*17), across files")
    a.add_argument("--action", choices=sorted({"status", "assign", "due_date", "reason_code", "note",
                                               "correction", "undo", "resolved_by_file", "reopened_by_file",
                                               "export", "reveal_ssn"}))
    a.add_argument("--user", metavar="ACCOUNT")
    a.add_argument("--limit", type=int, default=200)
    add_format(a)
    a.set_defaults(func=cmd_audit_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _flag_id(text: str) -> int:
    t = text.strip().lstrip("#")
    if not t.isdigit():
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a flag id (a number as printed by "
                                         "`enrollreview flags`)")
    return int(t)


def cmd_review(args: Any) -> int:
    db = open_store(args)
    kw: dict[str, Any] = {}
    if args.assign is not None:
        kw["assign"] = args.assign or os_user()
    if args.unassign:
        if args.assign is not None:
            raise CliError("give either --assign or --unassign, not both")
        kw["assign"] = None
    if args.due is not None:
        kw["due"] = args.due
    if args.reason is not None:
        kw["reason"] = None if args.reason.strip().lower() in ("", "none") else args.reason
    if args.correct and not (args.source or "").strip():
        raise CliError("--correct needs --source (where the corrected value comes from)")
    if args.source and not args.correct:
        raise CliError("--source goes with --correct FIELD VALUE")
    if not (args.status or args.note or kw or args.correct):
        raise CliError("nothing to do: give --status, --note, --assign, --due, --reason or --correct")
    try:
        with write_transaction(db):  # the whole command, corrections included, is one transaction
            res = None
            if args.status or args.note or kw:
                res = wf.review(db, args.flag_ids, status=args.status, note=args.note, **kw)
            corrections = []
            if args.correct:
                field, value = args.correct
                for fid in args.flag_ids:
                    corrections.append(wf.record_correction(db, flag_id=fid, field=field,
                                                            corrected_value=value, source=args.source))
    except wf.ReviewError as e:
        raise CliError(str(e)) from None
    n = len(args.flag_ids)
    parts = []
    if res is not None:
        parts.append(f"{res.changed} of {res.flags} flag{'s' if res.flags != 1 else ''} changed")
        if res.notes:
            parts.append(f"{res.notes} note{'s' if res.notes != 1 else ''} added")
    if corrections:
        parts.append(f"{len(corrections)} correction{'s' if len(corrections) != 1 else ''} recorded")
    msg = "; ".join(parts) or f"{n} flags: nothing changed"
    if res is not None and res.batch_id:
        msg += f" (batch {res.batch_id}; undo with `enrollreview undo {res.batch_id}`)"
    print(msg)
    return 0


def cmd_undo(args: Any) -> int:
    db = open_store(args)
    try:
        r = wf.undo(db, args.batch)
    except wf.ReviewError as e:
        raise CliError(str(e)) from None
    print(f"batch {r.batch_id} undone: {r.restored} flag{'s' if r.restored != 1 else ''} restored"
          + (f"; {len(r.skipped)} left as they are because they were changed since "
             f"({', '.join(map(str, r.skipped[:10]))})" if r.skipped else ""))
    return 0


def _member_row(db: Any, key: str) -> int:
    m = queries.get_member(db, key)
    if m is None:
        raise CliError(f"no member {key!r} in the store (give a row id or a member id)")
    return int(m["id"])


def cmd_history(args: Any) -> int:
    db = open_store(args)
    row = _member_row(db, args.member)
    h = member_history(db, row, show_ssn=args.show_ssn)
    if args.show_ssn:
        record(db, "reveal_ssn", member_id=row, detail={"where": "cli history"})
    if args.format == "json":
        emit("json", [], [{
            "member": {k: h["member"].get(k)
                       for k in ("id", "member_id", "subscriber_id", "policy_id", "file_id")},
            "status": h["status"], "rows": h["rows"],
            "flags": [{k: f.get(k) for k in ("id", "rule", "category", "severity", "status", "assigned_to",
                                             "due_date", "reason_code", "message", "file", "resolved_at",
                                             "resolved_by_file")} for f in h["flags"]],
            "corrections": [{k: c.get(k) for k in ("id", "flag_id", "field", "value_834", "corrected_value",
                                                   "source", "author", "created_at", "file")}
                            for c in h["corrections"]],
            "notes": [{k: n.get(k) for k in ("id", "flag_id", "text", "author", "created_at")}
                      for n in h["notes"]],
        }])
        return 0
    m = h["member"]
    out = sys.stdout
    print(f"Member {m['id']}: {m.get('last_name') or ''}, {m.get('first_name') or ''}  member id "
          f"{m.get('member_id') or '-'}  policy {m.get('policy_id') or '-'}  "
          f"status: {st.label(h['status']) if h['status'] else 'no open flags'}", file=out)
    if len(h["rows"]) > 1:
        print(f"  seen in {len(h['rows'])} member records: {', '.join(map(str, h['rows']))}", file=out)
    print("Flags:" if h["flags"] else "Flags: none", file=out)
    for f in h["flags"]:
        extra = []
        if f.get("assigned_to"):
            extra.append(f"assigned to {f['assigned_to']}")
        if f.get("due_date"):
            extra.append(f"due {f['due_date']}")
        if f.get("reason_code"):
            extra.append(f"reason {f['reason_code']}")
        if f.get("resolved_at"):
            extra.append(f"resolved by file {f.get('resolved_by_file') or f.get('resolved_by_file_id')}")
        print(f"  [{f['id']}] {f['rule']:<7} {st.label(f['status'] or 'new'):<26} {f['message']}"
              + (f"  ({'; '.join(extra)})" if extra else ""), file=out)
    items = timeline(h)
    print("Corrections and notes:" if items else "Corrections and notes: none", file=out)
    for it in items:
        flag = f" [flag {it['flag_id']}]" if it["flag_id"] else ""
        print(f"  {it['at'][:16].replace('T', ' ')}  {it['author']:<10} {it['kind']:<10}{flag} {it['text']}",
              file=out)
    return 0


def cmd_audit_verify(args: Any) -> int:
    db = open_store(args)
    r = verify_all(db)
    if r.ok:
        print(f"audit trail intact: {r.rows} rows, hash chain verified")
        return 0
    p = r.problem
    assert p is not None
    print(f"audit trail ALTERED at row {p.id}: {p.reason} (action {p.row.get('action')}, written "
          f"{str(p.row.get('at'))[:19]} by {p.row.get('os_user')})")
    return 1


def cmd_audit_list(args: Any) -> int:
    db = open_store(args)
    members = None
    if args.member:
        from ..review.history import member_rows

        members = member_rows(db, _member_row(db, args.member))
    rows = list_rows(db, flag_id=args.flag, member_ids=members, action=args.action, user=args.user,
                     limit=args.limit)
    for r in rows:
        r["what"] = describe(r)
        r["at"] = r["at"][:19].replace("T", " ")
    emit(args.format, ["id", "at", "os_user", "action", "flag_id", "member_id", "what"], rows)
    return 0
