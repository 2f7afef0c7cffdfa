"""Small view classes shared by the panels: the raw segment view, the member sheet, plain tables."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFontMetrics, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from . import style
from .delegates import SegmentTextDelegate
from .models import SectionRole, SegmentModel, SheetModel


class Table(QTableView):
    """A read-only, row-selecting table. Enter (or double-click) emits `opened(row)`; j/k move."""

    opened = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, name: str = "") -> None:
        super().__init__(parent)
        if name:
            self.setObjectName(name)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Fit columns to the first rows only: measuring 500 search results would take 0.7 s.
        self.horizontalHeader().setResizeContentsPrecision(40)
        self.doubleClicked.connect(self._on_double_clicked)
        self.apply_row_height()

    def apply_row_height(self) -> None:
        fm = QFontMetrics(self.font())
        self.verticalHeader().setDefaultSectionSize(max(fm.height() + 8, self.iconSize().height() + 6, 22))
        self.verticalHeader().setMinimumSectionSize(fm.height() + 4)

    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.opened.emit(index.row())

    def current_row(self) -> int:
        idx = self.currentIndex()
        return idx.row() if idx.isValid() else -1

    def select_row(self, row: int) -> None:
        model = self.model()
        if model is None or not (0 <= row < model.rowCount()):
            return
        self.setCurrentIndex(model.index(row, 0))
        self.selectRow(row)
        self.scrollTo(model.index(row, 0), QAbstractItemView.ScrollHint.EnsureVisible)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and mods == Qt.KeyboardModifier.NoModifier:
            row = self.current_row()
            if row >= 0:
                self.opened.emit(row)
                event.accept()
                return
        if mods == Qt.KeyboardModifier.NoModifier and key in (Qt.Key.Key_J, Qt.Key.Key_K):
            self.move_by(1 if key == Qt.Key.Key_J else -1)
            event.accept()
            return
        super().keyPressEvent(event)

    def move_by(self, step: int) -> None:
        model = self.model()
        if model is None:
            return
        row = self.current_row()
        target = 0 if row < 0 else row + step
        if target >= model.rowCount() and model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
        if 0 <= target < model.rowCount():
            self.select_row(target)


class SegmentView(Table):
    """Raw X12: monospace, one segment per line, loop id and ordinal in a gutter."""

    def __init__(self, parent: QWidget | None = None, *, name: str = "segmentView") -> None:
        super().__init__(parent, name=name)
        self.seg_model = SegmentModel(self)
        self.setModel(self.seg_model)
        self.setFont(style.mono_font())
        self.setAlternatingRowColors(False)
        self.setShowGrid(False)
        self.setItemDelegateForColumn(SegmentModel.TEXT, SegmentTextDelegate(self))
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        h = self.horizontalHeader()
        h.setSectionResizeMode(SegmentModel.MARK, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(SegmentModel.ORDINAL, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(SegmentModel.LOOP, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(SegmentModel.TEXT, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        self.apply_row_height()
        self.setToolTip("")

    def scroll_to_highlight(self) -> None:
        row = self.seg_model.first_highlighted_row()
        if row >= 0:
            self.scrollTo(self.seg_model.index(row, SegmentModel.TEXT), QAbstractItemView.ScrollHint.PositionAtCenter)
            self.horizontalScrollBar().setValue(0)


class SheetView(Table):
    """The parsed member (label, value) with section headings spanning both columns."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, name="memberSheet")
        self.sheet_model = SheetModel(self)
        self.setModel(self.sheet_model)
        self.setWordWrap(True)
        self.setAlternatingRowColors(False)
        self.setShowGrid(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        h = self.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        h.hide()
        self._fit = QTimer(self)
        self._fit.setSingleShot(True)
        self._fit.setInterval(0)
        self._fit.timeout.connect(self.resizeRowsToContents)
        self.sheet_model.modelReset.connect(self._spans)
        h.sectionResized.connect(self._refit)

    def _spans(self) -> None:
        self.clearSpans()
        m = self.sheet_model
        for r in range(m.rowCount()):
            if m.data(m.index(r, 0), SectionRole):
                self.setSpan(r, 0, 1, 2)
        self.resizeRowsToContents()

    @Slot()
    def _refit(self, *_: Any) -> None:
        """Wrapped values need their row heights recomputed when the width changes."""
        self._fit.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit.start()

    def scroll_to_mark(self) -> None:
        rows = [r for r, (_s, cur) in self.sheet_model.marked_rows().items() if cur]
        if rows:
            self.scrollTo(self.sheet_model.index(min(rows), 0), QAbstractItemView.ScrollHint.EnsureVisible)
