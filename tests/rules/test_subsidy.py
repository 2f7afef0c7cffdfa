"""Subsidy rules FIN-01 .. FIN-10: each flags its problem and stays quiet on the legitimate case."""

from __future__ import annotations

from decimal import Decimal

from enrollreview.x12 import generator as gen

from .helpers import BEGIN, month_start, spouse, sub, summary


def _with_aptc(g: gen.Group, share: str = "0.6") -> gen.Group:
    g.aptc = (g.total_premium() * Decimal(share)).quantize(gen.CENT)
    return g


def test_fin01_missing_aptc(store):
    g = store.group(roles=("spouse",))
    sub(g).drop_categories.add("APTC AMT")
    store.load(g)
    f = store.flags("FIN-01")
    assert [x["member_id"] for x in f] == [sub(g).member_id]
    assert "APTC AMT" in f[0]["message"]


def test_fin01_quiet_without_exchange_amounts(store):
    g = store.group(roles=("child",), reporting="none")
    store.load(g, employer_style=True, sender="ACMEHR")
    assert store.flags(category="subsidy") == []


def test_fin02_aptc_on_a_dependant(store):
    g = _with_aptc(store.group(roles=("spouse",)))
    sp = spouse(g)
    sp.extra_categories.append(gen.Category("APTC AMT", "9V", gen._money(g.aptc), g.financial_date()))
    store.load(g)
    f = store.flags("FIN-02")
    assert [x["member_id"] for x in f] == [sp.member_id] and f[0]["severity"] == "warning"


def test_fin03_aptc_above_premium(store):
    g = store.group(roles=())
    g.aptc = g.total_premium() + Decimal("125.00")
    store.load(g)
    f = store.flags("FIN-03")
    assert f and f[0]["member_id"] == sub(g).member_id
    msg = next(x["message"] for x in f if "more than" in x["message"])
    assert f"APTC {g.aptc:,.2f} is more than the total premium {g.total_premium():,.2f}" in msg
    assert all(s["element"] == "REF02" for s in f[0]["segments"])


def test_fin03_quiet_when_aptc_equals_premium(store):
    g = store.group(roles=())
    g.aptc = g.total_premium()
    store.load(g)
    assert store.flags("FIN-03") == []


def test_fin04_responsibility_does_not_add_up(store):
    g = _with_aptc(store.group(roles=()))
    g.responsibility_override = g.total_premium() - g.aptc + Decimal("17.50")
    store.load(g)
    f = store.flags("FIN-04")
    assert len(f) == 1 and "TOT RES AMT" in f[0]["message"]


def test_fin04_other_payers_are_subtracted(store):
    g = _with_aptc(store.group(roles=()))
    other = Decimal("40.00")
    g.responsibility_override = g.total_premium() - g.aptc - other
    sub(g).extra_categories.append(gen.Category("OTH PAY AMT 1", "9V", gen._money(other), g.financial_date()))
    store.load(g)
    assert store.flags("FIN-04") == []


def test_fin05_member_premiums_do_not_add_up(store):
    g = store.group(roles=("spouse",))
    g.total_override = g.total_premium()
    spouse(g).premium += Decimal("12.34")
    store.load(g)
    f = store.flags("FIN-05")
    assert len(f) == 1 and f[0]["member_id"] == sub(g).member_id
    assert "add up to" in f[0]["message"]


def test_fin05_family_rated_dental_is_quiet(store):
    g = store.f.dental(begin=BEGIN, submitted=store.next_time(), roles=("spouse", "child"))
    assert all(m.premium == 0 for m in g.members if not m.subscriber)
    store.load(g)
    assert store.serious() == [], summary(store.flags())


def test_consistent_financial_change_is_quiet(store):
    g = _with_aptc(store.group(roles=("spouse",), metal="silver"))
    store.load(g)
    ch = gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(),
                    aptc=(g.total_premium() * Decimal("0.55")).quantize(gen.CENT))
    store.load(ch)
    assert store.serious() == [], summary(store.flags())


def test_fin06_csr_variant_does_not_exist(store):
    g = store.group(roles=())
    g.coverage.plan_id = g.coverage.plan_id[:14] + "07"
    store.load(g)
    f = store.flags("FIN-06")
    assert len(f) == 1 and "variant 07" in f[0]["message"] and f[0]["severity"] == "error"


def test_fin06_quiet_for_valid_variants(store):
    for v in ("01", "04", "06"):
        g = _with_aptc(store.group(roles=(), metal="silver"))
        g.coverage.plan_id = g.coverage.plan_id[:14] + v
        store.load(g)
    assert store.flags("FIN-06") == []


def test_fin07_csr_amount_on_a_no_csr_plan(store):
    g = store.group(roles=())
    g.coverage.plan_id = g.coverage.plan_id[:14] + "01"
    g.csr_amount = Decimal("38.60")
    store.load(g)
    f = store.flags("FIN-07")
    assert len(f) == 1 and f[0]["severity"] == "error" and "38.60" in f[0]["message"]


def test_fin07_quiet_for_csr_plan_with_csr_amount(store):
    g = _with_aptc(store.group(roles=(), metal="silver"))
    g.coverage.plan_id = g.coverage.plan_id[:14] + "06"
    g.csr_amount = Decimal("120.00")
    store.load(g)
    assert [f for f in store.flags("FIN-07") if f["severity"] != "info"] == []


def test_fin08_rating_area_malformed(store):
    g = store.group(roles=())
    g.rating_area = g.rating_area[:4] + g.rating_area[5:]   # R-VA010 -> R-VA10
    store.load(g)
    f = store.flags("FIN-08")
    assert len(f) == 1 and "R-SS###" in f[0]["message"]


def test_fin08_rating_area_of_another_state(store):
    g = store.group(roles=())
    g.rating_area = "R-NC003"
    store.load(g)
    assert len(store.flags("FIN-08")) == 1


def test_fin09_financial_date_before_coverage(store):
    g = store.group(roles=())
    g.financial_effective = month_start(BEGIN, -1)
    store.load(g)
    f = store.flags("FIN-09")
    assert len(f) == 1 and "before coverage begins" in f[0]["message"]


def test_fin09_quiet_on_first_of_month(store):
    store.load(store.group(roles=("child",)))
    assert store.flags("FIN-09") == []


def test_fin10_amount_not_a_number(store):
    g = store.group(roles=())
    sub(g).category_values["PRE AMT TOT"] = "12O.50"
    store.load(g)
    f = store.flags("FIN-10")
    assert len(f) == 1 and "'12O.50'" in f[0]["message"]
