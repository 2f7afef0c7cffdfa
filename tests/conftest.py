"""Shared fixtures: every test gets its own data directory and store; the real one is never touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ENROLLREVIEW_HOME", str(home))
    monkeypatch.delenv("ENROLLREVIEW_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    yield home


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "store.sqlite"


@pytest.fixture
def db(db_path):
    from enrollreview.store import open_db

    d = open_db(db_path)
    yield d
    d.close()


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}")
    return CORPUS


@pytest.fixture
def scene(db, tmp_path):
    """The export tests' store: known flags, review state and a correction (tests/test_export_support.py)."""
    from tests.test_export_support import build_scene

    return build_scene(db, tmp_path)


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix not in (".997", ".md"))


@pytest.fixture
def write_file(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""
    counter = iter(range(10_000))

    def _write(content: str | bytes, name: str | None = None) -> Path:
        p = tmp_path / (name or f"file{next(counter)}.834")
        if isinstance(content, str):
            p.write_bytes(content.encode("latin-1"))
        else:
            p.write_bytes(content)
        return p

    return _write


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
