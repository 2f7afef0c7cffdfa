"""Search members (Ctrl+F), flagged or not, and say plainly when nothing matches.

The missing-enrollment case: a caller says "I enrolled" and no loaded file has them. The panel then
shows what was searched and in how many files, so the clerk can tell the caller (or the exchange)
exactly what is and is not on record.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget
from sqlite_utils import Database

from .. import ui_queries as uq
from . import style
from .models import SearchModel
from .views import Table

HINT = "name, member id, subscriber id, policy id, last four of the SSN, or date of birth"


class SearchPanel(QWidget):
    """Signals: openRequested(int member_row)."""

    openRequested = Signal(int)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self.db = db
        self.field = QLineEdit()
        self.field.setObjectName("searchField")
        self.field.setPlaceholderText(f"Search members: {HINT}")
        self.field.setClearButtonEnabled(True)
        self.field.returnPressed.connect(self.run)
        self.go = QPushButton(style.icon("search"), "Search")
        self.go.clicked.connect(self.run)
        row = QHBoxLayout()
        row.addWidget(self.field, 1)
        row.addWidget(self.go)
        self.message = QLabel(f"Type {HINT}, then press Enter. Finds every member in the loaded files, "
                              "flagged or not.")
        self.message.setObjectName("searchMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("state", "idle")
        self.model = SearchModel(self)
        self.view = Table(name="searchView")
        self.view.setModel(self.model)
        self.view.opened.connect(self._on_opened)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(self.view, 1)
        self.last_ms = 0.0
        self.last_text = ""

    def focus_field(self) -> None:
        self.field.setFocus()
        self.field.selectAll()

    @Slot()
    def run(self) -> None:
        self.search(self.field.text())

    def search(self, text: str) -> int:
        t0 = time.perf_counter()
        self.last_text = text
        if self.field.text() != text:
            self.field.setText(text)
        text = text.strip()
        if not text:
            self.model.set_rows([])
            self._say("idle", f"Type {HINT}, then press Enter.")
            return 0
        rows, what = uq.search(self.db, text)
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        searched = ", ".join(what) if what else f"'{text}'"
        if rows:
            more = " (showing the first 500)" if len(rows) >= 500 else ""
            n = len(rows)
            self._say("found", f"{n:,} member{'s' if n != 1 else ''} match \u201c{text}\u201d{more}. "
                               f"Searched: {searched}. Enter opens the selected member.")
            self.view.select_row(0)
        else:
            s = uq.store_summary(self.db)
            span = f", received {s['first']} to {s['last']}" if s["files"] else ""
            self._say("none",
                      f"Nothing matches \u201c{text}\u201d. Searched: {searched}, in {s['files']:,} loaded "
                      f"file{'s' if s['files'] != 1 else ''} ({s['members']:,} members{span}).\n"
                      "If the caller says they enrolled, no loaded 834 carries their enrollment: check the "
                      "spelling and the date of birth, then ask the exchange whether it was sent.")
        self.last_ms = (time.perf_counter() - t0) * 1000
        return len(rows)

    def _say(self, state: str, text: str) -> None:
        self.message.setText(text)
        self.message.setProperty("state", state)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def step(self, step: int) -> dict[str, Any] | None:
        before = self.view.current_row()
        self.view.move_by(step)
        after = self.view.current_row()
        return self.model.row(after) if after != before else None

    @Slot(int)
    def _on_opened(self, row: int) -> None:
        r = self.model.row(row)
        if r is not None:
            self.openRequested.emit(r["id"])
