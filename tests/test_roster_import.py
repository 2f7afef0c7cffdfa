"""Roster import: formats, the guessed and saved column mapping, bad rows, all-or-nothing, repeats."""

from __future__ import annotations

import json

import pytest

from enrollreview.reconcile import mapping as mp
from enrollreview.reconcile.roster import import_roster, inspect_roster, list_rosters, row_errors

from .test_reconcile_support import CMS_HEADER, factory, family, rows_for, write_roster

PLAIN = {  # the same columns as a state exchange might spell them
    "Coverage-Year": "coverage_year", "Exchange-Assigned-Policy-ID": "Policy ID",
    "Exchange-Assigned-Subscriber-ID": "SUBSCRIBER_ID", "Exchange-Assigned-Member-ID": "member id",
    "QHPID-Identifier": "QHP ID", "Subscriber-Indicator": "Subscriber Flag",
    "Relationship-to-Subscriber-Indicator": "Relationship", "Member-Last-Name": "LAST NAME",
    "Member-First-Name": "first_name", "DOB": "Date of Birth", "Gender": "SEX", "SSN": "Social Security Number",
    "Benefit-Start-Date": "Coverage Start Date", "Benefit-End-Date": "coverage_end_date",
    "Policy-Status": "Enrollment Status", "Applied-APTC-Amount": "APTC Amount",
    "Total-Premium-Amount": "Total Premium", "Member-Premium-Amount": "Member Premium",
    "Rating-Area": "rating area", "Paid-Through-Date": "Paid Through Date",
}


def _table(n=2, seed=1):
    f = factory(seed)
    return rows_for([family(f, ["spouse"]) for _ in range(n)])


def _count(db, table):
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_guess_cms_pre_audit_names():
    m = mp.guess_mapping(CMS_HEADER)
    assert m["policy_id"] == "Exchange-Assigned-Policy-ID"
    assert m["member_id"] == "Exchange-Assigned-Member-ID"
    assert m["subscriber_id"] == "Exchange-Assigned-Subscriber-ID"
    assert m["plan_id"] == "QHPID-Identifier" and m["aptc"] == "Applied-APTC-Amount"
    assert m["status"] == "Policy-Status"
    assert mp.missing_required(m) == []


def test_guess_plain_variants_and_issuer_ids_are_not_exchange_ids():
    headers = list(PLAIN.values()) + ["Issuer-Assigned-Policy-ID", "Issuer Assigned Member ID"]
    m = mp.guess_mapping(headers)
    assert mp.missing_required(m) == []
    assert m["policy_id"] == "Policy ID" and m["member_id"] == "member id" and m["last_name"] == "LAST NAME"
    assert m["issuer_policy_id"] == "Issuer-Assigned-Policy-ID"
    assert m["issuer_member_id"] == "Issuer Assigned Member ID"


def test_missing_required_names_the_fields():
    m = mp.guess_mapping(["Exchange-Assigned-Policy-ID", "Member-Last-Name"])
    missing = mp.missing_required(m)
    assert "exchange member id" in missing and "subscriber indicator or relationship to subscriber" in missing
    assert "exchange policy id" not in missing


@pytest.mark.parametrize(("delimiter", "fmt"), [(",", "csv"), ("|", "pipe"), ("\t", "tab")])
def test_import_text_formats(db, tmp_path, delimiter, fmt):
    rows = _table()
    res = import_roster(db, write_roster(tmp_path, rows, delimiter=delimiter))
    assert res.ok, res.summary()
    assert res.format == fmt and res.rows_loaded == len(rows) == 4 and res.rows_rejected == 0
    assert res.coverage_years == [2026]
    r = db.execute("SELECT policy_id, member_id, dob, benefit_start, status, aptc_cents, raw FROM roster_rows "
                   "ORDER BY id LIMIT 1").fetchone()
    assert r[0] == rows[0]["Exchange-Assigned-Policy-ID"] and r[2] == r[2][:10] and r[3] == "2026-01-01"
    assert r[4] == "effectuated"
    assert r[5] == round(float(rows[0]["Applied-APTC-Amount"]) * 100)
    assert json.loads(r[6])[CMS_HEADER.index("Member-Last-Name")] == rows[0]["Member-Last-Name"]


def test_import_excel(db, tmp_path):
    import datetime as dt

    import openpyxl

    rows = _table()
    rows[0]["SSN"] = "012345678"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Monthly pre-audit file"])  # a title line above the header
    ws.append(CMS_HEADER)
    for r in rows:
        vals = []
        for h in CMS_HEADER:
            v = r[h]
            if h == "DOB":
                v = dt.datetime.strptime(v, "%m/%d/%Y")
            elif h in ("Coverage-Year",):
                v = int(v)
            elif h.endswith("Amount") and v:
                v = float(v)
            elif h == "SSN" and v:
                v = int(v)  # a number in Excel: 012345678 becomes 12345678
            vals.append(v)
        ws.append(vals)
    p = tmp_path / "roster.xlsx"
    wb.save(p)
    prev = inspect_roster(p)
    assert prev.format == "xlsx" and prev.header_row == 2 and prev.headers == CMS_HEADER
    assert mp.missing_required(prev.guessed) == []
    res = import_roster(db, p)
    assert res.ok and res.rows_loaded == 4, res.report()
    got = db.execute("SELECT dob, ssn, coverage_year FROM roster_rows ORDER BY id").fetchall()
    assert got[0][0] == dt.datetime.strptime(rows[0]["DOB"], "%m/%d/%Y").date().isoformat()
    assert got[0][2] == 2026
    assert got[0][1] == "012345678"  # padded back to 9 digits


def test_bad_rows_are_reported_and_good_rows_still_load(db, tmp_path):
    rows = _table(3)
    rows[0]["DOB"] = "02/30/1990"
    rows[1]["Applied-APTC-Amount"] = "12,34x"
    rows[2]["Policy-Status"] = "maybe"
    rows[3]["Member-Last-Name"] = ""
    rows[4]["Gender"] = "Q"                 # a warning: loaded, value ignored
    rows[5]["Benefit-Start-Date"] = "soon"
    res = import_roster(db, write_roster(tmp_path, rows))
    assert res.ok
    assert (res.rows_total, res.rows_loaded, res.rows_rejected, res.warnings) == (6, 1, 5, 1)
    report = "\n".join(res.report())
    assert "row 2: date of birth '02/30/1990' is not a date (column DOB)" in report
    assert "row 3: APTC amount '12,34x' is not an amount (column Applied-APTC-Amount)" in report
    assert "row 4: status 'maybe' is not one of" in report
    assert "row 5: last name is empty (column Member-Last-Name)" in report
    assert "row 6: warning: gender 'Q' is not M or F" in report
    assert "row 7: benefit start 'soon' is not a date" in report
    assert _count(db, "roster_rows") == 1  # row 6: only a warning
    stored = row_errors(db, res.roster_id)
    assert [e.row for e in stored if e.severity == "error"] == [2, 3, 4, 5, 7]


def test_a_roster_missing_required_columns_changes_nothing(db, tmp_path):
    rows = _table()
    header = [h for h in CMS_HEADER if h not in ("DOB", "Policy-Status")]
    res = import_roster(db, write_roster(tmp_path, rows, header=header))
    assert not res.ok and res.status == "rejected"
    assert "required columns are missing: date of birth, status" in res.reason
    assert "Exchange-Assigned-Policy-ID" in res.reason  # the columns the file does have
    for t in ("rosters", "roster_rows", "roster_row_errors", "roster_mappings"):
        assert _count(db, t) == 0


def test_a_roster_with_no_good_row_changes_nothing(db, tmp_path):
    rows = _table(1)
    for r in rows:
        r["DOB"] = "never"
    res = import_roster(db, write_roster(tmp_path, rows))
    assert not res.ok and res.reason == "no row could be loaded"
    assert len(res.report()) == 2
    assert _count(db, "rosters") == 0 and _count(db, "roster_mappings") == 0


def test_unreadable_files(db, tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    assert "empty" in import_roster(db, p).reason
    p = tmp_path / "bad.xlsx"
    p.write_bytes(b"PK\x03\x04 this is not a workbook")
    assert "cannot be opened" in import_roster(db, p).reason
    assert "cannot read" in import_roster(db, tmp_path / "nope.csv").reason
    assert _count(db, "rosters") == 0


def test_the_same_roster_twice_is_refused(db, tmp_path):
    p = write_roster(tmp_path, _table())
    first = import_roster(db, p)
    assert first.ok
    copy = tmp_path / "copy-of-roster.csv"
    copy.write_bytes(p.read_bytes())
    again = import_roster(db, copy)
    assert again.status == "duplicate" and not again.ok
    assert "as roster.csv (roster 1)" in again.reason
    assert _count(db, "rosters") == 1 and _count(db, "roster_rows") == 4


def test_mapping_saved_per_sender_and_reused_next_month(db, tmp_path):
    rows = _table()
    # a state exchange's own names; two columns the guess cannot know
    rename = dict(PLAIN, **{"Policy-Status": "Eff Ind", "Member-Last-Name": "Surname of member"})
    p = write_roster(tmp_path, rows, "jan.csv", rename=rename)
    guessed = inspect_roster(p).guessed
    assert "status" not in guessed and "last_name" not in guessed
    refused = import_roster(db, p, sender="STATEHIX")
    assert not refused.ok and "status" in refused.reason and "last name" in refused.reason
    fixed = dict(guessed, status="Eff Ind", last_name="Surname of member")
    res = import_roster(db, p, mapping=fixed, sender="STATEHIX")
    assert res.ok and res.saved_as == "STATEHIX"
    assert mp.load_mapping(db, "STATEHIX")["mapping"]["status"] == "Eff Ind"
    # next month: same layout, different rows, no questions
    rows2 = [dict(r, **{"Paid-Through-Date": "2026-02-28"}) for r in rows]
    p2 = write_roster(tmp_path, rows2, "feb.csv", rename=rename)
    res2 = import_roster(db, p2, sender="STATEHIX")
    assert res2.ok and res2.mapping_source == "saved mapping 'STATEHIX'" and res2.rows_loaded == 4
    # another sender gets no such luck
    rows3 = [dict(r, **{"Paid-Through-Date": "2026-03-31"}) for r in rows]
    res3 = import_roster(db, write_roster(tmp_path, rows3, "mar.csv", rename=rename), sender="OTHER")
    assert not res3.ok


def test_named_mapping_must_fit_the_file(db, tmp_path):
    mp.save_mapping(db, "cms", "CMSFFM", mp.guess_mapping(CMS_HEADER), CMS_HEADER)
    p = write_roster(tmp_path, _table(), header=[h for h in CMS_HEADER if h != "Gender"])
    res = import_roster(db, p, mapping_name="cms")
    assert not res.ok and "expects columns this file does not have: Gender" in res.reason
    res = import_roster(db, p, mapping_name="nope")
    assert not res.ok and "no saved mapping named 'nope' (cms)" in res.reason


def test_relationship_words_status_words_and_derived_values(db, tmp_path):
    rows = _table(1)
    rows[0].update({"Relationship-to-Subscriber-Indicator": "Self", "Subscriber-Indicator": "",
                    "Policy-Status": "Pending Effectuation", "Coverage-Year": ""})
    rows[1].update({"Relationship-to-Subscriber-Indicator": "Spouse", "Subscriber-Indicator": "",
                    "Policy-Status": "Terminated", "Benefit-End-Date": "3/31/2026"})
    res = import_roster(db, write_roster(tmp_path, rows))
    assert res.ok and res.rows_loaded == 2, res.report()
    got = db.execute("SELECT subscriber_ind, relationship, status, coverage_year, benefit_end FROM roster_rows "
                     "ORDER BY id").fetchall()
    assert got == [("Y", "18", "pending", 2026, None), ("N", "01", "terminated", 2026, "2026-03-31")]


def test_list_rosters(db, tmp_path):
    import_roster(db, write_roster(tmp_path, _table()), sender="CMSFFM")
    (r,) = list_rosters(db)
    assert (r["name"], r["sender"], r["year"], r["rows"], r["loaded"], r["reconciled"]) == \
        ("roster.csv", "CMSFFM", 2026, 4, 4, None)
