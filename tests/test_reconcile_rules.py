"""Each MISS rule both ways (it flags, and it stays quiet), flags as ordinary flags, re-runs and
resolution, the summary, the discrepancy file and the roster-only member view."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime

import pytest

from enrollreview import segpos
from enrollreview.reconcile import views
from enrollreview.reconcile.reconcile import reconcile
from enrollreview.reconcile.roster import import_roster
from enrollreview.review import statuses as st
from enrollreview.x12 import generator as gen

from .test_reconcile_support import (
    AS_OF,
    factory,
    family,
    flags,
    load,
    member_row,
    rows_for,
    write_roster,
)

LATER = datetime(2026, 1, 20, 9, 0)


def _import(db, tmp_path, rows, name="roster.csv", **kw):
    res = import_roster(db, write_roster(tmp_path, rows, name), **kw)
    assert res.ok, res.summary()
    return res.roster_id


def _rec(db, tmp_path, rows, name="roster.csv", as_of=AS_OF, **kw):
    rid = _import(db, tmp_path, rows, name)
    return rid, reconcile(db, rid, as_of=as_of, **kw)


def _effectuated(db, tmp_path, groups, name="in.834"):
    """Initial enrollments plus the issuer's effectuation 834 (so MISS-07 stays out of the way)."""
    load(db, tmp_path, groups, name)
    load(db, tmp_path, [gen.effectuate(g, submitted=LATER) for g in groups], "eff-" + name, isa_control=2)


# -- MISS-01 -------------------------------------------------------------------------------------

def test_miss01_roster_person_with_no_834(db, tmp_path):
    f = factory(21)
    known, lost = family(f), family(f, ["child"])
    _effectuated(db, tmp_path, [known])
    rid, res = _rec(db, tmp_path, rows_for([known, lost]))
    assert res.missing_from_834 == 2 and res.matched == 1
    fl = flags(db, "MISS-01")
    assert [x["severity"] for x in fl] == ["error", "error"]
    assert all(x["member_id"] is None and x["category"] == "missing" for x in fl)
    assert all(x["status"] == st.NEEDS_CALL_BACK for x in fl)  # straight to the call-back list
    assert fl[0]["policy_id"] == lost.policy_id
    assert "Exchange says enrolled, we have no record" in fl[0]["message"]
    assert "no 834 for this person was ever received" in fl[0]["message"]
    row = db.execute("SELECT member_id, roster_id FROM roster_rows WHERE id = ?", [fl[0]["roster_row_id"]]).fetchone()
    assert row == (lost.members[0].member_id, rid)


def test_miss01_quiet_for_known_people_and_for_cancelled_roster_rows(db, tmp_path):
    f = factory(22)
    known, gone = family(f), family(f)
    _effectuated(db, tmp_path, [known])
    rows = rows_for([known]) + rows_for([gone], status="Cancelled", end="2026-01-01")
    _, res = _rec(db, tmp_path, rows)
    assert res.missing_from_834 == 0
    assert flags(db) == []


def test_miss01_resolved_when_the_834_arrives_and_never_duplicated(db, tmp_path):
    f = factory(23)
    known, lost = family(f), family(f)
    _effectuated(db, tmp_path, [known])
    rows = rows_for([known, lost])
    rid, _ = _rec(db, tmp_path, rows)
    (fl,) = flags(db, "MISS-01")
    db.execute("UPDATE flags SET status = ? WHERE id = ?", [st.IN_REVIEW, fl["id"]])
    reconcile(db, rid, as_of=AS_OF)
    assert db.execute("SELECT COUNT(*) FROM flags").fetchone()[0] == 1  # a re-run updates, never adds
    _effectuated(db, tmp_path, [lost], name="late.834")
    # next month's roster (same people, a new file) reconciles against the late 834
    rows = [dict(r, **{"Paid-Through-Date": "2026-02-28"}) for r in rows]
    rid2, res = _rec(db, tmp_path, rows, name="roster-next.csv")
    assert res.missing_from_834 == 0
    after = db.execute("SELECT status, resolved_at FROM flags WHERE id = ?", [fl["id"]]).fetchone()
    assert after[0] == st.IN_REVIEW and after[1] is not None  # resolved; the clerk's status is kept
    assert flags(db) == []


# -- MISS-02 -------------------------------------------------------------------------------------

def test_miss02_active_member_absent_from_the_roster(db, tmp_path):
    f = factory(24)
    a, b = family(f, ["spouse"]), family(f)
    _effectuated(db, tmp_path, [a, b])
    rows = [r for r in rows_for([a, b]) if r["Exchange-Assigned-Member-ID"] != a.members[1].member_id]
    _, res = _rec(db, tmp_path, rows)
    assert res.missing_from_roster == 1
    (fl,) = flags(db, "MISS-02")
    assert fl["severity"] == "warning" and fl["member_id"] is not None
    m = db.execute("SELECT member_id FROM members WHERE id = ?", [fl["member_id"]]).fetchone()[0]
    assert m == a.members[1].member_id
    assert json.loads(fl["segments"])[0]["ordinal"] > 0
    assert "Not on the exchange roster for 2026" in fl["message"]


def test_miss02_quiet_for_cancelled_policies_and_other_years(db, tmp_path):
    f = factory(25)
    keep, cancelled = family(f), family(f, ["child"])
    last_year = family(f, begin=date(2025, 1, 1))
    load(db, tmp_path, [keep, cancelled, last_year])
    load(db, tmp_path, [gen.cancel(cancelled, submitted=LATER),
                        gen.terminate(last_year, date(2025, 12, 31), submitted=LATER)], "ends.834", isa_control=3)
    _, res = _rec(db, tmp_path, rows_for([keep], status="Initial"), as_of=date(2026, 1, 10))
    assert res.missing_from_roster == 0
    assert flags(db) == []


def test_miss02_not_raised_when_the_persons_roster_row_was_unreadable(db, tmp_path):
    f = factory(26)
    a, b = family(f), family(f)
    _effectuated(db, tmp_path, [a, b])
    rows = rows_for([a, b])
    rows[1]["DOB"] = "31/31/1990"
    _, res = _rec(db, tmp_path, rows)
    assert res.missing_from_roster == 0 and res.not_checked == 1
    assert flags(db, "MISS-02") == []


def test_miss02_only_for_the_rosters_sender(db, tmp_path):
    f = factory(27)
    ffe, state = family(f), family(f)
    _effectuated(db, tmp_path, [ffe])
    load(db, tmp_path, [state], "state.834", isa_control=5, sender="STATEHIX")
    rid = _import(db, tmp_path, [member_row(ffe, ffe.members[0])], sender="CMSFFM")
    res = reconcile(db, rid, as_of=AS_OF)
    assert res.store_scope == "the 834 files from CMSFFM"
    assert res.missing_from_roster == 0  # the state exchange's member is not the FFE roster's business
    other = dict(member_row(ffe, ffe.members[0]), **{"Paid-Through-Date": "2026-01-31"})
    rid2 = _import(db, tmp_path, [other], name="any.csv")
    assert reconcile(db, rid2, as_of=AS_OF).missing_from_roster == 1  # no sender: every file counts


# -- MISS-03 -------------------------------------------------------------------------------------

def _sub_row(g):
    return member_row(g, g.members[0])


CHANGES = [
    ("benefit_start", {"Benefit-Start-Date": "2026-02-01"}, "error"),
    ("benefit_end", {"Benefit-End-Date": "2026-06-30", "Policy-Status": "Terminated"}, "error"),
    ("status", {"Policy-Status": "Cancelled", "Benefit-End-Date": "2026-01-01"}, "error"),
    ("plan_id", {"QHPID-Identifier": "99999VA9999999"}, "error"),
    ("aptc", {"Applied-APTC-Amount": "+0.01"}, "error"),
    ("total_premium", {"Total-Premium-Amount": "+0.01"}, "error"),
    ("member_premium", {"Member-Premium-Amount": "-0.01"}, "error"),
    ("dob", {"DOB": "01/02/1950"}, "warning"),
    ("gender", {"Gender": "U"}, "warning"),
    ("name", {"Member-First-Name": "ZEBEDEE"}, "warning"),
    ("relationship", {"Relationship-to-Subscriber-Indicator": "01", "Subscriber-Indicator": ""}, "warning"),
    ("ssn", {"SSN": "219876543"}, "warning"),
    ("rating_area", {"Rating-Area": "R-VA011"}, "warning"),
]


def _shift(value: str, delta: str) -> str:
    return f"{float(value) + float(delta):.2f}"


@pytest.mark.parametrize(("field", "change", "severity"), CHANGES, ids=[c[0] for c in CHANGES])
def test_miss03_each_field_differs(db, tmp_path, field, change, severity):
    f = factory(30)
    g = family(f)
    g.members[0].ssn = "212121212"
    g.rating_area = "R-VA009"
    _effectuated(db, tmp_path, [g])
    row = _sub_row(g)
    for k, v in change.items():
        row[k] = _shift(row[k], v) if v[:1] in "+-" and k.endswith("Amount") else v
    rid, res = _rec(db, tmp_path, [row])
    assert res.mismatched == 1
    assert field in res.by_field
    (fl,) = flags(db, "MISS-03")
    assert fl["severity"] == severity
    assert fl["member_id"] is not None and fl["roster_row_id"] is not None
    assert "(exchange value / our value" in fl["message"]
    d = db.execute("SELECT exchange_value, issuer_value FROM reconcile_discrepancies WHERE roster_id = ? "
                   "AND field = ?", [rid, field]).fetchone()
    assert d is not None and d[0] != d[1]
    # the flag points at the segment holding our value
    segs = json.loads(fl["segments"])
    assert segs, fl["message"]
    raw, seglist = db.execute("SELECT raw, segs FROM members WHERE id = ?", [fl["member_id"]]).fetchone()
    lines = raw.split("\n")
    ordinals = [s[0] for s in segpos.decode(seglist, lines)]
    line = lines[ordinals.index(segs[0]["ordinal"])]
    assert line.startswith(segs[0]["element"][:-2])


def test_miss03_money_is_compared_to_the_cent(db, tmp_path):
    f = factory(31)
    g = family(f)
    _effectuated(db, tmp_path, [g])
    row = _sub_row(g)
    row["Member-Premium-Amount"] = "$" + row["Member-Premium-Amount"] + "4"   # 387.074 rounds to 387.07
    row["Total-Premium-Amount"] = f"{float(row['Total-Premium-Amount']):,.3f}"
    _, res = _rec(db, tmp_path, [row])
    assert res.mismatched == 0
    row["Member-Premium-Amount"] = _shift(_sub_row(g)["Member-Premium-Amount"], "0.01")
    _, res = _rec(db, tmp_path, [row], name="r2.csv")
    assert res.by_field == {"member_premium": 1}
    msg = flags(db, "MISS-03")[0]["message"]
    ours = _sub_row(g)["Member-Premium-Amount"]
    assert f"member premium {row['Member-Premium-Amount']} / {ours}" in msg


def test_miss03_quiet_for_equal_values_written_differently(db, tmp_path):
    f = factory(32)
    g = family(f, ["child"])
    g.rating_area = "R-VA009"
    _effectuated(db, tmp_path, [g])
    rows = rows_for([g])
    sub, child = rows
    sub.update({"Member-Last-Name": sub["Member-Last-Name"].lower() + " jr.", "Gender": "Male" if
                sub["Gender"] == "M" else "Female", "Rating-Area": "9", "QHPID-Identifier":
                sub["QHPID-Identifier"][:14], "Benefit-Start-Date": "01/01/2026", "Benefit-End-Date": "12/31/2026",
                "Relationship-to-Subscriber-Indicator": "Self", "DOB": sub["DOB"]})
    child.update({"Relationship-to-Subscriber-Indicator": "Child" if child[
        "Relationship-to-Subscriber-Indicator"] == "19" else child["Relationship-to-Subscriber-Indicator"],
        "Subscriber-Indicator": "No"})
    _, res = _rec(db, tmp_path, rows)
    assert res.mismatched == 0, flags(db, "MISS-03")


def test_miss03_status_effectuated_at_the_exchange_is_not_a_difference_without_our_effectuation(db, tmp_path):
    f = factory(33)
    g = family(f)
    load(db, tmp_path, [g])  # initial only: we hold no effectuation 834
    _, res = _rec(db, tmp_path, rows_for([g], status="Effectuated"))
    assert res.mismatched == 0 and res.not_effectuated == 0


def test_miss03_we_effectuated_but_the_exchange_did_not(db, tmp_path):
    f = factory(34)
    g = family(f)
    _effectuated(db, tmp_path, [g])
    _, res = _rec(db, tmp_path, rows_for([g], status="Initial"))
    assert res.by_field == {"status": 1}
    assert "status enrolled, not effectuated / effectuated" in flags(db, "MISS-03")[0]["message"]


def test_miss03_terminated_with_us_but_active_at_the_exchange(db, tmp_path):
    f = factory(35)
    g = family(f, ["spouse"])
    _effectuated(db, tmp_path, [g])
    load(db, tmp_path, [gen.terminate(g, date(2026, 3, 31), submitted=LATER)], "term.834", isa_control=4)
    _, res = _rec(db, tmp_path, rows_for([g]))
    assert res.by_field == {"benefit_end": 2, "status": 2}  # the dependant ends with the subscriber
    msg = flags(db, "MISS-03")[0]["message"]
    assert "status effectuated / terminated" in msg and "benefit end (open) 2026-12-31 / 2026-03-31" in msg


def test_miss03_resolved_when_next_roster_agrees(db, tmp_path):
    f = factory(36)
    g = family(f)
    _effectuated(db, tmp_path, [g])
    row = _sub_row(g)
    bad = dict(row, **{"Applied-APTC-Amount": "1.00"})
    _rec(db, tmp_path, [bad])
    assert len(flags(db, "MISS-03")) == 1
    _rec(db, tmp_path, [row], name="fixed.csv")
    assert flags(db, "MISS-03") == []
    assert len(flags(db, "MISS-03", open_only=False)) == 1


# -- MISS-07 -------------------------------------------------------------------------------------

def test_miss07_not_effectuated_past_the_grace_period(db, tmp_path):
    f = factory(40)
    g = family(f, ["spouse"])
    load(db, tmp_path, [g])
    _, res = _rec(db, tmp_path, rows_for([g], status="Initial"), as_of=date(2026, 2, 15), grace_days=30)
    assert res.not_effectuated == 1
    (fl,) = flags(db, "MISS-07")
    assert fl["severity"] == "info" and fl["policy_id"] == g.policy_id
    assert "45 days before 2026-02-15, past the 30-day grace period" in fl["message"]
    assert "roster also shows it as not effectuated" in fl["message"]


@pytest.mark.parametrize("case", ["within grace", "effectuated with us", "effectuated at the exchange",
                                  "cancelled"])
def test_miss07_quiet(db, tmp_path, case):
    f = factory(41)
    g = family(f)
    status, as_of = "Initial", date(2026, 3, 15)
    if case == "within grace":
        as_of = date(2026, 1, 25)
        load(db, tmp_path, [g])
    elif case == "effectuated with us":
        _effectuated(db, tmp_path, [g])
    elif case == "effectuated at the exchange":
        load(db, tmp_path, [g])
        status = "Effectuated"
    else:
        load(db, tmp_path, [g])
        load(db, tmp_path, [gen.cancel(g, submitted=LATER)], "c.834", isa_control=3)
        status = "Cancelled"
    _, res = _rec(db, tmp_path, rows_for([g], status=status, end="2026-01-01" if case == "cancelled" else ""),
                  as_of=as_of)
    assert res.not_effectuated == 0
    assert flags(db, "MISS-07") == []


def test_miss07_grace_days_are_configurable(db, tmp_path):
    f = factory(42)
    g = family(f)
    load(db, tmp_path, [g])
    rid = _import(db, tmp_path, rows_for([g], status="Initial"))
    assert reconcile(db, rid, as_of=date(2026, 2, 15), grace_days=60).not_effectuated == 0
    assert reconcile(db, rid, as_of=date(2026, 2, 15), grace_days=10).not_effectuated == 1


# -- summary, discrepancy file, member view ------------------------------------------------------------

def _mixed(db, tmp_path):
    f = factory(50)
    ok, lost, extra, diff = family(f), family(f), family(f), family(f, ["child"])
    diff.members[0].ssn = "223344556"
    _effectuated(db, tmp_path, [ok, extra, diff])
    rows = rows_for([ok, lost, diff])
    for r in rows:
        if r["Exchange-Assigned-Member-ID"] == diff.members[0].member_id:
            r["SSN"] = "223344557"
            r["Applied-APTC-Amount"] = "12.34"
    rid, res = _rec(db, tmp_path, rows)
    return rid, res, (ok, lost, extra, diff)


def test_summary_counts_and_stored_reconciliation(db, tmp_path):
    rid, res, _ = _mixed(db, tmp_path)
    assert (res.roster_persons, res.matched, res.missing_from_834, res.missing_from_roster, res.mismatched) == \
        (4, 3, 1, 1, 1)
    assert res.by_field == {"aptc": 1, "ssn": 1}
    assert res.by_level["policy+member"] == 3
    s = views.reconciliation_summary(db, rid)
    assert s["missing_from_834"] == 1 and s["by_field"] == {"aptc": 1, "ssn": 1}
    text = "\n".join(res.lines())
    assert "missing from 834" in text and "APTC" in text
    assert views.summaries(db)[0]["mismatched_by_field"] in ("APTC 1; SSN 1", "SSN 1; APTC 1")


def test_discrepancy_file_in_the_exchanges_terms(db, tmp_path):
    rid, _, (ok, lost, extra, diff) = _mixed(db, tmp_path)
    path, n = views.write_discrepancies(db, rid, tmp_path / "disc.csv")
    assert n == 4
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"Exchange Value", "Issuer Value", "Discrepancy Reason Code"} <= set(rows[0])
    by = {(r["Rule"], r["Field"]): r for r in rows}
    aptc = by[("MISS-03", "APTC")]
    assert aptc["Exchange Value"] == "12.34" and aptc["Roster Column"] == "Applied-APTC-Amount"
    assert aptc["Exchange Assigned Policy ID"] == diff.policy_id
    ssn = by[("MISS-03", "SSN")]
    assert ssn["Exchange Value"] == "***-**-4557" and ssn["Issuer Value"] == "***-**-4556"
    assert by[("MISS-01", "")]["Exchange Assigned Member ID"] == lost.members[0].member_id
    assert by[("MISS-02", "")]["Exchange Assigned Member ID"] == extra.members[0].member_id
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path2, _ = views.write_discrepancies(db, rid, tmp_path / "disc.xlsx", show_ssn=True)
    import openpyxl

    ws = openpyxl.load_workbook(path2, read_only=True).worksheets[0]
    got = [list(r) for r in ws.iter_rows(values_only=True)]
    assert got[0][14:16] == ["Exchange Value", "Issuer Value"]
    assert any(r[15] == "223-34-4556" for r in got[1:])
    assert db.execute("SELECT COUNT(*) FROM audit WHERE action = 'reveal_ssn'").fetchone()[0] == 1


def test_roster_only_person_view(db, tmp_path):
    _, _, (_, lost, _, _) = _mixed(db, tmp_path)
    (fl,) = flags(db, "MISS-01")
    d = views.flag_roster_row(db, fl["id"])
    assert d["note"].startswith("No 834 was received")
    fields = dict(d["fields"])
    assert fields["Exchange member id"] == lost.members[0].member_id
    assert fields["Status (exchange)"] == "effectuated"
    original = dict(d["original"])
    assert original["Exchange-Assigned-Policy-ID"] == lost.policy_id
    if lost.members[0].ssn:
        assert original["SSN"].startswith("***-**-")
        assert fields["SSN"].startswith("***-**-")
    assert views.flag_roster_row(db, flags(db, "MISS-02")[0]["id"]) is None


def test_miss07_grace_days_default_to_the_senders_setting(db, tmp_path):
    from enrollreview import settings

    f = factory(43)
    g = family(f)
    load(db, tmp_path, [g])
    rid = _import(db, tmp_path, rows_for([g], status="Initial"), sender="CMSFFM")
    settings.set_value(db, "miss07_grace_days", 60, sender="CMSFFM")
    assert reconcile(db, rid, as_of=date(2026, 2, 15)).not_effectuated == 0
    settings.set_value(db, "miss07_grace_days", 10, sender="CMSFFM")
    assert reconcile(db, rid, as_of=date(2026, 2, 15)).not_effectuated == 1
