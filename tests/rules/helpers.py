"""Helpers for the rules tests: build 834 text with the generator, import it through the real importer
into a fresh store and read the flags back.

Every test starts from 834 TEXT (never hand-made rows): groups from `enrollreview.x12.generator` rendered
with `render_file`, optionally edited as text (`edit=`), or literal 834 text.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from enrollreview.ingest import ImportResult, import_file
from enrollreview.rules.query import list_flags
from enrollreview.store import open_db
from enrollreview.x12 import generator as gen

BEGIN = date(2026, 4, 1)
FILE_DAY = datetime(2026, 3, 2, 6, 0)


class Store:
    """A fresh store plus a counter of files: each `load` is one file with the next ISA13 and date."""

    def __init__(self, tmp_path: Path, seed: int = 11) -> None:
        self.tmp = tmp_path
        self.db = open_db(tmp_path / "rules.sqlite")
        self.f = gen.Factory(seed)
        self._n = itertools.count(1)
        self.isa = 5000
        self.when = FILE_DAY

    # -- building -----------------------------------------------------------------------------
    def group(self, **kw: Any) -> gen.Group:
        kw.setdefault("begin", BEGIN)
        kw.setdefault("submitted", self.when - timedelta(hours=1))
        return self.f.group(**kw)

    def next_time(self) -> datetime:
        """A submit time after everything loaded so far (for follow-up transactions)."""
        return self.when + timedelta(minutes=30)

    def text(self, groups: Sequence[gen.Group], **kw: Any) -> str:
        self.isa += 1
        self.when += timedelta(hours=12)
        kw.setdefault("isa_control", self.isa)
        kw.setdefault("file_date", self.when)
        return gen.render_file(list(groups), **kw)

    # -- loading ------------------------------------------------------------------------------
    def load(self, groups: Sequence[gen.Group] | gen.Group, *, edit: Callable[[str], str] | None = None,
             **kw: Any) -> ImportResult:
        if isinstance(groups, gen.Group):
            groups = [groups]
        text = self.text(groups, **kw)
        if edit is not None:
            text = edit(text)
        return self.load_text(text)

    def load_text(self, text: str | bytes, name: str | None = None) -> ImportResult:
        p = self.tmp / (name or f"file{next(self._n):03d}.834")
        p.write_bytes(text.encode("latin-1") if isinstance(text, str) else text)
        res = import_file(self.db, p)
        assert res.ok, res.summary()
        return res

    # -- reading ------------------------------------------------------------------------------
    def flags(self, rule: str | None = None, **kw: Any) -> list[dict[str, Any]]:
        return list_flags(self.db, rule=rule, **kw)

    def rules_raised(self, severities: Sequence[str] = ("error", "warning", "info")) -> set[str]:
        return {f["rule"] for f in self.flags() if f["severity"] in severities}

    def serious(self) -> list[dict[str, Any]]:
        """Open error and warning flags (what a clean group must not have)."""
        return [f for f in self.flags() if f["severity"] in ("error", "warning")]

    def row(self, member_id: str) -> int:
        r = self.db.execute("SELECT max(id) FROM members WHERE member_id = ?", [member_id]).fetchone()
        return r[0]

    def close(self) -> None:
        self.db.close()


def sub(g: gen.Group) -> gen.Member:
    s = g.subscriber
    assert s is not None
    return s


def child(g: gen.Group) -> gen.Member:
    return next(m for m in g.members if not m.subscriber and m.relationship != "01")


def spouse(g: gen.Group) -> gen.Member:
    return next(m for m in g.members if m.relationship == "01")


def deepcopy(x: Any) -> Any:
    return copy.deepcopy(x)


def month_end(d: date) -> date:
    return gen._month_end(d)


def month_start(d: date, months: int = 0) -> date:
    return gen._month_start(d, months)


def money(x: str) -> Decimal:
    return Decimal(x)


def summary(flags: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(rule, severity, member id) for assertion messages."""
    return sorted((f["rule"], f["severity"], f["member_id"]) for f in flags)


# A small employer-style 834 (two unrelated subscribers in one ST, one with a spouse), hand written.
EMPLOYER_TEXT = """ISA*00*          *00*          *ZZ*ACMEHR         *ZZ*NORTHWIND      *260302*0600*^*00501*000000701*0*P*:~
GS*BE*ACMEHR*NORTHWIND*20260302*0600*701*X*005010X220A1~
ST*834*0001*005010X220A1~
BGN*00*REF701*20260302*0600****2~
QTY*TO*3~
QTY*DT*1~
N1*P5*ACME CORP*FI*123456789~
N1*IN*NORTHWIND HEALTH*FI*990000123~
INS*Y*18*021*XN*A*C**FT~
REF*0F*E1001~
REF*1L*GRP77~
DTP*356*D8*20260401~
NM1*IL*1*STONE*ALAN****34*212345678~
N3*1 MAIN ST~
N4*RICHMOND*VA*23220~
DMG*D8*19800101*M~
HD*021**HLT**FAM~
DTP*348*D8*20260401~
INS*N*01*021*XN*A*C~
REF*0F*E1001~
DTP*356*D8*20260401~
NM1*IL*1*STONE*BETTY****34*212345679~
DMG*D8*19820202*F~
HD*021**HLT**FAM~
DTP*348*D8*20260401~
INS*Y*18*021*XN*A*C**FT~
REF*0F*E1002~
REF*1L*GRP77~
DTP*356*D8*20260401~
NM1*IL*1*RIVERS*CAROL****34*223456789~
N3*2 MAIN ST~
N4*RICHMOND*VA*23220~
DMG*D8*19750505*F~
HD*021**HLT**EMP~
DTP*348*D8*20260401~
SE*34*0001~
GE*1*701~
IEA*1*000000701~
"""
