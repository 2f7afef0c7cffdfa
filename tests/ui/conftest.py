"""Fixtures for the GUI tests: generated 834 files, a store with flags, an isolated window."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from enrollreview import segpos

# The offscreen platform plugin warns whenever a window's size constraints change; that is the
# plugin's limitation, not ours, so only this exact message is ignored (all other warnings fail).
_OFFSCREEN = r"This plugin does not support propagateSizeHints\(\)"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(_OFFSCREEN))


def rules_available() -> bool:
    """Whether the rules engine (issue 3) is present and complete enough to run."""
    if importlib.util.find_spec("enrollreview.rules.engine") is None:
        return False
    try:
        from enrollreview.rules.engine import rules

        rules()
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True)
def _app(qapp):
    """Every GUI test runs with the QApplication (icons are drawn into pixmaps)."""
    return qapp


@pytest.fixture(autouse=True)
def _rules_or_none(monkeypatch):
    """Real rules when the engine is there; while it is being written, imports run without rules and
    the tests use the flags they insert themselves."""
    if not rules_available():
        import enrollreview.ingest as ingest

        monkeypatch.setattr(ingest, "run_rules_after_import", lambda db, file_id: 0)


@pytest.fixture
def ui_settings(tmp_path):
    from PySide6.QtCore import QSettings

    from enrollreview.ui.settings import UiSettings

    return UiSettings(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))


def make_groups(n: int = 6, seed: int = 11, begin: dt.date = dt.date(2026, 4, 1)) -> list[Any]:
    from enrollreview.x12 import generator as g

    f = g.Factory(seed)
    when = dt.datetime(2026, 3, 2, 6, 0)
    groups = [f.group(begin=begin, submitted=when, roles=["spouse", "child"])]
    groups += [f.group(begin=begin, submitted=when) for _ in range(n - 1)]
    return groups


@pytest.fixture
def gen_file(tmp_path):
    """Write a generated 834 (exchange style) and return its path."""
    from enrollreview.x12 import generator as g

    counter = iter(range(1, 1000))

    def _gen(groups: list[Any] | None = None, *, isa_control: int | None = None, name: str | None = None,
             seed: int = 11, n: int = 6) -> Path:
        k = next(counter)
        text = g.render_file(groups if groups is not None else make_groups(n, seed), isa_control=isa_control or k,
                             file_date=dt.datetime(2026, 3, 2, 6, 0) + dt.timedelta(hours=12 * k))
        p = tmp_path / (name or f"gen{k}.834")
        p.write_text(text, encoding="ascii")
        return p

    return _gen


def ordinal_of(db: Any, member_row: int, seg_id: str, qualifier: str | None = None) -> int:
    raw, segs = db.execute("SELECT raw, segs FROM members WHERE id = ?", [member_row]).fetchone()
    lines = raw.split("\n")
    for line, s in zip(lines, segpos.decode(segs, lines), strict=True):
        p = line.split("*")
        if p[0] == seg_id and (qualifier is None or (len(p) > 1 and p[1] == qualifier)):
            return s[0]
    raise AssertionError(f"member {member_row} has no {seg_id}*{qualifier}")


def add_flag(db: Any, member_row: int, rule: str, category: str, severity: str, refs: list[tuple[str, str | None, str | None]],
             message: str, next_step: str = "", related: list[int] | None = None) -> int:
    """Insert one flag row by SQL (used where the rules engine cannot be relied on for exact spans)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    segments = [{"ordinal": ordinal_of(db, member_row, s, q), "element": el} for s, q, el in refs]
    file_id = db.execute("SELECT file_id FROM members WHERE id = ?", [member_row]).fetchone()[0]
    with db.atomic():
        return db["flags"].insert({
            "fingerprint": f"test:{rule}:{member_row}:{len(segments)}:{refs}", "rule": rule, "category": category,
            "severity": severity, "member_id": member_row, "file_id": file_id, "message": message,
            "next_step": next_step, "segments": json.dumps(segments), "related": json.dumps(related or []),
            "status": "new", "created_at": now, "updated_at": now}).last_pk


@pytest.fixture
def flagged_store(db, gen_file):
    """A store with two imported files and flags: the rules engine's if present, plus known test flags."""
    from enrollreview.ingest import import_file

    p1 = gen_file(n=6, seed=11)
    p2 = gen_file(n=4, seed=12)
    r1 = import_file(db, p1)
    r2 = import_file(db, p2)
    assert r1.ok and r2.ok, (r1.summary(), r2.summary())
    members = [r[0] for r in db.execute("SELECT id FROM members WHERE file_id = ? ORDER BY seq", [r1.file_id])]
    spouse = db.execute("SELECT id FROM members WHERE file_id = ? AND ins02 = '01' ORDER BY seq LIMIT 1",
                        [r1.file_id]).fetchone()[0]
    sub = members[0]
    known = {
        "dob": add_flag(db, spouse, "TEST-DOB", "family", "error",
                        [("DMG", None, "DMG02"), ("INS", None, "INS02")],
                        "Spouse is 10 years old", "Call the subscriber"),
        "phone": add_flag(db, sub, "TEST-PER", "data_quality", "warning", [("PER", None, "PER04")],
                          "Phone looks wrong", "Check the number"),
        "name": add_flag(db, sub, "TEST-NM1", "duplicate", "info", [("NM1", "IL", None)],
                         "Listed twice", "Ask the exchange", related=[members[1]]),
    }
    return {"db": db, "files": [r1.file_id, r2.file_id], "members": members, "spouse": spouse, "sub": sub,
            "flags": known, "paths": [p1, p2]}


@pytest.fixture
def window(qtbot, db, db_path, ui_settings):
    from enrollreview.ui.main_window import MainWindow

    w = MainWindow(db, db_path, settings=ui_settings)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.importer.cancel_and_wait()
    w.close()


def settle(qtbot: Any, queue: Any) -> None:
    """Wait until the queue shows the last query asked for (its keys come from a worker thread)."""
    qtbot.waitUntil(lambda: not queue.loading(), timeout=10_000)


def settle_files(qtbot: Any, files: Any) -> None:
    """Wait until the Files tab shows the last list asked for (read in a worker thread)."""
    qtbot.waitUntil(lambda: not files.loading(), timeout=10_000)


def open_flags(db: Any) -> int:
    from enrollreview.ui_queries import OPEN_SQL

    return db.execute(f"SELECT COUNT(*) FROM flags f WHERE {OPEN_SQL}").fetchone()[0]
