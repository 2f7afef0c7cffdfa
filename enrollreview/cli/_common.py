"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from .. import queries
from ..store import open_db
from . import CliError

LISTING_FORMATS = ("table", "json", "csv")


def open_store(args: Any) -> Database:
    return open_db(getattr(args, "db", None))


def add_format(p: Any, *choices: str) -> None:
    """The --format option of a command that prints rows: table (the default), json or csv, or only
    the `choices` given."""
    p.add_argument("--format", choices=list(choices or LISTING_FORMATS), default="table")


def file_id(db: Database, name: str, hint: str = "") -> int:
    """The id of the stored file named (or numbered) `name` by a --file option; CliError if none."""
    fid = queries.resolve_file(db, name)
    if fid is None:
        raise CliError(f"no file named {name!r} in the store{hint}")
    return fid


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], out=None) -> None:
    out = out or sys.stdout
    rows = [["" if v is None else str(v) for v in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        for i, v in enumerate(r):
            widths[i] = min(max(widths[i], len(v)), 80)
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    print(line.rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print("  ".join(v[:80].ljust(widths[i]) for i, v in enumerate(r)).rstrip(), file=out)


def print_json(value: Any, out=None) -> None:
    """`value` as indented JSON (dates and other odd values as strings) and a newline, to stdout."""
    out = out or sys.stdout
    json.dump(value, out, indent=2, default=str)
    out.write("\n")


def emit(fmt: str, headers: Sequence[str], rows: list[dict[str, Any]], out=None) -> None:
    """Write rows as a table, JSON (an array of objects) or CSV to stdout."""
    out = out or sys.stdout
    if fmt == "json":
        print_json(rows, out)
    elif fmt == "csv":
        w = csv.DictWriter(out, fieldnames=list(headers), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
    else:
        print_table(headers, ([r.get(h) for h in headers] for r in rows), out)


class TerminalProgress:
    """A one-line progress display on a terminal; silent when stderr is not a TTY."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tty = sys.stderr.isatty()

    def __call__(self, p: Any) -> None:
        if not self.tty:
            return
        rate = p.members / p.elapsed if p.elapsed > 0 else 0
        left = (p.elapsed / p.fraction - p.elapsed) if p.fraction > 0 else 0
        sys.stderr.write(f"\r{self.name}: {p.fraction:5.1%}  {p.members:,} members  {rate:,.0f}/s  "
                         f"{left:,.0f} s left   ")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\r" + " " * 79 + "\r")
