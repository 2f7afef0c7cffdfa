"""The Qt half of `enrollreview --self-check` (issue 7; called from enrollreview/selfcheck.py).

Proves that the Qt libraries, the platform and image-format plugins and the GUI modules are all
there (the things a frozen build can silently lose): it makes the application object on the
offscreen platform, renders the application icon from SVG, and opens and closes the main window on
the self-check's temporary store, with window settings kept in the same temporary directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REQUIRED_IMAGE_FORMATS = ("png", "svg", "ico")


def check(db_path: Path, home: Path) -> str:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # never a window on screen; no display needed
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def on_message(kind: QtMsgType, _context: object, message: str) -> None:
        if "propagateSizeHints" in message:  # the offscreen platform's notice, not a problem
            return
        if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            problems.append(message)
        print(f"Qt: {message}", file=sys.stderr)

    problems: list[str] = []
    previous = qInstallMessageHandler(on_message)
    try:
        result = _check(db_path, home)
    finally:
        qInstallMessageHandler(previous)
    if problems:
        raise RuntimeError(f"Qt reported: {problems[0]}")
    return result


def _check(db_path: Path, home: Path) -> str:
    from PySide6.QtCore import QSettings, qVersion
    from PySide6.QtGui import QIcon, QImageReader

    from ..paths import resources_dir
    from ..store import open_db
    from .app import make_app

    app = make_app([sys.argv[0] if sys.argv else "enrollreview"])
    formats = {bytes(f.data()).decode("ascii", "replace").lower() for f in QImageReader.supportedImageFormats()}
    missing = [f for f in REQUIRED_IMAGE_FORMATS if f not in formats]
    if missing:
        raise RuntimeError(f"Qt image format plugins missing: {', '.join(missing)}")
    icon = QIcon(str(resources_dir() / "icons" / "enrollreview.svg"))
    if icon.pixmap(64, 64).isNull():
        raise RuntimeError("the application icon does not render")

    from .main_window import MainWindow
    from .settings import UiSettings

    db = open_db(db_path)
    settings = UiSettings(QSettings(str(home / "ui-settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(db, db_path, settings=settings)
    try:
        win.show()
        app.processEvents()
        if not win.isVisible():
            raise RuntimeError("the main window did not open")
    finally:
        win.close()
        importer = getattr(win, "importer", None)
        if importer is not None and hasattr(importer, "cancel_and_wait"):
            importer.cancel_and_wait()
        app.processEvents()
        win.deleteLater()
        app.processEvents()
        db.close()
    return f"Qt {qVersion()} ({app.platformName()}): main window opened and closed"
