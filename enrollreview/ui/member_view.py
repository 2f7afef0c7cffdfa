"""The member view: the selected flag's reason on top, the member side by side with its raw segments.

Layout (issue 4):

    [Back to queue (Esc)]  NAME · member id · policy · file            [Previous (k)] [Next (j)]
    +- the selected flag -----------------------------------------------------------------------+
    | (icon) Error · FAM-07 · Family     reason in plain words / Next step: ... / segments named  |
    | the member's flags (choosing one moves the highlight and scrolls to it)                    |
    +--------------------------------------------------------------------------------------------+
    [Member] [Family (n)] [Duplicates (n)] [Timeline (n)]
    Member tab:  parsed member (flagged fields marked) | raw segments (highlighted) / history slot

The right-hand column has a slot for the "History and notes" panel of issue 5:
`MemberView.set_history_panel(widget)`; the widget gets `show_member(member_row, flag_id)` calls
if it has that method.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from .. import queries
from .. import ui_queries as uq
from . import style
from .models import FamilyModel, MemberFlagsModel, TimelineModel, flag_segments_text
from .views import SegmentView, SheetView, Table

log = logging.getLogger("enrollreview.ui")


def _member_title(m: dict[str, Any]) -> str:
    name = ", ".join(x for x in (m.get("last_name"), m.get("first_name")) if x) or "(no name)"
    bits = [name]
    if m.get("member_id"):
        bits.append(f"member id {m['member_id']}")
    if m.get("policy_id"):
        bits.append(f"policy {m['policy_id']}")
    bits.append(f"file {m.get('file_name')}")
    return "  \u00b7  ".join(bits)


class FlagPanel(QFrame):
    """The selected flag in plain words: severity (icon + word), rule, reason, next step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flagPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.icon = QLabel()
        self.icon.setObjectName("flagIcon")
        self.headline = QLabel()
        self.headline.setObjectName("flagHeadline")
        self.reason = QLabel()
        self.reason.setObjectName("flagReason")
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.next_step = QLabel()
        self.next_step.setObjectName("flagNextStep")
        self.next_step.setWordWrap(True)
        self.next_step.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where = QLabel()
        self.where.setObjectName("flagWhere")
        self.where.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.icon)
        top.addWidget(self.headline, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.addLayout(top)
        lay.addWidget(self.reason)
        lay.addWidget(self.next_step)
        lay.addWidget(self.where)

    def show_flag(self, flag: dict[str, Any] | None, member_has_flags: bool) -> None:
        if flag is None:
            self.icon.clear()
            self.headline.setText("No open flags on this member" if not member_has_flags else "Choose a flag below")
            self.reason.setText("Nothing in the business rules or the syntax check points at this member. "
                                "The parsed member and its raw segments are shown below.")
            self.next_step.setText("")
            self.where.setText("")
            self.setProperty("severity", "none")
        else:
            sev = flag["severity"]
            size = self.fontMetrics().height() * 2
            self.icon.setPixmap(style.severity_icon(sev).pixmap(size, size))
            cat = uq.CATEGORY_LABELS.get(flag.get("category") or "", flag.get("category") or "")
            state = " \u00b7 resolved" if flag.get("resolved_at") else ""
            self.headline.setText(f"{style.severity_word(sev)}  \u00b7  {flag['rule']}  \u00b7  {cat}{state}")
            self.reason.setText(flag.get("message") or "")
            nxt = flag.get("next_step") or ""
            self.next_step.setText(f"Next step: {nxt}" if nxt else "")
            where = flag_segments_text(flag)
            self.where.setText(f"Highlighted below: {where}" if where else "This flag names no segment.")
            self.setProperty("severity", sev)
        self.style().unpolish(self)
        self.style().polish(self)


class DuplicatesTab(QWidget):
    """The other copy (or copies) shown raw beside this one, differing elements marked."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.member: dict[str, Any] | None = None
        self.others: list[int] = []
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.choose = QComboBox()
        self.choose.setObjectName("duplicateChoice")
        self.choose.currentIndexChanged.connect(self._on_choice)
        self.left_title = QLabel()
        self.left_title.setWordWrap(True)
        self.right_title = QLabel()
        self.right_title.setWordWrap(True)
        self.left = SegmentView(name="duplicateThis")
        self.right = SegmentView(name="duplicateOther")
        self.right.verticalScrollBar().valueChanged.connect(self.left.verticalScrollBar().setValue)
        self.left.verticalScrollBar().valueChanged.connect(self.right.verticalScrollBar().setValue)
        lw, rw = QWidget(), QWidget()
        ll, rl = QVBoxLayout(lw), QVBoxLayout(rw)
        ll.setContentsMargins(0, 0, 0, 0)
        rl.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.left_title)
        ll.addWidget(self.left)
        rl.addWidget(self.right_title)
        rl.addWidget(self.right)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("duplicatesSplitter")
        self.splitter.addWidget(lw)
        self.splitter.addWidget(rw)
        row = QHBoxLayout()
        row.addWidget(self.intro, 1)
        row.addWidget(self.choose)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.splitter, 1)

    def load(self, m: dict[str, Any], others: list[int]) -> None:
        self.member, self.others = m, others
        self.choose.blockSignals(True)
        self.choose.clear()
        for rid in others:
            o = uq.get_member(self.db, rid)
            if o is not None:
                self.choose.addItem(f"Copy in {o['file_name']} (member row {rid})", rid)
        self.choose.blockSignals(False)
        self.choose.setVisible(self.choose.count() > 1)
        if not others:
            self.intro.setText("No duplicate flag names another copy of this member.")
            self.left.seg_model.set_lines([])
            self.right.seg_model.set_lines([])
            self.left_title.setText("")
            self.right_title.setText("")
            return
        n = len(others)
        self.intro.setText(f"{n} other cop{'y' if n == 1 else 'ies'} of this member. Elements that differ "
                           "are boxed and underlined, and marked \u201cDiffers\u201d in the gutter.")
        self._show(others[0])

    @Slot(int)
    def _on_choice(self, i: int) -> None:
        if 0 <= i < self.choose.count():
            self._show(int(self.choose.itemData(i)))

    def _show(self, other_row: int) -> None:
        m = self.member
        o = uq.get_member(self.db, other_row)
        if m is None or o is None:
            return
        sep, comp = uq.delimiters(m)
        a = uq.member_segments(self.db, m)
        b = uq.member_segments(self.db, o)
        da, db_ = uq.diff_segments(a, b, sep)
        self.left.seg_model.set_lines(a, sep, comp)
        self.right.seg_model.set_lines(b, *uq.delimiters(o))
        self.left.seg_model.set_diff(da)
        self.right.seg_model.set_diff(db_)
        self.left_title.setText(f"This copy: {m['file_name']}, segments {m['first_ordinal']}\u2013{m['last_ordinal']}")
        self.right_title.setText(f"Other copy: {o['file_name']}, segments {o['first_ordinal']}\u2013{o['last_ordinal']}")


class MemberView(QWidget):
    """One member with its flags. Signals:

    backRequested(): Esc / the back button.
    stepRequested(int): +1 / -1 for the next / previous item of the queue.
    openMember(int): open another member row (from Family or Timeline).
    currentChanged(int, int): member row and flag id (-1 for none) now shown.
    """

    backRequested = Signal()
    stepRequested = Signal(int)
    openMember = Signal(int)
    currentChanged = Signal(int, int)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memberView")
        self.db = db
        self.member: dict[str, Any] | None = None
        self.flags: list[dict[str, Any]] = []
        self.flag: dict[str, Any] | None = None
        self.last_fill_ms = 0.0
        self._history: QWidget | None = None

        self.back = QPushButton(style.icon("back"), "Back to queue (Esc)")
        self.back.setObjectName("backButton")
        self.back.clicked.connect(self.backRequested)
        self.title = QLabel()
        self.title.setObjectName("memberTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.demo_tag = QLabel("DEMO DATA")
        self.demo_tag.setObjectName("demoTag")
        self.prev_btn = QPushButton("\u25b2 Previous (k)")
        self.prev_btn.setObjectName("prevButton")
        self.prev_btn.clicked.connect(self._on_prev)
        self.next_btn = QPushButton("Next (j) \u25bc")
        self.next_btn.setObjectName("nextButton")
        self.next_btn.clicked.connect(self._on_next)
        head = QHBoxLayout()
        head.addWidget(self.back)
        head.addWidget(self.title, 1)
        head.addWidget(self.demo_tag)
        head.addWidget(self.prev_btn)
        head.addWidget(self.next_btn)

        self.flag_panel = FlagPanel()
        self.flags_model = MemberFlagsModel(self)
        self.flags_view = Table(name="memberFlags")
        self.flags_view.setModel(self.flags_model)
        self.flags_view.setToolTip("This member's flags: choose one to move the highlight to it.")
        fh = self.flags_view.horizontalHeader()
        for c in (0, 1, 2):
            fh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        fh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        fh.setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        fh.setStretchLastSection(False)
        self.flags_view.selectionModel().selectionChanged.connect(self._on_flag_selected)

        self.sheet = SheetView()
        self.raw = SegmentView()
        self.raw_label = QLabel("Raw X12 segments as received (SSN masked). Seg # is the segment's position "
                                "in the file; Loop is the 834 loop it belongs to.")
        self.raw_label.setObjectName("rawLabel")
        self.raw_label.setWordWrap(True)
        self.sheet_label = QLabel("The member as parsed. Values named by the selected flag are marked \u25c0.")
        self.sheet_label.setObjectName("sheetLabel")
        self.sheet_label.setWordWrap(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.sheet_label)
        ll.addWidget(self.sheet, 1)
        rawbox = QWidget()
        rl = QVBoxLayout(rawbox)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.raw_label)
        rl.addWidget(self.raw, 1)
        self.right_split = QSplitter(Qt.Orientation.Vertical)
        self.right_split.setObjectName("rawHistorySplitter")
        self.right_split.addWidget(rawbox)
        self.history_slot = QWidget()
        self.history_slot.setObjectName("historySlot")
        QVBoxLayout(self.history_slot).setContentsMargins(0, 0, 0, 0)
        self.history_slot.hide()
        self.right_split.addWidget(self.history_slot)
        self.side_split = QSplitter(Qt.Orientation.Horizontal)
        self.side_split.setObjectName("memberSplitter")
        self.side_split.addWidget(left)
        self.side_split.addWidget(self.right_split)
        self.side_split.setStretchFactor(0, 2)
        self.side_split.setStretchFactor(1, 3)

        self.family_model = FamilyModel(self)
        self.family_view = Table(name="familyView")
        self.family_view.setModel(self.family_model)
        self.family_view.opened.connect(self._on_family_open)
        fam = QWidget()
        fl = QVBoxLayout(fam)
        self.family_label = QLabel()
        self.family_label.setWordWrap(True)
        fl.addWidget(self.family_label)
        fl.addWidget(self.family_view, 1)

        self.dups = DuplicatesTab(db)

        self.timeline_model = TimelineModel(self)
        self.timeline_view = Table(name="timelineView")
        self.timeline_view.setModel(self.timeline_model)
        self.timeline_view.opened.connect(self._on_timeline_open)
        self.timeline_view.selectionModel().selectionChanged.connect(self._on_timeline_selected)
        self.timeline_raw = SegmentView(name="timelineRaw")
        self.timeline_label = QLabel()
        self.timeline_label.setWordWrap(True)
        tl_split = QSplitter(Qt.Orientation.Vertical)
        tl_split.setObjectName("timelineSplitter")
        tl_split.addWidget(self.timeline_view)
        tl_split.addWidget(self.timeline_raw)
        tl = QWidget()
        tll = QVBoxLayout(tl)
        tll.addWidget(self.timeline_label)
        tll.addWidget(tl_split, 1)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("memberTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.side_split, "Member")
        self.tabs.addTab(fam, "Family")
        self.tabs.addTab(self.dups, "Duplicates")
        self.tabs.addTab(tl, "Timeline")
        self.tabs.currentChanged.connect(self._on_tab)
        self._loaded_tabs: set[int] = set()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(head)
        lay.addWidget(self.flag_panel)
        lay.addWidget(self.flags_view)
        lay.addWidget(self.tabs, 1)


    # -- hooks ---------------------------------------------------------------------------------
    def set_history_panel(self, widget: QWidget) -> None:
        """Install the "History and notes" panel (issue 5) under the raw segments."""
        lay = self.history_slot.layout()
        while lay.count():
            item = lay.takeAt(0)
            if item.widget() is not None:
                item.widget().setParent(None)
        self._history = widget
        # In a scroll area, so a tall panel never squeezes the raw segments above it.
        scroll = QScrollArea()
        scroll.setObjectName("historyScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(widget)
        lay.addWidget(scroll)
        self.history_slot.show()
        self.right_split.setStretchFactor(0, 3)
        self.right_split.setStretchFactor(1, 2)
        h = max(self.right_split.height(), 600)
        self.right_split.setSizes([h * 3 // 5, h * 2 // 5])
        if self.member is not None:
            self._notify_history()

    def _notify_history(self) -> None:
        h = self._history
        if h is not None and hasattr(h, "show_member") and self.member is not None:
            h.show_member(self.member["id"], self.flag["id"] if self.flag else None)

    # -- loading -------------------------------------------------------------------------------
    def load(self, member_row: int, flag_id: int | None = None) -> bool:
        """Show a member; select `flag_id` (or its worst open flag). False if the row is gone."""
        t0 = time.perf_counter()
        m = uq.get_member(self.db, member_row)
        if m is None:
            return False
        self.member = m
        self.flags = queries.member_flags(self.db, member_row)
        extra = {int(r.get("ordinal") or 0) for f in self.flags for r in uq.parse_refs(f.get("segments"))}
        sep, comp = uq.delimiters(m)
        self.title.setText(_member_title(m))
        self.title.setToolTip(_member_title(m))
        self.demo_tag.setVisible(bool(m.get("is_demo")))
        self.sheet.sheet_model.set_fields(uq.member_sheet(self.db, m))
        self.raw.seg_model.set_lines(uq.member_segments(self.db, m, extra), sep, comp)
        self.flags_model.set_rows(self.flags)
        self.flags_view.setVisible(bool(self.flags))
        self._fit_flags_view()
        self._loaded_tabs = {0}
        self._update_tab_titles()
        chosen = flag_id if flag_id is not None and self.flags_model.row_of_flag(flag_id) >= 0 else None
        if chosen is None and self.flags:
            chosen = self.flags[0]["id"]
        self.select_flag(chosen)
        if self.tabs.currentIndex() != 0:
            self._on_tab(self.tabs.currentIndex())
        self.last_fill_ms = (time.perf_counter() - t0) * 1000
        log.debug("member view for member %s filled in %.1f ms", member_row, self.last_fill_ms)
        return True

    def _fit_flags_view(self) -> None:
        """The member's flag list is as tall as its rows (up to six, then it scrolls)."""
        v = self.flags_view
        rows = max(1, min(len(self.flags), 6))
        h = v.horizontalHeader().sizeHint().height() + rows * v.verticalHeader().defaultSectionSize()
        v.setFixedHeight(h + 2 * v.frameWidth() + 2)

    def _update_tab_titles(self) -> None:
        m = self.member
        if m is None:
            return
        n_family = len(uq.family(self.db, m))
        self._dups = uq.duplicate_rows(self.db, m)
        self.tabs.setTabText(1, f"Family ({n_family})")
        self.tabs.setTabText(2, f"Duplicates ({len(self._dups)})")
        self.tabs.setTabText(3, "Timeline")

    def select_flag(self, flag_id: int | None) -> None:
        """Make `flag_id` the selected flag: reason on top, highlight moved, both sides scrolled to it."""
        row = self.flags_model.row_of_flag(flag_id)
        if row >= 0 and self.flags_view.current_row() != row:
            self.flags_view.select_row(row)   # -> _on_flag_selected -> _apply_flag
        else:
            self._apply_flag(self.flags_model.row(row) if row >= 0 else None)

    @Slot(QItemSelection, QItemSelection)
    def _on_flag_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = {i.row() for i in selected.indexes()}
        if rows:
            self._apply_flag(self.flags_model.row(min(rows)))

    def _apply_flag(self, flag: dict[str, Any] | None) -> None:
        self.flag = flag
        others = [f for f in self.flags if flag is None or f["id"] != flag["id"]]
        others = [f for f in others if not f.get("resolved_at")]
        self.flag_panel.show_flag(flag, bool(self.flags))
        self.raw.seg_model.set_flag(flag, others)
        self.sheet.sheet_model.set_flags(flag, others)
        self.raw.scroll_to_highlight()
        self.sheet.scroll_to_mark()
        if self.member is not None:
            self.currentChanged.emit(self.member["id"], flag["id"] if flag else -1)
            self._notify_history()

    # -- tabs ----------------------------------------------------------------------------------
    @Slot(int)
    def _on_tab(self, index: int) -> None:
        m = self.member
        if m is None or index in self._loaded_tabs:
            return
        self._loaded_tabs.add(index)
        if index == 1:
            rows = uq.family(self.db, m)
            self.family_model.current = m["id"]
            self.family_model.set_rows(rows)
            self.family_view.resizeColumnsToContents()
            self.family_label.setText(
                f"The enrollment group in this transaction: {len(rows)} member{'s' if len(rows) != 1 else ''} "
                f"sharing subscriber id {m.get('subscriber_id') or '(none)'}. Enter or double-click opens one.")
        elif index == 2:
            self.dups.load(m, self._dups)
        elif index == 3:
            rows = uq.timeline(self.db, m)
            self.timeline_model.set_rows(rows)
            self.timeline_view.resizeColumnsToContents()
            self.tabs.setTabText(3, f"Timeline ({len(rows)})")
            self.timeline_label.setText(
                "Every loaded transaction for this person, oldest first (matched by member id, subscriber id "
                "and date of birth, or SSN). Select one to see it raw; Enter opens it.")
            this = next((i for i, r in enumerate(rows) if r.get("this")), 0)
            self.timeline_view.select_row(this)

    @Slot(int)
    def _on_family_open(self, row: int) -> None:
        r = self.family_model.row(row)
        if r is not None and self.member is not None and r["id"] != self.member["id"]:
            self.openMember.emit(r["id"])

    @Slot(int)
    def _on_timeline_open(self, row: int) -> None:
        r = self.timeline_model.row(row)
        if r is not None and self.member is not None and r["id"] != self.member["id"]:
            self.openMember.emit(r["id"])

    @Slot(QItemSelection, QItemSelection)
    def _on_timeline_selected(self, selected: QItemSelection, _d: QItemSelection) -> None:
        r = self.timeline_model.first_selected(selected)
        if r is None:
            return
        o = uq.get_member(self.db, r["id"])
        if o is not None:
            self.timeline_raw.seg_model.set_lines(uq.member_segments(self.db, o), *uq.delimiters(o))

    @Slot()
    def _on_prev(self) -> None:
        self.stepRequested.emit(-1)

    @Slot()
    def _on_next(self) -> None:
        self.stepRequested.emit(1)
