"""Large files are imported in a process of their own (issue 4), through the same window signals: the
result, progress, log lines, cancel, a killed process and a locked store, as the clerk sees them."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3

import pytest

from enrollreview.ui import worker

from .test_main_window import snapshot


@pytest.fixture
def in_child(monkeypatch):
    """Every file goes to the import process, and importing in the window's process fails the test."""

    def not_here(*a, **k):
        raise AssertionError("imported in the window's process")

    monkeypatch.setattr(worker, "OWN_PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(worker, "import_file", not_here)


@pytest.fixture
def log_lines():
    lines: list[tuple[str, str]] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append((record.name, record.getMessage()))

    h = Keep()
    root = logging.getLogger("enrollreview")
    old = root.level
    root.setLevel(logging.INFO)
    root.addHandler(h)
    yield lines
    root.removeHandler(h)
    root.setLevel(old)


def test_a_large_file_is_imported_in_its_own_process(in_child, window, gen_file, qtbot, db, tmp_path, log_lines):
    from enrollreview.ingest import import_file
    from enrollreview.store import open_db

    path = gen_file(n=8, seed=21)
    progressed = []
    window.importer.progressed.connect(progressed.append)
    with qtbot.waitSignal(window.importer.finished, timeout=60_000) as blocker:
        assert window.import_paths([path])
    [res] = blocker.args[0]
    assert res.status == "imported" and res.members > 0
    assert db.execute("SELECT COUNT(*) FROM members").fetchone()[0] == res.members
    # the same as an import in this process
    other = open_db(tmp_path / "other.sqlite")
    try:
        here = import_file(other, path)
    finally:
        other.close()
    assert (res.members, res.segments, res.transactions, res.findings, res.flags) == \
        (here.members, here.segments, here.transactions, here.findings, here.flags)
    assert progressed and progressed[-1].fraction == pytest.approx(1.0)
    assert "Imported 1 file" in window.statusBar().currentMessage()
    # the child's log line reaches this process's log (ids and counts only)
    assert any(name == "enrollreview.ingest" and f"file {res.file_id} imported" in text for name, text in log_lines)
    assert window.importer.process_id() is None


def test_a_batch_is_imported_by_one_process(in_child, window, gen_file, qtbot, db):
    paths = [gen_file(n=3, seed=31), gen_file(n=4, seed=32)]
    pids, done = set(), []

    def seen(_p):
        pid = window.importer.process_id()   # None once the process has ended (late progress signals)
        if pid is not None:
            pids.add(pid)

    window.importer.progressed.connect(seen)
    window.importer.fileDone.connect(done.append)
    with qtbot.waitSignal(window.importer.finished, timeout=60_000) as blocker:
        assert window.import_paths(paths)
    assert [r.status for r in blocker.args[0]] == ["imported", "imported"]
    assert [r.name for r in done] == [p.name for p in paths]
    assert len(pids) == 1 and os.getpid() not in pids
    assert db.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 2


def test_cancel_in_the_import_process_leaves_the_store_unchanged(in_child, flagged_store, window, qtbot, db_path,
                                                                 tmp_path):
    from enrollreview.x12.generator import write_benchmark_file

    big = tmp_path / "big.834"
    write_benchmark_file(big, 3000, seed=4)
    before = snapshot(db_path)
    pids = []

    def cancel_on_first(_p):
        if not pids:
            pids.append(window.importer.process_id())
            window.progress.cancel.click()

    window.importer.progressed.connect(cancel_on_first)
    with qtbot.waitSignal(window.importer.finished, timeout=60_000) as blocker:
        window.import_paths([big])
    assert [r.status for r in blocker.args[0]] == ["cancelled"]
    assert pids[0] not in (None, os.getpid())
    assert snapshot(db_path) == before
    assert "cancelled" in window.statusBar().currentMessage()


def test_a_killed_import_process_goes_to_the_crash_dialog_and_changes_nothing(in_child, flagged_store, window, qtbot,
                                                                              db_path, tmp_path, monkeypatch):
    from enrollreview.ui import crash
    from enrollreview.x12.generator import write_benchmark_file

    shown = []
    monkeypatch.setattr(crash, "show_crash_dialog", lambda parent, details, log_path="": shown.append(details))
    monkeypatch.setattr(crash, "_router", None)
    crash.install("")
    big = tmp_path / "big.834"
    write_benchmark_file(big, 3000, seed=6)
    before = snapshot(db_path)
    killed = []

    def kill_on_first(_p):
        pid = window.importer.process_id()
        if not killed and pid:
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    window.importer.progressed.connect(kill_on_first)
    with qtbot.waitSignal(window.importer.finished, timeout=60_000) as blocker:
        window.import_paths([big])
    assert killed and blocker.args[0] == []
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "ended unexpectedly" in shown[0] and "Nothing was changed" in shown[0]
    assert snapshot(db_path) == before
    assert not window.progress.isVisible()


def test_a_locked_store_is_an_expected_problem_in_the_import_process(in_child, window, gen_file, qtbot, db_path,
                                                                    log_lines):
    """Another program holds the store's write lock: the import process reports it, the window says it in
    plain words, nothing is changed."""
    path = gen_file(n=2)
    other = sqlite3.connect(str(db_path))
    other.execute("BEGIN IMMEDIATE")
    try:
        with qtbot.waitSignal(window.importer.problem, timeout=60_000) as blocker:
            window.import_paths([path])
        assert "busy" in blocker.args[0] and "Nothing was changed" in blocker.args[0]
        assert ("enrollreview.ui", "import stopped: StoreError") in log_lines   # as relayed from the child
        qtbot.waitUntil(lambda: not window.importer.running(), timeout=30_000)
    finally:
        other.rollback()
        other.close()
    assert sqlite3.connect(str(db_path)).execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0
