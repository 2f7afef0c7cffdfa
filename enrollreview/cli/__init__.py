"""The command line. No Qt is imported here: supervisors script it and tests drive it.

Each feature registers its subcommands from its own module (COMMAND_MODULES). A command handler
returns an exit code; `CliError` carries a one-line message for the user. Nothing else reaches the
user as a traceback: unexpected errors are logged and summarised in one line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ..store import StoreError

log = logging.getLogger("enrollreview.cli")

#: modules with a `register(subparsers, parent)` function, in help order
COMMAND_MODULES = [
    "enrollreview.cli.ingest_cmds",
    "enrollreview.cli.rules_cmds",
    "enrollreview.cli.review_cmds",
    "enrollreview.cli.export_cmds",
    "enrollreview.cli.roster_cmds",
    "enrollreview.cli.gui_cmds",
]


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2 unless given."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's own (absent) --db must not overwrite one given before the subcommand
    common.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS,
                        help="the store to use (default: $ENROLLREVIEW_DB or the user data directory)")
    parser = argparse.ArgumentParser(
        prog="enrollreview",
        description="Review ANSI X12 834 enrollment files offline. With no command, starts the desktop app.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"enrollreview {__version__}")
    parser.add_argument("--self-check", action="store_true",
                        help="check this installation in a temporary store (imports a demo file, counts "
                        "flags, opens the window offscreen); prints one line, exit status 0 when it works")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue  # feature not built yet
            raise
        mod.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ..logsetup import setup_logging

    args_list = list(sys.argv[1:] if argv is None else argv)
    # --- issue 7: `enrollreview --self-check` (installer smoke test). Handled before logging is set up,
    # so it writes nothing to the user's data directory; see enrollreview/selfcheck.py.
    if "--self-check" in args_list:
        if args_list != ["--self-check"]:
            print("enrollreview: --self-check takes no other options or command", file=sys.stderr)
            return 2
        from ..selfcheck import run_self_check

        return run_self_check()
    # --- end of --self-check
    try:
        setup_logging()
    except OSError:
        pass  # logging is best effort; a read-only home must not stop the app
    parser = build_parser()
    if not args_list or args_list[0].startswith("--db") and len(args_list) <= 2:
        args_list = [*args_list, "gui"] if args_list else ["gui"]
    args = parser.parse_args(args_list)
    if not hasattr(args, "db"):  # --db is SUPPRESSed so a subcommand cannot reset it; absent means default
        args.db = None
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"enrollreview: {e}", file=sys.stderr)
        return e.code
    except StoreError as e:
        print(f"enrollreview: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("enrollreview: interrupted; the store was left as it was", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: one line for the user, the traceback to the log
        log.exception("unexpected error in command %s", getattr(args, "command", "?"))
        print(f"enrollreview: unexpected error ({type(e).__name__}); details are in the log file",
              file=sys.stderr)
        return 70
