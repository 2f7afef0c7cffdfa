"""Painting helpers: highlighted raw segments and error-rate bars.

The delegates only paint what the models say (`SpansRole`, `SeverityRole`, `RateRole`); they never
change the stored text and never run SQL.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from . import style
from .models import RateRole, SeverityRole, SpansRole

PAD = 4



def _cell_without_text(delegate: QStyledItemDelegate, painter: QPainter, option: QStyleOptionViewItem,
                       index: QModelIndex | QPersistentModelIndex) -> tuple[QStyleOptionViewItem, str]:
    """Paint the cell as the style would (background, selection, focus) but without its text; return
    the initialised option and the text, for the delegate to write itself."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    text = opt.text
    opt.text = ""
    widget = opt.widget
    st = widget.style() if widget is not None else QApplication.style()
    st.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
    return opt, text

class SegmentTextDelegate(QStyledItemDelegate):
    """Paints one raw segment with its flagged elements boxed in the severity colour and underlined
    (the underline is the non-colour cue; the gutter column carries the icon and the word)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        opt, text = _cell_without_text(self, painter, option, index)
        spans: list[tuple[int, int]] = index.data(SpansRole) or []
        severity = index.data(SeverityRole)
        painter.save()
        painter.setFont(opt.font)
        fm = QFontMetricsF(opt.font)
        rect = QRectF(opt.rect).adjusted(PAD, 0, -PAD, 0)
        x0 = rect.left()
        if spans and severity:
            t = style.tone(severity, opt.palette)
            h = fm.height()
            top = rect.center().y() - h / 2
            for start, end in spans:
                xa = x0 + fm.horizontalAdvance(text[:start])
                xb = x0 + fm.horizontalAdvance(text[:end])
                if xb - xa < 2:   # a missing element: a small box where it should be
                    xb = xa + max(fm.horizontalAdvance(" "), 4)
                box = QRectF(xa - 1, top, xb - xa + 2, h)
                painter.fillRect(box, t.strong)
                pen = QPen(t.fg)
                pen.setWidthF(2.0)
                painter.setPen(pen)
                painter.drawLine(QPointF(box.left(), box.bottom() - 1), QPointF(box.right(), box.bottom() - 1))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected and not spans else QPalette.ColorRole.Text
        painter.setPen(opt.palette.color(role))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        fm = QFontMetricsF(option.font)
        return QSize(int(fm.horizontalAdvance(text)) + 2 * PAD + 4, size.height())


class RateBarDelegate(QStyledItemDelegate):
    """An error-rate cell: a bar proportional to the rate with the percentage written on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        opt, text = _cell_without_text(self, painter, option, index)
        rate = index.data(RateRole)
        painter.save()
        rect = QRectF(opt.rect).adjusted(PAD, 3, -PAD, -3)
        if rate is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            track = QColor(opt.palette.color(QPalette.ColorRole.Mid))
            track.setAlpha(60)
            painter.fillRect(rect, track)
            bar = QRectF(rect)
            bar.setWidth(max(1.0, rect.width() * min(1.0, float(rate))))
            painter.fillRect(bar, rate_colour(float(rate), opt.palette))
        painter.setPen(opt.palette.color(QPalette.ColorRole.Text))
        painter.drawText(rect.adjusted(3, 0, 0, 0), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                         text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        s = super().sizeHint(option, index)
        return QSize(max(s.width(), 110), s.height())


def rate_colour(rate: float, palette: QPalette | Any) -> QColor:
    """Bars: neutral up to 5%, amber up to 20%, red above (the number is always written too)."""
    sev = "info" if rate < 0.05 else ("warning" if rate < 0.20 else "error")
    return style.tone(sev, palette).strong
