"""A roster-only person (MISS-01: on the exchange roster, no 834 ever received) reaches the call-back list.

834 text from the project's generator goes through the real importer; the roster is written from the
same families plus one extra person, reconciled, and the call-back list is exported to CSV and read back.
"""

from __future__ import annotations

import csv
import io

from enrollreview.export import export
from enrollreview.export.lists import CALLBACK_COLUMNS, FOLLOWUP_COLUMNS
from enrollreview.reconcile.reconcile import reconcile
from enrollreview.reconcile.roster import import_roster
from enrollreview.review import statuses as st
from enrollreview.review import workflow as wf
from tests.test_reconcile_support import AS_OF, CMS_HEADER, factory, family, load, rows_for, write_roster


def read_csv(path, columns):
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    header = rows[0]
    assert header == [c.header for c in columns]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def _scene(db, tmp_path):
    """One family whose 834 arrived, and one person on the roster whose 834 never did (MISS-01)."""
    f = factory(41)
    known, lost = family(f, ["spouse"]), family(f)
    load(db, tmp_path, [known])
    rows = rows_for([known, lost])
    extra = next(r for r in rows if r["Exchange-Assigned-Member-ID"] == lost.members[0].member_id)
    extra["Telephone-Number"] = "312-555-0148"
    roster = write_roster(tmp_path, rows, header=[*CMS_HEADER, "Telephone-Number"])
    res = import_roster(db, roster)
    assert res.ok, res.summary()
    rec = reconcile(db, res.roster_id, as_of=AS_OF)
    assert rec.missing_from_834 == 1
    flag = db.execute("SELECT id, member_id, status, message FROM flags WHERE rule = 'MISS-01'").fetchone()
    assert flag[1] is None and flag[2] == st.NEEDS_CALL_BACK
    return known, lost, flag


def test_roster_only_person_is_on_the_call_back_list(db, tmp_path):
    known, lost, flag = _scene(db, tmp_path)
    out = tmp_path / "callbacks.csv"
    result = export(db, "callbacks", "csv", out)
    listed = read_csv(out, CALLBACK_COLUMNS)
    person = lost.members[0]
    mine = [r for r in listed if r["Member id"] == person.member_id]
    assert len(mine) == 1, listed
    row = mine[0]
    assert row["Name"] == f"{person.last}, {person.first}"
    assert row["Policy id"] == lost.policy_id
    assert row["Phone numbers"] == "(312) 555-0148"
    assert row["Status"] == "Needs call-back"
    assert row["Reasons"] == flag[3]
    assert row["Reasons"].startswith("Exchange says enrolled, we have no record")
    assert row["SSN"] in ("", f"***-**-{(person.ssn or '')[-4:]}")
    assert result.rows == len(listed)
    # nobody from the family whose 834 did arrive is on the list (no flag of theirs needs a call)
    assert not [r for r in listed if r["Member id"] in {m.member_id for m in known.members}]


def test_roster_only_person_waiting_on_the_exchange_is_named_on_the_follow_up_list(db, tmp_path):
    _known, lost, flag = _scene(db, tmp_path)
    wf.review(db, [flag[0]], status=st.WAITING_ON_EXCHANGE, user="clerk1")
    out = tmp_path / "followups.csv"
    export(db, "followups", "csv", out)
    listed = read_csv(out, FOLLOWUP_COLUMNS)
    mine = [r for r in listed if r["Flag id"] == str(flag[0])]
    assert len(mine) == 1, listed
    person = lost.members[0]
    assert (mine[0]["Last name"], mine[0]["First name"]) == (person.last, person.first)
    assert mine[0]["Member id"] == person.member_id and mine[0]["Exchange policy id"] == lost.policy_id
    assert mine[0]["Rule"] == "MISS-01" and mine[0]["Status"] == "Waiting on exchange"
