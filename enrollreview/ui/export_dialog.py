"""File > Export: choose a list, its filters, a format and a file; the export runs in a worker thread
with its own database connection, with progress and Cancel, so the window never freezes.

Hook: MainWindow.open_export calls `open_export_dialog(window)` (window.db, window.db_path).
"""

from __future__ import annotations

import logging
import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QObject, QSettings, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from ..export import Cancelled, ExportError, Filters, export
from ..export.lists import (
    CALLBACK_DEFAULT_STATUSES,
    CATEGORIES,
    CATEGORY_LABELS,
    FOLLOWUP_DEFAULT_STATUSES,
    SEVERITIES,
)
from ..review import statuses as st
from ..review.audit import os_user

log = logging.getLogger("enrollreview.ui")

KIND_LABELS = {"callbacks": "Call-back list", "followups": "Follow-up list for the exchange",
               "summary": "Summary of flags per file"}
FORMAT_LABELS = {"xlsx": "Excel workbook (.xlsx)", "csv": "CSV, UTF-8 (.csv)",
                 "pdf": "PDF for printing (.pdf)"}
DEFAULT_STATUSES = {"callbacks": CALLBACK_DEFAULT_STATUSES, "followups": FOLLOWUP_DEFAULT_STATUSES,
                    "summary": []}


class ExportWorker(QObject):
    """Runs one export on its own connection. Lives in a worker thread; talks only through signals."""

    progressed = Signal(int, int)
    finished = Signal(str, int)      # path, rows
    failed = Signal(str)             # one line for the clerk
    cancelled = Signal()

    def __init__(self, db_path: str, kind: str, fmt: str, out: str, filters: Filters, show_ssn: bool) -> None:
        super().__init__()
        self.db_path, self.kind, self.fmt, self.out = db_path, kind, fmt, out
        self.filters, self.show_ssn = filters, show_ssn
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        from ..store import StoreError, open_db

        db = None
        try:
            db = open_db(self.db_path)
            r = export(db, self.kind, self.fmt, self.out, filters=self.filters, show_ssn=self.show_ssn,
                       progress=self._progress, cancel=self._stop.is_set)
            self.finished.emit(str(r.path), r.rows)
        except Cancelled:
            self.cancelled.emit()
        except (ExportError, StoreError) as e:
            self.failed.emit(str(e))
        except OSError as e:
            self.failed.emit(f"Cannot write {self.out}: {e.strerror or e}")
        except Exception as e:  # a bug: one line for the clerk, details to the log
            log.error("export failed: %s", traceback.format_exc())
            self.failed.emit(f"The export failed ({type(e).__name__}); details are in the log file.")
        finally:
            if db is not None:
                db.close()

    def _progress(self, done: int, total: int) -> None:
        self.progressed.emit(done, total)


class ExportDialog(QDialog):
    exported = Signal(str, int)      # path, rows (in the GUI thread)
    ended = Signal(str)              # 'exported', 'failed' or 'cancelled' (in the GUI thread)

    def __init__(self, db: Database, db_path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.db = db
        self.db_path = str(db_path)
        self.thread: QThread | None = None
        self.worker: ExportWorker | None = None
        self.result_path: str | None = None
        self.result_rows: int | None = None
        self.error: str | None = None

        self.kind = QComboBox()
        for k, text in KIND_LABELS.items():
            self.kind.addItem(text, k)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.fmt = QComboBox()
        for k, text in FORMAT_LABELS.items():
            self.fmt.addItem(text, k)
        self.fmt.currentIndexChanged.connect(self._on_format)
        self.path = QLineEdit()
        self.path.setAccessibleName("File")
        self.browse = QPushButton("Choose\u2026")
        self.browse.clicked.connect(self.choose_path)
        prow = QHBoxLayout()
        prow.addWidget(self.path, 1)
        prow.addWidget(self.browse)

        self.statuses = QListWidget()
        self.statuses.setAccessibleName("Statuses")
        self.statuses.setMaximumHeight(130)
        for s in st.STATUSES:
            it = QListWidgetItem(st.label(s))
            it.setData(Qt.ItemDataRole.UserRole, s)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Unchecked)
            self.statuses.addItem(it)
        self.category = QComboBox()
        self.category.addItem("Any category", None)
        for c in CATEGORIES:
            self.category.addItem(CATEGORY_LABELS[c], c)
        self.severity = QComboBox()
        self.severity.addItem("Any severity", None)
        for s in SEVERITIES:
            self.severity.addItem(s.capitalize(), s)
        self.file = QComboBox()
        self.file.addItem("All files", None)
        for fid, name in db.execute("SELECT id, name FROM files WHERE status = 'imported' ORDER BY id DESC"):
            self.file.addItem(name, fid)
        self.from_on = QCheckBox("From")
        self.date_from = QDateEdit(QDate.currentDate().addMonths(-1))
        self.to_on = QCheckBox("to")
        self.date_to = QDateEdit(QDate.currentDate())
        for d, on in ((self.date_from, self.from_on), (self.date_to, self.to_on)):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setEnabled(False)
            on.toggled.connect(d.setEnabled)
        drow = QHBoxLayout()
        for w in (self.from_on, self.date_from, self.to_on, self.date_to):
            drow.addWidget(w)
        drow.addStretch(1)
        self.clerk = QComboBox()
        self.clerk.setEditable(True)
        self.clerk.addItem("Anyone", None)
        self.clerk.addItem(f"Me ({os_user()})", os_user())
        self.clerk.addItem("Nobody (unassigned)", "")
        for (who,) in db.execute("SELECT DISTINCT assigned_to FROM flags WHERE assigned_to IS NOT NULL "
                                 "ORDER BY assigned_to"):
            if who != os_user():
                self.clerk.addItem(who, who)
        self.include_resolved = QCheckBox("Include flags a later file resolved")
        self.show_ssn = QCheckBox("Write full SSNs (recorded in the audit trail)")

        form = QFormLayout()
        form.addRow("List", self.kind)
        form.addRow("Format", self.fmt)
        form.addRow("File", prow)
        form.addRow("Status", self.statuses)
        form.addRow("Category", self.category)
        form.addRow("Severity", self.severity)
        form.addRow("From file", self.file)
        form.addRow("Flag raised", drow)
        form.addRow("Assigned to", self.clerk)
        form.addRow("", self.include_resolved)
        form.addRow("", self.show_ssn)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.hide()
        self.message = QLabel()
        self.message.setObjectName("exportMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_btn = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_btn = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel_or_close)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QLabel("SSNs are masked (***-**-1234) unless you tick the box above. The file is "
                             "readable by you only; every export is recorded in the audit trail."))
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self._on_kind()

    # -- choices -------------------------------------------------------------------------------
    def _folder(self) -> str:
        return str(QSettings().value("export/folder", str(Path.home())))

    @Slot()
    def _on_kind(self, *_: Any) -> None:
        kind = self.kind.currentData()
        wanted = set(DEFAULT_STATUSES[kind])
        for i in range(self.statuses.count()):
            it = self.statuses.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.data(Qt.ItemDataRole.UserRole) in wanted
                             else Qt.CheckState.Unchecked)
        pdf = self.fmt.findData("pdf")
        self.fmt.model().item(pdf).setEnabled(kind == "callbacks")  # type: ignore[attr-defined]
        if kind != "callbacks" and self.fmt.currentData() == "pdf":
            self.fmt.setCurrentIndex(self.fmt.findData("xlsx"))
        self._suggest_path()

    @Slot()
    def _on_format(self, *_: Any) -> None:
        self._suggest_path()

    def _suggest_path(self) -> None:
        kind, fmt = self.kind.currentData(), self.fmt.currentData()
        current = self.path.text().strip()
        folder = str(Path(current).parent) if current else self._folder()
        from datetime import date

        self.path.setText(str(Path(folder) / f"{kind}-{date.today().isoformat()}.{fmt}"))

    @Slot()
    def choose_path(self) -> None:
        fmt = self.fmt.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(),
                                              f"{FORMAT_LABELS[fmt]} (*.{fmt})")
        if path:
            if not path.lower().endswith("." + fmt):
                path += "." + fmt
            self.path.setText(path)

    def filters(self) -> Filters:
        statuses = [self.statuses.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.statuses.count())
                    if self.statuses.item(i).checkState() == Qt.CheckState.Checked]
        cat, sev, fid = self.category.currentData(), self.severity.currentData(), self.file.currentData()
        typed = self.clerk.currentText().strip()
        i = self.clerk.findText(typed)
        clerk = self.clerk.itemData(i) if i >= 0 else (typed or None)  # a listed choice, or a typed account
        return Filters(statuses=statuses, categories=[cat] if cat else [], severities=[sev] if sev else [],
                       file_ids=[fid] if fid is not None else [],
                       date_from=(self.date_from.date().toString("yyyy-MM-dd") if self.from_on.isChecked()
                                  else None),
                       date_to=self.date_to.date().toString("yyyy-MM-dd") if self.to_on.isChecked() else None,
                       clerk=clerk, include_resolved=self.include_resolved.isChecked())

    # -- running -------------------------------------------------------------------------------
    def running(self) -> bool:
        return self.thread is not None

    @Slot()
    def start(self) -> bool:
        if self.running():
            return False
        out = self.path.text().strip()
        if not out:
            self.message.setText("\u26a0 Choose a file to write.")
            return False
        self.result_path = self.result_rows = self.error = None
        self.worker = ExportWorker(self.db_path, self.kind.currentData(), self.fmt.currentData(), out,
                                   self.filters(), self.show_ssn.isChecked())
        self.thread = QThread(self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.progress.setValue(0)
        self.progress.show()
        self.message.setText("Exporting\u2026")
        self.export_btn.setEnabled(False)
        self.cancel_btn.setText("Cancel")
        self.thread.start()
        return True

    @Slot()
    def cancel_or_close(self) -> None:
        if self.worker is not None:
            self.message.setText("Cancelling\u2026")
            self.worker.stop()
        else:
            self.reject()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setValue(int(100 * done / total) if total else 100)
        self.message.setText(f"Exporting\u2026 {done:,} of {total:,} rows")

    @Slot(str, int)
    def _on_finished(self, path: str, rows: int) -> None:
        self.result_path, self.result_rows = path, rows
        QSettings().setValue("export/folder", str(Path(path).parent))
        self.progress.setValue(100)
        self.message.setText(f"\u2714 {rows:,} row{'s' if rows != 1 else ''} written to {path}")
        self._done()
        self.exported.emit(path, rows)
        self.ended.emit("exported")

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.error = text
        self.message.setText("\u26a0 " + text)
        self._done()
        self.ended.emit("failed")

    @Slot()
    def _on_cancelled(self) -> None:
        self.error = "cancelled"
        self.message.setText("Cancelled; no file was written.")
        self._done()
        self.ended.emit("cancelled")

    def _done(self) -> None:
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
            self.thread.deleteLater()
        if self.worker is not None:
            self.worker.deleteLater()
        self.thread = self.worker = None
        self.export_btn.setEnabled(True)
        self.cancel_btn.setText("Close")

    def reject(self) -> None:
        if self.worker is not None:  # closing while running: cancel first
            self.worker.stop()
            return
        super().reject()


def open_export_dialog(window: Any) -> ExportDialog:
    """File > Export (issue 4's hook): a modal dialog over the window's store."""
    dlg = ExportDialog(window.db, getattr(window, "db_path", ""), window)
    dlg.exec()
    if dlg.result_path and hasattr(window, "statusBar"):
        window.statusBar().showMessage(f"Exported {dlg.result_rows:,} rows to {dlg.result_path}", 15000)
    return dlg
