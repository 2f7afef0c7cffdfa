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
