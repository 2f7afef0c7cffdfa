"""Window state in QSettings: geometry, splitters, table columns and the last folder. Nothing else.

Members, flags and everything a clerk records live in SQLite; QSettings only remembers how the
window looked. The INI file sits in the user's config directory (tests redirect XDG_CONFIG_HOME).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QHeaderView, QSplitter

ORG = APP = "enrollreview"


def qsettings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


class UiSettings:
    """Typed access to the few keys enrollreview keeps."""

    def __init__(self, s: QSettings | None = None) -> None:
        self.s = s or qsettings()

    def _bytes(self, key: str) -> QByteArray | None:
        v: Any = self.s.value(key)
        if isinstance(v, QByteArray) and not v.isEmpty():
            return v
        if isinstance(v, (bytes, bytearray)) and v:
            return QByteArray(bytes(v))
        return None

    # window
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.s.setValue("window/geometry", geometry)
        self.s.setValue("window/state", state)

    # splitters and columns
    def save_splitter(self, sp: QSplitter) -> None:
        self.s.setValue(f"splitters/{sp.objectName()}", sp.saveState())

    def restore_splitter(self, sp: QSplitter) -> bool:
        st = self._bytes(f"splitters/{sp.objectName()}")
        return bool(st) and sp.restoreState(st)

    def save_columns(self, name: str, header: QHeaderView) -> None:
        self.s.setValue(f"columns/{name}", header.saveState())

    def restore_columns(self, name: str, header: QHeaderView) -> bool:
        st = self._bytes(f"columns/{name}")
        return bool(st) and header.restoreState(st)

    # last folder
    def last_folder(self) -> str:
        v = self.s.value("paths/last_folder", "")
        return str(v) if v and Path(str(v)).is_dir() else str(Path.home())

    def set_last_folder(self, folder: str | Path) -> None:
        self.s.setValue("paths/last_folder", str(folder))

    def clear_layout(self) -> None:
        for group in ("window", "splitters", "columns"):
            self.s.remove(group)

    def sync(self) -> None:
        self.s.sync()
