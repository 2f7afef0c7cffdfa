"""The pieces wired into the main window, asserted on what a clerk sees: bulk actions on a queue
selection with Ctrl+Z, status words, Tools > Audit trail, File > Import exchange roster and the roster-only
person in the queue, Help > About, the application icon."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication

from enrollreview.reconcile import mapping as mp
from enrollreview.reconcile.roster import inspect_roster
from enrollreview.review import workflow as wf
from enrollreview.ui import main_window as mw_module
from enrollreview.ui import roster_dialog as rd
from enrollreview.ui.audit_view import AuditDialog

from ..test_reconcile_support import factory, family, load, rows_for, write_roster
from .conftest import settle


def _column(model, key: str) -> int:
    return next(i for i, c in enumerate(model.columns) if c.key == key)


def _cell(model, row: int, key: str) -> str:
    return model.data(model.index(row, _column(model, key)))


def _row_of_flag(q, flag_id: int) -> int:
    q.model.fetch_all()
    return next(i for i in range(q.model.rowCount()) if q.model.row(i)["flag_id"] == flag_id)


def _select(q, rows: list[int]) -> None:
    """What Ctrl+click on each row does: the first becomes current, the others are added."""
    q.view.select_row(rows[0])
    sm = q.view.selectionModel()
    for r in rows[1:]:
        sm.select(q.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                  | QItemSelectionModel.SelectionFlag.Rows)


def test_bulk_status_on_a_selection_and_ctrl_z_undoes_it(flagged_store, window, qtbot):
    db, known = flagged_store["db"], flagged_store["flags"]
    window.refresh_all()
    window.show_queue()
    q = window.queue
    settle(qtbot, q)
    assert q.bulk.isVisible()
    rows = [_row_of_flag(q, known["dob"]), _row_of_flag(q, known["phone"])]
    _select(q, rows)
    assert sorted(q.selected_flag_ids()) == sorted([known["dob"], known["phone"]])
    assert "2 selected" in q.count.text()
    assert [_cell(q.model, r, "status") for r in rows] == ["New", "New"]

    q.bulk.status.setCurrentIndex(q.bulk.status.findData("in-review"))
    qtbot.mouseClick(q.bulk.set_btn, Qt.MouseButton.LeftButton)
    assert q.bulk.message.text() == "2 of 2 flags changed."
    settle(qtbot, q)
    rows = [_row_of_flag(q, known["dob"]), _row_of_flag(q, known["phone"])]
    assert [_cell(q.model, r, "status") for r in rows] == ["In review", "In review"]
    assert sorted(q.selected_flag_ids()) == sorted([known["dob"], known["phone"]])   # selection kept
    assert q.status.findText("Status: In review") >= 0

    q.view.setFocus()
    qtbot.keyClick(q.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert q.bulk.message.text().startswith("Undone: 2 flags restored")
    settle(qtbot, q)
    rows = [_row_of_flag(q, known["dob"]), _row_of_flag(q, known["phone"])]
    assert [_cell(q.model, r, "status") for r in rows] == ["New", "New"]
    assert {r[0] for r in db.execute("SELECT status FROM flags WHERE id IN (?, ?)",
                                     [known["dob"], known["phone"]])} == {"new"}

    # closing takes the flags out of the open queue; under "All" the status reads in plain words
    _select(q, rows)
    q.bulk.status.setCurrentIndex(q.bulk.status.findData("closed-no-action"))
    qtbot.mouseClick(q.bulk.set_btn, Qt.MouseButton.LeftButton)
    settle(qtbot, q)
    q.model.fetch_all()
    assert known["dob"] not in q.model.keys() and known["phone"] not in q.model.keys()
    assert window.counts.text().startswith(f"{q.model.total():,} open flag")   # the status bar follows
    q.status.setCurrentIndex(q.status.findData("all"))
    settle(qtbot, q)
    assert _cell(q.model, _row_of_flag(q, known["dob"]), "status") == "Closed (no action needed)"


def test_member_rows_stand_for_their_open_flags(flagged_store, window, qtbot):
    db, known, sub = flagged_store["db"], flagged_store["flags"], flagged_store["sub"]
    window.refresh_all()
    window.act_by_member.setChecked(True)
    window.toggle_queue_mode()
    q = window.queue
    settle(qtbot, q)
    q.model.fetch_all()
    row = next(i for i in range(q.model.rowCount()) if q.model.row(i)["member_row"] == sub)
    _select(q, [row])
    ids = q.selected_flag_ids()
    assert {known["phone"], known["name"]} <= set(ids)
    assert sorted(ids) == [r[0] for r in db.execute(
        "SELECT id FROM flags WHERE member_id = ? AND resolved_at IS NULL ORDER BY id", [sub])]
    wf.review(db, [known["phone"]], status="needs-call-back")
    window.refresh_all()
    settle(qtbot, q)
    row = next(i for i in range(q.model.rowCount()) if q.model.row(i)["member_row"] == sub)
    assert _cell(q.model, row, "status") == "Needs call-back"   # the member's rolled-up status


def test_tools_audit_trail_shows_the_whole_trail(flagged_store, window, qtbot):
    db, known = flagged_store["db"], flagged_store["flags"]
    wf.review(db, [known["dob"]], status="in-review", note="called the exchange")
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert window.act_audit in tools.actions() and window.act_audit.text() == "&Audit trail\u2026"
    window.act_audit.trigger()
    dlg = window.findChild(AuditDialog)
    assert dlg is not None and dlg.isVisible() and dlg.windowTitle() == "Audit trail"
    words = {r["action"]: r["what"] for r in dlg.view.rows()}
    assert words["status"] == "status New \u2192 In review"     # the review panel's words, not in-review
    assert words["note"] == "note: called the exchange"
    assert dlg.view.verify()
    assert dlg.view.result.text().startswith("\u2714 Audit trail intact")
    dlg.close()


def test_roster_from_the_file_menu_and_the_roster_only_person_in_the_queue(window, qtbot, db, tmp_path,
                                                                          monkeypatch):
    f = factory(61)
    known, lost = family(f, ["spouse"]), family(f)
    load(db, tmp_path, [known])                      # the 834 for `lost` never arrived
    roster = write_roster(tmp_path, rows_for([known, lost]))
    window.refresh_all()
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert window.act_roster in file_menu.actions()
    assert window.act_roster.text() == "Import exchange &roster\u2026"

    asked, reports, shown = [], [], []
    monkeypatch.setattr(rd, "ask_roster_file", lambda parent, folder="": asked.append(folder) or str(roster))
    monkeypatch.setattr(rd, "ask_mapping", lambda parent, dbx, preview: rd.MappingChoice(
        mp.guess_mapping(inspect_roster(roster).headers), "", None))
    monkeypatch.setattr(rd, "show_report", lambda parent, title, text, ok=True: reports.append((ok, text)))
    monkeypatch.setattr(rd, "show_roster_row", lambda parent, detail: shown.append(detail))
    window.act_roster.trigger()
    runner = window._roster_runner
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        pass
    assert asked and reports and reports[0][0] and "Missing from 834: 1" in reports[0][1]

    # the queue was refreshed: the roster-only person is named from the roster row
    q = window.queue
    settle(qtbot, q)
    q.model.fetch_all()
    flag_id = db.execute("SELECT id FROM flags WHERE rule = 'MISS-01'").fetchone()[0]
    row = _row_of_flag(q, flag_id)
    person = lost.members[0]
    assert _cell(q.model, row, "name") == f"{person.last}, {person.first}"
    assert _cell(q.model, row, "member_id") == person.member_id
    assert _cell(q.model, row, "policy_id") == lost.policy_id
    assert _cell(q.model, row, "file") == f"{roster.name} (exchange roster)"
    assert _cell(q.model, row, "status") == "Needs call-back"
    # a filter on the person's name finds the row
    q.text.setText(person.last)
    qtbot.waitUntil(lambda: q.model.filter.text == person.last)   # after the typing pause
    assert flag_id in q.model.keys()
    q.clear_filters()
    settle(qtbot, q)

    # Enter opens the roster row, which says that no 834 was received
    window.show_queue()
    q.view.select_row(_row_of_flag(q, flag_id))
    qtbot.keyClick(q.view, Qt.Key.Key_Return)
    assert shown and shown[0]["note"].startswith("No 834 was received for this person")
    assert not window.on_member_page()

    # one row per member: the same person, by name, opens the same way
    window.act_by_member.setChecked(True)
    window.toggle_queue_mode()
    settle(qtbot, q)
    q.model.fetch_all()
    mrow = next(i for i in range(q.model.rowCount()) if q.model.row(i)["flag_id"] == flag_id)
    assert _cell(q.model, mrow, "name") == f"{person.last}, {person.first}"
    assert window.open_queue_row(q.model.row(mrow)) and len(shown) == 2


def test_help_about_lists_the_versions_and_the_app_icon_is_set(window, monkeypatch):
    from enrollreview.ui.app import make_app

    said = []
    monkeypatch.setattr(mw_module.dialogs, "inform", lambda parent, title, text: said.append((title, text)))
    window.act_about.trigger()
    title, text = said[0]
    assert title == "About enrollreview"
    for label in ("enrollreview:", "Build:", "Python:", "pyx12:", "sqlite-utils:", "SQLite:", "Qt:", "PySide6:"):
        assert f"\n{label} " in text, label
    assert str(window.db_path) in text
    sizes = {s.width() for s in window.windowIcon().availableSizes()}
    assert {16, 32, 48, 256} <= sizes          # the drawn PNG sizes of resources/icons/enrollreview-*.png
    app = make_app()
    assert QGuiApplication.desktopFileName() == "enrollreview"
    assert {16, 256} <= {s.width() for s in app.windowIcon().availableSizes()}


def test_a_status_saved_in_the_member_view_shows_in_the_queue_and_status_bar(flagged_store, window, qtbot):
    known = flagged_store["flags"]
    window.refresh_all()
    settle(qtbot, window.queue)
    before = window.queue.model.total()
    assert window.open_member(flagged_store["spouse"], known["dob"])
    panel = window.history
    panel.status.setCurrentIndex(panel.status.findData("closed-false-positive"))
    assert panel.save()
    q = window.queue
    settle(qtbot, q)
    assert q.model.total() == before - 1 and known["dob"] not in q.model.keys()
    assert window.counts.text().startswith(f"{before - 1:,} open flag")
    assert q.status.findText("Status: Closed (false positive)") >= 0


def test_closing_the_window_lets_a_running_roster_import_finish(window, qtbot, db, tmp_path, monkeypatch):
    import time

    f = factory(62)
    known, lost = family(f), family(f)
    load(db, tmp_path, [known])
    roster = write_roster(tmp_path, rows_for([known, lost]))
    real = rd.run_import

    def slow(dbx, path, choice):
        time.sleep(0.3)   # still running when the window closes
        return real(dbx, path, choice)

    reports = []
    monkeypatch.setattr(rd, "run_import", slow)
    monkeypatch.setattr(rd, "ask_roster_file", lambda parent, folder="": str(roster))
    monkeypatch.setattr(rd, "ask_mapping", lambda parent, dbx, preview: rd.MappingChoice(
        mp.guess_mapping(inspect_roster(roster).headers), "", None))
    monkeypatch.setattr(rd, "show_report", lambda parent, title, text, ok=True: reports.append(text))
    window.act_roster.trigger()
    assert window._roster_runner.thread.isRunning()
    window.close()
    assert not window._roster_runner.thread.isRunning()
    qtbot.wait(50)
    assert db.execute("SELECT COUNT(*) FROM flags WHERE rule = 'MISS-01'").fetchone()[0] == 1
    assert reports == []    # no report popping up over a closed window
