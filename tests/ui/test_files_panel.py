"""The Files tab's overview and the status bar's open-flag count are read in worker threads
(`ui/read_loader.py`): what a clerk sees is the store's, and stays until the new figures are swapped in.

Real windows over a real store: after an import that ends while the Files tab is showing, its rows,
bars and summary line are the store's; when a reload is asked for while one runs, only the latest is
shown; the count of open flags under a filtered queue follows the store.
"""

from __future__ import annotations

from enrollreview import ui_queries as uq
from enrollreview.ingest import import_file
from enrollreview.ui.files_panel import READING_TEXT, FilesPanel
from enrollreview.ui.read_loader import ReadLoader, Request, whole

from .conftest import add_flag, open_flags, settle, settle_files


def _expected(db) -> dict:
    """The figures a clerk must see, counted by plain SQL over the store."""
    files = db.execute("SELECT id, name, status, member_count FROM files "
                       "ORDER BY COALESCE(received_at, imported_at), id").fetchall()
    flagged = dict(db.execute(
        f"SELECT f.file_id, COUNT(DISTINCT f.member_id) FROM flags f WHERE {uq.OPEN_SQL} "
        "AND f.severity IN ('error', 'warning') AND f.member_id IS NOT NULL GROUP BY f.file_id").fetchall())
    open_per_file = dict(db.execute(
        f"SELECT f.file_id, COUNT(*) FROM flags f WHERE {uq.OPEN_SQL} GROUP BY f.file_id").fetchall())
    imported = [f for f in files if f[2] == "imported"]
    members = sum(f[3] for f in imported)
    flagged_total = sum(flagged.get(f[0], 0) for f in imported)
    intro = (f"{len(files)} files received: {len(imported)} imported, {len(files) - len(imported)} rejected. "
             f"{members:,} members, {flagged_total:,} with an open error or warning "
             f"(overall error rate {flagged_total / members * 100:.1f}%).")
    bars = [(f[1], f[3], flagged.get(f[0], 0)) for f in imported]
    return {"ids": [f[0] for f in files], "intro": intro, "bars": bars,
            "flags": [open_per_file.get(f[0], 0) for f in files]}


def _shown(panel: FilesPanel) -> dict:
    rows = [panel.model.row(i) for i in range(panel.model.rowCount())]
    return {"ids": [r["id"] for r in rows], "flags": [r["flags"] for r in rows],
            "bars": [(r["label"], r["members"], r["flagged_members"]) for r in panel.rate_model.rows]}


def test_the_files_tab_shows_the_stores_figures_after_an_import_that_ends_while_it_is_showing(
        flagged_store, window, gen_file, qtbot):
    db = flagged_store["db"]
    files = window.files
    window.show_files()
    settle_files(qtbot, files)
    before = _expected(db)
    assert _shown(files)["ids"] == before["ids"] and files.intro.text().startswith(before["intro"])

    at_refresh = []   # what the tab showed as the import's end-of-import refresh returned
    resets = []       # rows of the files table at each model reset

    def after_refresh(_results) -> None:   # connected after the window's own slot: runs once it returned
        at_refresh.append((files.loading(), files.loader.running(), _shown(files), files.intro.text()))

    window.importer.finished.connect(after_refresh)
    files.model.modelReset.connect(lambda: resets.append(files.model.rowCount()))
    with qtbot.waitSignal(files.reloaded, timeout=60_000):
        assert window.import_paths([gen_file(n=5, seed=13)])
    # the overview was asked of the loader's thread; until it came, the old figures stayed on screen
    (loading, running, shown, intro), = at_refresh
    assert loading and running
    assert shown == {k: before[k] for k in ("ids", "flags", "bars")} and intro.startswith(before["intro"])
    assert resets == [3]                  # one swap, straight to the new list: never an empty table

    after = _expected(db)
    assert len(after["ids"]) == 3
    assert _shown(files) == {k: after[k] for k in ("ids", "flags", "bars")}
    assert files.intro.text().startswith(after["intro"])
    assert files.view.current_row() == 2                      # the newest file is selected, as before
    assert files.detail.text().startswith(db.execute("SELECT name FROM files ORDER BY id DESC").fetchone()[0])
    files.per_month.setChecked(True)                          # the chart by month: the same figures
    assert [(r["members"], r["flagged_members"]) for r in files.rate_model.rows] == \
        [(m["members"], m["flagged_members"]) for m in uq.error_rate_by_month(uq.files_overview(db))]


def test_a_files_reload_asked_for_while_one_runs_ends_with_the_latest_data(flagged_store, window, gen_file,
                                                                           qtbot):
    db = flagged_store["db"]
    files = window.files
    window.show_files()
    settle_files(qtbot, files)
    swaps = []
    files.reloaded.connect(lambda: swaps.append(_shown(files)))
    window.refresh_all()                      # the first read runs (or has run) on the store as it was...
    assert files.loading() and files.loader.running()
    r = import_file(db, gen_file(n=3, seed=14))   # ...then the store changes, and a second read is asked for
    member = db.execute("SELECT id FROM members WHERE file_id = ? ORDER BY seq LIMIT 1", [r.file_id]).fetchone()[0]
    add_flag(db, member, "TEST-LATE", "family", "error", [("INS", None, "INS02")], "Added during the read")
    window.refresh_all()
    settle_files(qtbot, files)
    qtbot.wait(50)                            # a stale result still queued would arrive now
    latest = _expected(db)
    assert swaps == [{k: latest[k] for k in ("ids", "flags", "bars")}]   # only the latest read was shown
    assert files.intro.text().startswith(latest["intro"])
    assert not files.loader.running()


def test_the_loader_delivers_only_the_latest_files_overview(flagged_store, db_path, gen_file, qtbot):
    db = flagged_store["db"]
    loader = ReadLoader(db_path, whole(uq.files_overview), "files overview", "testFilesLoader")
    got = []
    loader.loaded.connect(got.append)
    try:
        loader.request(Request(1))
        import_file(db, gen_file(n=2, seed=15))
        loader.request(Request(2))
        qtbot.waitUntil(lambda: bool(got) and not loader.running(), timeout=10_000)
        qtbot.wait(50)
    finally:
        loader.shutdown()
    assert [r.request for r in got] == [Request(2)]
    assert got[0].value == uq.files_overview(db) and len(got[0].value) == 3


def test_a_file_level_flag_selects_its_file_once_the_list_is_shown(flagged_store, window, qtbot):
    first = flagged_store["files"][0]
    window.open_queue_row({"file_id": first, "message": "Envelope problem"})
    assert window.tabs.currentWidget() is window.files and window.files.loading()
    settle_files(qtbot, window.files)
    assert window.files.model.row(window.files.view.current_row())["id"] == first
    assert "concerns the whole file" in window.statusBar().currentMessage()


def test_the_first_list_says_it_is_being_read(flagged_store, window, qtbot):
    window.show_files()
    assert window.files.intro.text() == READING_TEXT and window.files.model.rowCount() == 0
    settle_files(qtbot, window.files)
    assert window.files.intro.text().startswith("2 files received")


def test_the_open_flag_count_of_a_filtered_queue_is_counted_in_a_worker_thread(flagged_store, window, qtbot):
    db, sub = flagged_store["db"], flagged_store["sub"]
    q = window.queue
    q.severity.setCurrentIndex(q.severity.findData("error"))
    settle(qtbot, q)
    qtbot.waitUntil(lambda: not window.counts_loading(), timeout=10_000)
    before = open_flags(db)
    assert window.counts.text().startswith(f"{before:,} open flag")
    add_flag(db, sub, "TEST-CNT", "data_quality", "info", [("INS", None, "INS03")], "Counted later")
    window.refresh_all()
    assert window.counts_loading()                                   # not counted in the GUI thread
    assert window.counts.text().startswith(f"{before:,} open flag")  # the old count until then
    qtbot.waitUntil(lambda: not window.counts_loading(), timeout=10_000)
    assert window.counts.text().startswith(f"{before + 1:,} open flag")
    assert q.model.total() != before + 1                             # not the filtered queue's total


def test_closing_the_window_stops_a_running_read(flagged_store, window, qtbot):
    window.show_files()
    settle_files(qtbot, window.files)
    window.refresh_all()
    assert window.files.loader.running()
    window.close()
    assert not window.files.loader.running()


def test_an_in_memory_store_is_read_at_once(qtbot):
    from enrollreview.store import open_db

    panel = FilesPanel(open_db(memory=True))
    qtbot.addWidget(panel)
    assert panel.loader is None
    panel.reload()
    assert not panel.loading() and panel.intro.text().startswith("0 files received")
