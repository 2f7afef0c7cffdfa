"""What every rule module uses: the Rule definition, the Flag result, segment pointers and the run
context (the store, the rows to look at, the settings that apply to each file).

A rule is a small pure function `check(ctx) -> Iterable[Flag]`: it reads the store (set-based SQL over
the rows in scope, never a query per member) and returns flags; the engine writes them. Rules are
registered with the `@rule(...)` decorator in their category module.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

CATEGORIES = ("duplicate", "maintenance", "family", "subsidy", "data_quality", "missing")
SEVERITIES = ("error", "warning", "info")
ISO_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
HIOS_GLOB = "[0-9][0-9][0-9][0-9][0-9][A-Z][A-Z][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"


@dataclass(frozen=True)
class Rule:
    """One catalogue rule (834-domain.md section 2)."""

    id: str
    category: str
    severity: str            # default severity: error, warning, info
    title: str
    description: str
    next_step: str           # what a clerk should do, in a clerk's words
    check: Callable[[Context], Iterable[Flag]] = field(compare=False, repr=False)
    # 'file': the result for a row depends only on its own transaction and on data received before it,
    # so only the imported rows are evaluated (temp view mm); 'store': it can change when later files
    # arrive (an orphan's subscriber, a missing enrollment, a second policy), so every related row in
    # scope is evaluated again (temp table ma)
    scope: str = "file"


@dataclass(frozen=True)
class At:
    """A segment to highlight, found by the engine in the stored raw text.

    `seg` is the segment id, `qual` its first element (e.g. REF*0F -> qual '0F'), `element` the element
    to highlight ('REF02') or None for the whole segment, `loop` a loop id the segment must be in
    ('2300', '2100A'), `nth` which match (0 first, -1 last, None all). The text searched is the flag's
    member row unless `row` (another members.id), `txn` (a transaction's header/trailer) or `env`
    (a file's ISA/GS/GE/IEA, by file id) is given.
    """

    seg: str
    qual: str | None = None
    element: str | None = None
    loop: str | None = None
    nth: int | None = 0
    row: int | None = None
    txn: int | None = None
    env: int | None = None


@dataclass
class Flag:
    """A rule's finding about one member row (or one file when member_row is None)."""

    rule: str
    message: str
    member_row: int | None = None
    file_id: int | None = None          # default: the member row's file
    policy_id: str | None = None        # default: the member row's policy id
    related: Sequence[int] = ()         # other members.id involved (the other copy, the subscriber ...)
    segments: Sequence[At | dict[str, Any]] = ()
    next_step: str | None = None        # default: the rule's
    key: str = ""                       # tells apart several flags of one rule on one subject
    severity: str | None = None         # default: the rule's (some rules grade their cases)

    def fingerprint(self) -> str:
        subject = f"m{self.member_row}" if self.member_row is not None else f"f{self.file_id}"
        return f"{self.rule}|{subject}|{self.key}"


REGISTRY: dict[str, Rule] = {}


def rule(id: str, category: str, severity: str, title: str, description: str, next_step: str, *, scope: str = "file"
         ) -> Callable[[Callable[[Context], Iterable[Flag]]], Callable[[Context], Iterable[Flag]]]:
    """Register a rule function under its catalogue id."""
    assert category in CATEGORIES, category
    assert severity in SEVERITIES, severity
    assert scope in ("file", "store"), scope

    def deco(fn: Callable[[Context], Iterable[Flag]]) -> Callable[[Context], Iterable[Flag]]:
        if id in REGISTRY:
            raise ValueError(f"rule {id} registered twice")
        REGISTRY[id] = Rule(id, category, severity, title, " ".join(description.split()),
                            " ".join(next_step.split()), fn, scope)
        return fn

    return deco


# ------------------------------------------------------------------------------------------- helpers


def money(x: float | None) -> str:
    """1386.59 -> '1,386.59' (how a clerk reads an amount)."""
    if x is None:
        return "(none)"
    return f"{x:,.2f}"


def is_iso(d: str | None) -> bool:
    if not d or len(d) != 10:
        return False
    try:
        _dt.date.fromisoformat(d)
    except ValueError:
        return False
    return True


def day(d: str | None) -> _dt.date | None:
    return _dt.date.fromisoformat(d) if is_iso(d) else None


def show_date(d: str | None) -> str:
    """'2026-04-01' -> '04/01/2026'; a value that is not a date is quoted as received."""
    if is_iso(d):
        return f"{d[5:7]}/{d[8:10]}/{d[:4]}"  # type: ignore[index]
    return f"'{d}'" if d else "(none)"


def age_on(dob: str | None, on: str | None) -> int | None:
    b, o = day(dob), day(on)
    if b is None or o is None:
        return None
    return o.year - b.year - ((o.month, o.day) < (b.month, b.day))


REL_NAMES = {
    "18": "self", "01": "spouse", "53": "life partner", "19": "child", "15": "ward", "17": "stepchild",
    "09": "adopted child", "10": "foster child", "03": "father or mother", "04": "grandparent", "05": "grandchild",
    "06": "uncle or aunt", "07": "nephew or niece", "08": "cousin", "11": "son- or daughter-in-law",
    "12": "brother- or sister-in-law", "13": "mother- or father-in-law", "14": "brother or sister",
    "16": "stepparent", "23": "sponsored dependant", "24": "dependant of a minor dependant", "25": "ex-spouse",
    "26": "guardian", "31": "court-appointed guardian", "38": "collateral dependant", "60": "annuitant",
    "D2": "trustee", "G8": "other relationship", "G9": "other relative",
}


def rel(code: str | None) -> str:
    c = code or ""
    return f"{REL_NAMES[c]} ({c})" if c in REL_NAMES else f"code '{c}'"


def chunks(seq: Sequence[Any], n: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


# ------------------------------------------------------------------------------------------- context


class Context:
    """One run of the rules: the rows in scope and the settings of each file in scope.

    Temporary tables (connection-local, dropped at the end of the run):
      scope_m(id)            members.id in scope: the import's rows and every stored row related to them
      ma(...)                those rows with the columns rules filter on; own = 1 for the import's rows
      mm                     a view of ma's own rows (what 'file' rules evaluate)
      scope_rf(id)           the files being imported (file-level checks run on these)
      scope_f(id)            those and every file of the same senders (DUP-02, MISS-06 compare files)
      fset(file_id, ...)     the settings that apply to each file, as columns for joins
    """

    def __init__(self, db: Database, file_id: int | None, settings_by_file: dict[int, dict[str, Any]]) -> None:
        self.db = db
        self.conn: sqlite3.Connection = db.conn
        self.file_id = file_id
        self.settings = settings_by_file
        self._built: set[str] = set()
        self.today = _dt.date.today().isoformat()

    def q(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        cur = self.conn.cursor()
        cur.row_factory = sqlite3.Row
        try:
            return cur.execute(sql, params).fetchall()
        finally:
            cur.close()

    def x(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        self.conn.execute(sql, params)

    def setting(self, file_id: int, key: str) -> Any:
        s = self.settings.get(file_id)
        if s is None:
            from .. import settings as _settings

            s = self.settings[file_id] = _settings.for_file(self.db, file_id)
        return s[key]

    def need(self, name: str) -> None:
        """Build a shared temporary table once per run (see engine.PREPARED)."""
        if name in self._built:
            return
        from .engine import PREPARED

        PREPARED[name](self)
        self._built.add(name)
