"""The one place that decides where enrollreview keeps its data.

Order of precedence: an explicit path (the `--db PATH` option), then the ENROLLREVIEW_DB
environment variable, then the user data directory (platformdirs). Tests set ENROLLREVIEW_HOME or
pass explicit paths, so they never touch a real clerk's store.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "enrollreview"
ENV_DB = "ENROLLREVIEW_DB"
ENV_HOME = "ENROLLREVIEW_HOME"


def data_dir() -> Path:
    home = os.environ.get(ENV_HOME)
    d = Path(home) if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def log_dir() -> Path:
    d = data_dir() / "logs"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env)
    return data_dir() / "enrollreview.sqlite"


def resources_dir() -> Path:
    """Bundled resources (demo files, icons, stylesheet): source checkout, installed wheel or frozen build."""
    import sys

    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    here = Path(__file__).resolve().parent
    packaged = here / "_resources"
    if packaged.is_dir():
        return packaged
    return here.parent / "resources"


def demo_dir() -> Path:
    return resources_dir() / "demo"
