"""Missing rules MISS-04 and MISS-06, including resolution by a later file."""

from __future__ import annotations

from enrollreview.x12 import generator as gen

from .helpers import BEGIN, month_end, month_start, sub


def test_miss04_termination_for_a_policy_never_enrolled(store):
    g = store.group(roles=("spouse",), begin=month_start(BEGIN, -2))
    store.load(gen.terminate(g, month_end(BEGIN), submitted=store.next_time()))
    f = store.flags("MISS-04")
    assert [x["member_id"] for x in f] == [sub(g).member_id]
    assert f[0]["severity"] == "warning" and g.policy_id in f[0]["message"]


def test_miss04_quiet_after_the_enrollment(store):
    g = store.group(roles=("spouse",))
    store.load(g)
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time()))
    store.load(gen.terminate(g, month_end(month_start(BEGIN, 2)), submitted=store.next_time()))
    assert store.flags("MISS-04") == []


def test_miss04_resolved_when_the_enrollment_arrives_late(store):
    g = store.group(roles=())
    first = store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time()))
    assert len(store.flags("MISS-04")) == 1
    late = store.load(g)
    assert store.flags("MISS-04") == []
    (flag,) = store.flags("MISS-04", include_resolved=True)
    assert flag["file"] == first.summary().split(":")[0]
    row = store.db.execute("SELECT resolved_at, resolved_by_file_id FROM flags WHERE rule = 'MISS-04'").fetchone()
    assert row[0] and row[1] == late.file_id


def test_miss06_gap_in_control_numbers_then_filled(store):
    store.load(store.group(roles=()), isa_control=301)
    store.load(store.group(roles=()), isa_control=302)
    after_gap = store.load(store.group(roles=()), isa_control=304)
    f = store.flags("MISS-06")
    assert len(f) == 1 and f[0]["file"] == after_gap.summary().split(":")[0] and "303" in f[0]["message"]
    filler = store.load(store.group(roles=()), isa_control=303)
    assert store.flags("MISS-06") == []
    row = store.db.execute("SELECT resolved_by_file_id FROM flags WHERE rule = 'MISS-06'").fetchone()
    assert row[0] == filler.file_id


def test_miss06_quiet_for_consecutive_numbers_and_other_senders(store):
    store.load(store.group(roles=()), isa_control=401)
    store.load(store.group(roles=()), isa_control=402)
    store.load(store.group(roles=(), reporting="none"), isa_control=409, employer_style=True, sender="ACMEHR")
    assert store.flags("MISS-06") == []


def test_miss06_quiet_for_senders_that_do_not_count_by_one(store):
    store.load(store.group(roles=()), isa_control=100)
    store.load(store.group(roles=()), isa_control=110)
    assert store.flags("MISS-06") == []
