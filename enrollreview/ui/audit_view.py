"""The audit trail in the window: a lazily fetched table, filters, and the hash-chain check.

`AuditView(db)` shows the whole trail, or one member's / one flag's rows with `set_scope()`. The
review panel embeds one per member; `open_audit_window(window)` shows the whole trail on its own
(hook for a Tools > Audit trail menu item).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from ..review import statuses as st
from ..review.audit import ACTIONS, describe, verify_all
from .models import DISPLAY_ROLE, TOOLTIP_ROLE, RowRole, TableModel

_Index = QModelIndex | QPersistentModelIndex
PAGE = 500


def _local(at: str) -> str:
    """UTC ISO -> local 'YYYY-MM-DD HH:MM:SS' (the stored value stays UTC)."""
    try:
        return _dt.datetime.fromisoformat(at).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return at


def clerk_words(row: dict[str, Any]) -> str:
    """`describe()` with statuses and reason codes in the words the review panel uses (the command line
    keeps the hyphenated spellings it accepts)."""
    d = row.get("detail") or {}
    if isinstance(d, str):
        d = json.loads(d or "{}")
    if row.get("action") == "status":
        return f"status {st.label(d.get('from') or st.NEW)} \u2192 {st.label(d.get('to'))}"
    if row.get("action") == "reason_code":
        to = d.get("to")
        return f"reason: {st.REASON_CODES.get(to, to)}" if to else "reason cleared"
    return describe(row)


class AuditModel(TableModel):
    """Audit rows newest first, fetched PAGE at a time (canFetchMore / fetchMore)."""

    HEADERS = ("When", "Who", "Action", "Flag", "Member", "What changed")

    def __init__(self, db: Database, parent: Any = None) -> None:
        super().__init__(parent)
        self.db = db
        self.rows: list[dict[str, Any]] = []
        self._where = ""
        self._params: list[Any] = []
        self._more = False

    # -- scope -----------------------------------------------------------------------------------
    def set_filter(self, *, member_ids: list[int] | None = None, flag_ids: list[int] | None = None,
                   action: str | None = None, user: str | None = None) -> None:
        conds: list[str] = []
        params: list[Any] = []
        scope: list[str] = []
        if member_ids is not None:
            scope.append(f"member_id IN ({','.join('?' * len(member_ids)) or 'NULL'})")
            params.extend(member_ids)
        if flag_ids is not None:
            scope.append(f"flag_id IN ({','.join('?' * len(flag_ids)) or 'NULL'})")
            params.extend(flag_ids)
        if scope:
            conds.append("(" + " OR ".join(scope) + ")")
        if action:
            conds.append("action = ?")
            params.append(action)
        if user:
            conds.append("os_user = ?")
            params.append(user)
        self._where = (" WHERE " + " AND ".join(conds)) if conds else ""
        self._params = params
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self.rows = self._page(None)
        self._more = len(self.rows) == PAGE
        self.endResetModel()

    def _page(self, before_id: int | None) -> list[dict[str, Any]]:
        where, params = self._where, list(self._params)
        if before_id is not None:
            where = (where + " AND " if where else " WHERE ") + "id < ?"
            params.append(before_id)
        cur = self.db.execute("SELECT id, at, os_user, action, flag_id, member_id, detail FROM audit"
                              f"{where} ORDER BY id DESC LIMIT {PAGE}", params)
        cols = [c[0] for c in cur.description]
        out = []
        for values in cur.fetchall():
            r = dict(zip(cols, values, strict=True))
            r["detail"] = json.loads(r["detail"] or "{}")
            r["what"] = clerk_words(r)
            out.append(r)
        return out

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self.rows:
            return
        more = self._page(self.rows[-1]["id"])
        self._more = len(more) == PAGE
        if more:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
            self.rows.extend(more)
            self.endInsertRows()

    # -- Qt model --------------------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self.rows)

    def headers(self) -> tuple[str, ...]:
        return self.HEADERS

    def cell(self, row: int, column: int, role: int) -> Any:
        r = self.rows[row]
        if role == RowRole:
            return r
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE):
            if column == 0:
                return _local(r["at"]) if role == DISPLAY_ROLE else f"{r['at']} (UTC)"
            if column == 1:
                return r["os_user"]
            if column == 2:
                return ACTIONS.get(r["action"], r["action"])
            if column == 3:
                return "" if r["flag_id"] is None else str(r["flag_id"])
            if column == 4:
                return "" if r["member_id"] is None else str(r["member_id"])
            return r["what"]
        return None


class AuditView(QWidget):
    """Audit rows with action / account filters and a "Check the trail" button."""

    verified = Signal(bool)

    def __init__(self, db: Database, parent: QWidget | None = None, *, compact: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("auditView")
        self.db = db
        self._member_ids: list[int] | None = None
        self._flag_ids: list[int] | None = None
        self.model = AuditModel(db, self)
        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((140, 90, 150, 50, 60)):
            self.table.setColumnWidth(col, width)
        self.action = QComboBox()
        self.action.setAccessibleName("Action")
        self.action.addItem("All actions", None)
        for key, text in ACTIONS.items():
            self.action.addItem(text, key)
        self.action.currentIndexChanged.connect(self._on_filter)
        self.user = QLineEdit()
        self.user.setPlaceholderText("Account")
        self.user.setClearButtonEnabled(True)
        self.user.setAccessibleName("Account")
        self.user.editingFinished.connect(self._on_filter)
        self.check = QPushButton("Check the trail")
        self.check.setToolTip("Recompute the hash chain: finds any row changed or removed outside "
                              "enrollreview")
        self.check.clicked.connect(self.verify)
        self.result = QLabel()
        self.result.setObjectName("auditResult")
        self.result.setWordWrap(True)
        bar = QHBoxLayout()
        if not compact:
            bar.addWidget(QLabel("Show"))
        bar.addWidget(self.action)
        bar.addWidget(self.user)
        bar.addStretch(1)
        bar.addWidget(self.check)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.result)
        lay.addWidget(self.table, 1)
        self.result.hide()
        self.refresh()

    def set_scope(self, member_ids: list[int] | None = None, flag_ids: list[int] | None = None) -> None:
        """Only rows about these members (members.id) or flags; None for the whole trail."""
        self._member_ids, self._flag_ids = member_ids, flag_ids
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        self.model.set_filter(member_ids=self._member_ids, flag_ids=self._flag_ids,
                              action=self.action.currentData(), user=self.user.text().strip() or None)

    @Slot()
    def _on_filter(self, *_: Any) -> None:
        self.refresh()

    @Slot()
    def verify(self) -> bool:
        r = verify_all(self.db)
        if r.ok:
            self.result.setText(f"\u2714 Audit trail intact: {r.rows:,} rows checked, none changed or "
                                "removed.")
            self.result.setStyleSheet("")
        else:
            p = r.problem
            assert p is not None
            self.result.setText(f"\u26a0 Audit trail ALTERED at row {p.id}: {p.reason}. Tell your "
                                "supervisor; the database was edited outside enrollreview.")
            self.result.setStyleSheet("font-weight: bold;")
        self.result.show()
        self.verified.emit(r.ok)
        return r.ok

    def rows(self) -> list[dict[str, Any]]:
        return list(self.model.rows)


class AuditDialog(QDialog):
    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit trail")
        self.resize(900, 560)
        self.view = AuditView(db, self)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Every status change, assignment, note, correction, export and SSN reveal, "
                             "newest first. Rows cannot be changed or deleted."))
        lay.addWidget(self.view, 1)


def open_audit_window(window: Any) -> AuditDialog:
    """Tools > Audit trail: the whole trail in its own window (non-modal)."""
    dlg = AuditDialog(window.db, window)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.show()
    return dlg
