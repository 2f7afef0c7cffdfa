"""GUI of issue 5: the review panel (status, correction, SSN reveal), the audit view, the bulk bar and the
export dialog running in its worker thread."""

from __future__ import annotations

import threading

import openpyxl
import pytest
from PySide6.QtCore import Qt

from enrollreview.review.audit import list_rows
from enrollreview.ui.audit_view import AuditView
from enrollreview.ui.export_dialog import ExportDialog
from enrollreview.ui.review_panel import BulkActionBar, ReviewPanel
from tests.test_review_support import standard_store


@pytest.fixture
def store(db, tmp_path):
    return standard_store(db, tmp_path)


@pytest.fixture
def panel(qtbot, db, store):
    p = ReviewPanel(db)
    qtbot.addWidget(p)
    p.resize(700, 600)
    p.show()
    return p


def _flag(db, fid):
    return db.execute("SELECT status, assigned_to, due_date, reason_code FROM flags WHERE id = ?", [fid]).fetchone()


def test_recording_a_correction_shows_in_the_audit_view(qtbot, qtmodeltester, db, store, panel):
    a, fa = store["members"][0], store["flags"][0]
    panel.show_member(a, fa)
    assert "Date of birth 2080-02-14 is in the future" in panel.flag_label.text()
    panel.field.setCurrentIndex(panel.field.findData("dob"))
    assert panel.value_834.text() == "1980-02-14"
    qtbot.keyClicks(panel.corrected, "1980-02-15")
    panel.source.setCurrentText("Confirmed by phone with the member")
    assert panel.mark_corrected.isChecked()
    with qtbot.waitSignal(panel.changed):
        qtbot.mouseClick(panel.correct_btn, Qt.MouseButton.LeftButton)
    assert "recorded" in panel.message.text()
    assert _flag(db, fa)[0] == "corrected"
    # the member's own audit tab
    rows = panel.audit.rows()
    assert [r["action"] for r in rows[:2]] == ["status", "correction"]
    assert rows[1]["what"] == "dob: 1980-02-14 -> 1980-02-15 (Confirmed by phone with the member)"
    m = panel.audit.model
    texts = [m.data(m.index(r, 5)) for r in range(m.rowCount())]
    assert "dob: 1980-02-14 -> 1980-02-15 (Confirmed by phone with the member)" in texts
    assert m.data(m.index(1, 2)) == "Corrected value recorded"
    qtmodeltester.check(m)
    # the history tab lists it
    tree = panel.history
    assert tree.topLevelItemCount() == 1
    assert tree.topLevelItem(0).text(4) == ("Date of birth (DMG02): 1980-02-14 -> 1980-02-15 "
                                            "(Confirmed by phone with the member)")
    assert panel.tabs.tabText(1) == "History and notes (1)"
    # and the whole-trail audit view, with its check
    view = AuditView(db)
    qtbot.addWidget(view)
    assert any(r["action"] == "correction" and r["flag_id"] == fa for r in view.rows())
    assert view.verify() is True
    assert "intact" in view.result.text()


def test_save_status_assignee_due_reason_and_note(qtbot, db, store, panel):
    a, fa = store["members"][0], store["flags"][0]
    panel.show_member(a, fa)
    panel.status.setCurrentIndex(panel.status.findData("needs-call-back"))
    qtbot.mouseClick(panel.me_btn, Qt.MouseButton.LeftButton)
    panel.due_on.setChecked(True)
    from PySide6.QtCore import QDate

    panel.due.setDate(QDate(2025, 3, 1))
    panel.reason.setCurrentIndex(panel.reason.findData("exchange-ticket"))
    qtbot.keyClicks(panel.note, "Left a voicemail")
    with qtbot.waitSignal(panel.changed):
        qtbot.mouseClick(panel.save_btn, Qt.MouseButton.LeftButton)
    from enrollreview.review.audit import os_user

    assert _flag(db, fa) == ("needs-call-back", os_user(), "2025-03-01", "exchange-ticket")
    actions = [r["action"] for r in list_rows(db, newest_first=False)]
    assert actions == ["status", "assign", "due_date", "reason_code", "note"]
    assert "member status: Needs call-back" in panel.member_label.text()
    # statuses that cannot follow are disabled; "new" never comes back
    model = panel.status.model()
    assert not model.item(panel.status.findData("new")).isEnabled()
    assert model.item(panel.status.findData("corrected")).isEnabled()
    # saving again with nothing changed writes nothing
    n = len(list_rows(db, limit=None))
    assert panel.save() is False
    assert len(list_rows(db, limit=None)) == n


def test_note_on_a_member_without_a_selected_flag(qtbot, db, store, panel):
    c = store["members"][2]
    panel.show_member(c, None)
    assert not panel.status.isEnabled() and panel.note.isEnabled()
    qtbot.keyClicks(panel.note, "Asked for the 1095-A")
    assert panel.save() is True
    assert db.execute("SELECT member_id, flag_id, text FROM notes").fetchone() == (c, None, "Asked for the 1095-A")


def test_errors_are_shown_not_raised(qtbot, db, store, panel):
    a, fa = store["members"][0], store["flags"][0]
    panel.show_member(a, fa)
    qtbot.keyClicks(panel.corrected, "1980-02-15")
    panel.source.setCurrentText("")
    assert panel.record_correction() is False
    assert "where the corrected value comes from" in panel.message.text()
    assert db.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 0


def test_ssn_reveal_is_per_member_and_audited(qtbot, db, store, panel):
    a, b, _ = store["members"]
    panel.show_member(a, store["flags"][0])
    assert panel.ssn_label.text() == "SSN ***-**-6789"
    panel.field.setCurrentIndex(panel.field.findData("ssn"))
    assert panel.value_834.text() == "***-**-6789"
    qtbot.mouseClick(panel.reveal_btn, Qt.MouseButton.LeftButton)
    assert panel.ssn_label.text() == "SSN 123-45-6789"
    assert panel.value_834.text() == "123456789"
    assert not panel.reveal_btn.isEnabled()
    reveals = list_rows(db, action="reveal_ssn")
    assert len(reveals) == 1 and reveals[0]["member_id"] == a and reveals[0]["detail"] == {"where": "review panel"}
    panel.show_member(a, None)  # same member, other flag: still shown
    assert panel.ssn_label.text() == "SSN 123-45-6789"
    panel.show_member(b, store["flags"][1])
    assert panel.ssn_label.text() == "SSN ***-**-4321"
    assert "4321" in panel.ssn_label.text() and "987" not in panel.ssn_label.text()


def test_bulk_bar_with_one_undo(qtbot, db, store):
    fa, fb, fc = store["flags"]
    selected = [fa, fb, fc]
    bar = BulkActionBar(db, lambda: list(selected))
    qtbot.addWidget(bar)
    bar.status.setCurrentIndex(bar.status.findData("in-review"))
    with qtbot.waitSignal(bar.changed):
        qtbot.mouseClick(bar.set_btn, Qt.MouseButton.LeftButton)
    assert {_flag(db, f)[0] for f in selected} == {"in-review"}
    qtbot.keyClicks(bar.assignee, "maria")
    assert bar.assign()
    assert {_flag(db, f)[1] for f in selected} == {"maria"}
    assert bar.undo()
    assert {_flag(db, f)[1] for f in selected} == {None}
    assert bar.undo()
    assert {_flag(db, f)[0] for f in selected} == {"new"}
    assert bar.undo() is False and "nothing to undo" in bar.message.text()
    selected.clear()
    assert bar.set_status() is False


def test_export_dialog_runs_in_the_background(qtbot, db, db_path, store, tmp_path):
    from enrollreview.review import workflow as wf

    wf.review(db, list(store["flags"]), status="needs-call-back", assign="maria")
    dlg = ExportDialog(db, db_path)
    qtbot.addWidget(dlg)
    assert dlg.fmt.model().item(dlg.fmt.findData("pdf")).isEnabled()
    dlg.kind.setCurrentIndex(dlg.kind.findData("summary"))
    assert not dlg.fmt.model().item(dlg.fmt.findData("pdf")).isEnabled()
    dlg.kind.setCurrentIndex(dlg.kind.findData("callbacks"))
    checked = [dlg.statuses.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dlg.statuses.count())
               if dlg.statuses.item(i).checkState() == Qt.CheckState.Checked]
    assert checked == ["needs-call-back"]
    for fmt in ("xlsx", "pdf", "csv"):
        dlg.fmt.setCurrentIndex(dlg.fmt.findData(fmt))
        dlg.path.setText(str(tmp_path / f"callbacks.{fmt}"))
        with qtbot.waitSignal(dlg.exported, timeout=60_000) as blocker:
            assert dlg.start()
            assert dlg.running() and not dlg.export_btn.isEnabled()
        assert blocker.args == [str(tmp_path / f"callbacks.{fmt}"), 3]
        assert not dlg.running() and dlg.export_btn.isEnabled()
        assert "3 rows written" in dlg.message.text()
    wb = openpyxl.load_workbook(tmp_path / "callbacks.xlsx")
    assert wb.worksheets[0].max_row == 4
    # filters from the dialog reach the export
    dlg.clerk.setCurrentText("maria")
    dlg.severity.setCurrentIndex(dlg.severity.findData("warning"))
    f = dlg.filters()
    assert (f.clerk, f.severities, f.statuses) == ("maria", ["warning"], ["needs-call-back"])
    assert [r["detail"]["format"] for r in list_rows(db, action="export")] == ["csv", "pdf", "xlsx"]


def test_export_dialog_cancel_and_errors(qtbot, db, db_path, store, tmp_path, monkeypatch):
    import enrollreview.ui.export_dialog as ed

    gate = threading.Event()
    real = ed.export

    def gated(*a, **kw):
        gate.wait(10)
        return real(*a, **kw)

    monkeypatch.setattr(ed, "export", gated)
    dlg = ExportDialog(db, db_path)
    qtbot.addWidget(dlg)
    dlg.kind.setCurrentIndex(dlg.kind.findData("summary"))
    dlg.fmt.setCurrentIndex(dlg.fmt.findData("csv"))
    dlg.path.setText(str(tmp_path / "s.csv"))
    assert dlg.start()
    with qtbot.waitSignal(dlg.ended, timeout=10_000) as blocker:
        dlg.cancel_or_close()
        gate.set()
    assert blocker.args == ["cancelled"]
    assert not (tmp_path / "s.csv").exists()
    assert "Cancelled" in dlg.message.text()
    assert list_rows(db, action="export") == []
    # a folder that does not exist: one plain line
    gate.set()
    dlg.path.setText(str(tmp_path / "missing" / "s.csv"))
    with qtbot.waitSignal(dlg.ended, timeout=10_000) as blocker:
        assert dlg.start()
    assert blocker.args == ["failed"]
    assert "does not exist" in dlg.message.text()


def test_history_panel_is_installed_in_the_window(qtbot, window, db, tmp_path):
    from enrollreview.ui.history_panel import HistoryPanel

    s = standard_store(db, tmp_path)
    panel = window.member_view._history
    assert isinstance(panel, HistoryPanel)
    window.refresh_all()
    assert window.open_member(s["members"][0], s["flags"][0])
    assert panel.member is not None and panel.member["id"] == s["members"][0]
    assert panel.flag is not None and panel.flag["id"] == s["flags"][0]
    panel.status.setCurrentIndex(panel.status.findData("in-review"))
    assert panel.save()
    assert db.execute("SELECT status FROM flags WHERE id = ?", [s["flags"][0]]).fetchone()[0] == "in-review"
    # the member view was reloaded and told the panel again
    assert panel.flag["status"] == "in-review"
