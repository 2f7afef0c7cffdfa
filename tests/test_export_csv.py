"""CSV exports read back with the csv module, cell by cell; filters; masking; audit; file mode; cancel."""

from __future__ import annotations

import csv
import io
import os
import stat

import pytest

from enrollreview.export import Cancelled, ExportError, Filters, export, writers
from enrollreview.export.lists import CALLBACK_COLUMNS, FOLLOWUP_COLUMNS, split_contacts
from enrollreview.review.audit import list_rows, verify
from tests.test_export_support import (
    SSNS,
    SUMMARY_HEADER,
    days_ago,
    expected_callbacks,
    expected_followups,
    expected_summary,
)


def read_csv(path):
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM so Excel reads accents right"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_callbacks_csv_cell_by_cell(db, scene, tmp_path):
    out = tmp_path / "cb.csv"
    r = export(db, "callbacks", "csv", out)
    rows = read_csv(out)
    assert rows[0] == [c.header for c in CALLBACK_COLUMNS]
    assert rows[1:] == expected_callbacks(scene)
    assert r.rows == 2


def test_followups_csv_cell_by_cell(db, scene, tmp_path):
    out = tmp_path / "fu.csv"
    export(db, "followups", "csv", out)
    rows = read_csv(out)
    assert rows[0] == [c.header for c in FOLLOWUP_COLUMNS]
    assert rows[1:] == expected_followups(scene)


def test_summary_csv_cell_by_cell(db, scene, tmp_path):
    out = tmp_path / "sum.csv"
    export(db, "summary", "csv", out)
    rows = read_csv(out)
    assert rows[0] == SUMMARY_HEADER
    assert rows[1:] == expected_summary()


def _ids(db, tmp_path, kind="callbacks", **kw):
    out = tmp_path / f"f{len(list(tmp_path.iterdir()))}.csv"
    export(db, kind, "csv", out, filters=Filters(**kw))
    rows = read_csv(out)[1:]
    return [r[7] for r in rows] if kind == "callbacks" else rows


def test_callback_filters(db, scene, tmp_path):
    f1, f2, f3 = scene["files"]
    assert _ids(db, tmp_path) == ["M0002", "M0001"]
    assert _ids(db, tmp_path, clerk="maria") == ["M0001"]
    assert _ids(db, tmp_path, clerk="") == []  # unassigned
    assert _ids(db, tmp_path, categories=["family"]) == ["M0002", "M0001"]
    assert _ids(db, tmp_path, categories=["data_quality"]) == ["M0001"]
    assert _ids(db, tmp_path, severities=["error"]) == ["M0001"]
    assert _ids(db, tmp_path, file_ids=[f2]) == []
    assert _ids(db, tmp_path, statuses=["waiting-on-exchange"]) == ["M0003", "M0002"]
    assert _ids(db, tmp_path, date_from=days_ago(5)[:10]) == ["M0002"]
    assert _ids(db, tmp_path, date_to=days_ago(5)[:10]) == ["M0001"]
    # with a filter on severity the reasons list only the matching flags
    out = tmp_path / "sev.csv"
    export(db, "callbacks", "csv", out, filters=Filters(severities=["warning"]))
    alice = [r for r in read_csv(out)[1:] if r[7] == "M0001"][0]
    assert alice[11] == "Subscriber aged 45 has a dependant coded as a parent"


def test_resolved_flags_leave_the_lists_unless_asked(db, scene, tmp_path):
    from tests.test_review_support import resolve_flag

    resolve_flag(db, scene["flags"][1], scene["files"][2])
    assert _ids(db, tmp_path) == ["M0001"]
    assert _ids(db, tmp_path, include_resolved=True) == ["M0002", "M0001"]
    out = tmp_path / "s.csv"
    export(db, "summary", "csv", out)
    quintero = read_csv(out)[1]
    assert quintero[SUMMARY_HEADER.index("Needs call-back")] == "2"
    assert quintero[SUMMARY_HEADER.index("Resolved by a later file")] == "1"
    assert quintero[SUMMARY_HEADER.index("Flags")] == "4"


def test_followup_and_summary_filters(db, scene, tmp_path):
    rows = _ids(db, tmp_path, "followups", categories=["subsidy"])
    assert [r[10] for r in rows] == ["FIN-03"]
    rows = _ids(db, tmp_path, "followups", statuses=["needs-call-back"])
    assert [r[10] for r in rows] == ["DQ-05", "FAM-09", "FAM-08"]
    out = tmp_path / "s.csv"
    export(db, "summary", "csv", out, filters=Filters(categories=["family"], file_ids=[scene["files"][0]]))
    rows = read_csv(out)
    assert [r[0] for r in rows[1:]] == ["quintero.834", "All files"]
    assert rows[1][SUMMARY_HEADER.index("Flags")] == "2"
    assert rows[2][SUMMARY_HEADER.index("Members")] == "2"


@pytest.mark.parametrize("kind", ["callbacks", "followups", "summary"])
def test_ssns_are_masked_by_default_and_shown_only_when_asked(db, scene, tmp_path, kind):
    from enrollreview.review import workflow as wf

    wf.record_correction(db, flag_id=scene["flags"][1], field="ssn", corrected_value="987654320", source="card")
    out = tmp_path / f"{kind}.csv"
    export(db, kind, "csv", out, filters=Filters(statuses=list(__import__(
        "enrollreview.review.statuses", fromlist=["x"]).STATUSES)))
    text = out.read_bytes().decode("utf-8-sig")
    for ssn in (*SSNS, "987654320"):
        assert ssn not in text
        assert f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}" not in text
    if kind != "summary":
        assert "***-**-6789" in text and "***-**-4321" in text
    assert not [r for r in list_rows(db) if r["action"] == "reveal_ssn"]
    export(db, kind, "csv", out, show_ssn=True)
    text = out.read_bytes().decode("utf-8-sig")
    if kind == "callbacks":
        assert "123-45-6789" in text
    if kind == "followups":
        assert "987-65-4321" in text and "987654320" not in text  # not waiting: not in the default list
    reveals = list_rows(db, action="reveal_ssn")
    assert len(reveals) == 1 and reveals[0]["detail"]["where"] == f"{kind} export"
    assert list_rows(db, action="export")[0]["detail"]["show_ssn"] is True


def test_every_export_is_audited(db, scene, tmp_path):
    out = tmp_path / "cb.csv"
    export(db, "callbacks", "csv", out, filters=Filters(clerk="maria"), user="supervisor")
    row = list_rows(db, action="export")[0]
    assert row["os_user"] == "supervisor"
    assert row["detail"] == {"kind": "callbacks", "format": "csv", "path": str(out.resolve()), "rows": 1,
                             "filters": {"clerk": "maria"}, "show_ssn": False}
    assert verify(db) is None
    # committed, not left in an open transaction: another connection sees the audit row
    assert not db.conn.in_transaction
    import sqlite3

    other = sqlite3.connect(db.execute("PRAGMA database_list").fetchone()[2])
    assert other.execute("SELECT COUNT(*) FROM audit WHERE action = 'export'").fetchone()[0] == 1
    other.close()


def test_export_files_are_private(db, scene, tmp_path):
    out = tmp_path / "cb.csv"
    out.write_text("old")
    os.chmod(out, 0o644)
    export(db, "callbacks", "csv", out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_cancel_leaves_no_file_and_no_audit(db, scene, tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "EVERY", 1)
    out = tmp_path / "cb.csv"
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1  # let the start through, cancel at the first row

    with pytest.raises(Cancelled):
        export(db, "callbacks", "csv", out, cancel=cancel)
    assert list(tmp_path.glob("*cb.csv*")) == []
    assert list_rows(db, action="export") == []
    # the temporary table of the list is gone too
    assert db.execute("SELECT COUNT(*) FROM temp.sqlite_master WHERE name LIKE '_cb_%'").fetchone()[0] == 0


def test_progress_is_reported(db, scene, tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "EVERY", 1)
    seen = []
    export(db, "callbacks", "csv", tmp_path / "cb.csv", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2), (2, 2)]


def test_bad_requests(db, scene, tmp_path):
    with pytest.raises(ExportError, match="call-back list only"):
        export(db, "summary", "pdf", tmp_path / "s.pdf")
    with pytest.raises(ExportError, match="unknown format"):
        export(db, "summary", "ods", tmp_path / "s.ods")
    with pytest.raises(ExportError, match="does not exist"):
        export(db, "summary", "csv", tmp_path / "nowhere" / "s.csv")
    with pytest.raises(ExportError, match="is a folder"):
        export(db, "summary", "csv", tmp_path)


def test_formula_injection_is_neutralised(db, tmp_path):
    from enrollreview.review import workflow as wf
    from tests.test_review_support import P, import_text, make_834, member_row, raise_flag

    evil = P("=HYPERLINK(1)", "@SUM", "222334444", "19900101", "M0100", "M0100")
    import_text(db, tmp_path, make_834([evil], control=77), "evil.834")
    fid = raise_flag(db, member_row(db, "M0100"), message="-1+2 looks odd")
    wf.review(db, [fid], status="needs-call-back")
    out = tmp_path / "cb.csv"
    export(db, "callbacks", "csv", out)
    row = read_csv(out)[1]
    assert row[4] == "'@SUM, =HYPERLINK(1)"
    assert row[11] == "'-1+2 looks odd"


def test_contacts_from_per():
    assert split_contacts('{"TE":["8045550101"],"EM":["a@example.com"],"CP":["8045550109"]}') == \
        ("(804) 555-0101", "cell (804) 555-0109", "a@example.com")
    assert split_contacts('{"WP":["2025550177"],"EX":["12"]}') == ("(202) 555-0177 ext. 12", "", "")
    assert split_contacts(None) == ("", "", "")
