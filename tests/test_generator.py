"""Tests for enrollreview.x12.generator.

pyx12 is the TR3 oracle (slow, ~5,500 segments/s), so the files it checks are kept small. The rest
reads the generated text back with a few lines of splitting and checks counts, amounts and that each
injection changes exactly what it claims.
"""

from __future__ import annotations

import copy
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document

from enrollreview.x12 import generator as G
from enrollreview.x12.types import Delimiters

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
BEGIN = date(2026, 4, 1)
WHEN = datetime(2026, 3, 2, 6, 0)
PLAN_RE = re.compile(r"^\d{5}[A-Z]{2}\d{7}\d{2}$")
RATING_RE = re.compile(r"^R-[A-Z]{2}(\d{3})$")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def pyx12_errors(text: str) -> list[str]:
    """Every error pyx12 reports for ``text`` (its logger carries them all, including GS/ST ones)."""
    h = _Collect()
    log = logging.getLogger("pyx12")
    old = log.level
    log.addHandler(h)
    log.setLevel(logging.WARNING)
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), io.StringIO(), None)
    finally:
        log.removeHandler(h)
        log.setLevel(old)
    if not ok and not h.messages:
        h.messages.append("pyx12 returned False")
    return h.messages


def segments(text: str) -> tuple[str, list[str]]:
    """(element separator, segments without terminators)."""
    assert text.startswith("ISA")
    term = text[105]
    return text[3], [s.strip("\r\n") for s in text.split(term) if s.strip("\r\n")]


@dataclass
class Txn:
    segs: list[str]
    e: str
    members: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        cur: list[str] | None = None
        for s in self.segs:
            if s.startswith("INS" + self.e):
                cur = [s]
                self.members.append(cur)
            elif s.startswith("SE" + self.e):
                cur = None
            elif cur is not None:
                cur.append(s)

    def el(self, seg: str) -> list[str]:
        return seg.split(self.e)

    def first(self, seg_prefix: str, lines: list[str] | None = None) -> list[str] | None:
        for s in lines if lines is not None else self.segs:
            if s.startswith(seg_prefix.replace("*", self.e)):
                return self.el(s)
        return None

    def loops_2750(self, member: list[str]) -> dict[str, list[list[str]]]:
        """The member's 2750 loops: category name (N1*75) -> the loop's other segments, split."""
        out: dict[str, list[list[str]]] = {}
        name = None
        for s in member:
            f = self.el(s)
            if f[0] == "N1" and f[1] == "75":
                name = f[2]
                out[name] = []
            elif f[0] == "LE":
                name = None
            elif name is not None:
                out[name].append(f)
        return out

    def cats(self, member: list[str]) -> dict[str, str]:
        """Category name -> REF02 ("" when the loop has no REF)."""
        return {name: next((f[2] for f in reversed(segs) if f[0] == "REF"), "")
                for name, segs in self.loops_2750(member).items()}

    def cat_dates(self, member: list[str]) -> dict[str, str]:
        """Category name -> DTP*007 date, for the loops that have one."""
        out: dict[str, str] = {}
        for name, segs in self.loops_2750(member).items():
            for f in segs:
                if f[0] == "DTP" and f[1] == "007":
                    out[name] = f[3]
        return out

    def member_ref(self, member: list[str], qual: str) -> str | None:
        f = self.first(f"REF*{qual}*", member)
        return f[2] if f else None

    def dtp(self, member: list[str], qual: str) -> str | None:
        f = self.first(f"DTP*{qual}*", member)
        return f[3] if f else None

    @property
    def policy(self) -> str | None:
        for m in self.members:
            p = self.member_ref(m, "1L")
            if p:
                return p
        return None

    @property
    def bgn02(self) -> str:
        f = self.first("BGN*")
        assert f
        return f[2]


def transactions(text: str) -> list[Txn]:
    e, segs = segments(text)
    out: list[Txn] = []
    cur: list[str] | None = None
    for s in segs:
        if s.startswith("ST" + e):
            cur = [s]
        elif cur is not None:
            cur.append(s)
            if s.startswith("SE" + e):
                out.append(Txn(cur, e))
                cur = None
    return out


def one(g: G.Group, **kw: object) -> Txn:
    (t,) = transactions(G.render_file([g], **kw))  # type: ignore[arg-type]
    return t


def money(s: str) -> Decimal:
    return Decimal(s)


def check_amounts(t: Txn) -> None:
    sub = next(m for m in t.members if t.el(m[0])[1] == "Y")
    c = t.cats(sub)
    total, aptc, res = money(c["PRE AMT TOT"]), money(c["APTC AMT"]), money(c["TOT RES AMT"])
    assert sum(money(t.cats(m)["PRE AMT 1"]) for m in t.members) == total
    assert res == total - aptc
    assert ZERO <= aptc <= total
    assert RATING_RE.match(c["RATING AREA"])
    assert 1 <= int(RATING_RE.match(c["RATING AREA"]).group(1)) <= 150  # type: ignore[union-attr]


ZERO = Decimal("0")

# ---------------------------------------------------------------------------------------------
# pyx12 accepts clean output
# ---------------------------------------------------------------------------------------------

DELIMS = {
    "default": Delimiters(),
    "pipe": Delimiters(element="|", component=">", repetition="^", segment="~"),
    "newline-terminator": Delimiters(element="*", component=":", repetition="^", segment="\n"),
}


@pytest.mark.parametrize(
    ("seed", "n", "delims", "breaks"),
    [
        (1, 4, "default", True),
        (2, 6, "pipe", True),
        (3, 5, "default", False),
        (4, 3, "pipe", False),
        (5, 4, "newline-terminator", False),
    ],
)
def test_pyx12_accepts_clean_files(seed: int, n: int, delims: str, breaks: bool) -> None:
    f = G.Factory(seed)
    groups = [f.group(begin=BEGIN, submitted=WHEN) for _ in range(n)]
    groups.append(f.dental(begin=BEGIN, submitted=WHEN, roles=("spouse", "child")))
    text = G.render_file(groups, isa_control=seed, delimiters=DELIMS[delims], line_breaks=breaks)
    assert pyx12_errors(text) == []
    assert ("\n" in text) == (breaks or delims == "newline-terminator")


def test_every_transaction_kind_is_tr3_clean() -> None:
    f = G.Factory(11)
    g = f.group(begin=BEGIN, submitted=WHEN, roles=("spouse", "child"))
    later = datetime(2026, 3, 3, 5, 0)
    kid = f.person(on=BEGIN, age=(2, 4), last="ANY", relationship="19")
    term_member_level = G.terminate(g, date(2026, 5, 31), submitted=later)
    term_member_level.member_level = term_member_level.coverage_on_end = True
    outbound = [
        g,
        G.change(g, effective=date(2026, 5, 1), submitted=later, aptc=Decimal("100.00")),
        G.add_dependant(g, copy.deepcopy(kid), effective=date(2026, 5, 1), submitted=later),
        G.add_dependant(g, copy.deepcopy(kid), effective=date(2026, 5, 1), submitted=later, alone=True),
        G.cancel(g, submitted=later),
        G.terminate(g, date(2026, 5, 31), submitted=later),
        term_member_level,
        f.group(begin=BEGIN, submitted=WHEN, twins=True),
    ]
    inbound = [G.effectuate(g, submitted=later), G.reinstate(G.cancel(g, submitted=later), submitted=later)]
    employer = [f.group(begin=BEGIN, submitted=WHEN, reporting="none") for _ in range(4)]
    for text in (
        G.render_file(outbound),
        G.render_file(inbound, sender="48213", receiver="CMSFFM", isa_control=2),
        G.render_file(employer, sender="FABRIKAMHR", isa_control=3, employer_style=True),
    ):
        assert pyx12_errors(text) == []


def test_handbuilt_scenario_daughter_coded_as_spouse() -> None:
    """The model is small enough to write a scenario by hand in a test."""
    home = G.Address("12 OAK ST", "RICHMOND", "VA", "23220", "51760")
    dad = G.Member(
        "0000000001", "JOHN", "DOE", date(1975, 5, 1), "M", ssn="123456789", premium=Decimal("600.00")
    )
    mom = G.Member("0000000002", "JANE", "DOE", date(1977, 2, 3), "F", "01", False, premium=Decimal("560.00"))
    kid = G.Member("0000000003", "AMY", "DOE", date(2012, 9, 9), "F", "01", False, premium=Decimal("300.00"))
    g = G.Group(
        "100000001", dad.member_id, [dad, mom, kid], G.Coverage("48213VA001000204", BEGIN), home, WHEN,
        aptc=Decimal("900.00"), rating_area="R-VA010", application_id="1234567890-01",
    )  # fmt: skip
    text = G.render_file([g])
    assert pyx12_errors(text) == []
    (t,) = transactions(text)
    assert [t.el(m[0])[2] for m in t.members] == ["18", "01", "01"]
    assert t.cats(t.members[0])["PRE AMT TOT"] == "1460.00"
    assert t.cats(t.members[0])["TOT RES AMT"] == "560.00"
    check_amounts(t)


def test_bad_delimiters_are_refused() -> None:
    with pytest.raises(ValueError):
        G.render_file([], delimiters=Delimiters(element="*", component="*"))
    with pytest.raises(ValueError):
        G.render_file([], delimiters=Delimiters(element="-"))


# ---------------------------------------------------------------------------------------------
# envelope, counts, amounts, realism
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("employer_style", [False, True])
def test_envelope_and_counts(employer_style: bool) -> None:
    f = G.Factory(21)
    groups = [f.group(begin=BEGIN, submitted=WHEN) for _ in range(12)]
    groups += [f.dental(begin=BEGIN, submitted=WHEN) for _ in range(3)]
    text = G.render_file(groups, isa_control=123456789, employer_style=employer_style)
    assert text.index("\n") == 106 and len(text.split("\n")[0]) == 106  # ISA + terminator
    e, segs = segments(text)
    isa = segs[0].split(e)
    assert isa[13] == "123456789" and isa[12] == "00501" and isa[16] == ":"
    gs = [s.split(e) for s in segs if s.startswith("GS" + e)]
    assert all(g[8] == "005010X220A1" and g[1] == "BE" for g in gs)
    assert len(gs) == (1 if employer_style else 2)  # medical and dental in separate GS
    txns = transactions(text)
    assert len(txns) == (1 if employer_style else 15)
    ge = [s.split(e) for s in segs if s.startswith("GE" + e)]
    assert sum(int(g[1]) for g in ge) == len(txns)
    assert [g[2] for g in ge] == [g[6] for g in gs]
    assert segs[-1].split(e) == ["IEA", str(len(gs)), "123456789"]
    st02s = [t.el(t.segs[0])[2] for t in txns]
    assert len(set(st02s)) == len(st02s)
    for t in txns:
        se = t.el(t.segs[-1])
        assert int(se[1]) == len(t.segs) and se[2] == t.el(t.segs[0])[2]
        assert t.el(t.segs[0])[3] == "005010X220A1"
        qty = {t.el(s)[1]: int(t.el(s)[2]) for s in t.segs if s.startswith("QTY" + e)}
        assert qty["TO"] == len(t.members)
        assert qty.get("DT", 0) == sum(1 for m in t.members if t.el(m[0])[1] == "N")
    assert sum(len(t.members) for t in txns) == sum(len(g.members) for g in groups)


def test_amounts_ids_and_families_are_realistic() -> None:
    f = G.Factory(5)
    groups = [f.group(begin=BEGIN, submitted=WHEN) for _ in range(150)]
    sizes = Counter(len(g.members) for g in groups)
    assert set(sizes) == {1, 2, 3, 4, 5}
    member_ids = [m.member_id for g in groups for m in g.members]
    assert len(set(member_ids)) == len(member_ids)
    assert len({g.policy_id for g in groups}) == len(groups)
    for t in transactions(G.render_file(groups)):
        check_amounts(t)
        sub = t.members[0]
        assert t.el(sub[0])[:4] == ["INS", "Y", "18", "021"] and t.el(sub[0])[8] == "AC"
        sub_dob = t.first("DMG*", sub)[2]  # type: ignore[index]
        easid = t.member_ref(sub, "0F")
        states = set()
        for m in t.members:
            ins = t.el(m[0])
            assert t.member_ref(m, "0F") == easid
            assert t.member_ref(m, "17")
            plan = t.member_ref(m, "CE")
            assert plan and PLAN_RE.match(plan) and plan[-2:] in {"01", "02", "04", "05", "06"}
            dob = t.first("DMG*", m)[2]  # type: ignore[index]
            age = G._age(datetime.strptime(dob, "%Y%m%d").date(), BEGIN)
            states.add(t.first("N4*", m)[2])  # type: ignore[index]
            if ins[2] in ("19", "17", "09"):
                assert age < 26 and dob > sub_dob
            elif ins[2] == "01":
                assert age >= 19
            else:
                assert ins[2] == "18" and 19 <= age <= 64
            assert t.dtp(m, "356") == t.dtp(m, "348") == "20260401"
        assert states == {"VA"}
        variant = t.member_ref(sub, "CE")[-2:]  # type: ignore[index]
        if variant in {"04", "05", "06"}:
            assert money(t.cats(sub)["APTC AMT"]) > 0


def test_twins_share_last_name_and_dob_not_first_name() -> None:
    g = G.Factory(8).group(begin=BEGIN, submitted=WHEN, roles=("spouse",), twins=True)
    t = one(g)
    twins = [m for m in t.members if len(t.el(m[0])) == 18]
    assert [t.el(m[0])[17] for m in twins] == ["1", "2"]
    names = [t.first("NM1*", m) for m in twins]
    dobs = {t.first("DMG*", m)[2] for m in twins}  # type: ignore[index]
    assert len(dobs) == 1 and names[0][3] == names[1][3] and names[0][4] != names[1][4]  # type: ignore[index]


def test_family_rated_dental() -> None:
    g = G.Factory(9).dental(begin=BEGIN, submitted=WHEN, roles=("spouse", "child"))
    t = one(g)
    assert all(t.first("HD*", m)[3] == "DEN" for m in t.members)  # type: ignore[index]
    assert [t.cats(m)["PRE AMT 1"] for m in t.members[1:]] == ["0.00", "0.00"]
    assert t.cats(t.members[0])["PRE AMT 1"] == t.cats(t.members[0])["PRE AMT TOT"]
    check_amounts(t)


def test_cancel_term_change_shapes() -> None:
    f = G.Factory(12)
    g = f.group(begin=BEGIN, submitted=WHEN, roles=("spouse", "child"))
    later = datetime(2026, 3, 3, 5, 0)
    for h, end, amrc in (
        (G.cancel(g, submitted=later), "20260401", "CANCEL"),
        (G.terminate(g, date(2026, 6, 30), submitted=later), "20260630", "TERM"),
    ):
        t = one(h, file_date=later)
        assert len(t.members) == 1  # FFE: subscriber only
        (m,) = t.members
        assert t.el(m[0])[:5] == ["INS", "Y", "18", "024", "14"] and t.el(m[0])[8] == "TE"
        assert t.member_ref(m, "1L") == g.policy_id and t.first("HD*", m) is None
        assert t.dtp(m, "356") == "20260401" and t.dtp(m, "357") == end
        assert t.cats(m)["ADDL MAINT REASON"] == amrc
        assert t.first("DTP*303*") == ["DTP", "303", "D8", "20260303"]  # header file date
    ch = one(G.change(g, effective=date(2026, 5, 1), submitted=later, aptc=Decimal("50.00")))
    assert [t_[3] for t_ in (ch.el(m[0]) for m in ch.members)] == ["001"] * 3
    assert ch.cats(ch.members[0])["ADDL MAINT REASON"] == "FINANCIAL CHANGE"
    assert ch.cats(ch.members[0])["APTC AMT"] == "50.00"
    assert ch.cat_dates(ch.members[0])["APTC AMT"] == "20260501"
    assert ch.dtp(ch.members[0], "303") == "20260501"
    check_amounts(ch)
    eff = one(G.effectuate(g, submitted=later), sender="48213", receiver="CMSFFM")
    sub = eff.members[0]
    assert eff.el(sub[0])[3:5] == ["021", "28"] and eff.dtp(sub, "543") == "20260430"
    assert eff.cats(sub)["ADDL MAINT REASON"] == "CONFIRM" and "SOURCE EXCHANGE ID" not in eff.cats(sub)
    re_ = one(G.reinstate(G.cancel(g, submitted=later), submitted=later), sender="48213", receiver="CMSFFM")
    assert len(re_.members) == 1 and re_.el(re_.members[0][0])[3] == "025"
    assert re_.first("HD*", re_.members[0])[1] == "025"  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# injections: one transaction
# ---------------------------------------------------------------------------------------------

GROUP_KEYS = [k for k, i in G.INJECTIONS.items() if i.mutate is not None]


def _clean_for(key: str, seed: int) -> tuple[G.Factory, G.Group]:
    inj = G.INJECTIONS[key]
    f = G.Factory(seed)
    g = f.group(
        begin=BEGIN, submitted=WHEN, roles=inj.roles, sub_age=inj.sub_age, line=inj.line, metal=inj.metal
    )
    return f, g


def _diff(before: list[str], after: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Lines removed and added (as multisets), ignoring SE (its count is checked elsewhere)."""
    b = Counter(s for s in before if not s.startswith("SE*"))
    a = Counter(s for s in after if not s.startswith("SE*"))
    return b - a, a - b


def _strip(c: Counter[str], *prefixes: str) -> Counter[str]:
    return Counter({k: v for k, v in c.items() if not k.startswith(prefixes)})


def _only(c: Counter[str], *prefixes: str) -> bool:
    return all(s.startswith(prefixes) for s in c)


AMOUNT_LINES = ("QTY*", "REF*9X*", "REF*9V*", "SE*")


@pytest.mark.parametrize("key", GROUP_KEYS)
def test_group_injection_changes_exactly_what_it_claims(key: str) -> None:
    f, g = _clean_for(key, seed=100 + GROUP_KEYS.index(key))
    before = one(g)
    exp = G.INJECTIONS[key].mutate(g, f)  # type: ignore[misc]
    after = one(g)
    assert exp.rule == G.INJECTIONS[key].rule and exp.category == G.category_of(exp.rule)
    assert exp.policy_id == g.policy_id
    removed, added = _diff(before.segs, after.segs)
    assert removed or added, "the injection changed nothing"
    member_ids = [after.member_ref(m, "17") for m in after.members]
    target = after.members[member_ids.index(exp.member_id)] if exp.member_id in member_ids else None
    sub_after = after.members[0]
    if key == "DUP-03":
        assert f"REF*17*{exp.member_id}" in added
        nm1 = after.first("NM1*", target)
        assert sum(1 for s in after.segs if s == "*".join(nm1)) == 2  # type: ignore[arg-type]
        assert _only(removed, *AMOUNT_LINES)
    elif key == "FAM-01":
        # QTY*DT follows INS01 (one dependant fewer), and SE01 with it.
        assert _strip(removed, "QTY*DT*", "SE*") == Counter({"INS*N*01*021*EC*A": 1})
        assert _strip(added, "SE*") == Counter({"INS*Y*18*021*EC*A": 1})
    elif key == "FAM-02":
        assert removed == Counter({"INS*Y*18*021*EC*A***AC": 1})
        assert added == Counter({"INS*Y*19*021*EC*A***AC": 1})
    elif key == "FAM-03":
        assert added == Counter({f"REF*0F*{exp.member_id}": 1})
        assert removed == Counter({f"REF*0F*{g.subscriber_id}": 1})
    elif key == "FAM-04":
        assert len(added) == 1 and len(removed) == 1
        (new,) = added
        assert new.startswith("REF*CE*") and new != f"REF*CE*{g.coverage.plan_id}"
        assert after.member_ref(target, "CE") == new[7:]  # type: ignore[arg-type]
    elif key == "FAM-05":
        assert len(after.members) == 1 and after.el(after.members[0][0])[1] == "N"
        assert after.member_ref(after.members[0], "0F") not in before.segs[0] + "".join(before.segs)
        assert after.first("N1*P5*") == before.first("N1*P5*")[:2] + after.first("N1*P5*")[2:]  # type: ignore[index]
    elif key == "FAM-06":
        assert sum(1 for m in after.members if after.el(m[0])[2] == "01") == 2
        assert _only(removed, *AMOUNT_LINES)
    elif key == "FAM-07":
        assert after.el(target[0])[2] == "01"  # type: ignore[index]
        assert after.first("DMG*", target)[2] >= "20120101"  # type: ignore[index,arg-type]
        assert _only(removed, *AMOUNT_LINES)
    elif key == "FAM-07:child-older":
        assert after.el(target[0])[2] == "19"  # type: ignore[index]
        assert after.first("DMG*", target)[2] < after.first("DMG*", sub_after)[2]  # type: ignore[index,arg-type]
        dob = datetime.strptime(after.first("DMG*", target)[2], "%Y%m%d").date()  # type: ignore[index,arg-type]
        assert G._age(dob, BEGIN) < 26
    elif key == "FAM-08":
        dob = datetime.strptime(after.first("DMG*", target)[2], "%Y%m%d").date()  # type: ignore[index,arg-type]
        assert after.el(target[0])[2] == "19" and G._age(dob, BEGIN) == 27  # type: ignore[index]
    elif key == "FAM-09":
        assert removed == Counter({"DTP*356*D8*20260401": 1, "DTP*348*D8*20260401": 1})
        assert added == Counter({"DTP*356*D8*20260301": 1, "DTP*348*D8*20260301": 1})
    elif key == "FAM-10":
        assert not added and len(removed) == 1 and next(iter(removed)).startswith("DMG*D8*")
        assert after.first("DMG*", target) is None
    elif key == "FAM-10:gender-u":
        (old,), (new,) = removed, added
        assert new == re.sub(r"\*[MF]$", "*U", old) and new.endswith("*U")
    elif key == "FAM-12":
        assert _only(removed, "N3*", "N4*") and _only(added, "N3*", "N4*")
        assert all(after.first("N4*", m)[2] == "NC" for m in after.members)  # type: ignore[index]
        assert after.member_ref(sub_after, "CE")[5:7] == "VA"  # type: ignore[index]
    elif key == "FIN-01":
        assert not added and "N1*75*APTC AMT" in removed
        assert "APTC AMT" not in after.cats(sub_after) and "PRE AMT TOT" in after.cats(sub_after)
    elif key == "FIN-02":
        assert "N1*75*APTC AMT" in added
        assert "APTC AMT" in after.cats(target)  # type: ignore[arg-type]
    elif key == "FIN-03":
        c = after.cats(sub_after)
        assert money(c["APTC AMT"]) > money(c["PRE AMT TOT"])
        assert money(c["TOT RES AMT"]) == money(c["PRE AMT TOT"]) - money(c["APTC AMT"]) < 0
        assert _only(removed, "REF*9V*", "REF*CE*") and _only(added, "REF*9V*", "REF*CE*")
    elif key == "FIN-04":
        c = after.cats(sub_after)
        assert money(c["TOT RES AMT"]) != money(c["PRE AMT TOT"]) - money(c["APTC AMT"])
        assert c["PRE AMT TOT"] == before.cats(before.members[0])["PRE AMT TOT"]
        assert _only(removed, "REF*9V*") and _only(added, "REF*9V*")
    elif key == "FIN-05":
        c = after.cats(sub_after)
        assert c["PRE AMT TOT"] == before.cats(before.members[0])["PRE AMT TOT"]
        assert sum(money(after.cats(m)["PRE AMT 1"]) for m in after.members) == money(
            c["PRE AMT TOT"]
        ) + Decimal("12.34")
        assert len(removed) == 1 and len(added) == 1 and next(iter(added)).startswith("REF*9X*")
    elif key == "FIN-06":
        assert all(after.member_ref(m, "CE").endswith("07") for m in after.members)  # type: ignore[union-attr]
        assert _only(removed, "REF*CE*") and _only(added, "REF*CE*")
    elif key == "FIN-07":
        assert "N1*75*CSR AMT" in added and after.cats(sub_after)["CSR AMT"] == "38.60"
        assert after.member_ref(sub_after, "CE").endswith("01")  # type: ignore[union-attr]
    elif key == "FIN-08":
        ra = after.cats(sub_after)["RATING AREA"]
        assert not RATING_RE.match(ra)
        assert removed == Counter({f"REF*9X*{before.cats(before.members[0])['RATING AREA']}": 1})
        assert added == Counter({f"REF*9X*{ra}": 1})
    elif key == "FIN-09":
        dates = after.cat_dates(sub_after)
        assert dates["APTC AMT"] == dates["PRE AMT TOT"] == "20260301" < after.dtp(sub_after, "348")  # type: ignore[operator]
        assert _only(removed, "DTP*007*") and _only(added, "DTP*007*")
    elif key == "DQ-05":
        (new,) = added
        assert new.startswith("DMG*D8*2029") and _only(removed, "DMG*")
    elif key == "DQ-05:begin-after-end":
        assert _only(added, "DTP*357*", "DTP*349*") and not removed
        assert after.dtp(target, "357") < after.dtp(target, "356")  # type: ignore[arg-type,operator]
        assert after.dtp(target, "349") < after.dtp(target, "348")  # type: ignore[arg-type,operator]
    elif key == "DQ-06":
        assert "34*111111111" in "*".join(after.first("NM1*", sub_after))  # type: ignore[arg-type]
        assert _only(removed, "NM1*") and _only(added, "NM1*")
    elif key == "DQ-06:phone":
        assert "5555555555" in "*".join(after.first("PER*", sub_after))  # type: ignore[arg-type]
        assert _only(removed, "PER*") and _only(added, "PER*")
    elif key == "DQ-06:zip":
        assert all(after.first("N4*", m)[3] == "1234" for m in after.members)  # type: ignore[index]
        assert _only(removed, "N4*") and _only(added, "N4*")
    elif key == "DQ-06:plan-id":
        assert all(len(after.member_ref(m, "CE")) == 15 for m in after.members)  # type: ignore[arg-type]
        assert _only(removed, "REF*CE*") and _only(added, "REF*CE*")
    elif key == "DQ-07":
        qty = after.first("QTY*TO*")
        assert int(qty[2]) == len(after.members) + 1  # type: ignore[index]
        assert _only(removed, "QTY*TO*") and _only(added, "QTY*TO*")
    elif key == "DQ-08":
        assert "N1*75*PREMIUM DISCOUNT AMT" in added and "PREMIUM DISCOUNT AMT" in after.cats(sub_after)
        assert not removed
    else:  # pragma: no cover
        pytest.fail(f"no assertion written for injection {key}")


def test_group_injections_stay_tr3_clean() -> None:
    groups = []
    for i, key in enumerate(GROUP_KEYS):
        f, g = _clean_for(key, seed=500 + i)
        G.INJECTIONS[key].mutate(g, f)  # type: ignore[misc]
        groups.append(g)
    assert pyx12_errors(G.render_file(groups)) == []


def test_catalogue_covers_the_brief() -> None:
    rules = {i.rule for i in G.INJECTIONS.values()}
    wanted = (
        {"DUP-01", "DUP-02", "DUP-03", "DUP-04", "DUP-05", "DUP-07"}
        | {"MNT-02", "MNT-03", "MNT-04", "MNT-05", "MNT-07", "MNT-10", "MNT-12", "MNT-13"}
        | {f"FAM-{n:02d}" for n in range(1, 11)}
        | {"FAM-12"}
        | {f"FIN-{n:02d}" for n in range(1, 10)}
        | {"DQ-05", "DQ-06", "DQ-07", "DQ-08", "MISS-04", "MISS-06"}
    )
    assert wanted <= rules
    assert {i.category for i in G.INJECTIONS.values()} == set(G.CATEGORY_BY_PREFIX.values())
    assert {"MNT-04", "MNT-04:later-end", "DQ-06:zip", "DQ-06:plan-id", "FAM-07:child-older"} <= set(
        G.INJECTIONS
    )


# ---------------------------------------------------------------------------------------------
# the quality set: staged injections, quiet cases, TR3
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quality() -> tuple[list[tuple[str, str]], dict]:
    return G.build_quality_set(7)


@dataclass
class Seen:
    order: int
    file: str
    isa13: str
    sender: str
    txn: Txn


def _index(files: list[tuple[str, str]]) -> list[Seen]:
    out = []
    for i, (name, text) in enumerate(files):
        e, segs = segments(text)
        isa = segs[0].split(e)
        for t in transactions(text):
            out.append(Seen(i, name, isa[13], isa[6].strip(), t))
    return out


def _of(index: list[Seen], policy: str | None) -> list[Seen]:
    return [s for s in index if s.txn.policy == policy]


def test_quality_set_shape(quality: tuple[list[tuple[str, str]], dict]) -> None:
    files, truth = quality
    assert [n for n, _ in files] == [f["name"] for f in truth["files"]]
    assert [n for n, _ in files] == sorted(n for n, _ in files)  # a folder import sorts by name
    assert truth["clean_groups"] == 130
    cats = Counter(e["category"] for e in truth["expected"])
    assert set(cats) == set(G.CATEGORY_BY_PREFIX.values()) and sum(cats.values()) >= 30
    names = {n for n, _ in files}
    assert all(e["file"] in names for e in truth["expected"])
    assert {q["case"] for q in truth["quiet"]} >= {
        "twins", "termination-after-enrollment", "financial-change", "cic-pair", "dependant-only-add",
        "family-rated-dental", "employer-style",
    }  # fmt: skip
    flagged = {e["policy_id"] for e in truth["expected"]}
    assert not flagged & {q["policy_id"] for q in truth["quiet"]}
    assert sum(f["members"] for f in truth["files"]) > 300
    import json

    json.dumps(truth)  # JSON-able


def test_quality_set_is_tr3_clean(quality: tuple[list[tuple[str, str]], dict]) -> None:
    files, _ = quality
    for name, text in files:
        assert pyx12_errors(text) == [], name


def test_quality_set_clean_groups_are_consistent(quality: tuple[list[tuple[str, str]], dict]) -> None:
    files, truth = quality
    flagged = {e["policy_id"] for e in truth["expected"]}
    checked = 0
    for s in _index(files):
        t = s.txn
        if s.sender != "CMSFFM" or t.policy in flagged or not t.members or t.el(t.members[0][0])[1] != "Y":
            continue
        if t.el(t.members[0][0])[3] in ("021", "001") and "PRE AMT TOT" in t.cats(t.members[0]):
            check_amounts(t)
            checked += 1
    assert checked > 130


def test_staged_injections_are_in_the_files(quality: tuple[list[tuple[str, str]], dict]) -> None:
    files, truth = quality
    index = _index(files)
    order = {n: i for i, (n, _) in enumerate(files)}
    by = {e["injection"]: e for e in truth["expected"]}

    def at(key: str) -> tuple[dict, list[Seen], Seen | None]:
        e = by[key]
        seen = _of(index, e["policy_id"])
        here = next((s for s in seen if s.file == e["file"]), None)
        return e, seen, here

    def ins(s: Seen, i: int = 0) -> list[str]:
        return s.txn.el(s.txn.members[i][0])

    e, seen, here = at("DUP-01")
    first = [s for s in seen if s.order < order[e["file"]]]
    assert here and first and first[0].txn.bgn02 == here.txn.bgn02
    assert first[0].txn.segs[2:-1] == here.txn.segs[2:-1]  # identical apart from ST, BGN03/04, SE

    e = by["DUP-02"]
    isa = {n: s.isa13 for s in index for n in [s.file]}
    earlier = [n for n in isa if order[n] < order[e["file"]] and n.startswith("CMSFFM")]
    assert isa[e["file"]] in {isa[n] for n in earlier}

    e, seen, here = at("DUP-04")
    holders = {
        s.txn.policy for s in index if any(s.txn.member_ref(m, "17") == e["member_id"] for m in s.txn.members)
    }
    assert len(holders) == 2 and all(ins(s)[3] == "021" for s in index if s.txn.policy in holders)

    e, seen, here = at("DUP-05")
    sub_policies = {s.txn.policy for s in index if s.txn.member_ref(s.txn.members[0], "0F") == e["member_id"]}
    assert len(sub_policies) == 2

    e, seen, here = at("DUP-07")
    assert here
    nm1 = here.txn.first("NM1*", here.txn.members[0])
    others = [
        s for s in index
        if s.txn.policy != e["policy_id"] and any(s.txn.first("NM1*", m) == nm1 for m in s.txn.members)
    ]  # fmt: skip
    assert others and all(s.txn.member_ref(s.txn.members[0], "17") != e["member_id"] for s in others)

    e, seen, here = at("MNT-02")
    assert (
        here and ins(here)[3] == "024" and here.txn.cats(here.txn.members[0])["ADDL MAINT REASON"] == "CANCEL"
    )
    m = here.txn.members[0]
    assert here.txn.dtp(m, "357") > here.txn.dtp(m, "356")  # type: ignore[operator]
    assert ins(seen[0])[3] == "021" and seen[0].order < here.order

    e, seen, here = at("MNT-03")
    assert here and ins(here)[3:5] == ["024", "EC"]

    e, seen, here = at("MNT-04")
    cancels = [s for s in seen if ins(s)[3] == "024"]
    assert len(cancels) == 2 and len({s.txn.dtp(s.txn.members[0], "357") for s in cancels}) == 1
    assert cancels[0].txn.bgn02 != cancels[1].txn.bgn02 and here is cancels[1]

    e, seen, here = at("MNT-04:later-end")
    terms = [s for s in seen if ins(s)[3] == "024"]
    assert len(terms) == 2 and terms[1] is here
    assert terms[1].txn.dtp(terms[1].txn.members[0], "357") > terms[0].txn.dtp(terms[0].txn.members[0], "357")  # type: ignore[operator]
    assert not [s for s in seen if ins(s)[3] == "025"]

    e, seen, here = at("MNT-05")
    assert [ins(s)[3] for s in seen] == ["021", "024", "001"] and here is seen[-1]

    e, seen, here = at("MNT-07")
    assert here and ins(here)[:4] == ["INS", "Y", "18", "024"]
    kid = next(m for m in here.txn.members if here.txn.member_ref(m, "17") == e["member_id"])
    assert (
        here.txn.el(kid[0])[3] == "001"
        and here.txn.dtp(kid, "357") is None
        and here.txn.dtp(kid, "349") is None
    )

    e, seen, here = at("MNT-10")
    changes = [s for s in seen if ins(s)[3] == "001"]
    assert len(changes) == 2 and changes[1] is here
    ts = [s.txn.cats(s.txn.members[0])["REQUEST SUBMIT TIMESTAMP"] for s in changes]
    assert ts[1] < ts[0]

    e, seen, here = at("MNT-12")
    assert here and here.txn.cats(here.txn.members[0])["ADDL MAINT REASON"] == "CIC"
    old = [
        s
        for s in index
        if s.txn.member_ref(s.txn.members[0], "17") == e["member_id"] and s.txn.policy != e["policy_id"]
    ]
    assert old and not any(
        s.txn.cats(s.txn.members[0]).get("ADDL MAINT REASON", "") in ("TERMCIC", "CANCELCIC") for s in old
    )

    e, seen, here = at("MNT-13")
    plans = [s.txn.member_ref(s.txn.members[0], "CE")[:14] for s in seen]  # type: ignore[index]
    assert len(set(plans)) == 2 and ins(seen[-1])[3] == "001"

    e, seen, here = at("MISS-04")
    assert [ins(s)[3] for s in seen] == ["024"]

    e = by["MISS-06"]
    ffe = [(order[n], int(s.isa13)) for n, s in {s.file: s for s in index if s.sender == "CMSFFM"}.items()]
    ffe.sort()
    numbers = sorted({n for _, n in ffe})
    gaps = [b for a, b in zip(numbers, numbers[1:], strict=False) if b - a > 1]
    target = next(s for s in index if s.file == e["file"])
    assert gaps == [int(target.isa13)]


def test_quiet_cases_look_right(quality: tuple[list[tuple[str, str]], dict]) -> None:
    files, truth = quality
    index = _index(files)
    q = {}
    for c in truth["quiet"]:
        q.setdefault(c["case"], []).append(c)
    (tw,) = q["twins"]
    (t,) = [s.txn for s in index if s.txn.policy == tw["policy_id"]]
    assert sorted(t.el(m[0])[17] for m in t.members if len(t.el(m[0])) == 18) == ["1", "2"]
    old, new = q["cic-pair"]
    (tc,) = [s for s in index if s.txn.policy == old["policy_id"] and s.file == old["file"]]
    (ni,) = [s for s in index if s.txn.policy == new["policy_id"]]
    assert tc.txn.cats(tc.txn.members[0])["ADDL MAINT REASON"] == "TERMCIC"
    assert ni.txn.cats(ni.txn.members[0])["ADDL MAINT REASON"] == "CIC"
    end = tc.txn.dtp(tc.txn.members[0], "357")
    start = ni.txn.dtp(ni.txn.members[0], "348")
    assert datetime.strptime(start, "%Y%m%d").toordinal() - datetime.strptime(end, "%Y%m%d").toordinal() == 1  # type: ignore[arg-type]
    (add,) = q["dependant-only-add"]
    (a,) = [s for s in index if s.txn.policy == add["policy_id"] and s.file == add["file"]]
    assert len(a.txn.members) == 1 and a.txn.el(a.txn.members[0][0])[1:5] == ["N", "19", "021", "EC"]
    assert any(s.txn.policy == add["policy_id"] and s.order < a.order for s in index)
    emp = {c["file"] for c in q["employer-style"]}
    (emp_file,) = emp
    (st,) = [s.txn for s in index if s.file == emp_file]
    assert sum(1 for m in st.members if st.el(m[0])[1] == "Y") == 5


# ---------------------------------------------------------------------------------------------
# determinism, demo, benchmark
# ---------------------------------------------------------------------------------------------


def test_deterministic_by_seed() -> None:
    a, ta = G.build_quality_set(3, clean=20)
    b, tb = G.build_quality_set(3, clean=20)
    c, _ = G.build_quality_set(4, clean=20)
    assert a == b and ta == tb
    assert a != c


def test_demo_files_regenerate_byte_identically(tmp_path: Path) -> None:
    written = G.write_demo(tmp_path)
    names = sorted(p.name for p in written)
    committed = sorted(p.name for p in DEMO.iterdir() if p.is_file())
    assert names == committed
    for p in written:
        assert p.read_bytes() == (DEMO / p.name).read_bytes(), p.name
    files, truth = G.build_demo_set()
    members = sum(f["members"] for f in truth["files"])
    assert 60 <= members <= 150 and len(files) == 4
    assert {e["category"] for e in truth["expected"]} == set(G.CATEGORY_BY_PREFIX.values())
    assert "synthetic" in (DEMO / "README.md").read_text()


@pytest.mark.parametrize("style", ["employer", "exchange"])
def test_benchmark_writer(tmp_path: Path, style: str) -> None:
    path = tmp_path / "bench.834"
    stats = G.write_benchmark_file(path, members=2_345, seed=1, style=style, groups_per_st=300)
    text = path.read_text(encoding="ascii")
    e, segs = segments(text)
    assert stats.members == 2_345 == sum(1 for s in segs if s.startswith("INS" + e))
    assert stats.segments == len(segs) and stats.bytes == len(text)
    txns = transactions(text)
    assert stats.transactions == len(txns)
    assert all(int(t.el(t.segs[-1])[1]) == len(t.segs) for t in txns)
    per_member = stats.segments / stats.members
    assert (15 <= per_member <= 25) if style == "employer" else (25 <= per_member <= 50)
    small = tmp_path / "small.834"
    G.write_benchmark_file(small, members=120, seed=2, style=style, groups_per_st=20)
    assert pyx12_errors(small.read_text(encoding="ascii")) == []
