"""The triage queue: filter bar, bulk actions on the selected rows, and the lazily fetched queue table.

Several rows can be selected (Shift/Ctrl + click or arrows); the bulk bar sets their status or assigns
them, and Ctrl+Z (or Undo) reverts the clerk's last change all at once. In one-row-per-member mode a
selected member stands for its open flags.

The queue's query (filters, sorting, `reload` after an import or a status change) runs in a worker
thread (`queue_loader`): the rows shown stay until the new ones are swapped in, with the current row,
the selection and the scroll position kept by key on a reload; "Updating the queue..." shows in the
count line when that takes a noticeable time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from .. import ui_queries as uq
from ..review import statuses as st
from . import style
from .models import QueueModel
from .queue_loader import QueueLoader, QueueResult, store_file
from .review_panel import BulkActionBar
from .views import Table

STATUS_CHOICES = [("Open", "open"), ("All", "all"), ("Resolved by a later file", "resolved")]

#: a query still running after this long is shown as such in the count line (and by a busy cursor)
BUSY_AFTER_MS = 150


@dataclass
class _Place:
    """Where the clerk was when a reload was asked for, by key: put back when its rows arrive."""

    generation: int
    current: int | None
    chosen: tuple[int, ...]
    top: int | None
    hscroll: int


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as (first, last) runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


class QueuePanel(QWidget):
    """Signals: openRequested(dict row), filterChanged(), flagsChanged() (a bulk change or its undo),
    reloaded() (new rows are shown: after a filter or sort change, a reload)."""

    openRequested = Signal(object)
    filterChanged = Signal()
    flagsChanged = Signal()
    reloaded = Signal()

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queuePanel")
        self.db = db
        self.model = QueueModel(db, self)
        path = store_file(db)
        # No second connection can see an in-memory store: its queries run in the GUI thread.
        self.loader = QueueLoader(path, QueueModel.BATCH) if path is not None else None
        self.model.use_loader(self.loader)
        self._place: _Place | None = None
        self._shown_mode = self.model.filter.mode
        self._busy = False
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_AFTER_MS)
        self._busy_timer.timeout.connect(self._show_busy)
        self._problem = ""

        self.by_flag = QRadioButton("One row per flag")
        self.by_flag.setObjectName("modeFlags")
        self.by_member = QRadioButton("One row per member")
        self.by_member.setObjectName("modeMembers")
        self.by_flag.setChecked(True)
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.by_flag)
        self.mode_group.addButton(self.by_member)
        self.by_flag.toggled.connect(self._on_filter_changed)

        self.category = QComboBox()
        self.category.setObjectName("filterCategory")
        self.category.addItem("All categories", None)
        for c in uq.CATEGORIES:
            self.category.addItem(uq.CATEGORY_LABELS[c], c)
        self.severity = QComboBox()
        self.severity.setObjectName("filterSeverity")
        self.severity.addItem("All severities", None)
        for s in uq.SEVERITIES:
            self.severity.addItem(style.severity_icon(s), style.severity_word(s), s)
        self.status = QComboBox()
        self.status.setObjectName("filterStatus")
        self.file = QComboBox()
        self.file.setObjectName("filterFile")
        self.file.setMinimumContentsLength(16)
        self.file.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.text = QLineEdit()
        self.text.setObjectName("filterText")
        self.text.setPlaceholderText("Filter: reason, rule, name or id")
        self.text.setClearButtonEnabled(True)
        self.clear_btn = QPushButton("Clear filters")
        self.clear_btn.clicked.connect(self.clear_filters)
        for box in (self.category, self.severity, self.status, self.file):
            box.currentIndexChanged.connect(self._on_filter_changed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._on_filter_changed)
        self.text.textChanged.connect(self._on_text_changed)

        bar = QHBoxLayout()
        bar.addWidget(self.by_flag)
        bar.addWidget(self.by_member)
        bar.addSpacing(12)
        bar.addWidget(self.category)
        bar.addWidget(self.severity)
        bar.addWidget(self.status)
        bar.addWidget(self.file)
        bar.addWidget(self.text, 1)
        bar.addWidget(self.clear_btn)

        self.count = QLabel()
        self.count.setObjectName("queueCount")
        self.view = Table(name="queueView")
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setModel(self.model)
        # Indicator first: switching sorting on then asks the model for the order it already has.
        self.view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.opened.connect(self._on_opened)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.modelReset.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)
        self.model.reloaded.connect(self._on_reloaded)
        self.model.loadingChanged.connect(self._on_loading)
        self.model.loadFailed.connect(self._on_load_failed)

        self.bulk = BulkActionBar(db, self.selected_flag_ids)
        self.bulk.changed.connect(self._after_bulk)
        undo = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.bulk.undo)
        self.undo_shortcut = undo

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.addLayout(bar)
        lay.addWidget(self.bulk)
        lay.addWidget(self.count)
        lay.addWidget(self.view, 1)
        self._set_default_widths()
        self.refresh_choices()

    # -- filters -------------------------------------------------------------------------------
    def refresh_choices(self) -> None:
        """Fill the status and file boxes from the store (after an import)."""
        ch = uq.queue_choices(self.db)
        cur_status = self.status.currentData()
        cur_file = self.file.currentData()
        for box in (self.status, self.file):
            box.blockSignals(True)
        self.status.clear()
        for label, value in STATUS_CHOICES:
            self.status.addItem(label, value)
        for s in ch["statuses"]:
            if s not in ("open",):
                self.status.addItem(f"Status: {st.label(s)}", s)
        self.file.clear()
        self.file.addItem("All files", None)
        for fid, name in ch["files"]:
            self.file.addItem(name, fid)
        i = self.status.findData(cur_status if cur_status is not None else "open")
        self.status.setCurrentIndex(max(0, i))
        j = self.file.findData(cur_file)
        self.file.setCurrentIndex(max(0, j))
        for box in (self.status, self.file):
            box.blockSignals(False)

    def current_filter(self) -> uq.QueueFilter:
        return uq.QueueFilter(
            mode="members" if self.by_member.isChecked() else "flags",
            category=self.category.currentData(), severity=self.severity.currentData(),
            status=self.status.currentData() or "open", file_id=self.file.currentData(), text=self.text.text())

    def set_file(self, file_id: int | None) -> None:
        i = self.file.findData(file_id)
        if i < 0:
            self.refresh_choices()
            i = self.file.findData(file_id)
        self.file.setCurrentIndex(max(0, i))

    def set_mode(self, mode: str) -> None:
        (self.by_member if mode == "members" else self.by_flag).setChecked(True)

    @Slot()
    def clear_filters(self) -> None:
        for box in (self.category, self.severity, self.file):
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self.status.blockSignals(True)
        self.status.setCurrentIndex(0)
        self.status.blockSignals(False)
        self.text.blockSignals(True)
        self.text.clear()
        self.text.blockSignals(False)
        self._on_filter_changed()

    @Slot(str)
    def _on_text_changed(self, _t: str) -> None:
        self._debounce.start()

    @Slot()
    def _on_filter_changed(self, *_: Any) -> None:
        self.model.set_filter(self.current_filter())
        self.filterChanged.emit()

    def reload(self, *, wait: bool = False) -> None:
        """Re-run the query keeping the current row, the other selected rows and the scroll position
        when still there. In the loader's thread (the rows shown stay until the new ones are swapped
        in) unless `wait` (the window's first load, before it is shown)."""
        m = self.model
        w = m.wanted()
        if (w.filter, w.sort_key, w.descending) != (m.filter, m.sort_key, m.descending):
            m.reload(wait=wait)   # a filter or sort change is on its way: it starts at the top anyway
            return
        current = self.current_key()
        chosen = tuple(r["key"] for r in self.selected_rows())
        top_row = self.view.rowAt(0)
        top = m.row(top_row) if top_row >= 0 else None
        top_key = top.get("key") if top else None
        keep = tuple(dict.fromkeys(k for k in (current, top_key, *chosen) if k is not None))
        # The generation the reload is about to get: with `wait` its rows are swapped in before it returns.
        self._place = _Place(m.wanted().generation + 1, current, chosen, top_key,
                             self.view.horizontalScrollBar().value())
        m.reload(keep, wait=wait)

    def loading(self) -> bool:
        """Whether a query is on its way (the rows shown are the previous ones)."""
        return self.model.loading()

    def shutdown(self) -> None:
        """The window closes: stop a running query and its thread."""
        if self.loader is not None:
            self.loader.shutdown()

    @Slot(object)
    def _on_reloaded(self, result: QueueResult) -> None:
        self._problem = ""
        mode = result.query.filter.mode
        if mode != self._shown_mode:
            self._shown_mode = mode
            self.view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
            self._set_default_widths()
        place, self._place = self._place, None
        if place is not None and place.generation == result.query.generation:
            self._restore(place, result.positions)
        elif self.model.rowCount():
            self.view.select_row(0)
        self._update_count()
        self.reloaded.emit()

    def _restore(self, place: _Place, positions: dict[int, int]) -> None:
        """Put the current row, the selection and the scroll position back on their keys' new rows.
        A current row gone from the queue: the first row, as after a filter change."""
        m = self.model
        if not m.rowCount():
            return
        cur = positions.get(place.current) if place.current is not None else None
        chosen = {positions[k] for k in place.chosen if k in positions}
        if cur is None:
            self.view.select_row(0)
            if len(place.chosen) > 1 and chosen:
                self._select_rows(sorted(chosen), QItemSelectionModel.SelectionFlag.Select)
            return
        sm = self.view.selectionModel()
        sm.setCurrentIndex(m.index(cur, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
        self._select_rows(sorted(chosen | {cur}), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        top = positions.get(place.top) if place.top is not None else None
        if top is not None:
            self.view.scrollTo(m.index(top, 0), QAbstractItemView.ScrollHint.PositionAtTop)
        else:
            self.view.scrollTo(m.index(cur, 0), QAbstractItemView.ScrollHint.EnsureVisible)
        self.view.horizontalScrollBar().setValue(place.hscroll)

    def _select_rows(self, rows: list[int], how: QItemSelectionModel.SelectionFlag) -> None:
        m = self.model
        last = m.columnCount() - 1
        sel = QItemSelection()
        for first, end in _runs(rows):
            sel.select(m.index(first, 0), m.index(end, last))
        self.view.selectionModel().select(sel, how)

    @Slot(bool)
    def _on_loading(self, on: bool) -> None:
        if on:
            self._busy_timer.start()
            return
        self._busy_timer.stop()
        if self._busy:
            self._busy = False
            self.view.unsetCursor()
            self._update_count()

    @Slot()
    def _show_busy(self) -> None:
        if self.model.loading():
            self._busy = True
            self.view.setCursor(Qt.CursorShape.BusyCursor)
            self._update_count()

    @Slot(str)
    def _on_load_failed(self, text: str) -> None:
        self._place = None
        self._problem = f"The queue could not be updated ({text}); the rows shown may be out of date."
        self._update_count()

    # -- rows ----------------------------------------------------------------------------------
    def current_key(self) -> int | None:
        r = self.model.row(self.view.current_row())
        return r.get("key") if r else None

    def selected_rows(self) -> list[dict[str, Any]]:
        """The selected queue rows, top to bottom."""
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [r for r in (self.model.row(i) for i in rows) if r is not None and not r.get("missing")]

    def selected_flag_ids(self) -> list[int]:
        """Flag ids behind the selected rows: the flags themselves, or each selected member's open flags."""
        rows = self.selected_rows()
        if self.model.filter.mode != "members":
            return [r["flag_id"] for r in rows]
        ids = uq.open_flag_ids(self.db, [r["member_row"] for r in rows if r.get("member_row")])
        ids += [r["flag_id"] for r in rows if not r.get("member_row") and r.get("flag_id")]
        return list(dict.fromkeys(ids))

    @Slot()
    def _after_bulk(self) -> None:
        """Statuses changed under the queue: new status choices, the selected rows re-read at once (the
        re-run query, which drops rows the filter no longer matches, follows), tell the window."""
        self.refresh_choices()
        chosen = [r["key"] for r in self.selected_rows()]
        if len(chosen) <= QueueModel.BATCH:   # a larger selection waits for the query
            self.model.refresh_keys(chosen)
        self.reload()
        self.flagsChanged.emit()

    def step(self, step: int) -> dict[str, Any] | None:
        """Move the selection by one row (j/k from the member view) and return the new row."""
        before = self.view.current_row()
        self.view.move_by(step)
        after = self.view.current_row()
        if after == before:
            return None
        return self.model.row(after)

    @Slot(int)
    def _on_opened(self, row: int) -> None:
        r = self.model.row(row)
        if r is not None and not r.get("missing"):
            self.openRequested.emit(r)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _s: QItemSelection, _d: QItemSelection) -> None:
        self._update_count()

    @Slot()
    def _update_count(self, *_: Any) -> None:
        total = self.model.total()
        what = "member" if self.model.filter.mode == "members" else "flag"
        plural = "" if total == 1 else "s"
        flt = self.model.filter
        narrowed = any((flt.category, flt.severity, flt.file_id is not None, flt.text.strip(),
                        flt.status != "open"))
        status = {"open": "open ", "all": "", "resolved": "resolved "}.get(flt.status, "")
        text = f"{total:,} {status}{what}{plural}"
        if flt.status not in ("open", "all", "resolved"):
            text += f" with status \u201c{st.label(flt.status)}\u201d"
        text += (" matches the filters" if total == 1 else " match the filters") if narrowed else ""
        if total == 0:
            text += ". Nothing to review here." if not narrowed else ". Clear the filters to see more."
        else:
            chosen = len(self.view.selectionModel().selectedRows())
            if chosen > 1:
                text += f". {chosen:,} selected: set their status or assign them above (Ctrl+Z undoes)."
            else:
                text += (".  \u2191\u2193 or j/k to move, Enter to open, Shift or Ctrl + click to select "
                         "several, Ctrl+F to search members.")
        if self._busy:
            text = "Updating the queue\u2026  " + text
        if self._problem:
            text = self._problem + "  " + text
        self.count.setText(text)

    def _set_default_widths(self) -> None:
        h = self.view.horizontalHeader()
        fm = self.view.fontMetrics()
        ch = fm.horizontalAdvance("0")
        widths = {"severity": 11, "rule": 9, "category": 13, "name": 24, "member_id": 14, "policy_id": 14,
                  "message": 60, "file": 22, "received": 11, "status": 22, "subscriber_id": 14, "dob": 12,
                  "flags": 7, "categories": 24}
        for i, c in enumerate(self.model.columns):
            h.resizeSection(i, (widths.get(c.key, 12) + 3) * ch)
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
