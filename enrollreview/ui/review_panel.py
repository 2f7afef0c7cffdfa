"""What a clerk records about a member and its flags: status, assignee, due date, reason code, notes,
corrected values, and the member's history and audit trail. Plus a bulk-action bar for the queue.

`ReviewPanel(db)` is self-contained: call `show_member(member_row, flag_id)` when the member view
shows another member or flag (the member view's history slot does this), and listen to `changed` to
refresh whatever shows statuses. Every write goes through enrollreview.review.workflow, which audits
it in the same transaction. The SSN stays masked until "Show SSN" is pressed for that member, which is
audited; moving to another member masks it again.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from ..phi import format_ssn, mask_ssn
from ..review import statuses as st
from ..review import workflow as wf
from ..review.audit import os_user, record
from ..review.history import member_history, timeline
from .audit_view import AuditView

log = logging.getLogger("enrollreview.ui")

SOURCES = ("Confirmed by phone with the member", "Exchange ticket ", "Document from the member",
           "Corrected by the exchange in a later file", "Our enrollment system")


def _qdate(iso: str | None) -> QDate | None:
    if not iso:
        return None
    try:
        d = _dt.date.fromisoformat(iso[:10])
    except ValueError:
        return None
    return QDate(d.year, d.month, d.day)


class ReviewPanel(QWidget):
    """Review / History and notes / Audit trail for one member and its selected flag."""

    changed = Signal()

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewPanel")
        self.db = db
        self.member: dict[str, Any] | None = None
        self.flag: dict[str, Any] | None = None
        self.rows: list[int] = []
        self.ssn_revealed = False
        self._history: dict[str, Any] = {}

        # -- member line
        self.member_label = QLabel()
        self.member_label.setObjectName("reviewMemberStatus")
        self.ssn_label = QLabel()
        self.ssn_label.setObjectName("reviewSsn")
        self.ssn_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reveal_btn = QPushButton("Show SSN")
        self.reveal_btn.setToolTip("Show the full SSN of this member (recorded in the audit trail)")
        self.reveal_btn.clicked.connect(self.reveal_ssn)
        top = QHBoxLayout()
        top.addWidget(self.member_label, 1)
        top.addWidget(self.ssn_label)
        top.addWidget(self.reveal_btn)

        # -- the flag form
        self.flag_label = QLabel()
        self.flag_label.setObjectName("reviewFlag")
        self.flag_label.setWordWrap(True)
        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        for s in st.STATUSES:
            self.status.addItem(st.label(s), s)
        self.assignee = QLineEdit()
        self.assignee.setPlaceholderText("nobody")
        self.assignee.setAccessibleName("Assigned to")
        self.me_btn = QPushButton("Me")
        self.me_btn.setToolTip("Assign to yourself")
        self.me_btn.clicked.connect(self.assign_to_me)
        assign_row = QHBoxLayout()
        assign_row.addWidget(self.assignee, 1)
        assign_row.addWidget(self.me_btn)
        self.due_on = QCheckBox("Follow up by")
        self.due = QDateEdit()
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("yyyy-MM-dd")
        self.due.setDate(QDate.currentDate().addDays(7))
        self.due.setEnabled(False)
        self.due_on.toggled.connect(self.due.setEnabled)
        due_row = QHBoxLayout()
        due_row.addWidget(self.due_on)
        due_row.addWidget(self.due, 1)
        self.reason = QComboBox()
        self.reason.setAccessibleName("Reason code")
        self.reason.addItem("(none)", None)
        for code, text in st.REASON_CODES.items():
            self.reason.addItem(f"{text} ({code})", code)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Add a note (optional)")
        self.note.setAccessibleName("Note")
        self.save_btn = QPushButton("Save")
        self.save_btn.setToolTip("Save the status, assignee, due date, reason and note (Ctrl+S)")
        self.save_btn.clicked.connect(self.save)
        form = QFormLayout()
        form.addRow("Status", self.status)
        form.addRow("Assigned to", assign_row)
        form.addRow("Due date", due_row)
        form.addRow("Reason", self.reason)
        form.addRow("Note", self.note)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self.save_btn)

        # -- corrected values
        self.field = QComboBox()
        self.field.setAccessibleName("Field")
        for key, (text, _col) in wf.CORRECTABLE_FIELDS.items():
            self.field.addItem(text, key)
        self.field.currentIndexChanged.connect(self._on_field)
        self.value_834 = QLineEdit()
        self.value_834.setReadOnly(True)
        self.value_834.setAccessibleName("Value in the 834")
        self.corrected = QLineEdit()
        self.corrected.setAccessibleName("Corrected value")
        self.source = QComboBox()
        self.source.setEditable(True)
        self.source.setAccessibleName("Source")
        self.source.addItems(SOURCES)
        self.source.setCurrentText("")
        self.source.lineEdit().setPlaceholderText("Where the corrected value comes from")
        self.mark_corrected = QCheckBox("Set the flag's status to Corrected")
        self.mark_corrected.setChecked(True)
        self.correct_btn = QPushButton("Record correction")
        self.correct_btn.clicked.connect(self.record_correction)
        cform = QFormLayout()
        cform.addRow("Field", self.field)
        cform.addRow("In the 834", self.value_834)
        cform.addRow("Corrected value", self.corrected)
        cform.addRow("Source", self.source)
        crow = QHBoxLayout()
        crow.addWidget(self.mark_corrected, 1)
        crow.addWidget(self.correct_btn)
        cform.addRow(crow)
        self.correction_box = QGroupBox("Record a corrected value")
        self.correction_box.setLayout(cform)

        self.message = QLabel()
        self.message.setObjectName("reviewMessage")
        self.message.setWordWrap(True)

        review = QWidget()
        rl = QVBoxLayout(review)
        rl.setContentsMargins(4, 4, 4, 4)
        rl.addLayout(top)
        rl.addWidget(self.flag_label)
        rl.addLayout(form)
        rl.addLayout(save_row)
        rl.addWidget(self.correction_box)
        rl.addWidget(self.message)
        rl.addStretch(1)

        # -- history and audit
        self.history = QTreeWidget()
        self.history.setObjectName("reviewHistory")
        self.history.setRootIsDecorated(False)
        self.history.setHeaderLabels(["When", "Who", "What", "Flag", "Details"])
        self.history.setAlternatingRowColors(True)
        for col, width in enumerate((130, 80, 90, 50)):
            self.history.setColumnWidth(col, width)
        self.audit = AuditView(db, compact=True)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("reviewTabs")
        self.tabs.addTab(review, "Review")
        self.tabs.addTab(self.history, "History and notes")
        self.tabs.addTab(self.audit, "Audit trail")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)
        QShortcut(QKeySequence("Ctrl+S"), self, self.save)
        self._set_enabled()

    # -- showing -------------------------------------------------------------------------------
    def show_member(self, member_row: int, flag_id: int | None = None) -> None:
        """Show a member (members.id) and its selected flag (None: notes go on the member)."""
        if self.member is None or self.member.get("id") != member_row:
            self.ssn_revealed = False
            self.message.clear()
        self._load(member_row, flag_id)

    def _load(self, member_row: int, flag_id: int | None) -> None:
        h = member_history(self.db, member_row, show_ssn=self.ssn_revealed)
        self._history = h
        self.member = h["member"]
        self.rows = h["rows"] or ([member_row] if self.member else [])
        self.flag = next((f for f in h["flags"] if f["id"] == flag_id), None) if flag_id is not None else None
        m = self.member or {}
        status = h.get("status")
        self.member_label.setText(
            f"<b>{(m.get('last_name') or '')}, {(m.get('first_name') or '')}</b> \u2014 member status: "
            + (st.label(status) if status else "no open flags"))
        self._show_ssn()
        self._fill_flag_form()
        self._on_field()
        self._fill_history(h)
        self.audit.set_scope(member_ids=self.rows, flag_ids=[f["id"] for f in h["flags"]])
        self.tabs.setTabText(1, f"History and notes ({len(h['notes']) + len(h['corrections'])})")
        self._set_enabled()

    def _show_ssn(self) -> None:
        ssn = (self.member or {}).get("ssn")
        shown = format_ssn(ssn) if self.ssn_revealed else mask_ssn(ssn)
        self.ssn_label.setText(f"SSN {shown}" if ssn else "")
        self.reveal_btn.setVisible(bool(ssn))
        self.reveal_btn.setEnabled(bool(ssn) and not self.ssn_revealed)

    def _fill_flag_form(self) -> None:
        f = self.flag
        if f is None:
            self.flag_label.setText("No flag selected: a note is added to the member.")
            return
        status = f.get("status") or st.NEW
        resolved = f" \u2014 resolved by file {f.get('resolved_by_file')}" if f.get("resolved_at") else ""
        self.flag_label.setText(f"Flag {f['id']} \u00b7 {f['rule']} \u00b7 {f['message']}{resolved}")
        model = self.status.model()
        for i in range(self.status.count()):
            allowed = st.can_transition(status, self.status.itemData(i))
            item = model.item(i)  # type: ignore[attr-defined]
            item.setEnabled(allowed)
        self.status.setCurrentIndex(max(0, self.status.findData(status)))
        self.assignee.setText(f.get("assigned_to") or "")
        d = _qdate(f.get("due_date"))
        self.due_on.setChecked(d is not None)
        if d is not None:
            self.due.setDate(d)
        self.reason.setCurrentIndex(max(0, self.reason.findData(f.get("reason_code"))))
        self.note.clear()
        can = st.can_transition(status, st.CORRECTED)
        self.mark_corrected.setEnabled(can)
        self.mark_corrected.setChecked(can and status != st.CORRECTED)

    def _fill_history(self, h: dict[str, Any]) -> None:
        self.history.clear()
        items = timeline(h)
        for f in h["flags"]:
            if f.get("resolved_at"):
                items.append({"at": f["resolved_at"], "author": "", "kind": "resolved", "flag_id": f["id"],
                              "text": f"{f['rule']} resolved by file {f.get('resolved_by_file') or ''}"})
        items.sort(key=lambda r: r["at"], reverse=True)
        for it in items:
            when = it["at"]
            try:
                when = _dt.datetime.fromisoformat(when).astimezone().strftime("%Y-%m-%d %H:%M")
            except ValueError:
                pass
            QTreeWidgetItem(self.history,
                            [when, it["author"], it["kind"], str(it["flag_id"] or ""), it["text"]])

    def _set_enabled(self) -> None:
        has_member = self.member is not None
        has_flag = self.flag is not None
        for w in (self.status, self.assignee, self.me_btn, self.due_on, self.reason):
            w.setEnabled(has_flag)
        self.due.setEnabled(has_flag and self.due_on.isChecked())
        self.note.setEnabled(has_member)
        self.save_btn.setEnabled(has_member)
        self.correction_box.setEnabled(has_member)
        if not has_flag:
            self.mark_corrected.setEnabled(False)
            self.mark_corrected.setChecked(False)

    @Slot()
    def _on_field(self, *_: Any) -> None:
        key = self.field.currentData()
        if self.member is None or key is None:
            self.value_834.clear()
            return
        v = wf.value_in_834(self.db, self.member["id"], key)
        if wf.is_ssn_field(key) and not self.ssn_revealed:
            v = mask_ssn(v)
        self.value_834.setText(v or "")

    # -- actions -------------------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(("\u26a0 " if error else "\u2714 ") + text)
        self.message.setStyleSheet("font-weight: bold;" if error else "")

    def _reload(self) -> None:
        if self.member is not None:
            self._load(self.member["id"], self.flag["id"] if self.flag else None)
        self.changed.emit()

    @Slot()
    def assign_to_me(self) -> None:
        self.assignee.setText(os_user())

    @Slot()
    def save(self) -> bool:
        if self.member is None:
            return False
        note = self.note.text().strip()
        f = self.flag
        try:
            if f is None:
                if not note:
                    self._say("Type a note first.", True)
                    return False
                wf.add_note(self.db, note, member_id=self.member["id"])
                self._say("Note added to the member.")
            else:
                kw: dict[str, Any] = {}
                status = self.status.currentData()
                if status != (f.get("status") or st.NEW):
                    kw["status"] = status
                who = self.assignee.text().strip() or None
                if who != (f.get("assigned_to") or None):
                    kw["assign"] = who
                due = self.due.date().toString("yyyy-MM-dd") if self.due_on.isChecked() else None
                if due != (f.get("due_date") or None):
                    kw["due"] = due
                reason = self.reason.currentData()
                if reason != (f.get("reason_code") or None):
                    kw["reason"] = reason
                if note:
                    kw["note"] = note
                if not kw:
                    self._say("Nothing changed.")
                    return False
                wf.review(self.db, [f["id"]], **kw)
                self._say("Saved and recorded in the audit trail.")
        except wf.ReviewError as e:
            self._say(str(e), True)
            return False
        self._reload()
        return True

    @Slot()
    def record_correction(self) -> bool:
        if self.member is None:
            return False
        key = self.field.currentData()
        mark = (self.flag is not None and self.mark_corrected.isChecked()
                and st.can_transition(self.flag.get("status") or st.NEW, st.CORRECTED))
        try:
            wf.record_correction(self.db, field=key, corrected_value=self.corrected.text(),
                                 source=self.source.currentText(), member_id=self.member["id"],
                                 flag_id=self.flag["id"] if self.flag else None, mark_corrected=mark)
        except wf.ReviewError as e:
            self._say(str(e), True)
            return False
        self.corrected.clear()
        self.source.setCurrentText("")
        self._say(f"Correction of {wf.field_label(key)} recorded" + (" and the flag set to Corrected." if mark
                                                                     else "."))
        self._reload()
        return True

    @Slot()
    def reveal_ssn(self) -> None:
        if self.member is None or not self.member.get("ssn") or self.ssn_revealed:
            return
        record(self.db, "reveal_ssn", member_id=self.member["id"], detail={"where": "review panel"})
        log.info("SSN shown for member %s", self.member["id"])
        self.ssn_revealed = True
        self._load(self.member["id"], self.flag["id"] if self.flag else None)


class BulkActionBar(QWidget):
    """Set status / assign for the flags selected in the queue, with one Undo for the whole change.

    `selected` returns the selected flag ids; connect `changed` to the queue's reload.
    """

    changed = Signal()

    def __init__(self, db: Database, selected: Callable[[], list[int]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bulkActions")
        self.db = db
        self.selected = selected
        self.status = QComboBox()
        self.status.setAccessibleName("Status for the selection")
        for s in st.STATUSES[1:]:
            self.status.addItem(st.label(s), s)
        self.set_btn = QPushButton("Set status")
        self.set_btn.setToolTip("Give every selected flag this status")
        self.set_btn.clicked.connect(self.set_status)
        self.assignee = QLineEdit()
        self.assignee.setAccessibleName("Assign the selection to")
        self.assignee.setPlaceholderText("yourself")
        self.assignee.setToolTip("The colleague's computer login; leave empty to take the flags yourself")
        self.assignee.setMinimumWidth(self.assignee.fontMetrics().horizontalAdvance("0") * 16)
        self.assign_btn = QPushButton("Assign")
        self.assign_btn.clicked.connect(self.assign)
        self.undo_btn = QPushButton("Undo")
        self.undo_btn.setToolTip("Undo your last change, all the flags it touched at once (Ctrl+Z)")
        self.undo_btn.clicked.connect(self.undo)
        self.message = QLabel()
        self.message.setObjectName("bulkMessage")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Selected rows:"))
        lay.addWidget(self.status)
        lay.addWidget(self.set_btn)
        lay.addSpacing(12)
        lay.addWidget(QLabel("Assign to"))
        lay.addWidget(self.assignee)
        lay.addWidget(self.assign_btn)
        lay.addWidget(self.undo_btn)
        lay.addWidget(self.message, 1)

    def _run(self, **kw: Any) -> bool:
        ids = self.selected()
        if not ids:
            self.message.setText("Select flags in the queue first.")
            return False
        try:
            r = wf.bulk(self.db, ids, **kw)
        except wf.ReviewError as e:
            self.message.setText("\u26a0 " + str(e))
            return False
        self.message.setText(f"{r.changed} of {r.flags} flags changed.")
        self.changed.emit()
        return True

    @Slot()
    def set_status(self) -> bool:
        return self._run(status=self.status.currentData())

    @Slot()
    def assign(self) -> bool:
        return self._run(assign=self.assignee.text().strip() or os_user())

    @Slot()
    def undo(self) -> bool:
        try:
            r = wf.undo(self.db)
        except wf.ReviewError as e:
            self.message.setText(str(e))
            return False
        self.message.setText(f"Undone: {r.restored} flags restored"
                             + (f", {len(r.skipped)} changed since and left alone." if r.skipped else "."))
        self.changed.emit()
        return True

