"""Deterministic generator of synthetic exchange-style (CMS FFE) 834 005010X220A1 files.

Used by the demo data, the tests and the benchmark. Pure Python, standard library only, no Qt.
Every value is synthetic: names are random combinations of common names, phone numbers use the
fictional 555-01xx range, e-mail addresses use example.com, the issuer is "Northwind" and the
employer "Fabrikam". Nothing here describes a real person.

The pieces:

* A small scenario model (:class:`Member`, :class:`Coverage`, :class:`Group`, :class:`Address`,
  :class:`Category`) that a test can build by hand, and :func:`render_file` that writes a complete
  interchange from it (ISA/GS/ST per enrollment group ... SE/GE/IEA).
* :class:`Factory`: a seeded source of realistic families, addresses, plans and amounts, plus
  follow-up transactions (:func:`terminate`, :func:`cancel`, :func:`change`, :func:`effectuate`,
  :func:`reinstate`, :func:`add_dependant`).
* :data:`INJECTIONS`: the problem catalogue keyed by the rule ids of ``834-domain.md`` section 2.
  Each entry either mutates one clean group (``mutate``) or stages several transactions/files
  (``stage``) and returns the ground truth (:class:`Expected`).
* :func:`build_quality_set` and :func:`build_demo_set`: multi-file sets like an exchange sends over a
  few days, with ground truth as JSON-able dicts.
* :func:`write_benchmark_file`: streams a large file to disk without holding it in memory.

Command line::

    python -m enrollreview.x12.generator demo resources/demo
    python -m enrollreview.x12.generator quality OUTDIR --seed 7
    python -m enrollreview.x12.generator bench big.834 --members 100000
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from enrollreview.x12.types import Delimiters

__all__ = [
    "FFE_SENDER",
    "ISSUER",
    "EMPLOYER",
    "DEMO_SEED",
    "Address",
    "Category",
    "Member",
    "Coverage",
    "Group",
    "Party",
    "Expected",
    "Injection",
    "INJECTIONS",
    "FileSpec",
    "SetBuilder",
    "Factory",
    "BenchmarkStats",
    "render_file",
    "iter_file",
    "plan_id",
    "write_set",
    "KINDS",
    "CATEGORY_BY_PREFIX",
    "DEMO_INJECTIONS",
    "render_transaction",
    "member_categories",
    "terminate",
    "cancel",
    "change",
    "effectuate",
    "reinstate",
    "add_dependant",
    "build_quality_set",
    "build_demo_set",
    "write_demo",
    "write_benchmark_file",
    "category_of",
    "main",
]

GUIDE = "005010X220A1"
FFE_SENDER = "CMSFFM"
DEMO_SEED = 20260302
ZERO = Decimal("0.00")
CENT = Decimal("0.01")

# ---------------------------------------------------------------------------------------------
# Transaction kinds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KindSpec:
    ins03: str  # INS03 / HD01 maintenance type
    reason: str  # INS04 maintenance reason ('' = null)
    sub_amrc: str  # ADDL MAINT REASON on the subscriber ('' = not sent)
    dep_amrc: str  # ... on non-subscribers
    subscriber_only: bool  # FFE sends only the subscriber (the group ends or is reinstated as a whole)
    financials: bool  # the PRE AMT / APTC / TOT RES / RATING AREA categories are sent
    inbound: bool  # issuer -> FFE (no SOURCE EXCHANGE ID / APPLICATION ID)


# CG Table 30 (outbound) and Table 29 (inbound) combinations.
KINDS: dict[str, _KindSpec] = {
    "initial": _KindSpec("021", "EC", "", "", False, True, False),
    "effectuation": _KindSpec("021", "28", "CONFIRM", "CONFIRM", False, True, True),
    "change": _KindSpec("001", "", "FINANCIAL CHANGE", "NO CHANGE", False, True, False),
    "cancel": _KindSpec("024", "14", "CANCEL", "", True, False, False),
    "term": _KindSpec("024", "14", "TERM", "", True, False, False),
    "reinstate": _KindSpec("025", "", "ISSUER - REINSTATEMENT", "", True, False, True),
}

# Defaults for a member whose own INS03 differs from the transaction's (member add / removal).
_MEMBER_REASON = {"021": "EC", "024": "14", "001": "", "025": ""}
_MEMBER_AMRC = {"021": "", "024": "TERM", "001": "NO CHANGE", "025": ""}

CATEGORY_BY_PREFIX = {
    "DUP": "duplicate",
    "MNT": "maintenance",
    "FAM": "family",
    "FIN": "subsidy",
    "DQ": "data_quality",
    "MISS": "missing",
}


def category_of(rule: str) -> str:
    """Flag category ('duplicate', 'maintenance', ...) of a rule id such as 'FAM-07'."""
    return CATEGORY_BY_PREFIX[rule.split("-", 1)[0]]


# ---------------------------------------------------------------------------------------------
# Scenario model
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Address:
    street: str
    city: str
    state: str
    zip: str
    county: str = ""  # N406 county code (N405 = CY)
    street2: str = ""


@dataclass(frozen=True, slots=True)
class Party:
    """An N1 party: issuer (1000B), broker (1000C), employer sponsor (1000A, employer style)."""

    name: str
    qualifier: str
    id: str


ISSUER = Party("NORTHWIND HEALTH PLAN", "FI", "990000123")
EMPLOYER = Party("FABRIKAM MANUFACTURING", "FI", "990004567")


@dataclass(frozen=True, slots=True)
class Category:
    """One 2750 reporting category: N1*75*name, REF*qualifier*value, DTP*007*D8*effective."""

    name: str
    qualifier: str
    value: str
    effective: date | None = None


@dataclass(slots=True)
class Member:
    """One covered person (loop 2000). Defaults describe an ordinary member; the fields after
    ``end`` exist so that tests and injections can produce inconsistent data on purpose."""

    member_id: str  # Exchange Assigned Member ID, 2000 REF*17
    first: str
    last: str
    dob: date | None
    gender: str  # DMG03: 'M', 'F' (FFE); 'U' only for negative tests
    relationship: str = "18"  # INS02
    subscriber: bool = True  # INS01 = Y; decides INS08 and the subscriber-only categories
    middle: str = ""
    suffix: str = ""
    ssn: str | None = None  # NM109 with NM108 = 34 (FFE sends it only if known)
    phone: str | None = None
    email: str | None = None
    address: Address | None = None  # None: the group's residence address
    marital: str = ""  # DMG04 (FFE: subscriber only)
    race: str | None = None  # DMG05-3 with DMG05-2 = RET
    tobacco: str | None = None  # HLH01 T/N (initial only, adults)
    language: str | None = None  # LUI02 (household contact only)
    birth_sequence: int | None = None  # INS17, distinguishes twins
    premium: Decimal = ZERO  # PRE AMT 1
    begin: date | None = None  # member benefit begin; None: the group's
    end: date | None = None  # member end (2000 DTP*357, 2300 DTP*349)
    # -- overrides for negative data -------------------------------------------------------
    maintenance: str | None = None  # INS03/HD01 of this member when it differs from the transaction
    reason: str | None = None  # INS04 ('' = null)
    amrc: str | None = None  # ADDL MAINT REASON ('' = not sent)
    ins01: str | None = None  # raw INS01
    subscriber_id: str | None = None  # REF*0F; None: the group's
    plan_id: str | None = None  # REF*CE; None: the group's
    demographics: bool = True  # False: no DMG segment
    extra_categories: list[Category] = field(default_factory=list)
    drop_categories: set[str] = field(default_factory=set)
    category_values: dict[str, str] = field(default_factory=dict)  # REF02 override by N102 name

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(slots=True)
class Coverage:
    plan_id: str  # 2300 REF*CE: 14-char standard component id + 2-digit CSR variant
    begin: date  # 2300 DTP*348 (and 2000 DTP*356)
    line: str = "HLT"  # HD03: HLT or DEN
    end: date | None = None  # set on cancel (= begin) and term (> begin)


@dataclass(slots=True)
class Group:
    """One enrollment group = one exchange policy (EAPID) = one ST/SE transaction (exchange style)."""

    policy_id: str  # Exchange Assigned Policy ID (2300 REF*1L; 2000 REF*1L on group cancel/term)
    subscriber_id: str  # Exchange Assigned Subscriber ID (REF*0F on every member)
    members: list[Member]
    coverage: Coverage
    address: Address
    submitted: datetime  # REQUEST SUBMIT TIMESTAMP
    kind: str = "initial"  # a key of KINDS
    state: str = "VA"  # exchange state (tenant = state + '0')
    reference: str | None = None  # BGN02; None: the ST control number
    application_id: str = ""  # APPLICATION ID AND ORIGIN
    aptc: Decimal = ZERO
    csr_amount: Decimal | None = None  # legacy CSR AMT (removed in CG 7.2); None: not sent
    rating_area: str = ""
    amrc: str | None = None  # subscriber AMRC override ('' = not sent)
    reason: str | None = None  # subscriber INS04 override
    sep_reason: str | None = None
    maintenance_effective: date | None = None  # DTP*303 on change transactions
    financial_effective: date | None = None  # 2750 DTP*007; None: derived from the kind
    paid_through: date | None = None  # 2300 DTP*543 (effectuation)
    issuer_policy_id: str | None = None  # 2300 REF*X9 (effectuation)
    broker: Party | None = None  # 1000C N1*BO
    sponsor_name: str = ""  # 1000A N102; '' = the subscriber's name
    metal: str = ""  # informational: bronze / silver / gold / dental
    reporting: str = "ffe"  # 2750 categories: 'ffe' (full FFE set), 'premium' (PRE AMT 1), 'none'
    member_level: bool = False  # cancel/term/reinstate listing every member (SBM style)
    coverage_on_end: bool = False  # send loop 2300 on 024 members too (SBM style)
    total_override: Decimal | None = None  # PRE AMT TOT as sent; None: sum of PRE AMT 1
    responsibility_override: Decimal | None = None  # TOT RES AMT as sent; None: TOT - APTC
    qty_override: tuple[int, int] | None = None  # QTY*TO, QTY*DT as sent

    # -- derived values ------------------------------------------------------------------------
    @property
    def subscriber(self) -> Member | None:
        return next((m for m in self.members if m.subscriber), None)

    def rendered_members(self) -> list[Member]:
        """The members that appear in this transaction (FFE cancels/terms carry the subscriber only)."""
        if KINDS[self.kind].subscriber_only and not self.member_level:
            return [m for m in self.members if m.subscriber]
        return list(self.members)

    def total_premium(self) -> Decimal:
        """PRE AMT TOT as sent: the sum of PRE AMT 1 over members not being removed."""
        if self.total_override is not None:
            return self.total_override
        return sum((m.premium for m in self.members if _resolve(self, m)[0] != "024"), ZERO)

    def responsibility(self) -> Decimal:
        """TOT RES AMT as sent: PRE AMT TOT - APTC AMT unless overridden."""
        if self.responsibility_override is not None:
            return self.responsibility_override
        return self.total_premium() - self.aptc

    def financial_date(self) -> date:
        """2750 DTP*007 date of this transaction's financial and reason categories."""
        if self.financial_effective is not None:
            return self.financial_effective
        if self.kind == "change" and self.maintenance_effective is not None:
            return self.maintenance_effective
        if self.kind in ("cancel", "term") and self.coverage.end is not None:
            return self.coverage.end
        return self.coverage.begin


def _resolve(g: Group, m: Member) -> tuple[str, str, str]:
    """INS03, INS04 and AMRC of member ``m`` in transaction ``g``."""
    spec = KINDS[g.kind]
    ins03 = m.maintenance or spec.ins03
    own = ins03 == spec.ins03
    if m.reason is not None:
        ins04 = m.reason
    elif not own:
        ins04 = _MEMBER_REASON.get(ins03, "")
    elif m.subscriber and g.reason is not None:
        ins04 = g.reason
    else:
        ins04 = spec.reason
    if m.amrc is not None:
        amrc = m.amrc
    elif not own:
        amrc = _MEMBER_AMRC.get(ins03, "")
    elif m.subscriber:
        amrc = g.amrc if g.amrc is not None else spec.sub_amrc
    else:
        amrc = spec.dep_amrc
    return ins03, ins04, amrc


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _money(x: Decimal) -> str:
    return f"{x.quantize(CENT)}"


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def _seg(sep: str, parts: list[str]) -> str:
    """Join a segment, dropping trailing empty elements (pyx12 flags trailing separators, SEG1)."""
    n = len(parts)
    while n > 1 and not parts[n - 1]:
        n -= 1
    return sep.join(parts[:n])


def member_categories(g: Group, m: Member) -> list[Category]:
    """The 2750 reporting categories member ``m`` carries in transaction ``g`` (CG Table 10/17)."""
    if g.reporting == "none":
        return []
    spec = KINDS[g.kind]
    ins03, _, amrc = _resolve(g, m)
    ending = ins03 == "024"
    fin = g.financial_date()
    if m.begin is not None and m.begin > fin and ins03 == "021":
        fin = m.begin  # a member added later is priced from their own start
    cats: list[Category] = []
    if spec.financials and not ending:
        if g.reporting == "ffe" and m.subscriber:
            cats.append(Category("APTC AMT", "9V", _money(g.aptc), fin))
            if g.csr_amount is not None:
                cats.append(Category("CSR AMT", "9V", _money(g.csr_amount), fin))
            cats.append(Category("PRE AMT 1", "9X", _money(m.premium), fin))
            cats.append(Category("PRE AMT TOT", "9X", _money(g.total_premium()), fin))
            cats.append(Category("TOT RES AMT", "9V", _money(g.responsibility()), fin))
            cats.append(Category("RATING AREA", "9X", g.rating_area, fin))
        else:
            cats.append(Category("PRE AMT 1", "9X", _money(m.premium), fin))
    if g.reporting == "ffe":
        if not spec.inbound:
            cats.append(Category("SOURCE EXCHANGE ID", "17", f"{g.state}0", g.coverage.begin))
        cats.append(Category("REQUEST SUBMIT TIMESTAMP", "17", g.submitted.strftime("%Y%m%d%H%M%S") + "00"))
        if not spec.inbound and g.application_id:
            cats.append(Category("APPLICATION ID AND ORIGIN", "6M", g.application_id, g.coverage.begin))
        if amrc:
            cats.append(Category("ADDL MAINT REASON", "17", amrc, fin))
        if m.subscriber and g.sep_reason and ins03 == "021" and g.kind == "initial":
            cats.append(Category("SEP REASON", "17", g.sep_reason, fin))
    if m.drop_categories:
        cats = [c for c in cats if c.name not in m.drop_categories]
    if m.category_values:
        cats = [
            Category(c.name, c.qualifier, m.category_values[c.name], c.effective)
            if c.name in m.category_values
            else c
            for c in cats
        ]
    return cats + list(m.extra_categories)


def _member_segments(g: Group, m: Member, d: Delimiters, employer_style: bool) -> list[str]:
    e = d.element
    ins03, ins04, _ = _resolve(g, m)
    ending = ins03 == "024"
    ins01 = m.ins01 or ("Y" if m.subscriber else "N")
    ins08 = ("TE" if ending else ("FT" if employer_style else "AC")) if m.subscriber else ""
    seq = str(m.birth_sequence) if m.birth_sequence else ""
    # INS01..INS17; INS09..INS16 unused.
    out = [_seg(e, ["INS", ins01, m.relationship, ins03, ins04, "A", "", "", ins08] + [""] * 8 + [seq])]
    out.append(e.join(("REF", "0F", m.subscriber_id or g.subscriber_id)))
    has_2300 = employer_style or g.coverage_on_end or not ending
    if m.subscriber and not has_2300:
        out.append(e.join(("REF", "1L", g.policy_id)))  # group-level cancel/term: EAPID in 2000
    out.append(e.join(("REF", "17", m.member_id)))
    begin = m.begin or g.coverage.begin
    end = m.end or (g.coverage.end if ending else None)
    if ins03 in ("021", "025") or ending:
        out.append(e.join(("DTP", "356", "D8", _d8(begin))))
    if end is not None:
        out.append(e.join(("DTP", "357", "D8", _d8(end))))
    if ins03 == "001" and m.subscriber and g.maintenance_effective is not None:
        out.append(e.join(("DTP", "303", "D8", _d8(g.maintenance_effective))))
    # 2100A
    full = ins03 in ("021", "001")
    ssn = [m.suffix, "34", m.ssn] if m.ssn else [m.suffix]
    out.append(_seg(e, ["NM1", "IL", "1", m.last, m.first, m.middle, ""] + ssn))
    if full:
        addr = m.address or g.address
        if m.phone or m.email:
            per = ["PER", "IP", ""]
            if m.phone:
                per += ["TE", m.phone]
            if m.email:
                per += ["EM", m.email]
            out.append(e.join(per))
        out.append(_seg(e, ["N3", addr.street, addr.street2]))
        out.append(
            _seg(e, ["N4", addr.city, addr.state, addr.zip, "", "CY" if addr.county else "", addr.county])
        )
    if m.demographics:
        race = f"{d.component}RET{d.component}{m.race}" if m.race else ""
        marital = m.marital if m.subscriber else ""
        out.append(_seg(e, ["DMG", "D8", _d8(m.dob) if m.dob else "", m.gender, marital, race]))
    if full and g.kind == "initial" and ins03 == "021" and m.tobacco:
        out.append(e.join(("HLH", m.tobacco)))
    if full and m.subscriber and m.language:
        out.append(e.join(("LUI", "LD", m.language, "", "7")))
    # 2300
    if has_2300:
        if employer_style:
            level = "EMP" if len(g.members) == 1 else "FAM"
            out.append(e.join(("HD", ins03, "", g.coverage.line, g.metal.upper() or "PPO", level)))
        else:
            out.append(e.join(("HD", ins03, "", g.coverage.line)))
        out.append(e.join(("DTP", "348", "D8", _d8(begin))))
        if end is not None:
            out.append(e.join(("DTP", "349", "D8", _d8(end))))
        if ins03 == "001" and g.maintenance_effective is not None:
            out.append(e.join(("DTP", "303", "D8", _d8(g.maintenance_effective))))
        if g.kind == "effectuation" and m.subscriber and g.paid_through is not None:
            out.append(e.join(("DTP", "543", "D8", _d8(g.paid_through))))
        if not employer_style:
            out.append(e.join(("REF", "CE", m.plan_id or g.coverage.plan_id)))
        out.append(e.join(("REF", "1L", g.policy_id)))
        if g.kind == "effectuation" and g.issuer_policy_id:
            out.append(e.join(("REF", "X9", g.issuer_policy_id)))
    cats = member_categories(g, m)
    if cats:
        out.append(e.join(("LS", "2700")))
        for i, c in enumerate(cats, 1):
            out.append(e.join(("LX", str(i))))
            out.append(e.join(("N1", "75", c.name)))
            if c.value:
                out.append(e.join(("REF", c.qualifier, c.value)))
            if c.effective is not None:
                out.append(e.join(("DTP", "007", "D8", _d8(c.effective))))
        out.append(e.join(("LE", "2700")))
    return out


def _sponsor(g: Group) -> str:
    if g.sponsor_name:
        return g.sponsor_name
    s = g.subscriber or g.members[0]
    return s.name


def render_transaction(
    groups: Sequence[Group],
    st02: str,
    *,
    when: datetime,
    delimiters: Delimiters = Delimiters(),
    ffe_outbound: bool = True,
    employer_style: bool = False,
    issuer: Party = ISSUER,
    employer: Party = EMPLOYER,
) -> list[str]:
    """Segments ST..SE (without terminators) of one transaction set.

    Exchange style takes exactly one group; employer style puts all ``groups`` in one ST.
    """
    e = delimiters.element
    body: list[str] = []
    for g in groups:
        for m in g.rendered_members():
            body.extend(_member_segments(g, m, delimiters, employer_style))
    ins = [s for s in body if s.startswith("INS" + e)]
    total = len(ins)
    deps = sum(1 for s in ins if s.split(e, 2)[1] == "N")
    first = groups[0]
    if first.qty_override is not None:
        total, deps = first.qty_override
    head = [e.join(("ST", "834", st02, GUIDE))]
    if employer_style:
        head.append(
            _seg(e, ["BGN", "00", st02, when.strftime("%Y%m%d"), when.strftime("%H%M%S"), "", "", "", "2"])
        )
        head.append(e.join(("REF", "38", f"{employer.id[-5:]}-{when.year}")))
        head.append(e.join(("DTP", "007", "D8", when.strftime("%Y%m%d"))))
    else:
        ref = first.reference or st02
        tz = "ET" if ffe_outbound else ""
        head.append(
            _seg(e, ["BGN", "00", ref, when.strftime("%Y%m%d"), when.strftime("%H%M%S"), tz, "", "", "2"])
        )
        if ffe_outbound and first.kind in ("cancel", "term"):
            head.append(e.join(("DTP", "303", "D8", when.strftime("%Y%m%d"))))
    head.append(e.join(("QTY", "TO", str(total))))
    if deps:
        head.append(e.join(("QTY", "DT", str(deps))))
    if employer_style:
        head.append(e.join(("N1", "P5", employer.name, employer.qualifier, employer.id)))
    else:
        head.append(e.join(("N1", "P5", _sponsor(first), "94", first.subscriber_id)))
    head.append(e.join(("N1", "IN", issuer.name, issuer.qualifier, issuer.id)))
    if not employer_style and first.broker is not None:
        b = first.broker
        head.append(e.join(("N1", "BO", b.name, b.qualifier, b.id)))
    segs = head + body
    segs.append(e.join(("SE", str(len(segs) + 1), st02)))
    return segs


def _check_envelope(sender: str, receiver: str, d: Delimiters, usage: str) -> None:
    chars = (d.element, d.component, d.repetition, d.segment)
    if any(len(c) != 1 for c in chars) or len(set(chars)) != 4:
        raise ValueError(f"delimiters must be four distinct single characters: {chars!r}")
    if any(c.isalnum() or c in " -.@" for c in chars):
        raise ValueError(f"delimiter collides with data characters: {chars!r}")
    if len(sender) > 15 or len(receiver) > 15:
        raise ValueError("ISA06/ISA08 are at most 15 characters")
    if usage not in ("P", "T"):
        raise ValueError("usage (ISA15) is P or T")


def _isa(sender: str, receiver: str, when: datetime, control: int, usage: str, d: Delimiters) -> str:
    isa = d.element.join(
        [
            "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ", f"{receiver:<15}",
            when.strftime("%y%m%d"), when.strftime("%H%M"), d.repetition, "00501", f"{control:09d}",
            "1", usage, d.component,
        ]
    ) + d.segment  # fmt: skip
    assert len(isa) == 106, len(isa)
    return isa


def _gs(e: str, gs02: str, gs03: str, when: datetime, control: int) -> str:
    """The GS segment (without terminator) of an 834 functional group."""
    day, hhmm = when.strftime("%Y%m%d"), when.strftime("%H%M")
    return e.join(("GS", "BE", gs02, gs03, day, hhmm, str(control), "X", GUIDE))


def _functional_groups(groups: Sequence[Group], employer_style: bool) -> list[tuple[str, list[Group]]]:
    """Split groups by (tenant, insurance line): the FFE sends medical and dental in separate GS."""
    if employer_style:
        return [(groups[0].state if groups else "", list(groups))]
    parts: dict[tuple[str, str], list[Group]] = {}
    for g in groups:
        parts.setdefault((g.state, g.coverage.line), []).append(g)
    return [(state, gs) for (state, _line), gs in parts.items()]


def iter_file(
    groups: Sequence[Group],
    *,
    sender: str = FFE_SENDER,
    receiver: str = "48213",
    isa_control: int = 1,
    gs_control: int | None = None,
    file_date: datetime = datetime(2026, 3, 2, 6, 0),
    delimiters: Delimiters = Delimiters(),
    line_breaks: bool = True,
    usage: str = "P",
    employer_style: bool = False,
    issuer: Party = ISSUER,
    employer: Party = EMPLOYER,
    st_start: int | None = None,
) -> Iterator[str]:
    """Yield the interchange segment by segment, each with its terminator (see :func:`render_file`)."""
    d = delimiters
    _check_envelope(sender, receiver, d, usage)
    term = d.segment + ("\n" if line_breaks else "")
    e = d.element
    ffe_outbound = sender == FFE_SENDER
    yield _isa(sender, receiver, file_date, isa_control, usage, d)[:-1] + term
    gs_no = gs_control if gs_control is not None else isa_control
    st_no = st_start if st_start is not None else (isa_control % 100_000) * 10_000 + 1
    fgroups = _functional_groups(groups, employer_style) if groups else []
    for state, members in fgroups:
        gs02, gs03 = (f"{state}0", receiver) if ffe_outbound else (sender, receiver)
        yield _gs(e, gs02, gs03, file_date, gs_no) + term
        batches = [members] if employer_style else [[g] for g in members]
        for batch in batches:
            st02 = f"{st_no:04d}"
            st_no += 1
            segs = render_transaction(
                batch,
                st02,
                when=file_date,
                delimiters=d,
                ffe_outbound=ffe_outbound,
                employer_style=employer_style,
                issuer=issuer,
                employer=employer,
            )
            yield term.join(segs) + term
        yield e.join(("GE", str(len(batches)), str(gs_no))) + term
        gs_no += 1
    yield e.join(("IEA", str(len(fgroups)), f"{isa_control:09d}")) + term


def render_file(groups: Sequence[Group], **options: Any) -> str:
    """Write one complete interchange (ISA .. IEA) for ``groups``; ``options`` are those of
    :func:`iter_file`.

    Exchange style (default): one ST per enrollment group, one GS per (state, HLT/DEN) as the FFE
    does. ``employer_style=True``: one GS and one ST holding every group's members, sponsor =
    ``employer``, no 2750 unless the groups ask for it. ``sender == "CMSFFM"`` marks an FFE outbound
    file (GS02 = tenant, BGN05 = ET, header DTP*303 on cancel/term). GS06 defaults to ISA13 and
    increments per GS; ST02 defaults to ``(ISA13 mod 100000) * 10000 + n`` so control numbers stay
    unique across files. ``line_breaks`` adds a newline after each terminator.
    """
    return "".join(iter_file(groups, **options))


# ---------------------------------------------------------------------------------------------
# Synthetic reference data
# ---------------------------------------------------------------------------------------------

_FEMALE = (
    "MARIA JENNIFER LINDA ELIZABETH SUSAN JESSICA SARAH KAREN NANCY LISA BETTY SANDRA ASHLEY "
    "DOROTHY KIMBERLY EMILY DONNA MICHELLE CAROL AMANDA MELISSA DEBORAH STEPHANIE REBECCA LAURA "
    "SHARON CYNTHIA KATHLEEN AMY ANGELA ANNA BRENDA PAMELA NICOLE EMMA OLIVIA AVA SOPHIA ISABELLA "
    "MIA CHLOE GRACE LILY ZOE HANNAH NATALIE LEAH AUDREY CLAIRE ELENA ROSA CARMEN ALICIA GLORIA "
    "YOLANDA PRIYA MEI AISHA FATIMA NORA"
).split()
_MALE = (
    "JAMES ROBERT JOHN MICHAEL DAVID WILLIAM RICHARD JOSEPH THOMAS CHARLES CHRISTOPHER DANIEL "
    "MATTHEW ANTHONY MARK DONALD STEVEN PAUL ANDREW JOSHUA KENNETH KEVIN BRIAN GEORGE TIMOTHY "
    "RONALD JASON EDWARD JEFFREY RYAN JACOB GARY NICHOLAS ERIC JONATHAN LIAM NOAH ETHAN LUCAS "
    "MASON LOGAN ELIJAH AIDEN CARLOS LUIS JOSE MIGUEL JUAN ANDRES RAJ WEI OMAR HASSAN SAMUEL ISAAC "
    "GABRIEL CALEB OWEN DYLAN MARCUS"
).split()
_LAST = (
    "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ "
    "GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS "
    "SANCHEZ CLARK RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL "
    "FLORES GREEN ADAMS NELSON BAKER HALL RIVERA CAMPBELL MITCHELL CARTER ROBERTS GOMEZ PHILLIPS "
    "EVANS TURNER DIAZ PARKER CRUZ EDWARDS COLLINS REYES STEWART MORRIS MORALES MURPHY COOK ROGERS "
    "GUTIERREZ ORTIZ MORGAN COOPER PETERSON BAILEY REED KELLY HOWARD RAMOS KIM COX WARD RICHARDSON "
    "WATSON BROOKS CHAVEZ WOOD BENNETT GRAY MENDOZA RUIZ HUGHES PRICE ALVAREZ CASTILLO SANDERS "
    "PATEL MYERS LONG ROSS FOSTER JIMENEZ"
).split()
_STREETS = (
    "MAPLE AVE", "OAK ST", "CEDAR LN", "PINE ST", "ELM ST", "WASHINGTON BLVD", "LAKE DR", "HILL RD",
    "PARK AVE", "RIVER RD", "CHURCH ST", "MILL RD", "SPRING ST", "MEADOW LN", "FOREST DR", "SUNSET BLVD",
    "HIGHLAND AVE", "WILLOW WAY", "CHESTNUT ST", "BIRCH CT", "DOGWOOD DR", "LAUREL ST", "VALLEY VIEW RD",
    "MAGNOLIA AVE", "HICKORY LN", "ORCHARD RD", "JEFFERSON ST", "MADISON AVE", "FRANKLIN ST", "MAIN ST",
)  # fmt: skip
# Census race codes used by the FFE (CG Appendix B), a subset.
_RACE = ("2106-3", "2054-5", "2028-9", "2135-2", "2131-1", "1002-5", "2076-8", "2036-2")


@dataclass(frozen=True, slots=True)
class _Place:
    city: str
    zip: str
    county: str  # 5-digit county FIPS
    area: int  # rating area number


_PLACES: dict[str, tuple[_Place, ...]] = {
    "VA": (
        _Place("RICHMOND", "23220", "51760", 10), _Place("ARLINGTON", "22201", "51013", 9),
        _Place("ALEXANDRIA", "22314", "51510", 9), _Place("FAIRFAX", "22030", "51600", 9),
        _Place("NORFOLK", "23510", "51710", 8), _Place("VIRGINIA BEACH", "23451", "51810", 8),
        _Place("ROANOKE", "24011", "51770", 4), _Place("CHARLOTTESVILLE", "22902", "51540", 3),
        _Place("LYNCHBURG", "24504", "51680", 6), _Place("HARRISONBURG", "22801", "51660", 5),
        _Place("BLACKSBURG", "24060", "51121", 12), _Place("FREDERICKSBURG", "22401", "51630", 11),
    ),
    "TX": (
        _Place("AUSTIN", "78701", "48453", 11), _Place("HOUSTON", "77002", "48201", 10),
        _Place("DALLAS", "75201", "48113", 9), _Place("SAN ANTONIO", "78205", "48029", 14),
        _Place("EL PASO", "79901", "48141", 8), _Place("LUBBOCK", "79401", "48303", 16),
        _Place("CORPUS CHRISTI", "78401", "48355", 5), _Place("WACO", "76701", "48309", 20),
    ),
    "NC": (
        _Place("RALEIGH", "27601", "37183", 14), _Place("CHARLOTTE", "28202", "37119", 3),
        _Place("DURHAM", "27701", "37063", 13), _Place("ASHEVILLE", "28801", "37021", 1),
        _Place("GREENSBORO", "27401", "37081", 7),
    ),
}  # fmt: skip
_AREA_CODES = {
    "VA": ("703", "571", "804", "757", "540", "434"),
    "TX": ("512", "713", "214", "210", "915", "806"),
    "NC": ("919", "704", "828", "336", "984"),
}
_SEP_REASONS = ("07-TERMINATION OF BENEFITS", "32-MARRIAGE", "43-CHANGE OF LOCATION", "NE-NEWLY ELIGIBLE")
# Federal default age curve (45 CFR 147.102), rounded; ages 64+ = 3.0.
_AGE_CURVE = (
    [0.765] * 15 + [0.833, 0.859, 0.885, 0.913, 0.941, 0.970] + [1.0] * 4
    + [1.004, 1.024, 1.048, 1.087, 1.119, 1.135, 1.159, 1.183, 1.198, 1.214, 1.222, 1.230, 1.238, 1.246,
       1.262, 1.278, 1.302, 1.325, 1.357, 1.397, 1.444, 1.500, 1.563, 1.635, 1.706, 1.786, 1.865, 1.952,
       2.040, 2.135, 2.230, 2.333, 2.437, 2.548, 2.603, 2.714, 2.810, 2.873, 2.952, 3.0]
)  # fmt: skip
_BASE_RATE = {"bronze": Decimal("318.40"), "silver": Decimal("421.75"), "gold": Decimal("512.10")}
_PLAN_COMPONENT = {"bronze": "0001", "silver": "0002", "gold": "0003", "dental": "0001"}
HIOS_ISSUER = "48213"


def _age(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _month_start(d: date, months: int = 0) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def _month_end(d: date) -> date:
    return _month_start(d, 1) - timedelta(days=1)


def plan_id(state: str, metal: str, variant: str = "01", *, issuer: str = HIOS_ISSUER) -> str:
    """16-char REF*CE: 5-digit HIOS issuer + state + 3-digit product + 4-digit component + variant."""
    product = "010" if metal == "dental" else "001"
    return f"{issuer}{state}{product}{_PLAN_COMPONENT[metal]}{variant}"


# ---------------------------------------------------------------------------------------------
# Factory: realistic clean groups
# ---------------------------------------------------------------------------------------------


class Factory:
    """Seeded source of synthetic, internally consistent enrollment groups.

    Identifiers come from counters started at seed-dependent offsets, so two factories with the
    same seed produce the same ids and one factory never repeats an id, name+DOB or SSN.
    """

    def __init__(self, seed: int, *, state: str = "VA") -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.state = state
        r = self.rng
        self._member_no = 1_000_000_000 + r.randrange(0, 7_000_000_000)
        self._policy_no = 100_000_000 + r.randrange(0, 800_000_000)
        self._reference = 10_000_000 + r.randrange(0, 80_000_000)
        self._app_no = 1_000_000_000 + r.randrange(0, 8_000_000_000)
        self._people: set[tuple[str, str, date]] = set()
        self._ssns: set[str] = set()

    # -- identifiers -------------------------------------------------------------------------
    def member_id(self) -> str:
        self._member_no += self.rng.randint(1, 97)
        return f"{self._member_no:010d}"

    def policy_id(self) -> str:
        self._policy_no += self.rng.randint(1, 89)
        return f"{self._policy_no:09d}"

    def reference(self) -> str:
        """A fresh BGN02 (4-9 digits)."""
        self._reference += self.rng.randint(1, 50)
        return f"{self._reference:08d}"

    def application_id(self, origin: int) -> str:
        self._app_no += self.rng.randint(1, 999)
        return f"{self._app_no:010d}-{origin:02d}"

    def ssn(self) -> str:
        r = self.rng
        while True:
            s = f"{r.randint(1, 665):03d}{r.randint(1, 99):02d}{r.randint(1, 9999):04d}"
            if s not in self._ssns and len(set(s)) > 2:
                self._ssns.add(s)
                return s

    def phone(self, state: str) -> str:
        # 555-0100..555-0199 is reserved for fiction.
        return f"{self.rng.choice(_AREA_CODES[state])}5550{self.rng.randint(100, 199)}"

    def address(self, state: str | None = None) -> tuple[Address, _Place]:
        st = state or self.state
        r = self.rng
        p = r.choice(_PLACES[st])
        street2 = f"APT {r.randint(1, 40)}{r.choice('ABCD')}" if r.random() < 0.25 else ""
        return Address(
            f"{r.randint(100, 9899)} {r.choice(_STREETS)}", p.city, st, p.zip, p.county, street2
        ), p

    def broker(self) -> Party:
        r = self.rng
        return Party(
            f"{r.choice(_FEMALE + _MALE)} {r.choice(_LAST)}", "94", f"{r.randint(10_000_000, 19_999_999)}"
        )

    # -- people ------------------------------------------------------------------------------
    def person(
        self,
        *,
        on: date,
        age: tuple[int, int],
        gender: str | None = None,
        last: str | None = None,
        relationship: str = "18",
        subscriber: bool = False,
        ssn_rate: float = 0.9,
        dob: date | None = None,
    ) -> Member:
        """A synthetic person aged ``age`` (inclusive range) on date ``on``; name+DOB is unique."""
        r = self.rng
        sex = gender or r.choice("MF")
        surname = last or r.choice(_LAST)
        for _ in range(200):
            first = r.choice(_FEMALE if sex == "F" else _MALE)
            if dob is None:
                a = r.randint(*age)
                born = _years_before(on, a) - timedelta(days=r.randint(0, 363))
            else:
                born = dob
            key = (surname, first, born)
            if key not in self._people:
                self._people.add(key)
                break
        else:  # pragma: no cover - 200 collisions in a row do not happen with these lists
            raise RuntimeError("could not draw a unique person")
        return Member(
            member_id=self.member_id(),
            first=first,
            last=surname,
            middle=r.choice("ABCDEFGHJKLMNPRSTW") if r.random() < 0.4 else "",
            dob=born,
            gender=sex,
            relationship=relationship,
            subscriber=subscriber,
            ssn=self.ssn() if r.random() < ssn_rate else None,
        )

    # -- prices ------------------------------------------------------------------------------
    def price(self, g: Group) -> None:
        """Set PRE AMT 1 on every member from plan, age and rating area (children under 21 beyond
        the three oldest are free, 45 CFR 147.102(c)); dental is family-rated on the subscriber."""
        begin = g.coverage.begin
        area = int(g.rating_area[-3:]) if g.rating_area[-3:].isdigit() else 1
        area_factor = Decimal(str(1 + (area % 5) * 0.04))
        if g.metal == "dental":
            for m in g.members:
                m.premium = ZERO
            sub = g.subscriber or g.members[0]
            sub.premium = (Decimal("27.40") + Decimal("19.85") * (len(g.members) - 1)).quantize(CENT)
            return
        base = _BASE_RATE[g.metal] * area_factor
        kids = sorted(
            (
                m
                for m in g.members
                if not m.subscriber and m.relationship != "01" and m.dob and _age(m.dob, begin) < 21
            ),
            key=lambda m: m.dob or begin,
        )
        free = {id(m) for m in kids[3:]}
        for m in g.members:
            a = min(max(_age(m.dob, begin), 0), 64) if m.dob else 40
            m.premium = ZERO if id(m) in free else (base * Decimal(str(_AGE_CURVE[a]))).quantize(CENT)

    def _subsidy(self, g: Group) -> None:
        r = self.rng
        total = g.total_premium()
        variant = "01"
        if g.metal != "dental" and r.random() < 0.7:
            contribution = Decimal(r.randint(0, 320)) + Decimal(r.randint(0, 99)) / 100
            g.aptc = max(ZERO, total - contribution).quantize(CENT)
        else:
            g.aptc = ZERO
        if g.aptc > 0 and g.metal == "silver":
            variant = r.choice(("04", "05", "06", "06", "01"))
        elif g.metal != "dental" and r.random() < 0.03:
            variant = "02"  # American Indian / Alaska Native zero cost-sharing
        g.coverage.plan_id = g.coverage.plan_id[:14] + variant

    # -- groups ------------------------------------------------------------------------------
    def group(
        self,
        *,
        begin: date,
        submitted: datetime,
        roles: Sequence[str] | None = None,
        line: str = "HLT",
        metal: str | None = None,
        twins: bool = False,
        sub_age: tuple[int, int] | None = None,
        broker: bool | None = None,
        state: str | None = None,
        reporting: str = "ffe",
        max_size: int = 5,
    ) -> Group:
        """A clean initial enrollment (021/EC) for a new household.

        ``roles``: the non-subscribers, each 'spouse' or 'child' (None: a random family of 1-5).
        ``twins``: add two children with the same DOB and last name, INS17 1 and 2.
        """
        r = self.rng
        st = state or self.state
        if roles is None:
            size = min(r.choices((1, 2, 3, 4, 5), weights=(40, 22, 17, 13, 8))[0], max_size)
            roles = []
            if size > 1 and r.random() < (0.6 if size == 2 else 0.75):
                roles.append("spouse")
            roles += ["child"] * (size - 1 - len(roles))
        roles = list(roles)
        kids = roles.count("child") + (2 if twins else 0)
        lo, hi = sub_age or ((19, 64) if not roles and not twins else (26, 58))
        if kids:
            lo = max(lo, 20)
        sub = self.person(on=begin, age=(lo, hi), subscriber=True, ssn_rate=0.93)
        sub.phone = self.phone(st)
        if r.random() < 0.7:
            sub.email = f"{sub.first}.{sub.last}{r.randint(1, 99)}@EXAMPLE.COM".lower()
        sub.race = r.choice(_RACE) if r.random() < 0.4 else None
        sub.language = r.choice(("SPA", "ENG", "VIE")) if r.random() < 0.15 else None
        members = [sub]
        sub_age_now = _age(sub.dob, begin) if sub.dob else 40
        for role in roles:
            if role == "spouse":
                a = sub_age_now
                sp = self.person(
                    on=begin,
                    age=(max(19, a - 8), min(64, a + 8)),
                    last=sub.last,
                    gender="F" if sub.gender == "M" and r.random() < 0.95 else "M",
                    relationship="01",
                    ssn_rate=0.9,
                )
                if r.random() < 0.3:
                    sp.phone = self.phone(st)
                members.append(sp)
            else:
                oldest = min(25, sub_age_now - 18)
                rel = "19" if r.random() < 0.93 else r.choice(("17", "09"))
                members.append(
                    self.person(
                        on=begin, age=(0, max(0, oldest)), last=sub.last, relationship=rel, ssn_rate=0.75
                    )
                )
        if twins:
            a = r.randint(0, max(0, min(17, sub_age_now - 18)))
            born = _years_before(begin, a) - timedelta(days=r.randint(0, 363))
            for seq in (1, 2):
                tw = self.person(
                    on=begin, age=(a, a), last=sub.last, relationship="19", ssn_rate=0.75, dob=born
                )
                tw.birth_sequence = seq
                members.append(tw)
        sub.marital = "M" if any(m.relationship == "01" for m in members) else r.choice("UUUR")
        for m in members:
            if m.dob and _age(m.dob, begin) >= 18:
                m.tobacco = "T" if r.random() < 0.1 else "N"
        metal = metal or (
            "dental" if line == "DEN" else r.choices(("bronze", "silver", "gold"), (30, 55, 15))[0]
        )
        addr, place = self.address(st)
        origin = r.choice((1, 1, 1, 2, 3, 5))
        g = Group(
            policy_id=self.policy_id(),
            subscriber_id=sub.member_id,  # the FFE's EASID is the subscriber's member id
            members=members,
            coverage=Coverage(plan_id(st, metal), begin, line),
            address=addr,
            submitted=submitted,
            state=st,
            reference=self.reference(),
            application_id=self.application_id(3 if broker else origin),
            rating_area=f"R-{st}{place.area:03d}",
            sep_reason=r.choice(_SEP_REASONS) if begin.month != 1 and r.random() < 0.6 else None,
            metal=metal,
            reporting=reporting,
        )
        if broker or (broker is None and r.random() < 0.3):
            g.broker = self.broker()
        self.price(g)
        self._subsidy(g)
        return g

    def dental(self, *, begin: date, submitted: datetime, roles: Sequence[str] | None = None) -> Group:
        """A family-rated dental group: PRE AMT 1 = 0.00 on every non-subscriber (CG 6.11)."""
        return self.group(
            begin=begin, submitted=submitted, roles=roles, line="DEN", metal="dental", broker=False
        )

    def price_member(self, g: Group, m: Member) -> None:
        """Price one member added to ``g`` without touching the others."""
        area = int(g.rating_area[-3:]) if g.rating_area[-3:].isdigit() else 1
        base = _BASE_RATE.get(g.metal, _BASE_RATE["silver"]) * Decimal(str(1 + (area % 5) * 0.04))
        a = min(max(_age(m.dob, g.coverage.begin), 0), 64) if m.dob else 40
        m.premium = ZERO if g.metal == "dental" else (base * Decimal(str(_AGE_CURVE[a]))).quantize(CENT)


# ---------------------------------------------------------------------------------------------
# Follow-up transactions
# ---------------------------------------------------------------------------------------------


def _follow(g: Group, kind: str, submitted: datetime, reference: str | None) -> Group:
    h = copy.deepcopy(g)
    h.kind = kind
    h.submitted = submitted
    h.reference = reference
    h.amrc = None
    h.reason = None
    h.sep_reason = None
    h.financial_effective = None
    return h


def terminate(
    g: Group,
    end: date,
    *,
    submitted: datetime,
    reference: str | None = None,
    amrc: str = "TERM",
    reason: str = "14",
) -> Group:
    """FFE termination (024, end > begin), subscriber only, AMRC TERM by default."""
    h = _follow(g, "term", submitted, reference)
    h.coverage.end = end
    h.amrc, h.reason = amrc, reason
    return h


def cancel(
    g: Group, *, submitted: datetime, reference: str | None = None, amrc: str = "CANCEL", reason: str = "14"
) -> Group:
    """FFE cancellation (024, end = begin), subscriber only, AMRC CANCEL by default."""
    h = _follow(g, "cancel", submitted, reference)
    h.coverage.end = h.coverage.begin
    h.amrc, h.reason = amrc, reason
    return h


def change(
    g: Group,
    *,
    effective: date,
    submitted: datetime,
    reference: str | None = None,
    aptc: Decimal | None = None,
    amrc: str = "FINANCIAL CHANGE",
    plan: str | None = None,
) -> Group:
    """FFE maintenance (001) sent for every member: new APTC and/or plan from ``effective``."""
    h = _follow(g, "change", submitted, reference)
    h.maintenance_effective = effective
    h.amrc = amrc
    if aptc is not None:
        h.aptc = aptc
    if plan is not None:
        h.coverage.plan_id = plan
    return h


def effectuate(
    g: Group, *, submitted: datetime, reference: str | None = None, paid_through: date | None = None
) -> Group:
    """Issuer effectuation (inbound 021/28/CONFIRM) with DTP*543 and the issuer policy id.

    BGN02 echoes the outbound initial's (CG Table 14) unless ``reference`` is given.
    """
    h = _follow(g, "effectuation", submitted, reference if reference is not None else g.reference)
    h.paid_through = paid_through or _month_end(g.coverage.begin)
    h.issuer_policy_id = h.issuer_policy_id or f"NW{g.policy_id}"
    return h


def reinstate(g: Group, *, submitted: datetime, reference: str | None = None) -> Group:
    """Issuer reinstatement (inbound 025, subscriber only) of a cancelled or terminated group."""
    h = _follow(g, "reinstate", submitted, reference)
    h.coverage.end = None
    return h


def add_dependant(
    g: Group,
    new: Member,
    *,
    effective: date,
    submitted: datetime,
    reference: str | None = None,
    alone: bool = False,
) -> Group:
    """Maintenance adding ``new`` (021/EC) from ``effective``.

    ``alone=False``: FFE style, every member is listed (the others with NO CHANGE).
    ``alone=True``: only the added dependant is sent (legal TR3; the subscriber is on record).
    """
    h = _follow(g, "change", submitted, reference)
    h.maintenance_effective = effective
    h.amrc = ""
    new.maintenance, new.begin, new.subscriber = "021", effective, False
    h.sponsor_name = _sponsor(g)
    if alone:
        h.members = [new]
    else:
        h.members.append(new)
    return h


# ---------------------------------------------------------------------------------------------
# Files and sets
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class FileSpec:
    """One file of a set: the groups, the envelope and a file name in the FFE pattern."""

    file_date: datetime
    groups: list[Group] = field(default_factory=list)
    sender: str = FFE_SENDER
    receiver: str = "48213"
    employer_style: bool = False
    isa_control: int = 0  # 0: assigned by SetBuilder.finalize
    name: str = ""
    note: str = ""

    def default_name(self) -> str:
        stamp = f"D{self.file_date:%y%m%d}.T{self.file_date:%H%M%S}000.P"
        if self.sender == FFE_SENDER:
            return f"{self.sender}.{self.receiver}.I834.{stamp}"
        if self.receiver == FFE_SENDER:
            # Inbound: TPID.DSH.IC834...; the "TP" prefix also makes it sort after the FFE files.
            return f"TP{self.sender}.DSH.IC834.{stamp}"
        return f"{self.sender}.{self.receiver}.834.{stamp}"

    def render(self, *, delimiters: Delimiters = Delimiters(), line_breaks: bool = True) -> str:
        return render_file(
            self.groups,
            sender=self.sender,
            receiver=self.receiver,
            isa_control=self.isa_control,
            file_date=self.file_date,
            delimiters=delimiters,
            line_breaks=line_breaks,
            employer_style=self.employer_style,
        )


@dataclass(slots=True)
class Expected:
    """Ground truth for one injected problem.

    ``member_id`` is the member whose segments carry the problem; None when it is a property of
    the whole transaction or file. ``also`` lists other rules that may legitimately fire on the
    same subject (the injection cannot avoid them).
    """

    rule: str
    policy_id: str | None
    member_id: str | None
    note: str
    file: str | None = None
    injection: str = ""
    also: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        return category_of(self.rule)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "injection": self.injection,
            "file": self.file,
            "policy_id": self.policy_id,
            "member_id": self.member_id,
            "note": self.note,
            "also": list(self.also),
        }


class SetBuilder:
    """Collects the files of a multi-day set: outbound slots (morning/evening per day) plus extra
    files (a resend, an employer file, an issuer's inbound file) anchored after a slot."""

    def __init__(
        self, factory: Factory, days: Sequence[date], *, receiver: str = "48213", isa_start: int = 4101
    ):
        self.f = factory
        self.rng = factory.rng
        self.receiver = receiver
        self.isa_start = isa_start
        self.slots: list[FileSpec] = []
        for d in days:
            for hour in (6, 18):
                self.slots.append(FileSpec(datetime(d.year, d.month, d.day, hour, 0, 0), receiver=receiver))
        self.extras: list[tuple[int, FileSpec]] = []
        self.reuse: dict[int, int] = {}  # id(extra FileSpec) -> slot index whose ISA13 it repeats
        self.gap_before: set[int] = set()
        self.expected: list[Expected] = []
        self._expected_in: list[FileSpec | None] = []
        self.quiet: list[dict[str, Any]] = []
        self._where: dict[int, FileSpec] = {}

    # -- placement ---------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.slots)

    def submitted(self, slot: int) -> datetime:
        """A REQUEST SUBMIT TIMESTAMP shortly before the slot's file was created."""
        t = self.slots[slot].file_date - timedelta(minutes=self.rng.randint(15, 11 * 60))
        return t.replace(second=self.rng.randint(0, 59))

    def begin(self) -> date:
        return _month_start(self.slots[0].file_date.date(), 1)

    def place(self, g: Group, slot: int | FileSpec) -> Group:
        spec = slot if isinstance(slot, FileSpec) else self.slots[slot]
        if g.reference is None and spec.sender == FFE_SENDER:
            g.reference = self.f.reference()
        spec.groups.append(g)
        self._where[id(g)] = spec
        return g

    def enroll(self, slot: int, **kw: Any) -> Group:
        kw.setdefault("begin", self.begin())
        return self.place(self.f.group(submitted=self.submitted(slot), **kw), slot)

    def file_of(self, g: Group) -> FileSpec:
        return self._where[id(g)]

    def extra(self, after_slot: int, spec: FileSpec) -> FileSpec:
        self.extras.append((after_slot, spec))
        return spec

    def expect(self, exp: Expected, g: Group | None = None, spec: FileSpec | None = None) -> Expected:
        """Record ground truth; the file name is filled in by finalize (names come last)."""
        target = spec or (self.file_of(g) if g is not None else None)
        self.expected.append(exp)
        self._expected_in.append(target)
        return exp

    def quiet_case(self, case: str, g: Group, note: str) -> None:
        self.quiet.append(
            {
                "case": case,
                "_spec": self.file_of(g),
                "policy_id": g.policy_id,
                "member_ids": [m.member_id for m in g.rendered_members()],
                "note": note,
            }
        )

    # -- finishing ---------------------------------------------------------------------------
    def delivery_order(self) -> list[FileSpec]:
        out: list[FileSpec] = []
        for i, s in enumerate(self.slots):
            out.append(s)
            out.extend(spec for after, spec in self.extras if after == i)
        return out

    def finalize(self) -> list[FileSpec]:
        """Assign ISA13 numbers (with the injected gap and repeat) and file names."""
        ctrl = self.isa_start
        for i, s in enumerate(self.slots):
            if i in self.gap_before:
                ctrl += 1  # MISS-06: one interchange never arrives
            s.isa_control = ctrl
            ctrl += 1
        other = 700_001
        for _after, spec in self.extras:
            if id(spec) in self.reuse:
                spec.isa_control = self.slots[self.reuse[id(spec)]].isa_control
            elif spec.isa_control == 0:
                spec.isa_control = other
                other += 1
        files = [s for s in self.delivery_order() if s.groups]
        for s in files:
            s.name = s.name or s.default_name()
        for exp, spec in zip(self.expected, self._expected_in, strict=True):
            if spec is not None:
                exp.file = spec.name
        for q in self.quiet:
            q["file"] = q.pop("_spec").name
        return files

    def ground_truth(self, files: Sequence[FileSpec], *, seed: int, clean_groups: int) -> dict[str, Any]:
        return {
            "generator": "enrollreview.x12.generator",
            "seed": seed,
            "files": [
                {
                    "name": s.name,
                    "sender": s.sender,
                    "receiver": s.receiver,
                    "isa_control": s.isa_control,
                    "file_date": s.file_date.isoformat(),
                    "style": "employer" if s.employer_style else "exchange",
                    "transactions": 1 if s.employer_style else len(s.groups),
                    "members": sum(len(g.rendered_members()) for g in s.groups),
                    "note": s.note,
                }
                for s in files
            ],
            "clean_groups": clean_groups,
            "expected": [e.to_dict() for e in self.expected],
            "quiet": [
                {k: q[k] for k in ("case", "file", "policy_id", "member_ids", "note")} for q in self.quiet
            ],
        }


# ---------------------------------------------------------------------------------------------
# Injection catalogue
# ---------------------------------------------------------------------------------------------

Mutator = Callable[[Group, Factory], Expected]
Stager = Callable[[SetBuilder], list[Expected]]


@dataclass(frozen=True, slots=True)
class Injection:
    """One problem of the catalogue.

    ``mutate`` changes one clean initial group in place (single-transaction problems); the clean
    group must have the non-subscriber ``roles`` and a subscriber aged within ``sub_age``.
    ``stage`` builds whatever several transactions or files the problem needs on a SetBuilder.
    """

    key: str
    rule: str
    summary: str
    mutate: Mutator | None = None
    stage: Stager | None = None
    roles: tuple[str, ...] = ()
    sub_age: tuple[int, int] | None = None
    line: str = "HLT"
    metal: str | None = None

    @property
    def category(self) -> str:
        return category_of(self.rule)

    def apply(self, b: SetBuilder, slot: int | None = None) -> list[Expected]:
        if self.stage is not None:
            found = self.stage(b)
        else:
            assert self.mutate is not None
            s = b.rng.randrange(b.n) if slot is None else slot
            g = b.enroll(s, roles=self.roles, sub_age=self.sub_age, line=self.line, metal=self.metal)
            found = [b.expect(self.mutate(g, b.f), g)]
        for e in found:
            e.injection = self.key
        return found


def _child(g: Group) -> Member:
    return next(m for m in g.members if not m.subscriber and m.relationship != "01")


def _spouse(g: Group) -> Member:
    return next(m for m in g.members if m.relationship == "01")


def _sub(g: Group) -> Member:
    s = g.subscriber
    assert s is not None
    return s


def _add_relative(g: Group, f: Factory, **kw: Any) -> Member:
    """A new member with the subscriber's last name (age reckoned at the coverage begin), priced and
    added to ``g``."""
    m = f.person(on=g.coverage.begin, last=_sub(g).last, **kw)
    f.price_member(g, m)
    g.members.append(m)
    return m


# -- duplicate (single transaction) -----------------------------------------------------------


def _dup03(g: Group, f: Factory) -> Expected:
    c = _child(g)
    dup = copy.deepcopy(c)
    dup.member_id = f.member_id()
    g.members.append(dup)
    return Expected(
        "DUP-03",
        g.policy_id,
        dup.member_id,
        f"{c.first} {c.last} (DOB {c.dob}) listed twice in one group under two member ids",
        also=("DUP-07",),
    )


# -- family ------------------------------------------------------------------------------------


def _fam01(g: Group, f: Factory) -> Expected:
    sp = _spouse(g)
    sp.ins01, sp.relationship = "Y", "18"
    return Expected(
        "FAM-01",
        g.policy_id,
        sp.member_id,
        "two subscribers (INS*Y*18) in one exchange group",
        also=("FIN-01",),
    )


def _fam02(g: Group, f: Factory) -> Expected:
    s = _sub(g)
    s.relationship = "19"
    return Expected("FAM-02", g.policy_id, s.member_id, "subscriber coded as child: INS*Y*19")


def _fam03(g: Group, f: Factory) -> Expected:
    c = _child(g)
    c.subscriber_id = c.member_id
    return Expected(
        "FAM-03", g.policy_id, c.member_id, "dependant carries its own id in REF*0F, not the subscriber's"
    )


def _fam04(g: Group, f: Factory) -> Expected:
    c = _child(g)
    other = "gold" if g.metal != "gold" else "bronze"
    c.plan_id = plan_id(g.state, other, g.coverage.plan_id[-2:])
    return Expected(
        "FAM-04", g.policy_id, c.member_id, f"dependant's REF*CE {c.plan_id} differs from the group's"
    )


def _fam05(g: Group, f: Factory) -> Expected:
    c = _child(g)
    g.sponsor_name = _sponsor(g)
    g.members = [c]
    g.subscriber_id = f.member_id()  # a subscriber id never sent anywhere
    return Expected(
        "FAM-05", g.policy_id, c.member_id, "dependant-only initial whose subscriber is nowhere on record"
    )


def _fam06(g: Group, f: Factory) -> Expected:
    sp2 = _add_relative(g, f, age=(30, 45), relationship="01", gender="F")
    return Expected("FAM-06", g.policy_id, sp2.member_id, "second member coded spouse (INS02 01)")


def _fam07_wife(g: Group, f: Factory) -> Expected:
    d = _add_relative(g, f, age=(12, 13), relationship="01", gender="F", ssn_rate=0.0)
    return Expected(
        "FAM-07", g.policy_id, d.member_id, f"daughter listed as wife: spouse born {d.dob}, aged 12-13"
    )


def _fam07_older(g: Group, f: Factory) -> Expected:
    s = _sub(g)
    assert s.dob is not None
    c = _add_relative(g, f, age=(0, 0), relationship="19", dob=_years_before(s.dob, 2))
    return Expected(
        "FAM-07", g.policy_id, c.member_id, f"child born {c.dob}, before the subscriber ({s.dob})"
    )


def _fam08(g: Group, f: Factory) -> Expected:
    c = _add_relative(g, f, age=(27, 27), relationship="19")
    return Expected(
        "FAM-08", g.policy_id, c.member_id, f"child (INS02 19) aged 27 at coverage start, born {c.dob}"
    )


def _fam09(g: Group, f: Factory) -> Expected:
    c = _child(g)
    c.begin = _month_start(g.coverage.begin, -1)
    return Expected(
        "FAM-09",
        g.policy_id,
        c.member_id,
        f"dependant's coverage begins {c.begin}, before the subscriber's {g.coverage.begin}",
    )


def _fam10(g: Group, f: Factory) -> Expected:
    c = _child(g)
    c.demographics = False
    return Expected("FAM-10", g.policy_id, c.member_id, "dependant has no DMG segment (no DOB, no gender)")


def _fam10_u(g: Group, f: Factory) -> Expected:
    c = _child(g)
    c.gender = "U"
    return Expected("FAM-10", g.policy_id, c.member_id, "dependant's gender is U (the FFE sends only M/F)")


def _fam12(g: Group, f: Factory) -> Expected:
    other = "NC" if g.state != "NC" else "VA"
    g.address, _ = f.address(other)
    return Expected(
        "FAM-12",
        g.policy_id,
        None,
        f"household lives in {other}; plan {g.coverage.plan_id} and rating area are {g.state}",
        also=("DUP-06",),
    )


# -- subsidy -----------------------------------------------------------------------------------


def _ensure_aptc(g: Group) -> None:
    if g.aptc == 0:
        g.aptc = (g.total_premium() * Decimal("0.6")).quantize(CENT)


def _fin01(g: Group, f: Factory) -> Expected:
    s = _sub(g)
    s.drop_categories.add("APTC AMT")
    return Expected("FIN-01", g.policy_id, s.member_id, "subscriber lacks the APTC AMT category")


def _fin02(g: Group, f: Factory) -> Expected:
    _ensure_aptc(g)
    sp = _spouse(g)
    sp.extra_categories.append(Category("APTC AMT", "9V", _money(g.aptc), g.financial_date()))
    return Expected("FIN-02", g.policy_id, sp.member_id, "APTC AMT sent on a non-subscriber")


def _fin03(g: Group, f: Factory) -> Expected:
    g.aptc = g.total_premium() + Decimal("25.00")
    return Expected(
        "FIN-03",
        g.policy_id,
        _sub(g).member_id,
        f"APTC AMT {g.aptc} exceeds PRE AMT TOT {g.total_premium()} (TOT RES negative)",
    )


def _fin04(g: Group, f: Factory) -> Expected:
    _ensure_aptc(g)
    g.responsibility_override = g.total_premium() - g.aptc + Decimal("17.50")
    return Expected(
        "FIN-04",
        g.policy_id,
        _sub(g).member_id,
        f"TOT RES AMT {g.responsibility_override} != PRE AMT TOT - APTC AMT",
    )


def _fin05(g: Group, f: Factory) -> Expected:
    sp = _spouse(g)
    g.total_override = g.total_premium()
    sp.premium += Decimal("12.34")
    return Expected(
        "FIN-05",
        g.policy_id,
        None,
        f"PRE AMT 1 values add up to {g.total_override + Decimal('12.34')}, PRE AMT TOT says {g.total_override}",
    )


def _fin06(g: Group, f: Factory) -> Expected:
    g.coverage.plan_id = g.coverage.plan_id[:14] + "07"
    return Expected("FIN-06", g.policy_id, None, f"CSR variant 07 does not exist ({g.coverage.plan_id})")


def _fin07(g: Group, f: Factory) -> Expected:
    g.coverage.plan_id = g.coverage.plan_id[:14] + "01"
    g.csr_amount = Decimal("38.60")
    return Expected("FIN-07", g.policy_id, _sub(g).member_id, "CSR AMT 38.60 on a variant 01 (no CSR) plan")


def _fin08(g: Group, f: Factory) -> Expected:
    g.rating_area = f"R-{g.state}{int(g.rating_area[-3:])}"
    return Expected("FIN-08", g.policy_id, _sub(g).member_id, f"RATING AREA {g.rating_area} is not R-SS###")


def _fin09(g: Group, f: Factory) -> Expected:
    g.financial_effective = _month_start(g.coverage.begin, -1)
    return Expected(
        "FIN-09",
        g.policy_id,
        _sub(g).member_id,
        f"financial effective date {g.financial_effective} before benefit begin {g.coverage.begin}",
    )


# -- data quality ------------------------------------------------------------------------------


def _dq05_dob(g: Group, f: Factory) -> Expected:
    c = _child(g)
    c.dob = date(g.coverage.begin.year + 3, 7, 14)
    return Expected("DQ-05", g.policy_id, c.member_id, f"date of birth {c.dob} is in the future")


def _dq05_range(g: Group, f: Factory) -> Expected:
    c = _child(g)
    c.end = g.coverage.begin - timedelta(days=10)
    return Expected(
        "DQ-05",
        g.policy_id,
        c.member_id,
        f"dependant's end {c.end} (DTP*357/349) is before its begin {g.coverage.begin}",
    )


def _dq06_ssn(g: Group, f: Factory) -> Expected:
    s = _sub(g)
    s.ssn = "111111111"
    return Expected("DQ-06", g.policy_id, s.member_id, "SSN 111111111 (repeating digits)")


def _dq06_phone(g: Group, f: Factory) -> Expected:
    s = _sub(g)
    s.phone = "5555555555"
    return Expected("DQ-06", g.policy_id, s.member_id, "phone 5555555555 (repeating digits)")


def _dq06_zip(g: Group, f: Factory) -> Expected:
    g.address.zip = "1234"
    return Expected("DQ-06", g.policy_id, None, "residence ZIP 1234 (4 digits) on every member's N4")


def _dq06_plan(g: Group, f: Factory) -> Expected:
    p = g.coverage.plan_id
    g.coverage.plan_id = p[:10] + p[11:]  # one component digit lost: 15 characters
    return Expected(
        "DQ-06", g.policy_id, None, f"REF*CE {g.coverage.plan_id} has 15 characters", also=("FIN-06",)
    )


def _dq07(g: Group, f: Factory) -> Expected:
    n = len(g.members)
    deps = n - 1
    g.qty_override = (n + 1, deps)
    return Expected("DQ-07", g.policy_id, None, f"QTY*TO*{n + 1} but the transaction has {n} INS")


def _dq08(g: Group, f: Factory) -> Expected:
    s = _sub(g)
    s.extra_categories.append(Category("PREMIUM DISCOUNT AMT", "9X", "0.00", g.financial_date()))
    return Expected("DQ-08", g.policy_id, s.member_id, "unknown 2750 category PREMIUM DISCOUNT AMT")


# -- staged (several transactions / files) ----------------------------------------------------


def _early(b: SetBuilder) -> int:
    return b.rng.randrange(0, max(1, b.n // 2))


def _later(b: SetBuilder, after: int) -> int:
    return b.rng.randrange(after + 1, b.n)


def _enrolled_then(b: SetBuilder, **kw: Any) -> tuple[Group, int]:
    """A clean group enrolled in an early file, and a later slot for what follows it."""
    s = _early(b)
    g = b.enroll(s, **kw)
    return g, _later(b, s)


def _notices(
    b: SetBuilder, first: Callable[..., Group], second: Callable[..., Group]
) -> tuple[Group, Group, Group]:
    """A group enrolled in the first file, then ``first(g, submitted=, reference=)`` in a later file
    and ``second(g, ...)`` in a file after that; returns the group and the two notices."""
    g = b.enroll(0)
    one = b.rng.randrange(1, b.n - 1)
    n1 = b.place(first(g, submitted=b.submitted(one), reference=b.f.reference()), one)
    two = _later(b, one)
    n2 = b.place(second(g, submitted=b.submitted(two), reference=b.f.reference()), two)
    return g, n1, n2


def _found(
    b: SetBuilder,
    where: Group | FileSpec,
    rule: str,
    policy_id: str | None,
    member_id: str | None,
    note: str,
    also: tuple[str, ...] = (),
) -> list[Expected]:
    """What a stager injected: one problem, in the file where ``where`` (a group or a file) went."""
    exp = Expected(rule, policy_id, member_id, note, also=also)
    if isinstance(where, FileSpec):
        return [b.expect(exp, spec=where)]
    return [b.expect(exp, where)]


def _stage_dup01(b: SetBuilder) -> list[Expected]:
    g, later = _enrolled_then(b)
    again = copy.deepcopy(g)  # same BGN02, same REQUEST SUBMIT TIMESTAMP, same content
    b.place(again, later)
    return _found(
        b, again, "DUP-01", g.policy_id, None, "the same initial transaction delivered again in a later file"
    )


def _stage_dup02(b: SetBuilder) -> list[Expected]:
    anchor = b.rng.randrange(1, b.n - 1)
    slot = b.slots[anchor]
    spec = b.extra(
        anchor,
        FileSpec(
            slot.file_date + timedelta(minutes=47),
            receiver=b.receiver,
            note="resend reusing the previous ISA13",
        ),
    )
    b.reuse[id(spec)] = anchor
    for _ in range(2):
        g = b.f.group(begin=b.begin(), submitted=slot.file_date - timedelta(minutes=5))
        b.place(g, spec)
    return _found(
        b, spec, "DUP-02", None, None, "interchange control number (ISA13) already used by this sender"
    )


def _stage_dup04(b: SetBuilder) -> list[Expected]:
    a, later = _enrolled_then(b, roles=("child",), sub_age=(32, 50))
    kid = _child(a)
    other = b.f.group(begin=a.coverage.begin, submitted=b.submitted(later), roles=(), sub_age=(32, 50))
    shared = copy.deepcopy(kid)
    other.members.append(shared)
    b.f.price(other)
    b.place(other, later)
    return _found(
        b, other, "DUP-04", other.policy_id, kid.member_id,
        f"child {kid.member_id} also covered by overlapping HLT policy {a.policy_id}",
    )


def _stage_dup05(b: SetBuilder) -> list[Expected]:
    a, later = _enrolled_then(b, roles=(), metal="silver")
    second = b.f.group(begin=a.coverage.begin, submitted=b.submitted(later), roles=(), metal="bronze")
    second.members = [copy.deepcopy(_sub(a))]
    second.subscriber_id = a.subscriber_id
    second.address = copy.deepcopy(a.address)
    b.f.price(second)
    b.place(second, later)
    return _found(
        b, second, "DUP-05", second.policy_id, _sub(a).member_id,
        f"subscriber {a.subscriber_id} has a second active HLT group (first {a.policy_id})",
        also=("DUP-04",),
    )


def _stage_dup07(b: SetBuilder) -> list[Expected]:
    a, later = _enrolled_then(b, roles=())
    p = _sub(a)
    den = b.f.dental(begin=a.coverage.begin, submitted=b.submitted(later), roles=())
    twin = copy.deepcopy(p)
    twin.member_id = b.f.member_id()
    den.members = [twin]
    den.subscriber_id = twin.member_id
    den.address = copy.deepcopy(a.address)
    b.f.price(den)
    b.place(den, later)
    return _found(
        b, den, "DUP-07", den.policy_id, twin.member_id,
        f"same person as member {p.member_id} (same name, DOB, SSN) under a new member id",
    )


def _stage_mnt02(b: SetBuilder) -> list[Expected]:
    g, later = _enrolled_then(b)
    t = terminate(g, _month_end(g.coverage.begin), submitted=b.submitted(later), amrc="CANCEL", reason="14")
    b.place(t, later)
    return _found(
        b, t, "MNT-02", g.policy_id, _sub(g).member_id,
        f"AMRC CANCEL on an end {t.coverage.end} after the begin {g.coverage.begin} (a term)",
    )


def _stage_mnt03(b: SetBuilder) -> list[Expected]:
    g, later = _enrolled_then(b)
    t = terminate(g, _month_end(g.coverage.begin), submitted=b.submitted(later), amrc="TERM", reason="EC")
    b.place(t, later)
    return _found(
        b, t, "MNT-03", g.policy_id, _sub(g).member_id,
        "MTC/MRC/AMRC 024/EC/TERM is not an outbound combination",
    )


def _stage_mnt04_dup(b: SetBuilder) -> list[Expected]:
    g, _c1, c2 = _notices(b, cancel, cancel)
    return _found(
        b, c2, "MNT-04", g.policy_id, _sub(g).member_id,
        f"second cancellation with the same end {c2.coverage.end}",
    )


def _stage_mnt04_later(b: SetBuilder) -> list[Expected]:
    def term(months: int) -> Callable[..., Group]:
        return lambda g, **kw: terminate(g, _month_end(_month_start(g.coverage.begin, months)), **kw)

    g, t1, t2 = _notices(b, term(0), term(2))
    return _found(
        b, t2, "MNT-04", g.policy_id, _sub(g).member_id,
        f"term end moved later ({t1.coverage.end} -> {t2.coverage.end}) without a reinstatement",
    )


def _stage_mnt05(b: SetBuilder) -> list[Expected]:
    def aptc_change(g: Group, **kw: Any) -> Group:
        return change(
            g, effective=_month_start(g.coverage.begin, 1), aptc=max(ZERO, g.aptc - Decimal("20.00")), **kw
        )

    g, _c, ch = _notices(b, cancel, aptc_change)
    return _found(
        b, ch, "MNT-05", g.policy_id, None, "maintenance (001) after a cancellation with no reinstatement"
    )


def _stage_mnt07(b: SetBuilder) -> list[Expected]:
    g, later = _enrolled_then(b, roles=("spouse", "child"))
    t = terminate(g, _month_end(g.coverage.begin), submitted=b.submitted(later), reference=b.f.reference())
    t.member_level = True
    t.coverage_on_end = True
    kid = _child(t)
    kid.maintenance, kid.amrc = "001", "NO CHANGE"  # left active: no end date
    b.place(t, later)
    return _found(
        b, t, "MNT-07", g.policy_id, kid.member_id,
        f"group ends {t.coverage.end} but this dependant is sent as active (001, no end)",
        also=("FAM-09",),
    )


def _stage_mnt10(b: SetBuilder) -> list[Expected]:
    g = b.enroll(0)
    eff = _month_start(g.coverage.begin, 1)
    a_slot = b.rng.randrange(2, b.n - 1)
    ca = change(
        g,
        effective=eff,
        submitted=b.submitted(a_slot),
        reference=b.f.reference(),
        aptc=max(ZERO, g.aptc - Decimal("15.00")),
    )
    b.place(ca, a_slot)
    late = _later(b, a_slot)
    cb = change(
        g,
        effective=eff,
        submitted=b.submitted(a_slot - 1),
        reference=b.f.reference(),
        aptc=max(ZERO, g.aptc - Decimal("40.00")),
    )
    cb.submitted = min(cb.submitted, ca.submitted - timedelta(hours=6))
    b.place(cb, late)
    return _found(
        b, cb, "MNT-10", g.policy_id, None,
        f"change submitted {cb.submitted:%Y-%m-%d %H:%M} arrives after one submitted "
        f"{ca.submitted:%Y-%m-%d %H:%M}",
    )


def _stage_mnt12(b: SetBuilder) -> list[Expected]:
    g, later = _enrolled_then(b, roles=(), metal="silver")
    new = copy.deepcopy(g)
    new.policy_id = b.f.policy_id()
    new.reference = b.f.reference()
    new.submitted = b.submitted(later)
    new.amrc = "CIC"
    new.coverage = Coverage(plan_id(g.state, "gold"), _month_start(g.coverage.begin, 1), "HLT")
    new.metal = "gold"
    b.f.price(new)
    new.aptc = min(new.aptc, new.total_premium())
    b.place(new, later)
    return _found(
        b, new, "MNT-12", new.policy_id, _sub(g).member_id,
        f"CIC initial while the old policy {g.policy_id} got no TERMCIC/CANCELCIC",
        also=("DUP-04", "DUP-05"),
    )


def _stage_mnt13(b: SetBuilder) -> list[Expected]:
    g, later = _enrolled_then(b, metal="silver")
    ch = change(
        g,
        effective=_month_start(g.coverage.begin, 1),
        submitted=b.submitted(later),
        reference=b.f.reference(),
        plan=plan_id(g.state, "gold", "01"),
    )
    ch.metal = "gold"
    b.f.price(ch)
    ch.aptc = min(ch.aptc, ch.total_premium())
    b.place(ch, later)
    return _found(
        b, ch, "MNT-13", g.policy_id, None,
        f"plan {g.coverage.plan_id[:14]} -> {ch.coverage.plan_id[:14]} inside one EAPID",
    )


def _stage_miss04(b: SetBuilder) -> list[Expected]:
    slot = b.rng.randrange(1, b.n)
    g = b.f.group(begin=_month_start(b.begin(), -2), submitted=b.submitted(slot))
    t = terminate(g, _month_end(b.begin()), submitted=b.submitted(slot), reference=b.f.reference())
    b.place(t, slot)
    return _found(
        b, t, "MISS-04", g.policy_id, _sub(g).member_id,
        "termination for a policy whose initial enrollment was never received",
    )


def _stage_miss06(b: SetBuilder) -> list[Expected]:
    slot = b.n - 2 if b.n > 2 else b.n - 1
    b.gap_before.add(slot)
    if not b.slots[slot].groups:
        b.enroll(slot)
    return _found(
        b, b.slots[slot], "MISS-06", None, None,
        "ISA13 skips one number: an interchange from this sender is missing",
    )


def _inj(key: str, summary: str, fn: Mutator, roles: tuple[str, ...] = (), **kw: Any) -> Injection:
    return Injection(key, key.split(":")[0], summary, mutate=fn, roles=roles, **kw)


def _stg(key: str, summary: str, fn: Stager) -> Injection:
    return Injection(key, key.split(":")[0], summary, stage=fn)


INJECTIONS: dict[str, Injection] = {
    i.key: i
    for i in (
        _stg("DUP-01", "same transaction delivered twice, across two files", _stage_dup01),
        _stg("DUP-02", "repeated ISA13 control number from the same sender", _stage_dup02),
        _inj("DUP-03", "same person twice in one group (two member ids)", _dup03, ("child",)),
        _stg("DUP-04", "same person in two overlapping HLT policies", _stage_dup04),
        _stg("DUP-05", "two active groups for one subscriber", _stage_dup05),
        _stg("DUP-07", "same person under two member ids", _stage_dup07),
        _stg("MNT-02", "AMRC CANCEL on a termination (end > begin)", _stage_mnt02),
        _stg("MNT-03", "invalid MTC/MRC/AMRC triple 024/EC/TERM", _stage_mnt03),
        _stg("MNT-04", "duplicate cancellation in a later file", _stage_mnt04_dup),
        _stg("MNT-04:later-end", "second termination with a later end, no reinstatement", _stage_mnt04_later),
        _stg("MNT-05", "maintenance after a cancellation without reinstatement", _stage_mnt05),
        _stg("MNT-07", "dependant left active after the group's end", _stage_mnt07),
        _stg("MNT-10", "older transaction arriving after a newer one", _stage_mnt10),
        _stg("MNT-12", "CIC initial without TERMCIC/CANCELCIC on the old policy", _stage_mnt12),
        _stg("MNT-13", "14-char plan change inside one policy", _stage_mnt13),
        _inj("FAM-01", "two subscribers in one exchange group", _fam01, ("spouse",)),
        _inj("FAM-02", "subscriber coded 19 (child)", _fam02),
        _inj("FAM-03", "dependant with its own REF*0F", _fam03, ("child",)),
        _inj("FAM-04", "dependant with a different plan id", _fam04, ("child",)),
        _inj("FAM-05", "orphan dependant (subscriber never on record)", _fam05, ("child",)),
        _inj("FAM-06", "two spouses", _fam06, ("spouse",), sub_age=(35, 45)),
        _inj("FAM-07", "daughter listed as wife (spouse aged 12-13)", _fam07_wife, sub_age=(40, 50)),
        _inj("FAM-07:child-older", "child born before the subscriber", _fam07_older, sub_age=(21, 23)),
        _inj("FAM-08", "child aged 27", _fam08, sub_age=(50, 60)),
        _inj("FAM-09", "dependant coverage begins before the subscriber's", _fam09, ("child",)),
        _inj("FAM-10", "dependant without DMG", _fam10, ("child",)),
        _inj("FAM-10:gender-u", "dependant with gender U", _fam10_u, ("child",)),
        _inj("FAM-12", "residence state differs from the plan state", _fam12),
        _inj("FIN-01", "subscriber without APTC AMT", _fin01),
        _inj("FIN-02", "APTC AMT on a dependant", _fin02, ("spouse",)),
        _inj("FIN-03", "APTC above the total premium", _fin03),
        _inj("FIN-04", "TOT RES AMT != PRE AMT TOT - APTC AMT", _fin04),
        _inj("FIN-05", "member premiums do not add up to PRE AMT TOT", _fin05, ("spouse",)),
        _inj("FIN-06", "CSR variant 07", _fin06),
        _inj("FIN-07", "CSR AMT with variant 01", _fin07),
        _inj("FIN-08", "malformed rating area", _fin08),
        _inj("FIN-09", "financial effective date before benefit begin", _fin09),
        _inj("DQ-05", "date of birth in the future", _dq05_dob, ("child",)),
        _inj("DQ-05:begin-after-end", "member end before its begin", _dq05_range, ("child",)),
        _inj("DQ-06", "SSN 111111111", _dq06_ssn),
        _inj("DQ-06:phone", "phone 5555555555", _dq06_phone),
        _inj("DQ-06:zip", "ZIP 1234", _dq06_zip),
        _inj("DQ-06:plan-id", "15-character plan id", _dq06_plan),
        _inj("DQ-07", "QTY*TO does not match the INS count", _dq07),
        _inj("DQ-08", "unknown 2750 category name", _dq08),
        _stg("MISS-04", "termination for a policy never enrolled", _stage_miss04),
        _stg("MISS-06", "gap in a sender's ISA13 sequence", _stage_miss06),
    )
}


# ---------------------------------------------------------------------------------------------
# Legitimate cases that must stay quiet
# ---------------------------------------------------------------------------------------------


def _quiet_cases(b: SetBuilder, *, employer_file: bool = True, inbound_file: bool = True) -> None:
    f, rng = b.f, b.rng
    last = b.n - 1
    g = b.enroll(0, roles=("spouse",), twins=True)
    b.quiet_case("twins", g, "twins: same last name and DOB, different first names, INS17 1 and 2")

    g = b.enroll(0)
    t_slot = rng.randrange(1, b.n)
    t = terminate(
        g,
        _month_end(_month_start(g.coverage.begin, 1)),
        submitted=b.submitted(t_slot),
        reference=f.reference(),
    )
    b.place(t, t_slot)
    b.quiet_case(
        "termination-after-enrollment", t, "024/14/TERM, end > begin, subscriber only, after the initial"
    )

    g = b.enroll(1 if b.n > 2 else 0)
    c_slot = rng.randrange(2 if b.n > 2 else 1, b.n)
    c = cancel(g, submitted=b.submitted(c_slot), reference=f.reference())
    b.place(c, c_slot)
    b.quiet_case("cancellation-after-enrollment", c, "024/14/CANCEL, end = begin, subscriber only")

    g = b.enroll(0, metal="silver", roles=("spouse",))
    ch_slot = rng.randrange(1, b.n)
    new_aptc = (g.total_premium() * Decimal("0.55")).quantize(CENT)
    ch = change(
        g,
        effective=_month_start(g.coverage.begin, 1),
        submitted=b.submitted(ch_slot),
        reference=f.reference(),
        aptc=new_aptc,
    )
    b.place(ch, ch_slot)
    b.quiet_case(
        "financial-change", ch, "001 FINANCIAL CHANGE: new APTC, TOT RES = TOT - APTC, all members listed"
    )

    old = b.enroll(0, metal="silver", roles=("child",))
    cic_slot = rng.randrange(1, b.n)
    new_begin = _month_start(old.coverage.begin, 1)
    tc = terminate(
        old,
        new_begin - timedelta(days=1),
        submitted=b.submitted(cic_slot),
        reference=f.reference(),
        amrc="TERMCIC",
    )
    b.place(tc, cic_slot)
    new = copy.deepcopy(old)
    new.policy_id, new.reference, new.submitted, new.amrc = f.policy_id(), f.reference(), tc.submitted, "CIC"
    new.coverage = Coverage(plan_id(old.state, "gold"), new_begin, "HLT")
    new.metal = "gold"
    new.application_id = f.application_id(1)
    f.price(new)
    new.aptc = min(old.aptc, new.total_premium())
    b.place(new, cic_slot)
    b.quiet_case("cic-pair", tc, "TERMCIC on the old policy (end = day before the new start)")
    b.quiet_case("cic-pair", new, f"new initial with AMRC CIC replacing policy {old.policy_id}")

    g = b.enroll(0, roles=("spouse",), sub_age=(28, 40))
    add_slot = rng.randrange(1, b.n)
    kid = f.person(on=g.coverage.begin, age=(3, 8), last=_sub(g).last, relationship="19", ssn_rate=0.0)
    f.price_member(g, kid)
    add = add_dependant(
        g,
        kid,
        effective=_month_start(g.coverage.begin, 1),
        submitted=b.submitted(add_slot),
        reference=f.reference(),
        alone=True,
    )
    b.place(add, add_slot)
    b.quiet_case(
        "dependant-only-add", add, "only the added child is sent (021/EC); the subscriber is on record"
    )

    g = b.place(
        f.dental(begin=b.begin(), submitted=b.submitted(min(1, last)), roles=("spouse", "child")),
        min(1, last),
    )
    b.quiet_case(
        "family-rated-dental", g, "HD03 DEN, PRE AMT 1 = 0.00 on dependants, subscriber carries the total"
    )

    if employer_file:
        # Anchored after the last FFE file so that names sort in delivery order.
        emp = b.extra(
            last,
            FileSpec(
                b.slots[last].file_date + timedelta(hours=1),
                sender="FABRIKAMHR",
                receiver=b.receiver,
                employer_style=True,
                note="employer-style: several subscribers in one ST",
            ),
        )
        for roles in ((), ("spouse",), ("spouse", "child"), ("child",), ("spouse", "child", "child")):
            eg = f.group(
                begin=b.begin(), submitted=emp.file_date, roles=roles, reporting="none", broker=False
            )
            eg.policy_id = f"FAB{eg.policy_id}"
            b.place(eg, emp)
            b.quiet_case("employer-style", eg, "one of several subscribers in a single employer ST")

    if inbound_file:
        ib = b.extra(
            last,
            FileSpec(
                b.slots[last].file_date + timedelta(hours=2),
                sender=b.receiver,
                receiver=FFE_SENDER,
                note="issuer's inbound effectuations",
            ),
        )
        seen = Counter(g.policy_id for spec in b.slots + [x for _, x in b.extras] for g in spec.groups)
        plain = [
            g
            for g in b.slots[0].groups
            if g.kind == "initial" and g.reporting == "ffe" and seen[g.policy_id] == 1
        ]
        for g0 in plain[:3]:
            eg = effectuate(g0, submitted=ib.file_date - timedelta(minutes=30))
            b.place(eg, ib)
            b.quiet_case("effectuation", eg, "issuer effectuation 021/28/CONFIRM of an initial from day 1")


# ---------------------------------------------------------------------------------------------
# Sets
# ---------------------------------------------------------------------------------------------


def _spread(b: SetBuilder, count: int, *, dental_share: float = 0.1) -> None:
    weights = [max(1, b.n - i) for i in range(b.n)]
    for _ in range(count):
        slot = b.rng.choices(range(b.n), weights)[0]
        if b.rng.random() < dental_share:
            b.place(b.f.dental(begin=b.begin(), submitted=b.submitted(slot)), slot)
        else:
            b.enroll(slot)


def _build(
    seed: int,
    *,
    days: Sequence[date],
    clean: int,
    injections: Sequence[str],
    state: str,
    isa_start: int,
    employer_file: bool,
    inbound_file: bool,
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    f = Factory(seed, state=state)
    b = SetBuilder(f, days, isa_start=isa_start)
    _spread(b, clean)
    for key in injections:
        INJECTIONS[key].apply(b)
    _quiet_cases(b, employer_file=employer_file, inbound_file=inbound_file)
    files = b.finalize()
    truth = b.ground_truth(files, seed=seed, clean_groups=clean)
    return [(s.name, s.render()) for s in files], truth


def build_quality_set(
    seed: int = 7, *, clean: int = 130, injections: Sequence[str] | None = None, state: str = "VA"
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """A multi-file set as an exchange sends over three days (06:00 and 18:00 files), plus a resend,
    an employer-style file and an issuer's inbound effectuation file.

    Contains ``clean`` clean enrollment groups, one instance of every injection in ``injections``
    (default: the whole catalogue) and the legitimate cases that must stay quiet.

    Files come in delivery order (their names also sort in that order). Returns
    ``([(file name, text), ...], ground_truth)``; ground truth is JSON-able: ``files``,
    ``expected`` (one dict per injected problem: rule, category, injection, file, policy_id,
    member_id, note, also) and ``quiet`` (case, file, policy_id, member_ids, note).
    """
    keys = list(INJECTIONS) if injections is None else list(injections)
    days = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    return _build(
        seed,
        days=days,
        clean=clean,
        injections=keys,
        state=state,
        isa_start=4101,
        employer_file=True,
        inbound_file=True,
    )


DEMO_INJECTIONS = (
    "DUP-01", "DUP-03", "DUP-07", "MNT-02", "MNT-04", "MNT-05", "MNT-13", "FAM-02", "FAM-07", "FAM-08",
    "FAM-10", "FIN-01", "FIN-03", "FIN-05", "FIN-06", "DQ-05", "DQ-06:phone", "DQ-07", "MISS-04", "MISS-06",
)  # fmt: skip


def build_demo_set(seed: int = DEMO_SEED) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The demo: two days of morning/evening FFE files with a realistic mix of flags."""
    days = [date(2026, 3, 2), date(2026, 3, 3)]
    return _build(
        seed,
        days=days,
        clean=30,
        injections=DEMO_INJECTIONS,
        state="VA",
        isa_start=3301,
        employer_file=False,
        inbound_file=False,
    )


def _short(name: str | None) -> str:
    return (name or "").split(".I834.")[-1]


def _demo_readme(truth: dict[str, Any]) -> str:
    lines = [
        "# Demo 834 files (synthetic)",
        "",
        "Everything in this folder is **synthetic test data** made by `enrollreview.x12.generator`.",
        "The people, addresses, SSNs, phone numbers (555-01xx), e-mail addresses (example.com), policy",
        "and member ids are random; the issuer (Northwind Health Plan, HIOS 48213) and the brokers are",
        "fictional. No file describes a real person.",
        "",
        "The files imitate two days of CMS FFE outbound 834s (005010X220A1), the 06:00 and 18:00 runs,",
        "named like the FFE names them (`SenderID.ReceiverID.I834.Dyymmdd.THHMMSSsss.P`). Import them in",
        "name order. They are valid X12 for pyx12, but carry business problems on purpose so a new user",
        "sees real flags. This README is generated too; do not edit it by hand.",
        "",
        "Regenerate (byte-identical) with:",
        "",
        "    python -m enrollreview.x12.generator demo resources/demo",
        "",
        "and the ground truth as JSON with `--truth FILE` (or `build_demo_set()` in Python).",
        "",
        "## Files",
        "",
        "| File | ISA13 | Transactions | Members |",
        "|---|---|---|---|",
    ]
    for f in truth["files"]:
        lines.append(f"| `{f['name']}` | {f['isa_control']} | {f['transactions']} | {f['members']} |")
    lines += [
        "",
        "## Problems planted (rule ids from the domain reference, section 2)",
        "",
        "| Rule | Category | File | Policy | Member | What |",
        "|---|---|---|---|---|---|",
    ]
    for e in truth["expected"]:
        lines.append(
            f"| {e['rule']} | {e['category']} | `{_short(e['file'])}` | {e['policy_id'] or ''} | "
            f"{e['member_id'] or ''} | {e['note']} |"
        )
    lines += [
        "",
        "## Legitimate cases that must not be flagged",
        "",
        "| Case | Policy | What |",
        "|---|---|---|",
    ]
    for q in truth["quiet"]:
        lines.append(f"| {q['case']} | {q['policy_id']} | {q['note']} |")
    return "\n".join(lines) + "\n"


def write_demo(
    outdir: str | Path, seed: int = DEMO_SEED, *, truth_path: str | Path | None = None
) -> list[Path]:
    """Write the demo 834 files and their generated README.md into ``outdir``.

    The ground truth is not written next to the files (an import of the folder would try to read it
    as an 834); pass ``truth_path`` to write it as JSON elsewhere. Returns the paths written.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    files, truth = build_demo_set(seed)
    paths = []
    for name, text in files:
        p = out / name
        p.write_bytes(text.encode("ascii"))
        paths.append(p)
    p = out / "README.md"
    p.write_bytes(_demo_readme(truth).encode("ascii"))
    paths.append(p)
    if truth_path is not None:
        p = Path(truth_path)
        p.write_bytes((json.dumps(truth, indent=2) + "\n").encode("ascii"))
        paths.append(p)
    return paths


def write_set(outdir: str | Path, files: Sequence[tuple[str, str]], truth: dict[str, Any]) -> list[Path]:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files:
        (out / name).write_bytes(text.encode("ascii"))
        paths.append(out / name)
    # In a subfolder, so that importing OUTDIR as a folder only meets 834 files.
    truth_path = out / "truth" / "ground-truth.json"
    truth_path.parent.mkdir(exist_ok=True)
    truth_path.write_text(json.dumps(truth, indent=2) + "\n", encoding="ascii")
    return paths + [truth_path]


# ---------------------------------------------------------------------------------------------
# Benchmark writer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchmarkStats:
    members: int
    groups: int
    transactions: int
    segments: int
    bytes: int


def write_benchmark_file(
    path: str | Path,
    members: int = 100_000,
    seed: int = 0,
    *,
    style: str = "employer",
    groups_per_st: int = 500,
    delimiters: Delimiters = Delimiters(),
    line_breaks: bool = True,
) -> BenchmarkStats:
    """Stream a large valid 834 with exactly ``members`` INS loops to ``path``.

    ``style='employer'`` (default): many families per ST (``groups_per_st``), each member with a
    one-category 2750 (PRE AMT 1), about 20 segments per member. ``style='exchange'``: one ST per
    family with the full FFE 2750 set (about 35 segments per member). Memory stays flat: one ST is
    rendered at a time.
    """
    if style not in ("employer", "exchange"):
        raise ValueError("style is 'employer' or 'exchange'")
    d = delimiters
    e = d.element
    term = d.segment + ("\n" if line_breaks else "")
    f = Factory(seed)
    when = datetime(2026, 3, 2, 6, 0)
    begin = date(2026, 4, 1)
    employer = style == "employer"
    sender = "FABRIKAMHR" if employer else FFE_SENDER
    reporting = "premium" if employer else "ffe"
    n_members = n_groups = n_st = n_segs = n_bytes = 0
    st_no = 1
    with open(path, "w", encoding="ascii", newline="") as out:

        def emit(chunk: str, segs: int) -> None:
            nonlocal n_bytes, n_segs
            out.write(chunk)
            n_bytes += len(chunk)
            n_segs += segs

        emit(_isa(sender, "48213", when, 1, "P", d)[:-1] + term, 1)
        gs02 = "VA0" if not employer else sender
        emit(_gs(e, gs02, "48213", when, 1) + term, 1)
        batch: list[Group] = []

        def flush() -> None:
            nonlocal st_no, n_st
            segs = render_transaction(
                batch,
                f"{st_no:04d}",
                when=when,
                delimiters=d,
                ffe_outbound=not employer,
                employer_style=employer,
            )
            emit(term.join(segs) + term, len(segs))
            st_no += 1
            n_st += 1
            batch.clear()

        while n_members < members:
            g = f.group(
                begin=begin,
                submitted=when - timedelta(minutes=5),
                reporting=reporting,
                max_size=min(5, members - n_members),
                broker=False,
            )
            if employer:
                g.policy_id = f"FAB{g.policy_id}"
            g.reference = None
            batch.append(g)
            n_members += len(g.members)
            n_groups += 1
            if not employer or len(batch) >= groups_per_st:
                flush()
            if len(f._people) > 200_000:  # keep the uniqueness memory bounded on huge files
                f._people.clear()
        if batch:
            flush()
        emit(e.join(("GE", str(n_st), "1")) + term, 1)
        emit(e.join(("IEA", "1", f"{1:09d}")) + term, 1)
    return BenchmarkStats(n_members, n_groups, n_st, n_segs, n_bytes)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m enrollreview.x12.generator", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("demo", help="write the demo files (deterministic) into OUTDIR")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.add_argument("--truth", metavar="FILE", help="also write the ground truth as JSON to FILE")
    p = sub.add_parser("quality", help="write the quality set and ground-truth.json into OUTDIR")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("bench", help="stream a large benchmark file")
    p.add_argument("path")
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--style", choices=("employer", "exchange"), default="employer")
    args = ap.parse_args(argv)
    if args.cmd == "demo":
        for path in write_demo(args.outdir, args.seed, truth_path=args.truth):
            print(path)
    elif args.cmd == "quality":
        files, truth = build_quality_set(args.seed)
        for path in write_set(args.outdir, files, truth):
            print(path)
    else:
        import time

        t0 = time.perf_counter()
        st = write_benchmark_file(args.path, args.members, args.seed, style=args.style)
        dt = time.perf_counter() - t0
        print(
            f"{st.members} members, {st.groups} groups, {st.transactions} ST, {st.segments} segments, "
            f"{st.bytes / 1e6:.1f} MB in {dt:.1f} s ({st.bytes / 1e6 / dt:.1f} MB/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
