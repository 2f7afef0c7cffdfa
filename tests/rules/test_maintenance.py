"""Maintenance rules MNT-01 .. MNT-05, MNT-07, MNT-10, MNT-12, MNT-13."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from enrollreview.parse import event_kind
from enrollreview.rules.history import policy_status, policy_timeline
from enrollreview.x12 import generator as gen

from .helpers import BEGIN, Store, deepcopy, month_end, month_start, sub, summary


def test_enrollment_then_proper_termination_is_quiet(store):
    g = store.group(roles=("spouse",))
    store.load(g)
    store.load(gen.terminate(g, month_end(month_start(BEGIN, 1)), submitted=store.next_time()))
    assert store.serious() == [], summary(store.flags())
    assert policy_status(store.db, g.policy_id) == "terminated"


def test_policy_status_over_time(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.effectuate(g, submitted=store.next_time()), sender="48213", receiver="CMSFFM")
    store.load(gen.cancel(g, submitted=store.next_time()))
    store.load(gen.reinstate(g, submitted=store.next_time()), sender="48213", receiver="CMSFFM")
    statuses = [e["status"] for e in policy_timeline(store.db, g.policy_id)]
    assert statuses == ["enrolled", "effectuated", "cancelled", "reinstated"]


def test_mnt01_classifies_cancel_and_term():
    assert event_kind("024", "CANCEL", "2026-04-01", "2026-04-01") == "cancelled"
    assert event_kind("024", "", "2026-04-01", "2026-03-31") == "cancelled"
    assert event_kind("024", "CANCEL", "2026-04-01", "2026-04-30") == "terminated"
    assert event_kind("024", "", None, None) == "ended"


def test_mnt01_flags_an_end_without_dates(store):
    g = store.group(roles=())
    t = gen.terminate(g, month_end(BEGIN), submitted=store.next_time(), amrc="")
    store.load(g)
    store.load(t, edit=lambda x: "\n".join(ln for ln in x.split("\n") if not ln.startswith(("DTP*356", "DTP*357"))))
    assert [f["member_id"] for f in store.flags("MNT-01")] == [sub(g).member_id]


def test_mnt02_cancel_reason_on_a_termination(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.terminate(g, month_end(BEGIN), submitted=store.next_time(), amrc="CANCEL"))
    f = store.flags("MNT-02")
    assert len(f) == 1 and "CANCEL" in f[0]["message"] and f[0]["severity"] == "error"


def test_mnt02_quiet_on_matching_reason(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.cancel(g, submitted=store.next_time()))
    assert store.flags("MNT-02") == []


def test_mnt03_invalid_code_triple(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.terminate(g, month_end(BEGIN), submitted=store.next_time(), amrc="TERM", reason="EC"))
    f = store.flags("MNT-03")
    assert len(f) == 1 and "024" in f[0]["message"] and "EC" in f[0]["message"]


def test_mnt03_quiet_on_guide_combinations(store):
    g = store.group(roles=("child",))
    store.load(g)
    store.load(gen.effectuate(g, submitted=store.next_time()), sender="48213", receiver="CMSFFM")
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time()))
    store.load(gen.terminate(g, month_end(month_start(BEGIN, 2)), submitted=store.next_time(), amrc="TERM-OTH",
                             reason=""))
    assert store.flags("MNT-03") == []


def test_mnt04_duplicate_cancellation_is_information(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.cancel(g, submitted=store.next_time(), reference="11110001"))
    store.load(gen.cancel(g, submitted=store.next_time(), reference="11110002"))
    f = store.flags("MNT-04")
    assert len(f) == 1 and f[0]["severity"] == "info" and "Duplicate notice" in f[0]["message"]


def test_mnt04_later_end_without_reinstatement_is_an_error(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.terminate(g, month_end(BEGIN), submitted=store.next_time()))
    store.load(gen.terminate(g, month_end(month_start(BEGIN, 2)), submitted=store.next_time()))
    f = store.flags("MNT-04")
    assert len(f) == 1 and f[0]["severity"] == "error" and "later" in f[0]["message"]


def test_mnt04_later_end_after_reinstatement_is_quiet(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.terminate(g, month_end(BEGIN), submitted=store.next_time()))
    store.load(gen.reinstate(g, submitted=store.next_time()), sender="48213", receiver="CMSFFM")
    store.load(gen.terminate(g, month_end(month_start(BEGIN, 2)), submitted=store.next_time()))
    assert store.flags("MNT-04") == []


def test_mnt05_change_after_cancellation(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.cancel(g, submitted=store.next_time()))
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(), aptc=Decimal("0.00")))
    f = store.flags("MNT-05")
    assert len(f) == 1 and "cancelled" in f[0]["message"]


def test_mnt05_change_before_the_end_date_is_quiet(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.terminate(g, month_end(month_start(BEGIN, 3)), submitted=store.next_time()))
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(), aptc=Decimal("0.00")))
    assert store.flags("MNT-05") == []


def test_mnt07_dependant_left_active(store):
    g = store.group(roles=("spouse", "child"))
    store.load(g)
    t = gen.terminate(g, month_end(BEGIN), submitted=store.next_time())
    t.member_level, t.coverage_on_end = True, True
    kid = next(m for m in t.members if m.relationship != "01" and not m.subscriber)
    kid.maintenance, kid.amrc = "001", "NO CHANGE"
    store.load(t)
    f = store.flags("MNT-07")
    assert [x["member_id"] for x in f] == [kid.member_id]


def test_mnt07_quiet_when_everyone_ends(store):
    g = store.group(roles=("spouse",))
    store.load(g)
    t = gen.terminate(g, month_end(BEGIN), submitted=store.next_time())
    t.member_level, t.coverage_on_end = True, True
    store.load(t)
    assert store.flags("MNT-07") == []


def test_mnt10_older_transaction_arrives_later(store):
    g = store.group(roles=())
    store.load(g)
    newer = gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(), aptc=Decimal("0.00"))
    older = gen.change(g, effective=month_start(BEGIN, 1), submitted=newer.submitted - timedelta(hours=6),
                       aptc=Decimal("0.00"))
    store.load(newer)
    store.load(older)
    f = store.flags("MNT-10")
    assert len(f) == 1 and f[0]["severity"] == "warning" and "out of order" in f[0]["message"]


def test_mnt10_in_order_is_quiet(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(), aptc=Decimal("0.00")))
    assert store.flags("MNT-10") == []


def _cic(store: Store, g: gen.Group) -> tuple[gen.Group, gen.Group]:
    new_begin = month_start(BEGIN, 1)
    tc = gen.terminate(g, new_begin - timedelta(days=1), submitted=store.next_time(), amrc="TERMCIC")
    new = deepcopy(g)
    new.policy_id, new.amrc, new.submitted = store.f.policy_id(), "CIC", tc.submitted
    new.coverage = gen.Coverage(gen.plan_id(g.state, "gold"), new_begin, "HLT")
    new.metal = "gold"
    store.f.price(new)
    new.aptc = min(new.aptc, new.total_premium())
    return tc, new


def test_cic_pair_is_quiet(store):
    g = store.group(roles=("child",), metal="silver")
    store.load(g)
    tc, new = _cic(store, g)
    store.load([tc, new])
    assert store.serious() == [], summary(store.flags())


def test_mnt12_cic_half_missing_then_completed(store):
    g = store.group(roles=(), metal="silver")
    store.load(g)
    tc, new = _cic(store, g)
    store.load(new)
    f = store.flags("MNT-12")
    assert len(f) == 1 and "CIC" in f[0]["message"]
    assert {x["rule"] for x in store.flags(category="duplicate")} == {"DUP-04", "DUP-05"}  # covered twice meanwhile
    store.load(tc)
    assert store.flags("MNT-12") == []
    assert store.flags(category="duplicate") == []
    assert len(store.flags("MNT-12", include_resolved=True)) == 1


def test_mnt13_plan_changed_inside_a_policy(store):
    g = store.group(roles=(), metal="silver")
    store.load(g)
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(),
                          plan=gen.plan_id(g.state, "gold", "01")))
    f = store.flags("MNT-13")
    assert len(f) == 1 and f[0]["severity"] == "error"


def test_mnt13_variant_change_with_reason_is_quiet(store):
    g = store.group(roles=(), metal="silver")
    g.coverage.plan_id = g.coverage.plan_id[:14] + "01"
    store.load(g)
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(), amrc="CSR VARIANT CHANGE",
                          plan=g.coverage.plan_id[:14] + "04"))
    assert store.flags("MNT-13") == []


def test_mnt13_variant_change_without_reason_warns(store):
    g = store.group(roles=(), metal="silver")
    g.coverage.plan_id = g.coverage.plan_id[:14] + "01"
    store.load(g)
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time(),
                          plan=g.coverage.plan_id[:14] + "04"))
    f = store.flags("MNT-13")
    assert len(f) == 1 and f[0]["severity"] == "warning"
