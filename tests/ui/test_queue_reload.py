"""The queue's query runs in a worker thread (`ui/queue_loader.py`): what a clerk sees stays the same.

Real windows over a real store: the rows after an asynchronous reload are the store's, in the SQL
order; the latest request wins when several are made while one runs; the current row, the selection
and the scroll position are kept by key; the old rows stay until the new ones are swapped in.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QAbstractItemView

from enrollreview import ui_queries as uq
from enrollreview.review import workflow as wf
from enrollreview.ui.queue import QueuePanel
from enrollreview.ui.queue_loader import QueueLoader, QueueQuery, load_queue

from .conftest import add_flag, open_flags, settle


def _all_keys(q) -> list[int]:
    q.model.fetch_all()
    return [q.model.row(i)["key"] for i in range(q.model.rowCount())]


def _selected_keys(q) -> set[int]:
    return {q.model.row(i.row())["key"] for i in q.view.selectionModel().selectedRows()}


def test_an_asynchronous_reload_shows_the_stores_rows_in_order(flagged_store, window, qtbot):
    db, sub = flagged_store["db"], flagged_store["sub"]
    q = window.queue
    before = q.model.total()
    new = add_flag(db, sub, "TEST-NEW", "family", "error", [("INS", None, "INS02")], "Added after the window opened")
    with qtbot.waitSignal(q.reloaded, timeout=10_000):
        window.refresh_all()
        assert q.loading() and q.loader is not None and q.loader.running()   # in the worker thread
        assert q.model.total() == before and new not in q.model.keys()        # the old rows until then
    assert not q.loading()
    assert q.model.total() == before + 1 == open_flags(db)
    assert _all_keys(q) == uq.queue_keys(db, uq.QueueFilter())                # the SQL order, errors first
    assert q.model.row(q.model.row_of_key(new))["message"] == "Added after the window opened"
    assert q.count.text().startswith(f"{before + 1:,} open flags")
    assert window.counts.text().startswith(f"{before + 1:,} open flag")     # the status bar follows

    # sorting from the header goes the same way
    rule = next(i for i, c in enumerate(q.model.columns) if c.key == "rule")
    with qtbot.waitSignal(q.reloaded, timeout=10_000):
        q.view.sortByColumn(rule, Qt.SortOrder.DescendingOrder)
    assert _all_keys(q) == uq.queue_keys(db, uq.QueueFilter(), "rule", descending=True)


def test_a_reload_asked_for_while_one_runs_ends_with_the_latest_filters_rows(flagged_store, window, qtbot):
    db = flagged_store["db"]
    q = window.queue
    settle(qtbot, q)
    swapped = []
    q.model.reloaded.connect(swapped.append)
    # Four requests before the event loop runs again: the first is running (or done, its result on the
    # way) when the others come; only the last may be shown.
    window.refresh_all()
    q.category.setCurrentIndex(q.category.findData("family"))
    q.by_member.setChecked(True)
    q.severity.setCurrentIndex(q.severity.findData("error"))
    want = q.current_filter()
    assert want.mode == "members" and want.category == "family" and want.severity == "error"
    settle(qtbot, q)
    qtbot.wait(50)   # any stale result still queued would arrive now
    assert len(swapped) == 1 and swapped[0].query.filter == want
    assert q.model.filter == want
    assert _all_keys(q) == uq.queue_keys(db, want)
    assert [q.model.columns[0].header, q.model.columns[1].header] == ["Worst", "Member"]
    spouse = flagged_store["spouse"]
    assert spouse in q.model.keys()   # the TEST-DOB error flag is a family flag on the spouse

    # the same for filters typed while a reload for another one runs
    window.refresh_all()
    q.clear_filters()
    q.text.setText("phone")
    qtbot.waitUntil(lambda: q.model.filter.text == "phone" and not q.loading(), timeout=10_000)
    assert q.model.filter.category is None and q.model.filter.mode == "members"
    assert flagged_store["sub"] in _all_keys(q) and _all_keys(q) == uq.queue_keys(db, q.current_filter())


def test_the_loader_delivers_only_the_latest_query(flagged_store, db_path, qtbot):
    loader = QueueLoader(db_path, 256)
    got = []
    loader.loaded.connect(got.append)
    try:
        first = QueueQuery(1, uq.QueueFilter())
        latest = QueueQuery(2, uq.QueueFilter(category="duplicate"), "rule", True)
        loader.request(first)
        loader.request(latest)
        qtbot.waitUntil(lambda: bool(got) and not loader.running(), timeout=10_000)
        qtbot.wait(50)
    finally:
        loader.shutdown()
    assert [r.query for r in got] == [latest]
    expected = load_queue(flagged_store["db"], latest, 256)
    assert got[0].keys == expected.keys and got[0].rows == expected.rows


def test_a_reload_keeps_the_current_row_the_selection_and_the_scroll_position(db, gen_file, window, qtbot):
    from enrollreview.ingest import import_file

    r = import_file(db, gen_file(n=40, seed=3))
    members = [x[0] for x in db.execute("SELECT id FROM members WHERE file_id = ?", [r.file_id])]
    for mid in members[:60]:
        for k in range(4):
            add_flag(db, mid, f"T-{k}", "data_quality", "info", [("INS", None, f"INS0{k + 1}")], "x")
    q = window.queue
    window.show_queue()
    window.refresh_all()
    settle(qtbot, q)
    assert q.model.total() > 200
    q.model.ensure_fetched(140)
    q.view.select_row(120)
    sm = q.view.selectionModel()
    for row in (125, 130):
        sm.select(q.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    q.view.scrollTo(q.model.index(110, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    current, chosen, top = q.current_key(), _selected_keys(q), q.model.row(q.view.rowAt(0))["key"]
    assert len(chosen) == 3 and top == q.model.keys()[110]

    # a new error flag sorts first: every row moves down one, and the clerk's place moves with it
    add_flag(db, members[0], "T-ERR", "family", "error", [("INS", None, "INS02")], "first now")
    window.refresh_all()
    settle(qtbot, q)
    assert uq.queue_keys(db, uq.QueueFilter()).index(current) == 121
    assert q.current_key() == current and q.view.current_row() == 121
    assert _selected_keys(q) == chosen
    assert q.model.row(q.view.rowAt(0))["key"] == top and q.view.rowAt(0) == 111
    assert "2 selected" not in q.count.text() and "3 selected" in q.count.text()

    # the current flag closed elsewhere: the first row, as after a filter change
    wf.review(db, [current], status="closed-no-action")
    window.refresh_all()
    settle(qtbot, q)
    assert current not in q.model.keys() and q.view.current_row() == 0

    # a filter change starts at the top, as before
    q.view.select_row(50)
    q.severity.setCurrentIndex(q.severity.findData("info"))
    settle(qtbot, q)
    assert q.view.current_row() == 0 and q.view.rowAt(0) == 0


def test_the_rows_a_reload_replaces_are_freed_a_slice_at_a_time(db, gen_file, window, qtbot):
    from enrollreview.ingest import import_file

    r = import_file(db, gen_file(n=40, seed=4))
    for mid in [x[0] for x in db.execute("SELECT id FROM members WHERE file_id = ?", [r.file_id])][:70]:
        for k in range(5):
            add_flag(db, mid, f"T-{k}", "data_quality", "info", [("INS", None, f"INS0{k + 1}")], "x")
    q = window.queue
    window.refresh_all()
    settle(qtbot, q)
    q.model.fetch_all()
    old = q.model.rows
    assert len(old) > q.model.BATCH
    window.refresh_all()
    settle(qtbot, q)
    assert q.model.rows is not old and q.model.rowCount() == q.model.BATCH   # the first batch again
    qtbot.waitUntil(lambda: not old, timeout=10_000)   # emptied over later event-loop turns
    assert _all_keys(q) == uq.queue_keys(db, uq.QueueFilter())


def test_the_rows_shown_stay_until_the_new_ones_are_swapped_in(flagged_store, window, qtbot):
    q = window.queue
    settle(qtbot, q)
    shown = q.model.rowCount()
    resets = []
    q.model.modelReset.connect(lambda: resets.append(q.model.rowCount()))
    q.category.setCurrentIndex(q.category.findData("family"))
    assert q.loading() and q.model.rowCount() == shown and q.model.filter.category is None
    q._show_busy()   # what the timer does when the query takes noticeable time
    assert q.count.text().startswith("Updating the queue\u2026")
    settle(qtbot, q)
    family = flagged_store["db"].execute("SELECT COUNT(*) FROM flags WHERE category = 'family'").fetchone()[0]
    assert resets == [family] and family > 0   # one reset, straight to the new rows: no empty queue between
    assert not q.count.text().startswith("Updating")


def test_closing_the_window_stops_a_running_query(flagged_store, window, qtbot):
    q = window.queue
    window.refresh_all()
    assert q.loader.running()
    window.close()
    assert not q.loader.running()


def test_an_in_memory_store_is_queried_at_once(qtbot):
    from enrollreview.store import open_db

    mem = open_db(memory=True)
    panel = QueuePanel(mem)
    qtbot.addWidget(panel)
    assert panel.loader is None
    panel.reload()
    assert not panel.loading() and panel.model.total() == 0
