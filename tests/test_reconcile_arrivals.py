"""MISS-01 resolved by the import that brings the missing person's 834 (reconcile.arrivals): on each match
key, never on a near miss, never outside the import's transaction, and never reopened by the next
reconciliation."""

from __future__ import annotations

import dataclasses
import json

import pytest

from enrollreview.cli import main
from enrollreview.ingest import import_file
from enrollreview.reconcile import arrivals
from enrollreview.reconcile.arrivals import resolve_arrived
from enrollreview.reconcile.reconcile import reconcile
from enrollreview.reconcile.roster import import_roster
from enrollreview.review import statuses as st
from enrollreview.review import workflow as wf
from enrollreview.store import open_db

from .test_reconcile_support import AS_OF, factory, family, flags, load, rows_for, write_834, write_roster


@pytest.fixture(params=["from the subjects", "from the flags"])
def pairs_found(request, monkeypatch):
    """Both ways of finding the pairs: a small file probes the roster from its members; a large one (here:
    any file) compares the open flags' roster rows with its members."""
    if request.param == "from the flags":
        monkeypatch.setattr(arrivals, "_PROBE_SUBJECTS", 0)
    return request.param


def _roster(db, tmp_path, rows, name="roster.csv"):
    res = import_roster(db, write_roster(tmp_path, rows, name))
    assert res.ok, res.summary()
    return res.roster_id


def _missing(db, tmp_path, known, lost, *, rows=None):
    """A store holding `known`, a roster listing `known` and `lost`: MISS-01 for each member of `lost`."""
    load(db, tmp_path, known, "known.834")
    rid = _roster(db, tmp_path, rows if rows is not None else rows_for(known + lost))
    res = reconcile(db, rid, as_of=AS_OF)
    assert res.missing_from_834 == sum(len(g.members) for g in lost)
    return rid


def _arrive(db, tmp_path, groups, name="late.834", control=7, **kw):
    """Import through the real importer with the rules step, as the GUI and `enrollreview import` do."""
    return import_file(db, write_834(tmp_path, groups, name, isa_control=control), **kw)


def _flag(db, flag_id):
    cur = db.execute("SELECT * FROM flags WHERE id = ?", [flag_id])
    return dict(zip([c[0] for c in cur.description], cur.fetchone(), strict=True))


def _audit(db, flag_id):
    return [(a, json.loads(d)) for a, d in db.execute(
        "SELECT action, detail FROM audit WHERE flag_id = ? ORDER BY id", [flag_id]).fetchall()]


def test_resolved_when_the_persons_834_is_imported(db, tmp_path, pairs_found):
    f = factory(71)
    known, lost = family(f), family(f, ["child"])
    rid = _missing(db, tmp_path, [known], [lost])
    before = flags(db, "MISS-01")
    sub_flag = next(x for x in before if lost.members[0].member_id in x["message"])
    wf.review(db, [sub_flag["id"]], status=st.IN_REVIEW, note="called the exchange", assign="dana")

    res = _arrive(db, tmp_path, [lost])
    assert res.ok, res.summary()
    assert flags(db, "MISS-01") == []
    for x in before:
        after = _flag(db, x["id"])
        assert after["resolved_at"] is not None and after["resolved_by_file_id"] == res.file_id
        assert after["message"] == x["message"]  # resolved, never rewritten or deleted
    kept = _flag(db, sub_flag["id"])
    assert (kept["status"], kept["assigned_to"]) == (st.IN_REVIEW, "dana")  # the clerk's work is untouched
    assert db.execute("SELECT text FROM notes WHERE flag_id = ?", [sub_flag["id"]]).fetchall() == \
        [("called the exchange",)]
    (other,) = [x for x in before if x["id"] != sub_flag["id"]]
    assert _flag(db, other["id"])["status"] == st.NEEDS_CALL_BACK
    resolved = [d for a, d in _audit(db, sub_flag["id"]) if a == "resolved_by_file"]
    assert resolved == [{"file_id": res.file_id, "file": "late.834", "rule": "MISS-01"}]
    assert wf.sync_resolutions(db) == 0  # announced like the engine's own resolutions

    # the next reconciliation agrees: nothing reopened, the resolution (and its file) kept
    again = reconcile(db, rid, as_of=AS_OF)
    assert again.missing_from_834 == 0 and again.matched == 3
    for x in before:
        after = _flag(db, x["id"])
        assert after["resolved_by_file_id"] == res.file_id and after["resolved_at"] is not None
    assert [a for a, _ in _audit(db, sub_flag["id"])].count("resolved_by_file") == 1
    assert db.execute("SELECT COUNT(*) FROM flags WHERE rule = 'MISS-01'").fetchone()[0] == 2


def _changed(row, **cols):
    return {**row, **cols}


# The 834 and the roster disagree on the keys before `level`, so only that key can pair them.
LEVELS = {
    "subscriber+dob": {"Exchange-Assigned-Policy-ID": "RPOL0000001"},
    "ssn": {"Exchange-Assigned-Policy-ID": "RPOL0000001", "Exchange-Assigned-Subscriber-ID": "RSUB0000001",
            "Exchange-Assigned-Member-ID": "RMEM0000001"},
    "name+dob": {"Exchange-Assigned-Policy-ID": "RPOL0000001", "Exchange-Assigned-Subscriber-ID": "RSUB0000001",
                 "SSN": ""},
}


@pytest.mark.parametrize("level", list(LEVELS))
def test_resolved_on_each_fallback_key_and_reconcile_agrees(db, tmp_path, pairs_found, level):
    f = factory(72)
    known, lost = family(f), family(f)
    lost.members[0].ssn = "219876543"
    row = _changed(rows_for([lost])[0], **LEVELS[level])
    rid = _missing(db, tmp_path, [known], [lost], rows=rows_for([known]) + [row])
    (fl,) = flags(db, "MISS-01")

    res = _arrive(db, tmp_path, [lost])
    assert _flag(db, fl["id"])["resolved_by_file_id"] == res.file_id
    again = reconcile(db, rid, as_of=AS_OF)
    assert again.missing_from_834 == 0 and again.by_level[level] == 1
    assert _flag(db, fl["id"])["resolved_by_file_id"] == res.file_id


def test_same_name_other_birth_date_does_not_resolve(db, tmp_path, pairs_found):
    f = factory(73)
    known, lost, stranger = family(f), family(f), family(f)
    namesake = stranger.members[0]
    namesake.first, namesake.last = lost.members[0].first, lost.members[0].last
    namesake.dob = lost.members[0].dob.replace(year=lost.members[0].dob.year - 1)
    rid = _missing(db, tmp_path, [known], [lost])
    (fl,) = flags(db, "MISS-01")

    res = _arrive(db, tmp_path, [stranger])
    assert res.ok
    assert _flag(db, fl["id"])["resolved_at"] is None
    assert reconcile(db, rid, as_of=AS_OF).missing_from_834 == 1  # and reconcile agrees


def test_a_twin_does_not_stand_in_for_the_other(db, tmp_path, pairs_found):
    f = factory(74)
    known, fam = family(f), family(f, [], twins=True)
    one, two = fam.members[1], fam.members[2]
    assert one.dob == two.dob and one.last == two.last
    rid = _missing(db, tmp_path, [known], [fam])
    by_member = {m.member_id: x for x in flags(db, "MISS-01") for m in fam.members if m.member_id in x["message"]}
    assert len(by_member) == 3

    # the 834 brings the subscriber and one twin only
    arrived = dataclasses.replace(fam, members=[fam.members[0], one])
    res = _arrive(db, tmp_path, [arrived])
    assert _flag(db, by_member[fam.members[0].member_id]["id"])["resolved_by_file_id"] == res.file_id
    assert _flag(db, by_member[one.member_id]["id"])["resolved_by_file_id"] == res.file_id
    assert _flag(db, by_member[two.member_id]["id"])["resolved_at"] is None
    again = reconcile(db, rid, as_of=AS_OF)
    assert again.missing_from_834 == 1
    assert [x["id"] for x in flags(db, "MISS-01")] == [by_member[two.member_id]["id"]]


def test_an_ambiguous_key_leaves_the_flag_to_reconcile(db, tmp_path, pairs_found):
    """Two people in the 834 carry the roster person's SSN (and nothing else of theirs): reconcile pairs
    neither, so the import must not either."""
    f = factory(75)
    known, lost, a, b = family(f), family(f), family(f), family(f)
    lost.members[0].ssn = a.members[0].ssn = b.members[0].ssn = "219876543"
    rid = _missing(db, tmp_path, [known], [lost])
    (fl,) = flags(db, "MISS-01")

    _arrive(db, tmp_path, [a, b])
    assert _flag(db, fl["id"])["resolved_at"] is None
    assert reconcile(db, rid, as_of=AS_OF).missing_from_834 == 1


def test_a_subject_another_roster_person_shares_is_left_alone(db, tmp_path, pairs_found):
    """The 834 person matches two roster people on SSN: reconcile cannot say which one it is."""
    f = factory(76)
    known, lost, other = family(f), family(f), family(f)
    lost.members[0].ssn = other.members[0].ssn = "219876543"
    rid = _missing(db, tmp_path, [known], [lost, other])
    arrived = dataclasses.replace(lost, policy_id="RPOL0000003", subscriber_id="RSUB0000003",
                                  members=[dataclasses.replace(lost.members[0], member_id="RMEM0000003",
                                                               first="SOMEONE", last="ELSE")])
    _arrive(db, tmp_path, [arrived])
    assert len(flags(db, "MISS-01")) == 2
    assert reconcile(db, rid, as_of=AS_OF).missing_from_834 == 2


def test_a_rolled_back_import_leaves_the_flag_open(db, tmp_path):
    f = factory(77)
    known, lost = family(f), family(f)
    _missing(db, tmp_path, [known], [lost])
    (fl,) = flags(db, "MISS-01")
    audit_rows = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]

    cancelled = _arrive(db, tmp_path, [lost], name="cancelled.834", cancel=lambda: True)
    assert cancelled.status == "cancelled"
    p = write_834(tmp_path, [lost], "old-guide.834", isa_control=9)
    p.write_bytes(p.read_bytes().replace(b"005010X220A1", b"004010X095A1"))
    rejected = import_file(db, p)
    assert rejected.status == "rejected"
    assert _flag(db, fl["id"])["resolved_at"] is None

    # the step itself writes nothing of its own: a transaction that fails after it leaves no trace
    loaded = load(db, tmp_path, [lost], "no-rules.834", isa_control=10)
    with pytest.raises(RuntimeError), db.atomic():
        assert resolve_arrived(db, loaded.file_id) == [fl["id"]]
        assert _flag(db, fl["id"])["resolved_by_file_id"] == loaded.file_id
        raise RuntimeError("the rest of the import failed")
    assert _flag(db, fl["id"])["resolved_at"] is None
    assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == audit_rows
    assert db.execute("SELECT name FROM sqlite_temp_master WHERE name LIKE 'ar_%'").fetchall() == []


def test_only_open_miss01_flags_are_touched(db, tmp_path):
    f = factory(78)
    known, lost = family(f), family(f, ["spouse"])
    rows = rows_for([known, lost])
    rows[0]["Applied-APTC-Amount"] = "1.00"  # MISS-03 on the known subscriber (the roster disagrees)
    rid = _missing(db, tmp_path, [known], [lost], rows=rows)
    assert len(flags(db, "MISS-03")) == 1
    spouse = next(x for x in flags(db, "MISS-01") if lost.members[1].member_id in x["message"])
    db.execute("UPDATE flags SET resolved_at = '2026-01-02T00:00:00+00:00' WHERE id = ?", [spouse["id"]])
    db.conn.commit()

    res = _arrive(db, tmp_path, [lost, known])
    assert len(flags(db, "MISS-03")) == 1  # roster comparisons stay with reconcile
    assert _flag(db, spouse["id"])["resolved_at"] == "2026-01-02T00:00:00+00:00"  # already resolved: kept
    assert _flag(db, spouse["id"])["resolved_by_file_id"] is None
    assert [x["rule"] for x in flags(db)] == ["MISS-03"]
    assert [a for a, _ in _audit(db, spouse["id"])] == []
    assert res.ok and rid


def test_cli_flags_show_it_resolved(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    db = open_db(store)
    f = factory(79)
    known, lost = family(f), family(f)
    _missing(db, tmp_path, [known], [lost])
    db.close()
    late = write_834(tmp_path, [lost], "late.834", isa_control=7)
    capsys.readouterr()

    assert main(["flags", "--rule", "MISS-01", "--format", "json", "--db", str(store)]) == 0
    (before,) = json.loads(capsys.readouterr().out)
    assert before["resolved_at"] is None and before["status"] == st.NEEDS_CALL_BACK
    assert main(["import", str(late), "--db", str(store)]) == 0
    capsys.readouterr()
    assert main(["flags", "--rule", "MISS-01", "--format", "json", "--db", str(store)]) == 0
    assert json.loads(capsys.readouterr().out) == []  # no longer open
    assert main(["flags", "--rule", "MISS-01", "--include-resolved", "--format", "json", "--db", str(store)]) == 0
    (after,) = json.loads(capsys.readouterr().out)
    assert after["id"] == before["id"] and after["resolved_at"] and after["resolved_by_file"] == "late.834"
    assert after["status"] == st.NEEDS_CALL_BACK
    assert main(["audit", "list", "--flag", str(before["id"]), "--format", "json", "--db", str(store)]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["action"] == "resolved_by_file" and row["what"] == "resolved by file late.834"


def _without_member_id(g):
    return dataclasses.replace(g, members=[dataclasses.replace(g.members[0], member_id="")])


@pytest.mark.parametrize("through", ["memberless rows", "name index"])
@pytest.mark.parametrize("namesakes", [1, 2])
def test_name_and_birth_date_of_an_834_without_member_ids(db, tmp_path, pairs_found, monkeypatch, namesakes, through):
    """Rows without REF*17 pair on name + DOB: one resolves, two are ambiguous (found by reading the
    rows without a member id, or, when the store has many, through the name index)."""
    if through == "name index":
        monkeypatch.setattr(arrivals, "_MEMBERLESS_ROWS", 1)
    f = factory(80)
    known, lost, twin = family(f), family(f), family(f)
    twin.members[0].first, twin.members[0].last = lost.members[0].first, lost.members[0].last
    twin.members[0].dob = lost.members[0].dob
    row = _changed(rows_for([lost])[0], **LEVELS["name+dob"])
    rid = _missing(db, tmp_path, [known], [lost], rows=rows_for([known]) + [row])
    (fl,) = flags(db, "MISS-01")

    arrived = [_without_member_id(lost), _without_member_id(twin)][:namesakes]
    res = _arrive(db, tmp_path, arrived)
    assert res.ok
    assert db.execute("SELECT COUNT(*) FROM members WHERE file_id = ? AND COALESCE(member_id, '') = ''",
                      [res.file_id]).fetchone()[0] == namesakes
    resolved_by = _flag(db, fl["id"])["resolved_by_file_id"]
    assert resolved_by == (res.file_id if namesakes == 1 else None)
    again = reconcile(db, rid, as_of=AS_OF)  # and reconcile agrees
    assert again.missing_from_834 == namesakes - 1 and again.by_level["name+dob"] == 2 - namesakes
    assert _flag(db, fl["id"])["resolved_by_file_id"] == resolved_by
