"""The rule tests: each gets a fresh store that imports generated 834 text through the real importer."""

from __future__ import annotations

import pytest

from .helpers import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    yield s
    s.close()
