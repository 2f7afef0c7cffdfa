"""The main window: opening, background import, queue, keyboard, search, cancel, crash, settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from enrollreview.ui import main_window as mw_module
from enrollreview.ui.main_window import SHORTCUTS, MainWindow

from .conftest import open_flags, settle, settle_files


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table (read with a separate connection)."""
    con = sqlite3.connect(str(path))
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def test_window_opens_empty(window):
    assert window.windowTitle().startswith("enrollreview")
    assert window.tabs.count() == 3
    assert window.queue.model.rowCount() == 0
    assert "0 open flags" in window.queue.count.text() or "Nothing to review" in window.queue.count.text()
    assert window.counts.text().startswith("0 open flags")
    assert not window.demo_banner.isVisible()
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "View", "Tools", "Settings", "Help"]


def test_import_through_the_worker(window, gen_file, qtbot, db):
    path = gen_file(n=8, seed=21)
    progressed, problems = [], []
    window.importer.progressed.connect(progressed.append)
    window.importer.problem.connect(problems.append)
    with qtbot.waitSignal(window.importer.finished, timeout=60_000) as blocker:
        assert window.import_paths([path])
        assert window.progress.isVisible()
    results = blocker.args[0]
    assert [r.status for r in results] == ["imported"], problems
    assert db.execute("SELECT COUNT(*) FROM members").fetchone()[0] == results[0].members
    # The queue was reloaded: one row per open flag of the store.
    settle(qtbot, window.queue)
    window.queue.model.fetch_all()
    assert window.queue.model.rowCount() == open_flags(db)
    window.show_files()
    settle_files(qtbot, window.files)
    assert window.files.model.rowCount() == 1
    assert not window.progress.isVisible()
    assert "Imported 1 file" in window.statusBar().currentMessage()
    assert progressed and progressed[-1].fraction == pytest.approx(1.0)
    assert "members" in progressed[-1].text() or "rules" in progressed[-1].text()


def test_rejected_file_is_reported_in_plain_words(window, tmp_path, qtbot, db):
    bad = tmp_path / "claim.837"
    bad.write_text("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*"
                   "000000001*0*P*:~GS*HC*SENDER*RECEIVER*20260101*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~"
                   "SE*2*0001~GE*1*1~IEA*1*000000001~", encoding="ascii")
    with qtbot.waitSignal(window.importer.finished, timeout=30_000):
        window.import_paths([bad])
    msg = window.statusBar().currentMessage()
    assert "rejected" in msg and "837" in msg and "Traceback" not in msg
    window.show_files()
    settle_files(qtbot, window.files)
    f = window.files.model.row(0)
    assert f["status"] == "rejected"
    window.files.view.select_row(0)
    assert "was rejected" in window.files.detail.text()


def test_queue_rows_equal_store_flags_and_keyboard(flagged_store, window, qtbot):
    db = flagged_store["db"]
    window.refresh_all()
    q = window.queue
    settle(qtbot, q)
    q.model.fetch_all()
    assert q.model.rowCount() == open_flags(db)
    window.show_queue()
    view = q.view
    view.setFocus()
    assert view.current_row() == 0
    qtbot.keyClick(view, Qt.Key.Key_J)
    assert view.current_row() == 1
    qtbot.keyClick(view, Qt.Key.Key_K)
    assert view.current_row() == 0
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.current_row() == 1
    row = q.model.row(1)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert window.on_member_page()
    assert window.member_view.member["id"] == row["member_row"]
    assert window.member_view.flag["id"] == row["flag_id"]
    # j in the member view opens the next queue item without leaving it.
    nxt = q.model.row(2)
    qtbot.keyClick(window.member_view.flags_view, Qt.Key.Key_J)
    assert window.on_member_page() and window.member_view.flag["id"] == nxt["flag_id"]
    qtbot.keyClick(window.member_view.flags_view, Qt.Key.Key_K)
    assert window.member_view.flag["id"] == row["flag_id"]
    qtbot.keyClick(window.member_view, Qt.Key.Key_Escape)
    assert not window.on_member_page() and window.tabs.currentWidget() is q
    assert view.current_row() == 1


def test_idle_warm_up_changes_nothing_a_clerk_sees(flagged_store, db, db_path, ui_settings, qtbot):
    """After start-up the hidden member page is filled once with the queue's first member (so the first
    open is not slower than the rest): the queue stays on screen, nothing is recorded, and the first
    member the clerk opens is the one shown."""
    from enrollreview.ui.main_window import MainWindow

    audit_before = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    w = MainWindow(db, db_path, settings=ui_settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    first = w.queue.model.row(0)
    qtbot.waitUntil(lambda: w.member_view.member is not None, timeout=5000)
    assert w.member_view.member["id"] == first["member_row"]
    assert not w.on_member_page() and w.tabs.currentWidget() is w.queue
    assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == audit_before
    other = next(w.queue.model.row(i) for i in range(w.queue.model.rowCount())
                 if w.queue.model.row(i)["member_row"] not in (None, first["member_row"]))
    assert w.open_queue_row(other)
    assert w.on_member_page() and w.member_view.member["id"] == other["member_row"]
    assert w.member_view.flag["id"] == other["flag_id"]
    w.close()


def test_members_mode_and_filters(flagged_store, window, qtbot):
    db = flagged_store["db"]
    q = window.queue
    window.refresh_all()
    window.act_by_member.setChecked(True)
    window.toggle_queue_mode()
    settle(qtbot, q)
    m = window.queue.model
    m.fetch_all()
    assert m.filter.mode == "members"
    assert m.rowCount() == db.execute(
        "SELECT COUNT(DISTINCT COALESCE(member_id, -id)) FROM flags").fetchone()[0]
    row = m.row(0)
    assert window.open_queue_row(row)
    assert window.member_view.member["id"] == row["member_row"]
    window.go_back()
    window.act_by_member.setChecked(False)
    window.toggle_queue_mode()
    q.category.setCurrentIndex(q.category.findData("duplicate"))
    settle(qtbot, q)
    q.model.fetch_all()
    assert q.model.rowCount() == db.execute("SELECT COUNT(*) FROM flags WHERE category = 'duplicate'").fetchone()[0]
    window.show_file_flags(flagged_store["files"][1])
    settle(qtbot, q)
    assert q.model.filter.file_id == flagged_store["files"][1]
    q.clear_filters()
    settle(qtbot, q)
    assert q.model.filter.file_id is None and q.model.filter.category is None


def test_search_finds_a_member_and_reports_a_miss(flagged_store, window, qtbot):
    db = flagged_store["db"]
    last, first, member_id, dob, ssn = db.execute(
        "SELECT last_name, first_name, member_id, dob, ssn FROM members WHERE id = ?",
        [flagged_store["spouse"]]).fetchone()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.search
    assert window.search.field.hasFocus()
    qtbot.keyClicks(window.search.field, member_id)
    qtbot.keyClick(window.search.field, Qt.Key.Key_Return)
    s = window.search
    assert s.model.rowCount() == 1
    assert s.model.row(0)["id"] == flagged_store["spouse"]
    assert "1 member match" in s.message.text() and "member id" in s.message.text()
    # Name "Last, First" and the date of birth find the same person; the SSN column is masked.
    assert s.search(f"{last}, {first}") >= 1
    assert any(r["id"] == flagged_store["spouse"] for r in s.model.rows)
    assert s.search(dob) >= 1
    if ssn:
        assert s.search(ssn[-4:]) >= 1
        shown = {s.model.data(s.model.index(r, 5)) for r in range(s.model.rowCount())}
        assert all(x.startswith("***-**-") or x == "" for x in shown)
    # Enter opens; Esc goes back to the results.
    s.search(member_id)
    s.view.setFocus()
    qtbot.keyClick(s.view, Qt.Key.Key_Return)
    assert window.on_member_page() and window.member_view.member["id"] == flagged_store["spouse"]
    qtbot.keyClick(window.member_view, Qt.Key.Key_Escape)
    assert window.tabs.currentWidget() is s
    # The missing-enrollment case: say so plainly, and what was searched.
    assert s.search("Zebulon Quackenbush") == 0
    text = s.message.text()
    assert text.startswith("Nothing matches \u201cZebulon Quackenbush\u201d")
    assert "Searched: name Zebulon Quackenbush" in text and "2 loaded files" in text
    assert s.message.property("state") == "none"
    assert s.search("99999999") == 0
    assert "member id 99999999" in s.message.text()


def test_cancel_leaves_the_store_unchanged(flagged_store, window, qtbot, db_path, tmp_path):
    from enrollreview.x12.generator import write_benchmark_file

    big = tmp_path / "big.834"
    write_benchmark_file(big, 6000, seed=3)
    before = snapshot(db_path)
    state = {"cancelled": False}

    def cancel_on_first(p):
        if not state["cancelled"]:
            state["cancelled"] = True
            window.progress.cancel.click()

    window.importer.progressed.connect(cancel_on_first)
    with qtbot.waitSignal(window.importer.finished, timeout=60_000) as blocker:
        window.import_paths([big])
    assert state["cancelled"]
    assert [r.status for r in blocker.args[0]] == ["cancelled"]
    assert snapshot(db_path) == before
    assert "cancelled" in window.statusBar().currentMessage()


def test_worker_crash_goes_to_the_crash_dialog(window, gen_file, qtbot, monkeypatch):
    from enrollreview.ui import crash, worker

    shown = []
    monkeypatch.setattr(crash, "show_crash_dialog", lambda parent, details, log_path="": shown.append(details))
    monkeypatch.setattr(crash, "_router", None)
    crash.install("")
    monkeypatch.setattr(worker, "import_file", _boom)
    with qtbot.waitSignal(window.importer.finished, timeout=30_000):
        window.import_paths([gen_file(n=1)])
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "RuntimeError: boom" in shown[0]
    assert not window.progress.isVisible()


def _boom(*a, **k):
    raise RuntimeError("boom")


def test_locked_store_is_an_expected_problem(window, gen_file, qtbot, monkeypatch):
    from enrollreview.ui import worker

    def locked(*a, **k):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(worker, "import_file", locked)
    with qtbot.waitSignal(window.importer.problem, timeout=30_000) as blocker:
        window.import_paths([gen_file(n=1)])
    assert "busy" in blocker.args[0]
    qtbot.waitUntil(lambda: not window.importer.running(), timeout=10_000)


def test_first_start_imports_the_demo_files(window, qtbot, db):
    from enrollreview.paths import demo_dir

    if not any(p.is_file() and p.suffix != ".md" for p in demo_dir().iterdir()):
        pytest.skip("no demo files yet")
    with qtbot.waitSignal(window.importer.finished, timeout=120_000):
        assert window.maybe_import_demo()
    assert db.execute("SELECT COUNT(*), MIN(is_demo) FROM files").fetchone()[1] == 1
    assert window.demo_banner.isVisible() and "made up" in window.demo_banner.text()
    assert not window.maybe_import_demo()        # not again once the store has files


def test_drop_files_imports_them(window, gen_file, qtbot):
    path = gen_file(n=2)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.importer.finished, timeout=30_000):
        window.dropEvent(ev)
    window.show_files()
    settle_files(qtbot, window.files)
    assert window.files.model.rowCount() == 1


def test_open_files_uses_the_dialog_and_last_folder(window, gen_file, qtbot, monkeypatch, ui_settings):
    path = gen_file(n=1)
    asked = []

    def fake(parent, folder):
        asked.append(folder)
        return [str(path)]

    monkeypatch.setattr(mw_module.dialogs, "ask_open_files", fake)
    with qtbot.waitSignal(window.importer.finished, timeout=30_000):
        window.act_open.trigger()
    assert ui_settings.last_folder() == str(path.parent)


def test_settings_round_trip(flagged_store, db, db_path, ui_settings, qtbot):
    w = MainWindow(db, db_path, settings=ui_settings)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.member_view.side_split.setSizes([300, 700])
    w.queue.view.horizontalHeader().resizeSection(1, 123)
    w.close()
    w2 = MainWindow(db, db_path, settings=ui_settings)
    qtbot.addWidget(w2)
    assert w2.queue.view.horizontalHeader().sectionSize(1) == 123
    assert w2.member_view.side_split.sizes()[0] != 0
    keys = set(ui_settings.s.allKeys())
    assert keys <= {"window/geometry", "window/state", "columns/queue_flags", "columns/files", "paths/last_folder"} \
        | {f"splitters/{n}" for n in ("memberSplitter", "rawHistorySplitter", "duplicatesSplitter", "filesSplitter")}
    w2.close()


def test_shortcuts_are_listed_under_help(window):
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert any("Keyboard shortcuts" in a.text() for a in help_menu.actions())
    listed = " ".join(k for k, _ in SHORTCUTS)
    for key in ("j / k", "Enter", "Esc", "Ctrl+F"):
        assert key in listed
    for action in (window.act_open, window.act_folder, window.act_export, window.act_search, window.act_queue,
                   window.act_files, window.act_by_member, window.act_quit, window.act_shortcuts):
        sc = action.shortcut().toString()
        assert sc and sc in listed, action.text()


def test_export_menu_opens_the_export_dialog(window, monkeypatch):
    import enrollreview.ui.export_dialog as ed

    opened = []
    monkeypatch.setattr(ed, "open_export_dialog", opened.append)
    window.act_export.trigger()
    assert opened == [window]


def test_dark_palette_keeps_words_and_icons(window, qapp):
    from enrollreview.ui import style

    light = style.tone("error")
    old = qapp.palette()
    try:
        qapp.setPalette(style.dark_palette())
        style.clear_icon_cache()
        dark = style.tone("error")
        assert dark.bg != light.bg and dark.bg.lightness() < 128 < light.bg.lightness()
        for sev in ("error", "warning", "info"):
            assert not style.severity_icon(sev).isNull()
            assert style.severity_word(sev) in ("Error", "Warning", "Info")
    finally:
        qapp.setPalette(old)
        style.clear_icon_cache()
