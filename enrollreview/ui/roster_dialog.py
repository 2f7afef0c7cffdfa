"""Import an exchange roster from the GUI: the column-mapping step, then import + reconcile in the
background (issue 6).

`RosterMappingDialog` shows the guessed mapping (or the sender's saved one) as a table with a combo
box per field; the clerk confirms or fixes it, and it is saved for the sender so next month's file
needs no questions. Import stays disabled while a required field has no column.

Hooking it into the main window (File menu, e.g. "Import exchange roster..."):

    from .roster_dialog import open_roster_dialog
    self.act_roster = self._action("Import exchange &roster\u2026", self.open_roster, None)
    ...
    @Slot()
    def open_roster(self) -> None:
        open_roster_dialog(self)   # uses self.db, self.db_path, and self.refresh_all() when done

A roster-only person (MISS-01: no `members` row, no raw 834) is shown by `RosterRowDialog`, which says
that no 834 was received and shows the exchange's roster row. In `MainWindow.open_queue_row`, before
the file-level fallback:

    if row.get("flag_id") and open_roster_row(self, row["flag_id"]):
        return True

The dialogs sit behind the small functions `ask_roster_file`, `ask_mapping` and `show_report`, so
tests can replace them.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from ..phi import mask_ssn
from ..reconcile import mapping as mp
from ..reconcile import views as rviews
from ..reconcile.reconcile import ReconcileResult, reconcile
from ..reconcile.roster import (
    RosterImportResult,
    RosterPreview,
    RosterUnreadable,
    import_roster,
    inspect_roster,
)
from ..store import StoreError, open_db

log = logging.getLogger("enrollreview.ui")

NOT_IN_FILE = "(not in the file)"
ROSTER_FILTER = "Rosters (*.csv *.txt *.psv *.tsv *.xlsx);;All files (*)"
_SSN_LIKE = re.compile(r"^\d{3}-?\d{2}-?\d{4}$")


@dataclass
class MappingChoice:
    """What the clerk confirmed in the mapping step."""

    mapping: dict[str, str]
    sender: str
    save_as: str | None     # None: do not save


def _sample(value: str) -> str:
    return mask_ssn(value) if _SSN_LIKE.match(value.strip()) else value


class RosterMappingDialog(QDialog):
    """The column-mapping step. `choice()` after exec() == Accepted."""

    def __init__(self, preview: RosterPreview, *, db: Database | None = None, senders: list[str] | None = None,
                 sender: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rosterMappingDialog")
        self.setWindowTitle(f"Import exchange roster: {preview.name}")
        self.preview = preview
        self.db = db
        self._combos: dict[str, QComboBox] = {}
        self._source = "guessed from the column names"

        lay = QVBoxLayout(self)
        intro = QLabel(f"<b>{preview.name}</b>: {preview.format.upper()} with {len(preview.headers)} columns "
                       f"(header on row {preview.header_row}). Check which column holds each field; fields "
                       "marked * are required.")
        intro.setWordWrap(True)
        lay.addWidget(intro)

        form = QFormLayout()
        self.sender_box = QComboBox(self)
        self.sender_box.setObjectName("senderBox")
        self.sender_box.setEditable(True)
        self.sender_box.addItems([""] + list(senders if senders is not None else (mp.senders(db) if db else [])))
        self.sender_box.setCurrentText(sender)
        self.sender_box.setToolTip("Who sent the roster (e.g. CMSFFM or the state exchange). The mapping is "
                                   "remembered per sender.")
        form.addRow("Sender:", self.sender_box)
        lay.addLayout(form)
        self.source_label = QLabel(self)
        self.source_label.setObjectName("mappingSource")
        lay.addWidget(self.source_label)

        self.table = QTableWidget(len(mp.FIELDS), 3, self)
        self.table.setObjectName("mappingTable")
        self.table.setHorizontalHeaderLabels(["Field", "Column in the file", "Sample values"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        bold = QFont()
        bold.setBold(True)
        for i, f in enumerate(mp.FIELDS):
            item = QTableWidgetItem(f.label + (" *" if f.required else ""))
            if f.required:
                item.setFont(bold)
                item.setToolTip("Required")
            item.setData(Qt.ItemDataRole.UserRole, f.name)
            self.table.setItem(i, 0, item)
            box = QComboBox(self.table)
            box.setObjectName(f"column_{f.name}")
            box.addItem(NOT_IN_FILE, "")
            for h in preview.headers:
                box.addItem(h, h)
            box.currentIndexChanged.connect(self._changed)
            self._combos[f.name] = box
            self.table.setCellWidget(i, 1, box)
            self.table.setItem(i, 2, QTableWidgetItem(""))
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        lay.addWidget(self.table, 1)

        self.status = QLabel(self)
        self.status.setObjectName("mappingStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.save_box = QCheckBox("Remember this mapping for the sender", self)
        self.save_box.setObjectName("saveMapping")
        self.save_box.setChecked(True)
        lay.addWidget(self.save_box)
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("mappingName")
        self.name_edit.setPlaceholderText("mapping name (default: the sender's name)")
        lay.addWidget(self.name_edit)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.import_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import and reconcile")
        self.import_button.setObjectName("importButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        self.set_mapping(preview.guessed)
        self.sender_box.currentTextChanged.connect(self._sender_changed)
        self._sender_changed(self.sender_box.currentText())
        self.resize(760, 640)

    # -- state ---------------------------------------------------------------------------------
    def combo(self, field: str) -> QComboBox:
        return self._combos[field]

    def set_column(self, field: str, column: str | None) -> None:
        box = self._combos[field]
        i = box.findData(column or "")
        box.setCurrentIndex(max(i, 0))

    def set_mapping(self, mapping: dict[str, str]) -> None:
        for f in mp.FIELDS:
            box = self._combos[f.name]
            box.blockSignals(True)
            i = box.findData(mapping.get(f.name, "") or "")
            box.setCurrentIndex(max(i, 0))
            box.blockSignals(False)
        self._changed()

    def mapping(self) -> dict[str, str]:
        return {f: b.currentData() for f, b in self._combos.items() if b.currentData()}

    def sender(self) -> str:
        return self.sender_box.currentText().strip()

    def missing(self) -> list[str]:
        return mp.missing_required(self.mapping())

    def choice(self) -> MappingChoice:
        save = None
        if self.save_box.isChecked():
            save = self.name_edit.text().strip() or self.sender() or "default"
        return MappingChoice(self.mapping(), self.sender(), save)

    # -- slots ---------------------------------------------------------------------------------
    @Slot(str)
    def _sender_changed(self, text: str) -> None:
        saved = mp.mapping_for_sender(self.db, text.strip(), self.preview.headers) if self.db is not None else None
        if saved:
            self.set_mapping(saved["mapping"])
            self._source = f"the mapping saved for {text.strip() or 'no sender'} ({saved['name']!r})"
        elif self._source.startswith("the mapping saved"):
            self.set_mapping(self.preview.guessed)
            self._source = "guessed from the column names"
        self.source_label.setText(f"Mapping: {self._source}. Change any column below if it is wrong.")

    @Slot()
    def _changed(self, *_: Any) -> None:
        m = self.mapping()
        used: dict[str, list[str]] = {}
        for i, f in enumerate(mp.FIELDS):
            col = m.get(f.name, "")
            if col:
                used.setdefault(col, []).append(f.label)
            samples = self.preview.sample_values(col) if col else []
            self.table.item(i, 2).setText("  \u00b7  ".join(_sample(s) for s in samples))
        missing = mp.missing_required(m)
        twice = [f"'{c}' ({', '.join(v)})" for c, v in used.items() if len(v) > 1]
        if missing:
            self.status.setText("Required fields without a column: " + ", ".join(missing) + ".")
        elif twice:
            self.status.setText("Ready. Note: one column is used for two fields: " + "; ".join(twice) + ".")
        else:
            self.status.setText("All required fields have a column.")
        self.import_button.setEnabled(not missing)


# -- the flow ----------------------------------------------------------------------------------------

def ask_roster_file(parent: QWidget | None, folder: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Import exchange roster", folder, ROSTER_FILTER)
    return path


def ask_mapping(parent: QWidget | None, db: Database | None, preview: RosterPreview) -> MappingChoice | None:
    dlg = RosterMappingDialog(preview, db=db, parent=parent)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return dlg.choice()


def show_report(parent: QWidget | None, title: str, text: str, *, ok: bool = True) -> None:
    box = QMessageBox(QMessageBox.Icon.Information if ok else QMessageBox.Icon.Warning, title,
                      text.split("\n\n", 1)[0], QMessageBox.StandardButton.Ok, parent)
    if "\n\n" in text:
        box.setDetailedText(text.split("\n\n", 1)[1])
    box.exec()


def report_text(res: RosterImportResult, rec: ReconcileResult | None) -> str:
    """First paragraph: the outcome in one or two lines; after a blank line: the details."""
    head = res.summary()
    if rec is not None:
        head += (f"\nMissing from 834: {rec.missing_from_834:,}; missing from the roster: "
                 f"{rec.missing_from_roster:,}; mismatched: {rec.mismatched:,}; not effectuated: "
                 f"{rec.not_effectuated:,}. The flags are in the queue (category Missing).")
    details = []
    if rec is not None:
        details += rec.lines()
    report = res.report(100)
    if report:
        details += ["", "Rows not loaded (or loaded with a warning):", *report]
    return head + ("\n\n" + "\n".join(details) if details else "")


class _RosterWorker(QObject):
    """Imports and reconciles in a worker thread with its own connection. done((result, reconcile))."""

    done = Signal(object)
    problem = Signal(str)

    def __init__(self, db_path: Path, path: Path, choice: MappingChoice) -> None:
        super().__init__()
        self.db_path, self.path, self.choice = db_path, path, choice

    @Slot()
    def run(self) -> None:
        try:
            db = open_db(self.db_path)
        except StoreError as e:
            self.problem.emit(str(e))
            return
        try:
            self.done.emit(run_import(db, self.path, self.choice))
        except sqlite3.OperationalError as e:
            self.problem.emit("The store is busy: another enrollreview window or command is writing to it. "
                              "Nothing was changed; try again when it has finished." if "locked" in str(e)
                              else f"The roster could not be imported ({e}).")
        except Exception:  # noqa: BLE001 - a bug: to the log and to the clerk, never silently
            log.error("roster import crashed:\n%s", traceback.format_exc())
            self.problem.emit("The roster import stopped because of an unexpected error; details are in the "
                              "log file. Nothing was changed.")
        finally:
            db.close()


def run_import(db: Database, path: Path, choice: MappingChoice) -> tuple[RosterImportResult, ReconcileResult | None]:
    res = import_roster(db, path, mapping=choice.mapping, sender=choice.sender, save_as=choice.save_as,
                        save=choice.save_as is not None)
    rec = reconcile(db, res.roster_id) if res.ok else None
    return res, rec


class RosterImportRunner(QObject):
    """Lives in the GUI thread; owns the worker thread. finished((result, reconcile)) or failed(text)."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, window: QWidget, db_path: Path, path: Path, choice: MappingChoice) -> None:
        super().__init__(window)
        self.window = window
        self.thread = QThread(self)
        self.worker = _RosterWorker(db_path, path, choice)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.done.connect(self._on_done)
        self.worker.problem.connect(self._on_problem)

    def start(self) -> None:
        self.thread.start()

    def _stop(self) -> None:
        self.thread.quit()
        self.thread.wait()

    def wait_quietly(self) -> None:
        """The window is closing: let a running import finish (it is one transaction, never cut off),
        without the report."""
        if not self.thread.isRunning():
            return
        self.worker.done.disconnect(self._on_done)
        self.worker.problem.disconnect(self._on_problem)
        self._stop()

    @Slot(object)
    def _on_done(self, outcome: tuple[RosterImportResult, ReconcileResult | None]) -> None:
        self._stop()
        res, rec = outcome
        refresh = getattr(self.window, "refresh_all", None)
        if res.ok and callable(refresh):
            refresh()
        show_report(self.window, "Exchange roster", report_text(res, rec), ok=res.ok)
        self.finished.emit(outcome)

    @Slot(str)
    def _on_problem(self, text: str) -> None:
        self._stop()
        show_report(self.window, "Exchange roster", text, ok=False)
        self.failed.emit(text)


def open_roster_dialog(window: QWidget, path: str | None = None) -> RosterImportRunner | None:
    """File > Import exchange roster: choose the file, confirm the mapping, import and reconcile in the
    background. Returns the runner (keep it referenced until `finished`/`failed`), or None."""
    db: Database = window.db  # type: ignore[attr-defined]
    db_path = getattr(window, "db_path", None)
    path = path or ask_roster_file(window)
    if not path:
        return None
    try:
        preview = inspect_roster(path)
    except RosterUnreadable as e:
        show_report(window, "Exchange roster", f"{Path(path).name} cannot be read: {e}", ok=False)
        return None
    choice = ask_mapping(window, db, preview)
    if choice is None:
        return None
    if db_path is None:  # no file to open a second connection on (an in-memory store): run here
        res, rec = run_import(db, Path(path), choice)
        show_report(window, "Exchange roster", report_text(res, rec), ok=res.ok)
        return None
    runner = RosterImportRunner(window, Path(db_path), Path(path), choice)
    window._roster_runner = runner  # type: ignore[attr-defined]  # referenced until it finishes
    runner.start()
    return runner


class RosterRowDialog(QDialog):
    """The member view of a person the exchange lists but no 834 ever brought: the roster row."""

    def __init__(self, detail: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rosterRowDialog")
        self.setWindowTitle(detail["title"])
        lay = QVBoxLayout(self)
        head = QLabel(f"<b>{detail['title']}</b><br>Exchange roster {detail['roster']} (roster "
                      f"{detail['roster_id']}), row {detail['row_number']}", self)
        lay.addWidget(head)
        self.note = QLabel(detail["note"], self)
        self.note.setObjectName("no834Note")
        self.note.setWordWrap(True)
        font = self.note.font()
        font.setBold(True)
        self.note.setFont(font)
        lay.addWidget(self.note)
        self.fields = self._table(detail["fields"], ("Field", "Value"), "rosterFields")
        lay.addWidget(self.fields, 2)
        lay.addWidget(QLabel("As in the exchange's file:", self))
        self.original = self._table(detail["original"], ("Column", "Value"), "rosterOriginal")
        lay.addWidget(self.original, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(620, 640)

    def _table(self, pairs: list[tuple[str, str]], headers: tuple[str, str], name: str) -> QTableWidget:
        t = QTableWidget(len(pairs), 2, self)
        t.setObjectName(name)
        t.setHorizontalHeaderLabels(list(headers))
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for i, (k, v) in enumerate(pairs):
            t.setItem(i, 0, QTableWidgetItem(k))
            t.setItem(i, 1, QTableWidgetItem(v))
        t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        t.horizontalHeader().setStretchLastSection(True)
        return t


def show_roster_row(parent: QWidget | None, detail: dict[str, Any]) -> None:
    RosterRowDialog(detail, parent).exec()


def open_roster_row(window: QWidget, flag_id: int) -> bool:
    """Show the roster row behind a flag that has no member row (MISS-01). False if there is none."""
    db: Database = window.db  # type: ignore[attr-defined]
    row = db.execute("SELECT member_id FROM flags WHERE id = ?", [flag_id]).fetchone()
    if not row or row[0] is not None:
        return False
    detail = rviews.flag_roster_row(db, flag_id)
    if detail is None:
        return False
    show_roster_row(window, detail)
    return True
