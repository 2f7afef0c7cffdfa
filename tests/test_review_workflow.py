"""Clerk workflow: statuses and transitions, roll-up, audit in the same transaction, bulk + undo,
notes, corrections kept across re-import, resolved-by-file."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from enrollreview.review import statuses as st
from enrollreview.review import workflow as wf
from enrollreview.review.audit import list_rows, os_user, verify
from enrollreview.review.history import member_history, member_rows, member_status, rollup_sql
from tests.test_review_support import (
    ALICE,
    BOB,
    CARA,
    import_text,
    make_834,
    member_row,
    raise_flag,
    resolve_flag,
    standard_store,
)


@pytest.fixture
def store(db, tmp_path):
    return standard_store(db, tmp_path)


def _flag(db, fid):
    cur = db.execute("SELECT * FROM flags WHERE id = ?", [fid])
    return dict(zip([c[0] for c in cur.description], cur.fetchone(), strict=True))


# ------------------------------------------------------------------------------------- statuses


def test_status_spellings_and_labels():
    assert st.normalize("needs-call-back") == st.NEEDS_CALL_BACK
    assert st.normalize("needs_call_back") == st.NEEDS_CALL_BACK
    assert st.normalize("Needs call-back") == st.NEEDS_CALL_BACK
    assert st.normalize("Closed (false positive)") == st.CLOSED_FALSE_POSITIVE
    assert st.normalize("closed-no-action") == st.CLOSED_NO_ACTION
    assert st.normalize("IN REVIEW") == st.IN_REVIEW
    assert st.label("waiting-on-exchange") == "Waiting on exchange"
    assert st.label("closed-no-action") == "Closed (no action needed)"
    with pytest.raises(st.StatusError, match="unknown status"):
        st.normalize("done")
    assert len(st.STATUSES) == 7 and set(st.STATUSES) == set(st.LABELS)


@pytest.mark.parametrize(("old", "new", "ok"), [
    ("new", "in-review", True), ("new", "needs-call-back", True), ("new", "closed-false-positive", True),
    ("in-review", "new", False), ("needs-call-back", "new", False),
    ("needs-call-back", "waiting-on-exchange", True), ("waiting-on-exchange", "corrected", True),
    ("corrected", "closed-no-action", True), ("corrected", "needs-call-back", False),
    ("closed-no-action", "in-review", True), ("closed-no-action", "corrected", False),
    ("closed-false-positive", "closed-no-action", True), ("closed-false-positive", "needs-call-back", False),
    ("corrected", "corrected", True),
])
def test_transitions(old, new, ok):
    assert st.can_transition(old, new) is ok
    if not ok:
        with pytest.raises(st.StatusError, match=f"cannot become {new}"):
            st.check_transition(old, new)


def test_every_status_can_be_reached_and_nothing_returns_to_new():
    reachable = {st.NEW}
    frontier = [st.NEW]
    while frontier:
        s = frontier.pop()
        for t in st.TRANSITIONS[s]:
            if t not in reachable:
                reachable.add(t)
                frontier.append(t)
    assert reachable == set(st.STATUSES)
    assert all(st.NEW not in targets for targets in st.TRANSITIONS.values())


def test_rollup_order():
    assert st.rollup([]) is None
    assert st.rollup(["new", "needs-call-back", "corrected"]) == "needs-call-back"
    assert st.rollup(["corrected", "in-review"]) == "in-review"
    assert st.rollup(["corrected", "closed-no-action"]) == "corrected"
    assert st.rollup(["closed-false-positive", "closed-no-action"]) == "closed-no-action"
    assert st.rollup([None]) == "new"


def test_rollup_sql_matches_python(db, store):
    fa, fb, _ = store["flags"]
    a, b, _ = store["members"]
    wf.review(db, [fa], status="corrected")
    wf.review(db, [fb], status="waiting-on-exchange")
    # make Bob's flag belong to Alice's member row too, to roll up two flags of one member
    raise_flag(db, a, "FAM-01", category="family", message="second flag on Alice")
    got = db.execute(f"SELECT f.member_id, {rollup_sql('f')} FROM flags f GROUP BY f.member_id").fetchall()
    by_member = dict(got)
    assert by_member[a] == st.rollup(["corrected", "new"]) == "new"
    assert by_member[b] == "waiting-on-exchange"


def test_member_status_rolls_up_from_its_open_flags(db, store):
    fa, _, _ = store["flags"]
    a = store["members"][0]
    second = raise_flag(db, a, "DQ-06", message="Phone number has 9 digits")
    assert member_status(db, a) == "new"
    wf.review(db, [fa], status="needs-call-back")
    assert member_status(db, a) == "needs-call-back"
    wf.review(db, [fa], status="corrected")
    assert member_status(db, a) == "new"  # DQ-06 is still untouched
    wf.review(db, [second], status="closed-false-positive")
    assert member_status(db, a) == "corrected"
    # a flag a later file resolved no longer counts
    resolve_flag(db, fa, store["files"][1])
    assert member_status(db, a) == "closed-false-positive"


# ------------------------------------------------------------------------------------ review()


def test_review_applies_everything_and_audits_each_change(db, store):
    fa, fb, _ = store["flags"]
    res = wf.review(db, [fa, fb], status="needs-call-back", assign="maria", due="2025-03-01",
                    reason="exchange-data-error", note="Left a voicemail", user="clerk1")
    assert (res.flags, res.changed, res.notes) == (2, 2, 2)
    for fid in (fa, fb):
        f = _flag(db, fid)
        assert (f["status"], f["assigned_to"], f["due_date"], f["reason_code"]) == \
            ("needs-call-back", "maria", "2025-03-01", "exchange-data-error")
        assert f["status_changed_at"]
        rows = list_rows(db, flag_id=fid, newest_first=False)
        assert [r["action"] for r in rows] == ["status", "assign", "due_date", "reason_code", "note"]
        assert all(r["os_user"] == "clerk1" for r in rows)
        assert rows[0]["detail"] == {"from": "new", "to": "needs-call-back", "batch": res.batch_id}
        assert rows[4]["detail"]["text"] == "Left a voicemail"
        assert rows[0]["member_id"] == f["member_id"]
    notes = db.execute("SELECT flag_id, author, text, member_key FROM notes ORDER BY id").fetchall()
    assert notes == [(fa, "clerk1", "Left a voicemail", "17:M0001"), (fb, "clerk1", "Left a voicemail", "17:M0002")]
    assert verify(db) is None


def test_review_same_value_is_not_a_change(db, store):
    fa = store["flags"][0]
    wf.review(db, [fa], status="in-review", user="u")
    n = len(list_rows(db))
    res = wf.review(db, [fa], status="in-review", user="u")
    assert res.changed == 0 and res.batch_id is None
    assert len(list_rows(db)) == n


def test_review_is_all_or_nothing(db, store):
    fa, fb, fc = store["flags"]
    wf.review(db, [fb], status="corrected")
    before = [_flag(db, f) for f in (fa, fb, fc)]
    audit_before = len(list_rows(db, limit=None))
    with pytest.raises(wf.ReviewError, match=rf"flag {fb}: a flag that is corrected cannot become needs-call-back"):
        wf.review(db, [fa, fb, fc], status="needs-call-back", note="should not be kept")
    assert [_flag(db, f) for f in (fa, fb, fc)] == before
    assert len(list_rows(db, limit=None)) == audit_before
    assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    with pytest.raises(wf.ReviewError, match="no flag with id 999"):
        wf.review(db, [fa, 999], status="in-review")
    with pytest.raises(wf.ReviewError, match="unknown reason code"):
        wf.review(db, [fa], reason="because")
    with pytest.raises(wf.ReviewError, match="cannot read the due date"):
        wf.review(db, [fa], due="next week")
    with pytest.raises(wf.ReviewError, match="nothing to do"):
        wf.review(db, [fa])
    assert _flag(db, fa) == before[0]


def test_audit_row_rolls_back_with_a_failed_caller_transaction(db, store):
    fa = store["flags"][0]
    with pytest.raises(RuntimeError), db.atomic():
        wf.review(db, [fa], status="in-review")
        raise RuntimeError("caller fails after the change")
    assert _flag(db, fa)["status"] == "new"
    assert list_rows(db) == []


def test_assign_defaults_to_the_os_account_from_the_uid(db, store, monkeypatch):
    monkeypatch.setenv("USER", "not-me")
    monkeypatch.setenv("USERNAME", "not-me")
    monkeypatch.setenv("LOGNAME", "not-me")
    expected = pwd.getpwuid(os.getuid()).pw_name
    assert os_user() == expected
    fa = store["flags"][0]
    wf.assign(db, [fa])
    assert _flag(db, fa)["assigned_to"] == expected
    assert list_rows(db)[0]["os_user"] == expected
    wf.assign(db, [fa], None)
    assert _flag(db, fa)["assigned_to"] is None


def test_due_date_forms():
    import datetime as dt

    today = dt.date(2025, 1, 30)
    assert wf.parse_due("2025-03-01", today) == "2025-03-01"
    assert wf.parse_due("03/01/2025", today) == "2025-03-01"
    assert wf.parse_due("+3", today) == "2025-02-02"
    assert wf.parse_due("tomorrow", today) == "2025-01-31"
    assert wf.parse_due("none", today) is None


# -------------------------------------------------------------------------------- bulk and undo


def test_bulk_action_with_one_undo(db, store):
    fa, fb, fc = store["flags"]
    wf.review(db, [fc], assign="bob", user="clerk1")
    res = wf.bulk(db, [fa, fb, fc], status="in-review", assign="maria", user="clerk1")
    assert res.changed == 3
    assert [(_flag(db, f)["status"], _flag(db, f)["assigned_to"]) for f in (fa, fb, fc)] == \
        [("in-review", "maria")] * 3
    assert wf.last_batch(db, "clerk1")["count"] == 3
    u = wf.undo(db, user="clerk1")
    assert (u.batch_id, u.restored, u.skipped) == (res.batch_id, 3, [])
    assert [(_flag(db, f)["status"], _flag(db, f)["assigned_to"]) for f in (fa, fb, fc)] == \
        [("new", None), ("new", None), ("new", "bob")]
    undo_rows = list_rows(db, action="undo", newest_first=False)
    assert [r["flag_id"] for r in undo_rows] == [fa, fb, fc]
    assert undo_rows[2]["detail"]["restored"] == {"status": {"from": "in-review", "to": "new"},
                                                 "assigned_to": {"from": "maria", "to": "bob"}}
    # the next undo takes the batch before (the assignment to bob); then nothing is left
    assert wf.undo(db, user="clerk1").restored == 1
    assert _flag(db, fc)["assigned_to"] is None
    with pytest.raises(wf.ReviewError, match="nothing to undo"):
        wf.undo(db, user="clerk1")
    with pytest.raises(wf.ReviewError, match="already undone"):
        wf.undo(db, res.batch_id, user="clerk1")
    assert verify(db) is None


def test_undo_leaves_flags_changed_since_alone(db, store):
    fa, fb, _ = store["flags"]
    res = wf.bulk(db, [fa, fb], status="needs-call-back", user="clerk1")
    wf.review(db, [fb], status="corrected", user="clerk2")
    u = wf.undo(db, res.batch_id, user="clerk1")
    assert (u.restored, u.skipped) == (1, [fb])
    assert _flag(db, fa)["status"] == "new"
    assert _flag(db, fb)["status"] == "corrected"


def test_undo_is_per_user(db, store):
    fa = store["flags"][0]
    wf.bulk(db, [fa], status="in-review", user="clerk1")
    with pytest.raises(wf.ReviewError, match="nothing to undo"):
        wf.undo(db, user="clerk2")


# --------------------------------------------------------------------------- notes, corrections


def test_note_on_a_member_without_a_flag(db, store):
    a = store["members"][0]
    nid = wf.add_note(db, "Member called about her card", member_id=a, user="u")
    h = member_history(db, a)
    assert [n["id"] for n in h["notes"]] == [nid]
    assert list_rows(db)[0]["action"] == "note" and list_rows(db)[0]["member_id"] == a
    with pytest.raises(wf.ReviewError, match="empty"):
        wf.add_note(db, "   ", member_id=a)


def test_record_correction_takes_the_834_value_from_the_store(db, store):
    fa = store["flags"][0]
    cid = wf.record_correction(db, flag_id=fa, field="dob", corrected_value="1980-02-15",
                               source="confirmed by phone with the member", mark_corrected=True, user="u")
    row = db.execute("SELECT field, value_834, corrected_value, source, author, policy_id, member_key "
                     "FROM corrections WHERE id = ?", [cid]).fetchone()
    assert row == ("dob", "1980-02-14", "1980-02-15", "confirmed by phone with the member", "u", "POL1001",
                   "17:M0001")
    assert _flag(db, fa)["status"] == "corrected"
    actions = [(r["action"], r["detail"].get("field")) for r in list_rows(db, newest_first=False)]
    assert actions == [("correction", "dob"), ("status", None)]
    # plan id comes from the coverage, SSN corrections are masked in the audit detail
    assert wf.value_in_834(db, store["members"][0], "plan_id") == "12345VA001000101"
    wf.record_correction(db, flag_id=fa, field="ssn", corrected_value="123456780", source="card copy")
    det = list_rows(db, action="correction")[0]["detail"]
    assert (det["value_834"], det["corrected_value"]) == ("***-**-6789", "***-**-6780")
    with pytest.raises(wf.ReviewError, match="where the corrected value comes from"):
        wf.record_correction(db, flag_id=fa, field="dob", corrected_value="x", source=" ")


def test_corrections_and_statuses_survive_reimport_and_newer_files(db, store, tmp_path):
    fa = store["flags"][0]
    wf.review(db, [fa], status="waiting-on-exchange", assign="maria", due="2025-04-01", note="ticket opened")
    wf.record_correction(db, flag_id=fa, field="dob", corrected_value="1980-02-15", source="exchange ticket 1234")
    # the same file again is refused as a duplicate and changes nothing
    from enrollreview.ingest import import_file

    again = import_file(db, tmp_path / "quintero.834")
    assert again.status == "duplicate"
    # a newer file for the same family: a new member row; the engine re-raises the same fingerprint
    f3 = import_text(db, tmp_path, make_834([ALICE, BOB], control=21, bgn_ref="NEWER"), "quintero-2.834")
    new_row = member_row(db, "M0001", f3)
    assert new_row != store["members"][0]
    assert raise_flag(db, new_row, "DQ-05", message="Date of birth 2080-02-14 is in the future") == fa
    f = _flag(db, fa)
    assert (f["status"], f["assigned_to"], f["due_date"], f["member_id"], f["file_id"]) == \
        ("waiting-on-exchange", "maria", "2025-04-01", new_row, f3)
    h = member_history(db, new_row)
    assert h["rows"] == [store["members"][0], new_row]
    assert [c["corrected_value"] for c in h["corrections"]] == ["1980-02-15"]
    assert [n["text"] for n in h["notes"]] == ["ticket opened"]
    assert h["status"] == "waiting-on-exchange"
    assert member_rows(db, store["members"][0]) == [store["members"][0], new_row]


def test_resolved_by_file_is_audited_once(db, store, tmp_path):
    fa, fb, _ = store["flags"]
    wf.review(db, [fa], status="needs-call-back")
    f3 = import_text(db, tmp_path, make_834([ALICE], control=31, bgn_ref="FIX"), "fixed.834")
    resolve_flag(db, fa, f3)
    rows = list_rows(db, action="resolved_by_file")
    assert len(rows) == 1
    assert rows[0]["flag_id"] == fa and rows[0]["detail"] == {"file": "fixed.834", "file_id": f3, "rule": "DQ-05"}
    assert wf.on_flags_resolved(db, [fa], f3) == 0  # idempotent
    assert _flag(db, fa)["status"] == "needs-call-back"  # the clerk's status is kept
    h = member_history(db, store["members"][0])
    assert h["flags"][-1]["resolved_by_file"] == "fixed.834"
    # a resolution the engine did not announce is caught up by sync_resolutions
    db.execute("UPDATE flags SET resolved_at = '2025-01-01T00:00:00+00:00', resolved_by_file_id = ? WHERE id = ?",
               [f3, fb])
    db.conn.commit()
    assert wf.sync_resolutions(db) == 1
    assert wf.sync_resolutions(db) == 0
    assert {r["flag_id"] for r in list_rows(db, action="resolved_by_file")} == {fa, fb}
    assert wf.on_flags_reopened(db, [fb], f3) == 1
    assert verify(db) is None


def test_history_across_files_without_member_id(db, tmp_path):
    dep = BOB.__class__(**{**BOB.__dict__, "member_id": ""})
    dep_text = make_834([ALICE, dep], control=41).replace("REF*17*~\n", "")
    f1 = import_text(db, tmp_path, dep_text, "a.834")
    f2 = import_text(db, tmp_path, make_834([ALICE, dep], control=42, bgn_ref="B").replace("REF*17*~\n", ""), "b.834")
    rows = [r[0] for r in db.execute("SELECT id FROM members WHERE first_name = 'ROBERTO' ORDER BY id")]
    assert len(rows) == 2
    assert member_rows(db, rows[1]) == rows
    assert f1 != f2


def test_history_json_has_no_ssn_unless_asked(db, store):
    fa = store["flags"][0]
    wf.record_correction(db, flag_id=fa, field="ssn", corrected_value="123456780", source="card")
    h = member_history(db, store["members"][0])
    assert (h["corrections"][0]["value_834"], h["corrections"][0]["corrected_value"]) == ("***-**-6789",
                                                                                         "***-**-6780")
    h = member_history(db, store["members"][0], show_ssn=True)
    assert h["corrections"][0]["corrected_value"] == "123456780"
    assert "123456789" not in json.dumps(list_rows(db))


def test_cara_is_independent(db, store):
    assert member_rows(db, store["members"][2]) == [store["members"][2]]
    assert CARA.member_id == "M0003"
