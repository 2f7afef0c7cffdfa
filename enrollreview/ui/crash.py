"""One crash dialog for every unexpected error: sys.excepthook, threading.excepthook, worker crashes.

Expected problems (a rejected file, a locked store) never come here: they are status-bar messages.
The log gets the traceback frames and the exception type, not the exception text, which may quote
member data (names, ids); the dialog shows everything to the clerk, who may see it anyway.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, QtMsgType, Signal, Slot, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger("enrollreview.ui")
qtlog = logging.getLogger("enrollreview.qt")


def scrub(tb_text: str) -> str:
    """The traceback without its last line's message (which may contain member data)."""
    lines = tb_text.rstrip("\n").split("\n")
    if lines and ":" in lines[-1] and not lines[-1].startswith(" "):
        lines[-1] = lines[-1].split(":", 1)[0] + ": (message withheld from the log)"
    return "\n".join(lines)


class CrashDialog(QDialog):
    def __init__(self, details: str, log_path: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("enrollreview: something went wrong")
        where = f" The details were written to the log file:\n{log_path}" if log_path else ""
        text = QLabel("Something went wrong inside enrollreview. This is a bug, not a problem with your file.\n"
                      "Your data is safe: every import is all-or-nothing, and nothing half-written is kept."
                      + where + "\n\nPlease send the details below to whoever looks after enrollreview.")
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setMinimumHeight(160)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self._copy)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.addWidget(text)
        lay.addWidget(self.details, 1)
        lay.addWidget(buttons)
        self.resize(640, 420)

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())


def show_crash_dialog(parent: QWidget | None, details: str, log_path: str = "") -> None:
    """Tests monkeypatch this."""
    CrashDialog(details, log_path, parent).exec()


class _Router(QObject):
    """Moves crash reports from any thread to the GUI thread."""

    report = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.log_path = ""
        self.parent_widget: QWidget | None = None
        self._showing = False
        self.report.connect(self.show)

    @Slot(str)
    def show(self, details: str) -> None:
        if self._showing:   # one dialog at a time; later reports are in the log
            return
        self._showing = True
        try:
            show_crash_dialog(self.parent_widget, details, self.log_path)
        finally:
            self._showing = False


_router: _Router | None = None


def report_crash(details: str) -> None:
    """Log a traceback text and show the crash dialog (from any thread)."""
    log.error("unexpected error:\n%s", scrub(details))
    if _router is not None:
        _router.report.emit(details)


def _excepthook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(etype, KeyboardInterrupt):
        QApplication.quit()
        return
    report_crash("".join(traceback.format_exception(etype, value, tb)))


def _thread_excepthook(args: Any) -> None:
    if args.exc_type is SystemExit:
        return
    report_crash("".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)))


def _qt_messages(mode: QtMsgType, context: Any, message: str) -> None:
    level = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
             QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
             QtMsgType.QtFatalMsg: logging.CRITICAL}.get(mode, logging.WARNING)
    qtlog.log(level, "%s", message)


def install(log_path: str = "", parent: QWidget | None = None) -> None:
    """Install the hooks once (run_app calls this; tests leave pytest-qt's own hooks in place)."""
    global _router
    if _router is None:
        _router = _Router()
    _router.log_path = log_path
    _router.parent_widget = parent
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    qInstallMessageHandler(_qt_messages)


def set_parent(widget: QWidget | None) -> None:
    if _router is not None:
        _router.parent_widget = widget
