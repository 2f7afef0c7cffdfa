"""Matching roster people to 834 members at every key level; twins and name variants never stand in
for each other. The store is always built by the real importer from generated 834 text."""

from __future__ import annotations

import re
from datetime import date

from enrollreview.ingest import import_file
from enrollreview.reconcile.reconcile import reconcile
from enrollreview.reconcile.roster import import_roster
from enrollreview.x12 import generator as gen

from .test_reconcile_support import AS_OF, factory, family, flags, load, member_row, rows_for, write_roster


def _levels(db, roster_id):
    return {r[0]: r[1] for r in db.execute(
        "SELECT r.member_id, mt.level FROM reconcile_matches mt JOIN roster_rows r ON r.id = mt.roster_row_id "
        "WHERE mt.roster_id = ?", [roster_id]).fetchall()}


def _rules(db):
    """Open MISS-01/02/03 flags (MISS-07 has its own tests)."""
    return [x["rule"] for x in flags(db) if x["rule"] != "MISS-07"]


def _run(db, tmp_path, rows, name="roster.csv"):
    res = import_roster(db, write_roster(tmp_path, rows, name))
    assert res.ok, res.summary()
    return res.roster_id, reconcile(db, res.roster_id, as_of=AS_OF)


def _load_text(db, tmp_path, groups, name, *, strip_member_ids=(), strip_ssn=()):
    """Import generated 834 text with some REF*17 (or SSNs) removed, as some exchanges send it."""
    text = gen.render_file(groups)
    for mid in strip_member_ids:
        text, n = re.subn(rf"REF\*17\*{mid}~\n", "", text)
        assert n
    for ssn in strip_ssn:
        text, n = re.subn(rf"\*34\*{ssn}~", "~", text)
        assert n
    p = tmp_path / name
    p.write_bytes(text.encode("latin-1"))
    res = import_file(db, p, run_rules=False)
    assert res.ok, res.summary()


def test_level1_policy_and_member_id(db, tmp_path):
    f = factory(1)
    gs = [family(f, ["spouse", "child"]), family(f)]
    load(db, tmp_path, gs)
    rid, res = _run(db, tmp_path, rows_for(gs))
    assert res.matched == res.roster_persons == 4
    assert set(_levels(db, rid).values()) == {"policy+member"}
    assert res.missing_from_834 == res.missing_from_roster == res.mismatched == 0
    assert _rules(db) == []


def test_level2_subscriber_and_dob_when_the_policy_id_changed(db, tmp_path):
    f = factory(2)
    g = family(f, ["spouse"])
    load(db, tmp_path, [g])
    rows = rows_for([g])
    for r in rows:
        r["Exchange-Assigned-Policy-ID"] = "999000111"  # the exchange re-issued the policy id
    rid, res = _run(db, tmp_path, rows)
    assert _levels(db, rid) == {m.member_id: "subscriber+dob" for m in g.members}
    assert res.missing_from_834 == 0
    (f3, f4) = flags(db, "MISS-03")
    assert "policy id 999000111 / " + g.policy_id in f3["message"]
    assert "(matched on subscriber+dob)" in f3["message"]
    assert f3["member_id"] is not None and f3["roster_row_id"] is not None and f4


def test_level3_ssn(db, tmp_path):
    f = factory(3)
    g = family(f)
    g.members[0].ssn = "212345678"
    load(db, tmp_path, [g])
    row = member_row(g, g.members[0])
    row.update({"Exchange-Assigned-Policy-ID": "555", "Exchange-Assigned-Member-ID": "M-NEW",
                "Exchange-Assigned-Subscriber-ID": "S-NEW", "Member-First-Name": "JOHNNY"})
    rid, res = _run(db, tmp_path, [row])
    assert _levels(db, rid) == {"M-NEW": "ssn"}
    assert res.missing_from_834 == 0 and res.missing_from_roster == 0
    msg = flags(db, "MISS-03")[0]["message"]
    assert "member id M-NEW / " in msg and "name " in msg


def test_dummy_ssn_does_not_match(db, tmp_path):
    f = factory(4)
    g = family(f)
    g.members[0].ssn = "111111111"
    load(db, tmp_path, [g])
    row = member_row(g, g.members[0])
    row.update({"Exchange-Assigned-Policy-ID": "555", "Exchange-Assigned-Member-ID": "M-NEW",
                "Exchange-Assigned-Subscriber-ID": "S-NEW", "Member-First-Name": "JOHNNY"})
    _, res = _run(db, tmp_path, [row])
    assert res.matched == 0 and res.missing_from_834 == 1 and res.missing_from_roster == 1


def test_level4_name_and_dob_when_the_834_has_no_member_id(db, tmp_path):
    f = factory(5)
    g = family(f)
    sub = g.members[0]
    sub.last, sub.first = "O'BRIEN", "MARY-ANN"
    _load_text(db, tmp_path, [g], "noref17.834", strip_member_ids=[sub.member_id],
               strip_ssn=[sub.ssn] if sub.ssn else [])
    row = member_row(g, sub)
    row.update({"Exchange-Assigned-Policy-ID": "777", "Exchange-Assigned-Subscriber-ID": "S-OTHER",
                "Member-Last-Name": "OBrien", "Member-First-Name": "Mary Ann", "SSN": ""})
    rid, res = _run(db, tmp_path, [row])
    assert _levels(db, rid) == {sub.member_id: "name+dob"}
    assert res.missing_from_834 == 0
    # punctuation and case are not differences; the policy id is
    msg = flags(db, "MISS-03")[0]["message"]
    assert "policy id 777" in msg and "name " not in msg


def test_name_variants_do_not_match(db, tmp_path):
    f = factory(6)
    g = family(f)
    sub = g.members[0]
    sub.first = "JOHN"
    _load_text(db, tmp_path, [g], "noref17.834", strip_member_ids=[sub.member_id],
               strip_ssn=[sub.ssn] if sub.ssn else [])
    row = member_row(g, sub)
    row.update({"Exchange-Assigned-Policy-ID": "777", "Exchange-Assigned-Subscriber-ID": "S-OTHER",
                "Member-First-Name": "JON", "SSN": ""})
    _, res = _run(db, tmp_path, [row])
    assert res.matched == 0
    assert _rules(db) == ["MISS-01", "MISS-02"]


def test_same_name_and_dob_twice_in_the_store_is_ambiguous(db, tmp_path):
    f = factory(7)
    g1, g2 = family(f), family(f)
    for g in (g1, g2):
        g.members[0].last, g.members[0].first, g.members[0].dob = "LEE", "KIM", date(1980, 5, 5)
    _load_text(db, tmp_path, [g1, g2], "two.834",
               strip_member_ids=[g1.members[0].member_id, g2.members[0].member_id],
               strip_ssn=[m.ssn for m in (g1.members[0], g2.members[0]) if m.ssn])
    row = member_row(g1, g1.members[0])
    row.update({"Exchange-Assigned-Policy-ID": "777", "Exchange-Assigned-Subscriber-ID": "S-OTHER", "SSN": ""})
    _, res = _run(db, tmp_path, [row])
    assert res.matched == 0 and res.missing_from_834 == 1


def _twins(seed):
    f = factory(seed)
    g = f.group(begin=date(2026, 1, 1), submitted=gen.datetime(2025, 12, 1), roles=[], twins=True, broker=False)
    a, b = (m for m in g.members if m.birth_sequence)
    assert a.dob == b.dob and a.last == b.last and a.first != b.first
    return g, a, b


def test_twin_missing_from_the_834_is_flagged_not_matched_to_the_other_twin(db, tmp_path):
    g, a, b = _twins(8)
    g.members.remove(b)  # B's 834 never arrived
    load(db, tmp_path, [g])
    g.members.append(b)
    rid, res = _run(db, tmp_path, rows_for([g]))
    assert _levels(db, rid)[a.member_id] == "policy+member"
    assert b.member_id not in _levels(db, rid)
    (miss,) = flags(db, "MISS-01")
    assert b.member_id in miss["message"] and miss["member_id"] is None


def test_one_twin_on_the_roster_the_other_in_the_store(db, tmp_path):
    g, a, b = _twins(9)
    g.members.remove(b)
    load(db, tmp_path, [g])
    rows = [member_row(g, m) for m in g.members if m is not a] + [member_row(g, b)]
    _, res = _run(db, tmp_path, rows)
    assert _rules(db) == ["MISS-01", "MISS-02"]
    assert b.member_id in flags(db, "MISS-01")[0]["message"]
    assert a.member_id in flags(db, "MISS-02")[0]["message"]


def test_one_twin_on_the_roster_the_other_in_an_834_without_member_ids(db, tmp_path):
    g, a, b = _twins(10)
    g.members.remove(b)
    _load_text(db, tmp_path, [g], "noref.834", strip_member_ids=[m.member_id for m in g.members],
               strip_ssn=[m.ssn for m in g.members if m.ssn])
    rows = [member_row(g, m) for m in g.members if m is not a] + [member_row(g, b)]
    for r in rows:
        r["SSN"] = ""
    _, res = _run(db, tmp_path, rows)
    assert _rules(db) == ["MISS-01", "MISS-02"]


def test_both_twins_without_member_ids_match_by_name(db, tmp_path):
    g, a, b = _twins(11)
    _load_text(db, tmp_path, [g], "noref.834", strip_member_ids=[a.member_id, b.member_id],
               strip_ssn=[m.ssn for m in (a, b) if m.ssn])
    rows = rows_for([g])
    for r in rows:
        if r["Exchange-Assigned-Member-ID"] in (a.member_id, b.member_id):
            r["SSN"] = ""
    rid, res = _run(db, tmp_path, rows)
    lv = _levels(db, rid)
    # twins share subscriber id and DOB; without member ids the first name decides, never the order
    assert lv[a.member_id] == lv[b.member_id] == "subscriber+dob"
    pairs = dict(db.execute("SELECT r.member_id, m.first_name FROM reconcile_matches mt JOIN roster_rows r "
                            "ON r.id = mt.roster_row_id JOIN members m ON m.id = mt.member_row_id").fetchall())
    assert pairs[a.member_id] == a.first and pairs[b.member_id] == b.first
    assert res.missing_from_834 == 0 and res.missing_from_roster == 0
    assert flags(db, "MISS-03") == []


def test_a_later_roster_row_for_a_new_policy_is_missing_even_if_the_person_is_known(db, tmp_path):
    f = factory(12)
    g = family(f)
    load(db, tmp_path, [g])
    old = member_row(g, g.members[0])
    new = dict(old, **{"Exchange-Assigned-Policy-ID": "888888888"})
    _, res = _run(db, tmp_path, [old, new])
    assert res.matched == 1 and res.missing_from_834 == 1
    assert "888888888" in flags(db, "MISS-01")[0]["message"]
