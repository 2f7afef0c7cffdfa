"""The GUI entry on a machine without a display explains how to proceed instead of failing in Qt."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT


def test_no_display_prints_how_to_proceed():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "enrollreview", "gui", "--demo"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3
    assert "no display found" in r.stderr and "xvfb-run" in r.stderr and "--help" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_db_option_works_before_and_after_the_command(tmp_path, corpus):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    f = corpus / "lfh-x12__add-subscriber-coverage.834"
    for args, store in ((["--db", str(a), "import", str(f)], a), (["import", "--db", str(b), str(f)], b)):
        r = subprocess.run([sys.executable, "-m", "enrollreview", *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert store.exists()
        r = subprocess.run([sys.executable, "-m", "enrollreview", "files", "--db", str(store), "--format", "json"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert '"lfh-x12__add-subscriber-coverage.834"' in r.stdout
