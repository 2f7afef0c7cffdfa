"""XLSX exports read back with openpyxl: every cell, frozen header, autofilter, real dates, masking."""

from __future__ import annotations

import datetime as dt
import os
import stat
import zipfile

import openpyxl
import pytest

from enrollreview.export import export
from enrollreview.export.lists import CALLBACK_COLUMNS, FOLLOWUP_COLUMNS
from enrollreview.review.audit import list_rows
from tests.test_export_support import (
    SSNS,
    SUMMARY_HEADER,
    expected_callbacks,
    expected_followups,
    expected_summary,
)


def _as_text(value, column_kind):
    """The CSV spelling of an XLSX cell, to compare with the same expected rows."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        assert column_kind == "date"
        return value.date().isoformat()
    if column_kind == "pct":
        return f"{value * 100:.1f}%"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read(path, kinds):
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header = values[0]
    body = [[_as_text(v, kinds[i]) for i, v in enumerate(r)] for r in values[1:]]
    return wb, ws, header, body


def _check_sheet(ws, ncols, nrows):
    assert ws.freeze_panes == "A2"
    last_col = openpyxl.utils.get_column_letter(ncols)
    assert ws.auto_filter.ref == f"A1:{last_col}{max(nrows + 1, 2)}"
    assert all(ws.cell(1, i + 1).font.b for i in range(ncols))


def test_callbacks_xlsx(db, scene, tmp_path):
    out = tmp_path / "cb.xlsx"
    export(db, "callbacks", "xlsx", out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    kinds = [c.kind for c in CALLBACK_COLUMNS]
    wb, ws, header, body = _read(out, kinds)
    assert ws.title == "Call-back list"
    assert header == [c.header for c in CALLBACK_COLUMNS]
    assert body == expected_callbacks(scene)
    _check_sheet(ws, len(CALLBACK_COLUMNS), 2)
    # dates are real dates with a date format; numbers are numbers
    due, days = ws["A2"], ws["B2"]
    assert due.is_date and due.value == dt.datetime(2025, 2, 1) and due.number_format == "yyyy-mm-dd"
    assert days.data_type == "n" and days.value == 3
    assert ws["K2"].value == "***-**-4321" and ws["K2"].data_type == "s"
    about = wb["About this export"]
    facts = {r[0].value: r[1].value for r in about.iter_rows()}
    assert facts["List"] == "Call-back list" and facts["Rows"] == "2" and facts["SSNs"] == "masked"


def test_followups_xlsx(db, scene, tmp_path):
    out = tmp_path / "fu.xlsx"
    export(db, "followups", "xlsx", out)
    kinds = [c.kind for c in FOLLOWUP_COLUMNS]
    wb, ws, header, body = _read(out, kinds)
    assert header == [c.header for c in FOLLOWUP_COLUMNS]
    assert body == expected_followups(scene)
    _check_sheet(ws, len(FOLLOWUP_COLUMNS), 2)
    assert ws["O2"].is_date  # file received
    assert ws["H3"].value == "19790505" and ws["H3"].data_type == "s"  # the 834 value stays text, as received
    assert ws["Q2"].data_type == "n"


def test_summary_xlsx(db, scene, tmp_path):
    out = tmp_path / "sum.xlsx"
    export(db, "summary", "xlsx", out)
    from enrollreview.export.lists import summary_columns

    kinds = [c.kind for c in summary_columns()]
    wb, ws, header, body = _read(out, kinds)
    assert header == SUMMARY_HEADER
    assert body == expected_summary()
    _check_sheet(ws, len(SUMMARY_HEADER), 4)
    assert ws["E5"].value == pytest.approx(0.75) and ws["E5"].number_format == "0.0%"
    assert ws["B5"].value is None  # the overall row has no received date


def test_empty_list_still_has_header_filter_and_freeze(db, tmp_path):
    out = tmp_path / "empty.xlsx"
    r = export(db, "callbacks", "xlsx", out)
    assert r.rows == 0
    wb = openpyxl.load_workbook(out)
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == [c.header for c in CALLBACK_COLUMNS]
    _check_sheet(ws, len(CALLBACK_COLUMNS), 0)


def test_xlsx_masks_ssns_everywhere_in_the_package(db, scene, tmp_path):
    for kind in ("callbacks", "followups", "summary"):
        out = tmp_path / f"{kind}.xlsx"
        export(db, kind, "xlsx", out)
        with zipfile.ZipFile(out) as z:
            blob = b"".join(z.read(n) for n in z.namelist())
        for ssn in SSNS:
            assert ssn.encode() not in blob
            assert f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}".encode() not in blob
    out = tmp_path / "shown.xlsx"
    export(db, "callbacks", "xlsx", out, show_ssn=True)
    wb = openpyxl.load_workbook(out)
    assert wb.worksheets[0]["K3"].value == "123-45-6789"
    facts = {r[0].value: r[1].value for r in wb["About this export"].iter_rows()}
    assert facts["SSNs"].startswith("shown in full")
    assert len(list_rows(db, action="reveal_ssn")) == 1
