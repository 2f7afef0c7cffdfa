"""flags, rules, rerun, settings."""

from __future__ import annotations

import json
from typing import Any

from .. import settings as _settings
from . import CliError
from ._common import add_format, emit, file_id, open_store

FLAG_COLUMNS = ["id", "severity", "rule", "category", "member_id", "last_name", "first_name", "policy_id", "file",
                "message"]
CSV_COLUMNS = ["id", "rule", "category", "severity", "status", "member_id", "subscriber_id", "policy_id", "last_name",
               "first_name", "file", "message", "next_step", "segments", "member_row", "resolved_at"]


def register(sub: Any, common: Any) -> None:
    p = sub.add_parser("flags", parents=[common], help="list business-rule flags",
                       description="List the flags the rules raised (open ones unless --include-resolved).")
    add_format(p)
    p.add_argument("--category", metavar="C", help="duplicate, maintenance, family, subsidy, data_quality, missing")
    p.add_argument("--severity", metavar="S", help="error, warning or info")
    p.add_argument("--file", metavar="NAME", help="only flags on this file (name or id)")
    p.add_argument("--status", metavar="S", help="only flags with this review status (e.g. new)")
    p.add_argument("--rule", metavar="ID", help="only flags of this rule (e.g. FAM-02)")
    p.add_argument("--include-resolved", action="store_true", help="also flags a later file resolved")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_flags)

    p = sub.add_parser("rules", parents=[common], help="list every business rule",
                       description="List every rule: id, category, default severity and what it checks.")
    add_format(p)
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser("rerun", parents=[common], help="re-run every rule on the whole store",
                       description="Re-run every rule on everything in the store (for example after a settings "
                       "change). Flags are updated in place; flags whose condition is gone are marked resolved.")
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("settings", parents=[common], help="show or change rule thresholds",
                       description="Without KEY: show every setting and its value (for --sender if given). With "
                       "KEY VALUE: store an override (VALUE is JSON or a comma-separated list). Run `rerun` after.")
    p.add_argument("key", nargs="?", metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE")
    p.add_argument("--sender", default="", metavar="ID", help="ISA06 or GS02 of the sender (default: every sender)")
    p.add_argument("--clear", action="store_true", help="remove the override of KEY")
    add_format(p, "table", "json")
    p.set_defaults(func=cmd_settings)


def cmd_flags(args: Any) -> int:
    from ..rules.query import QueryError, list_flags

    db = open_store(args)
    fid = file_id(db, args.file, " (see `enrollreview files`)") if args.file else None
    try:
        rows = list_flags(db, category=args.category, severity=args.severity, file_id=fid, status=args.status,
                          rule=args.rule, include_resolved=args.include_resolved, limit=args.limit)
    except QueryError as e:
        raise CliError(str(e)) from e
    if args.format == "json":
        keep = ["id", "rule", "category", "severity", "status", "member_id", "subscriber_id", "policy_id",
                "last_name", "first_name", "file", "message", "next_step", "segments", "member_row", "related",
                "person_id", "resolved_at", "resolved_by_file"]
        emit("json", keep, [{k: r[k] for k in keep} for r in rows])
    elif args.format == "csv":
        emit("csv", CSV_COLUMNS, rows)
    else:
        emit("table", FLAG_COLUMNS, rows)
    return 0


def cmd_rules(args: Any) -> int:
    from ..rules.engine import rules

    rows = [{"id": r.id, "category": r.category, "severity": r.severity, "title": r.title,
             "description": r.description, "next_step": r.next_step} for r in rules().values()]
    if args.format == "table":
        emit("table", ["id", "category", "severity", "description"], rows)
    else:
        emit(args.format, ["id", "category", "severity", "title", "description", "next_step"], rows)
    return 0


def cmd_rerun(args: Any) -> int:
    from ..rules.engine import run_all

    db = open_store(args)
    with db.atomic():
        counts = run_all(db)
    print(f"rules re-run: {counts['raised']:,} flags raised, {counts['resolved']:,} resolved, "
          f"{counts['reopened']:,} reopened")
    return 0


def cmd_settings(args: Any) -> int:
    db = open_store(args)
    if args.key and args.clear:
        if args.key not in _settings.DEFAULTS:
            raise CliError(f"unknown setting {args.key!r}")
        _settings.clear_value(db, args.key, args.sender)
        print(f"{args.key}: override removed" + (f" for {args.sender}" if args.sender else ""))
        return 0
    if args.key and args.value is not None:
        try:
            _settings.set_value(db, args.key, args.value, args.sender)
        except _settings.SettingsError as e:
            raise CliError(str(e)) from e
        print(f"{args.key} = {json.dumps(_settings.effective(db, (args.sender,))[args.key])}"
              + (f" for {args.sender}" if args.sender else "") + "; run `enrollreview rerun` to apply it")
        return 0
    values = _settings.effective(db, (args.sender,) if args.sender else ())
    keys = [args.key] if args.key else list(_settings.DEFAULTS)
    for k in keys:
        if k not in _settings.DEFAULTS:
            raise CliError(f"unknown setting {k!r}")
    rows = [{"key": k, "value": json.dumps(values[k]), "description": _settings.DESCRIPTIONS.get(k, "")} for k in keys]
    emit(args.format, ["key", "value", "description"], rows)
    return 0
