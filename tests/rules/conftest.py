"""The rule tests: each gets a fresh store that imports generated 834 text through the real importer."""

from __future__ import annotations

import pytest

from enrollreview.rules import history

from .helpers import Store

#: imports whose parser-built history rows were compared with the store's (see history_rows_checked)
CHECKED: list[int] = []


@pytest.fixture(autouse=True)
def history_rows_checked(monkeypatch):
    """Every import in the rule tests also proves that the history rows the parser built for the file
    (parse.history_row) are the rows the history's SQL reads back from the store (_ROWS_SQL)."""
    original = history.prepare

    def prepare(db, rows=None):
        done = original(db, rows)
        for fid, given in (rows or {}).items():
            if given is None or fid not in done:
                continue
            lo, hi = db.execute("SELECT min(id), max(id) FROM members WHERE file_id = ?", [fid]).fetchone()
            had_mw = db.execute("SELECT 1 FROM sqlite_temp_master WHERE name = 'mw'").fetchone()
            stored = history.file_rows(db, fid, lo, hi)
            if not had_mw:   # leave the rules run what the import left it
                db.execute("DROP TABLE temp.mw")
            # (column 13, the person, is not compared: the history has just corrected it in the store)
            assert [tuple(r[:13]) + tuple(r[14:]) for r in stored] == [g[:13] + g[14:] for g in given]
            CHECKED.append(fid)
        return done

    monkeypatch.setattr(history, "prepare", prepare)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    yield s
    s.close()
