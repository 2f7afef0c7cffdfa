"""Duplicate rules DUP-01 .. DUP-05, DUP-07."""

from __future__ import annotations

from enrollreview.x12 import generator as gen

from .helpers import BEGIN, child, deepcopy, month_end, month_start, sub, summary


def test_dup01_same_transaction_in_a_later_file(store):
    g = store.group(roles=("child",))
    store.load(g)
    res = store.load(deepcopy(g))
    f = store.flags("DUP-01")
    assert len(f) == 1 and f[0]["severity"] == "info" and f[0]["file"] == f"file{2:03d}.834"
    assert "file001.834" in f[0]["message"]
    assert f[0]["segments"] and all(s["ordinal"] for s in f[0]["segments"])
    assert res.ok


def test_dup01_repeated_sets_in_one_file(store):
    g = store.group(roles=())
    store.load([g, deepcopy(g), deepcopy(g)])
    assert len(store.flags("DUP-01")) == 2


def test_dup01_quiet_for_different_transactions(store):
    g = store.group(roles=())
    store.load(g)
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time()))
    assert store.flags("DUP-01") == []


def test_dup02_interchange_number_reused(store):
    store.load(store.group(roles=()), isa_control=777)
    store.load(store.group(roles=()), isa_control=777)
    f = store.flags("DUP-02")
    assert len(f) == 1 and "000000777" in f[0]["message"] and f[0]["member_row"] is None
    assert f[0]["segments"] == [{"ordinal": 1, "element": "ISA13"}]


def test_dup02_transaction_number_repeated_in_a_group(store):
    def same_st02(text: str) -> str:
        return text.replace("ST*834*0002*", "ST*834*0001*").replace("*0002~", "*0001~")

    store.load([store.group(roles=()), store.group(roles=())], st_start=1, edit=same_st02)
    f = store.flags("DUP-02")
    assert len(f) == 1 and "ST02" in f[0]["message"]


def test_dup02_quiet_for_new_numbers(store):
    store.load(store.group(roles=()))
    store.load(store.group(roles=()))
    assert store.flags("DUP-02") == []


def test_dup03_same_child_twice(store):
    g = store.group(roles=("child",))
    c = child(g)
    twin = deepcopy(c)
    twin.member_id = store.f.member_id()
    g.members.append(twin)
    store.load(g)
    f = store.flags("DUP-03")
    assert [x["member_id"] for x in f] == [twin.member_id]
    assert f[0]["related"] == [store.row(c.member_id)]
    assert store.flags("DUP-07") == []   # the same transaction: DUP-03 says it


def test_dup03_quiet_for_twins(store):
    store.load(store.group(roles=(), twins=True))
    assert store.flags(category="duplicate") == []


def test_dup04_child_in_two_overlapping_policies(store):
    a = store.group(roles=("child",), sub_age=(32, 50))
    store.load(a)
    other = store.group(roles=(), sub_age=(32, 50))
    shared = deepcopy(child(a))
    other.members.append(shared)
    store.f.price(other)
    store.load(other)
    f = store.flags("DUP-04")
    assert [x["member_id"] for x in f] == [shared.member_id]
    assert a.policy_id in f[0]["message"] and other.policy_id in f[0]["message"]


def test_dup04_quiet_after_termination(store):
    a = store.group(roles=("child",), sub_age=(32, 50))
    store.load(a)
    store.load(gen.terminate(a, month_end(BEGIN), submitted=store.next_time()))
    other = store.group(roles=(), sub_age=(32, 50), begin=month_start(BEGIN, 1))
    other.members.append(deepcopy(child(a)))
    store.f.price(other)
    store.load(other)
    assert store.flags("DUP-04") == [], summary(store.flags())


def test_dup05_subscriber_with_two_active_groups(store):
    a = store.group(roles=(), metal="silver")
    store.load(a)
    second = store.group(roles=(), metal="bronze")
    second.members = [deepcopy(sub(a))]
    second.subscriber_id = a.subscriber_id
    store.f.price(second)
    store.load(second)
    f = store.flags("DUP-05")
    assert len(f) == 1 and f[0]["severity"] == "warning" and a.subscriber_id in f[0]["message"]


def test_dup05_quiet_for_health_and_dental(store):
    a = store.group(roles=())
    store.load(a)
    den = store.f.dental(begin=BEGIN, submitted=store.next_time(), roles=())
    den.members = [deepcopy(sub(a))]
    den.subscriber_id = a.subscriber_id
    store.f.price(den)
    store.load(den)
    assert store.flags(category="duplicate") == [], summary(store.flags())


def test_dup07_same_person_under_a_new_member_id(store):
    a = store.group(roles=())
    store.load(a)
    p = sub(a)
    den = store.f.dental(begin=BEGIN, submitted=store.next_time(), roles=())
    again = deepcopy(p)
    again.member_id = store.f.member_id()
    den.members = [again]
    den.subscriber_id = again.member_id
    store.f.price(den)
    store.load(den)
    f = store.flags("DUP-07")
    assert [x["member_id"] for x in f] == [again.member_id]
    assert p.member_id in f[0]["message"]


def test_dup07_quiet_for_different_people(store):
    store.load(store.group(roles=("spouse",)))
    store.load(store.group(roles=("spouse",)))
    assert store.flags("DUP-07") == []


def test_dup06_plan_of_another_issuer_when_our_ids_are_set(store):
    from enrollreview import settings

    g = store.group(roles=())
    store.load(g)
    assert store.flags("DUP-06") == []          # not configured: not checked
    settings.set_value(store.db, "our_issuer_ids", ["99999"])
    g2 = store.group(roles=())
    store.load(g2)
    f = store.flags("DUP-06")
    assert [x["member_id"] for x in f] == [sub(g2).member_id] and "48213" in f[0]["message"]


def test_dup06_quiet_for_our_issuer(store):
    from enrollreview import settings

    settings.set_value(store.db, "our_issuer_ids", [gen.HIOS_ISSUER])
    settings.set_value(store.db, "our_states", ["VA", "NC"])
    store.load(store.group(roles=()))
    assert store.flags("DUP-06") == []
