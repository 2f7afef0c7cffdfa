"""Version information for Help > About and `--self-check` (issue 7). No Qt is imported here.

`version_info()` returns a flat dict of strings. The build date comes from `build_info.json`, which
the PyInstaller spec writes at build time into the bundle's resources; a source checkout or an
installed wheel has no such file and says so instead. The Qt entries are present only when PySide6
can be imported; the Qt runtime version is asked of QtCore only when the GUI has already loaded it,
so calling this from the command line never loads Qt.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import sqlite3
import sys
from typing import Any

from . import __version__, accel
from .paths import resources_dir

BUILD_INFO = "build_info.json"

#: keys of version_info(), in display order, with their labels
LABELS = {
    "version": "enrollreview",
    "build": "Build",
    "commit": "Commit",
    "python": "Python",
    "pyx12": "pyx12",
    "sqlite-utils": "sqlite-utils",
    "sqlite": "SQLite",
    "parser": "834 parser",
    "qt": "Qt",
    "pyside6": "PySide6",
}


def build_info() -> dict[str, Any]:
    """What the build recorded (empty when this is not a built bundle)."""
    try:
        data = json.loads((resources_dir() / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def install_kind() -> str:
    """'frozen' (installer build), 'wheel' (pip-installed package) or 'source checkout'."""
    if getattr(sys, "frozen", False) or getattr(sys, "_MEIPASS", None):
        return "frozen"
    return "wheel" if resources_dir().name == "_resources" else "source checkout"


def _dist_version(dist: str, module: str | None = None) -> str:
    if module:
        mod = sys.modules.get(module)
        if mod is None and importlib.util.find_spec(module) is not None:
            mod = importlib.import_module(module)
        v = getattr(mod, "__version__", None)
        if v:
            return str(v)
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _qt_versions() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        if importlib.util.find_spec("PySide6") is None:
            return out
    except (ImportError, ValueError):
        return out
    qtcore = sys.modules.get("PySide6.QtCore")
    pyside = sys.modules.get("PySide6")
    if qtcore is not None:  # the GUI is running: ask the Qt library itself
        out["qt"] = str(qtcore.qVersion())
    if pyside is not None and getattr(pyside, "__version__", None):
        out["pyside6"] = str(pyside.__version__)
    else:
        for dist in ("PySide6-Essentials", "PySide6"):
            try:
                out["pyside6"] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def version_info() -> dict[str, str]:
    """enrollreview, build, Python, pyx12, sqlite-utils and SQLite versions, whether the 834 parser is
    compiled; Qt and PySide6 when present."""
    bi = build_info()
    kind = install_kind()
    if bi.get("built_at"):
        build = f"{bi['built_at']} on {bi.get('platform', 'an unknown platform')}"
    elif kind == "frozen":
        build = "unknown (no build record in the bundle)"
    else:
        build = kind
    info = {
        "version": __version__,
        "build": build,
        "python": platform.python_version(),
        "pyx12": _dist_version("pyx12", "pyx12"),
        "sqlite-utils": _dist_version("sqlite-utils"),
        "sqlite": sqlite3.sqlite_version,
        "parser": accel.describe(),
    }
    if bi.get("commit"):
        info["commit"] = str(bi["commit"])
    info.update(_qt_versions())
    return {k: info[k] for k in LABELS if k in info}


def version_text(info: dict[str, str] | None = None) -> str:
    """The same as lines of 'Label: value', for a dialog or a terminal."""
    info = version_info() if info is None else info
    return "\n".join(f"{LABELS.get(k, k)}: {v}" for k, v in info.items())
