"""Start the desktop app: `run_app(db=path_or_None, demo=bool) -> exit status`."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from ..logsetup import setup_logging
from ..paths import APP_NAME, data_dir, db_path
from ..store import StoreError, open_db
from . import crash, gc_policy, style

log = logging.getLogger("enrollreview.ui")


def demo_db_path() -> Path:
    """--demo keeps its own store beside the real one, so practice never mixes with real members."""
    d = data_dir() / "demo"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d / "enrollreview-demo.sqlite"


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName(APP_NAME)
        QCoreApplication.setApplicationName(APP_NAME)
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
        # The process that creates the QApplication owns the GC policy: collections only in the GUI
        # thread, from a timer, over what was made since start-up (issue 4; see gc_policy).
        gc_policy.install(app)
    assert isinstance(app, QApplication)
    app.setApplicationDisplayName("enrollreview")
    # Matches installer/enrollreview.desktop: the desktop shows that entry's name and icon for the window.
    QGuiApplication.setDesktopFileName(APP_NAME)
    app.setWindowIcon(style.icon("enrollreview"))
    app.setStyleSheet(style.stylesheet())
    return app


def run_app(db: str | os.PathLike[str] | None = None, demo: bool = False) -> int:
    log_path = setup_logging()
    app = make_app()
    crash.install(str(log_path))
    path = demo_db_path() if demo else db_path(db)
    try:
        store = open_db(path)
    except StoreError as e:
        QMessageBox.critical(None, "enrollreview: cannot open the store", str(e))
        return 2
    from .main_window import MainWindow  # after the QApplication exists

    log.info("window opening (demo=%s)", demo)
    win = MainWindow(store, path, demo_mode=demo)
    win.show()
    win.maybe_import_demo()
    try:
        return app.exec()
    finally:
        win.importer.cancel_and_wait()
        store.close()
        log.info("window closed")
