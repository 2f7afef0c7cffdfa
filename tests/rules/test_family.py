"""Family rules FAM-01 .. FAM-10, FAM-12: each must flag its problem and stay quiet on the legitimate case."""

from __future__ import annotations

from datetime import timedelta

from enrollreview.x12 import generator as gen

from .helpers import BEGIN, EMPLOYER_TEXT, child, deepcopy, month_start, spouse, sub, summary


def test_clean_family_is_quiet(store):
    store.load(store.group(roles=("spouse", "child", "child")))
    assert store.serious() == []


def test_twins_are_quiet(store):
    g = store.group(roles=("spouse",), twins=True)
    store.load(g)
    assert store.serious() == [], summary(store.flags())
    twins = [m for m in g.members if m.birth_sequence]
    persons = {store.db.execute("SELECT person_id FROM members WHERE member_id = ?", [t.member_id]).fetchone()[0]
               for t in twins}
    assert len(persons) == 2  # same last name and birth date, different first names: two people


def test_employer_style_several_subscribers_is_quiet(store):
    store.load_text(EMPLOYER_TEXT)
    assert store.flags(category="family") == []
    assert store.db.execute("SELECT count(*) FROM findings").fetchone()[0] == 0


def test_fam01_two_subscribers_in_one_group(store):
    g = store.group(roles=("spouse",))
    sp = spouse(g)
    sp.ins01, sp.relationship = "Y", "18"
    store.load(g)
    f = store.flags("FAM-01")
    assert [x["member_id"] for x in f] == [sp.member_id]
    assert f[0]["severity"] == "error"


def test_fam02_subscriber_coded_as_child(store):
    g = store.group(roles=())
    sub(g).relationship = "19"
    store.load(g)
    f = store.flags("FAM-02")
    assert len(f) == 1 and "child (19)" in f[0]["message"]
    assert any(x["element"] == "INS02" for x in f[0]["segments"])


def test_fam02_quiet_on_proper_codes(store):
    store.load(store.group(roles=("child",)))
    assert store.flags("FAM-02") == []


def test_fam03_dependant_with_own_subscriber_id(store):
    g = store.group(roles=("child",))
    c = child(g)
    c.subscriber_id = c.member_id
    store.load(g)
    f = store.flags("FAM-03")
    assert [x["member_id"] for x in f] == [c.member_id]
    assert "its own member id" in f[0]["message"]


def test_fam04_dependant_with_other_plan(store):
    g = store.group(roles=("child",), metal="silver")
    c = child(g)
    c.plan_id = gen.plan_id(g.state, "gold", g.coverage.plan_id[-2:])
    store.load(g)
    f = store.flags("FAM-04")
    assert [x["member_id"] for x in f] == [c.member_id]
    assert c.plan_id in f[0]["message"]


def test_fam05_orphan_dependant_warns(store):
    g = store.group(roles=("child",))
    c = child(g)
    g.members = [c]
    g.subscriber_id = "9999999999"
    store.load(g)
    f = store.flags("FAM-05")
    assert [x["member_id"] for x in f] == [c.member_id]
    assert f[0]["severity"] == "warning"


def test_fam05_dependant_only_add_with_subscriber_on_record_is_quiet(store):
    g = store.group(roles=("spouse",))
    store.load(g)
    kid = store.f.person(on=BEGIN, age=(3, 8), last=sub(g).last, relationship="19", ssn_rate=0.0)
    store.f.price_member(g, kid)
    add = gen.add_dependant(g, kid, effective=month_start(BEGIN, 1), submitted=store.next_time(), alone=True)
    store.load(add)
    assert store.serious() == [], summary(store.flags())


def test_fam05_resolved_when_the_subscriber_arrives(store):
    g = store.group(roles=("child",))
    dep_only = deepcopy(g)
    dep_only.members = [deepcopy(child(g))]
    store.load(dep_only)
    assert len(store.flags("FAM-05")) == 1
    res = store.load(g)
    assert store.flags("FAM-05") == []
    gone = store.flags("FAM-05", include_resolved=True)
    assert len(gone) == 1 and gone[0]["resolved_at"] and gone[0]["resolved_by_file"]
    assert store.db.execute("SELECT resolved_by_file_id FROM flags WHERE rule = 'FAM-05'").fetchone()[0] == res.file_id


def test_fam06_two_spouses(store):
    g = store.group(roles=("spouse",), sub_age=(35, 45))
    sp2 = store.f.person(on=BEGIN, age=(30, 45), last=sub(g).last, relationship="01", gender="F")
    store.f.price_member(g, sp2)
    g.members.append(sp2)
    store.load(g)
    assert [x["member_id"] for x in store.flags("FAM-06")] == [sp2.member_id]


def test_fam07_daughter_listed_as_wife(store):
    g = store.group(roles=(), sub_age=(40, 50))
    d = store.f.person(on=BEGIN, age=(12, 13), last=sub(g).last, relationship="01", gender="F", ssn_rate=0.0)
    store.f.price_member(g, d)
    g.members.append(d)
    store.load(g)
    f = store.flags("FAM-07")
    assert [x["member_id"] for x in f] == [d.member_id]
    assert "years old" in f[0]["message"]


def test_fam07_child_older_than_subscriber(store):
    g = store.group(roles=(), sub_age=(21, 23))
    c = store.f.person(on=BEGIN, age=(0, 0), last=sub(g).last, relationship="19", dob=sub(g).dob - timedelta(days=800))
    store.f.price_member(g, c)
    g.members.append(c)
    store.load(g)
    assert [x["member_id"] for x in store.flags("FAM-07")] == [c.member_id]


def test_fam07_quiet_on_normal_ages(store):
    store.load(store.group(roles=("spouse", "child")))
    assert store.flags("FAM-07") == []


def test_fam08_child_over_age(store):
    g = store.group(roles=(), sub_age=(50, 60))
    c = store.f.person(on=BEGIN, age=(27, 27), last=sub(g).last, relationship="19")
    store.f.price_member(g, c)
    g.members.append(c)
    store.load(g)
    f = store.flags("FAM-08")
    assert [x["member_id"] for x in f] == [c.member_id] and f[0]["severity"] == "warning"
    assert "27 years old" in f[0]["message"]


def test_fam08_limit_is_a_setting_per_sender(store):
    from enrollreview import settings

    settings.set_value(store.db, "dependant_age_limit", 30, sender="CMSFFM")
    g = store.group(roles=(), sub_age=(50, 60))
    c = store.f.person(on=BEGIN, age=(27, 27), last=sub(g).last, relationship="19")
    g.members.append(c)
    store.load(g)
    assert store.flags("FAM-08") == []


def test_fam08_quiet_for_ward_and_for_removal(store):
    g = store.group(roles=(), sub_age=(50, 60))
    c = store.f.person(on=BEGIN, age=(30, 30), last=sub(g).last, relationship="15")
    g.members.append(c)
    store.load(g)
    assert store.flags("FAM-08") == []


def test_fam09_dependant_begins_before_subscriber(store):
    g = store.group(roles=("child",))
    c = child(g)
    c.begin = month_start(BEGIN, -1)
    store.load(g)
    f = store.flags("FAM-09")
    assert [x["member_id"] for x in f] == [c.member_id]
    assert "before the subscriber" in f[0]["message"]


def test_fam10_missing_demographics(store):
    g = store.group(roles=("child", "child"))
    a, b = [m for m in g.members if not m.subscriber]
    a.demographics = False
    b.gender = "U"
    store.load(g)
    f = {x["member_id"]: x for x in store.flags("FAM-10")}
    assert f[a.member_id]["severity"] == "error" and "DMG" in f[a.member_id]["message"]
    assert f[b.member_id]["severity"] == "warning"


def test_fam12_residence_in_another_state(store):
    g = store.group(roles=())
    g.address, _ = store.f.address("NC")
    store.load(g)
    f = store.flags("FAM-12")
    assert [x["member_id"] for x in f] == [sub(g).member_id]
    assert "NC" in f[0]["message"] and "VA" in f[0]["message"] and f[0]["severity"] == "error"


def test_fam12_quiet_for_same_state(store):
    store.load(store.group(roles=("spouse",)))
    assert store.flags("FAM-12") == []
