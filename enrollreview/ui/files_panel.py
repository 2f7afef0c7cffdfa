"""Files and error rates: every received file with its status, and how many 834s were wrong.

The error rate of a file is members with an open error or warning flag / members in the file. The
chart shows it per file or per month received; every bar has its number written beside it, so the
chart reads without colour.

On a store with 100,000 open flags `ui_queries.files_overview` (open flags per file and category,
flagged members per file) takes 130 ms or more, so `reload` runs it in a worker thread
(`read_loader.ReadLoader`, its own read connection, the latest request wins): the files, bars and
summary line shown stay until the new ones are swapped in, all at once.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from .. import ui_queries as uq
from .delegates import RateBarDelegate, rate_colour
from .models import FilesModel, RateModel
from .read_loader import ReadLoader, Request, Result, store_file, whole
from .views import Table

#: the summary line while the very first list is read (there is nothing older to show meanwhile)
READING_TEXT = "Reading the list of files\u2026"


class ErrorRateChart(QWidget):
    """Horizontal bars: label, bar, "12.5%  (25 of 200 members)"."""

    def __init__(self, model: RateModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorRateChart")
        self.model = model
        model.modelReset.connect(self._on_reset)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    @Slot()
    def _on_reset(self) -> None:
        self.updateGeometry()
        self.update()

    def _row_h(self) -> int:
        return QFontMetrics(self.font()).height() + 10

    def sizeHint(self) -> QSize:
        n = max(1, len(self.model.rows))
        return QSize(400, n * self._row_h() + 12)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        fm = QFontMetrics(self.font())
        rows = self.model.rows
        if not rows:
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            p.drawText(self.rect().adjusted(6, 0, 0, 0), int(Qt.AlignmentFlag.AlignVCenter),
                       "No imported files yet.")
            return
        rh = self._row_h()
        label_w = min(max(fm.horizontalAdvance(r["label"]) for r in rows) + 12, int(self.width() * 0.4))
        text_w = fm.horizontalAdvance("100.0%  (99,999 of 99,999 members)") + 12
        bar_w = max(40, self.width() - label_w - text_w - 12)
        top_rate = max([r["error_rate"] or 0 for r in rows] + [0.05])
        for i, r in enumerate(rows):
            y = 6 + i * rh
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            label = fm.elidedText(r["label"], Qt.TextElideMode.ElideMiddle, label_w - 8)
            p.drawText(QRectF(4, y, label_w - 8, rh), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight),
                       label)
            track = QRectF(label_w, y + 4, bar_w, rh - 8)
            mid = pal.color(QPalette.ColorRole.Mid)
            mid.setAlpha(50)
            p.fillRect(track, mid)
            rate = r["error_rate"]
            if rate is not None:
                bar = QRectF(track)
                bar.setWidth(max(1.0, bar_w * rate / top_rate))
                p.fillRect(bar, rate_colour(rate, pal))
                text = f"{rate * 100:.1f}%  ({r['flagged_members']:,} of {r['members']:,} members)"
            else:
                text = "no members"
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            p.drawText(QRectF(label_w + bar_w + 8, y, text_w, rh), int(Qt.AlignmentFlag.AlignVCenter), text)


class FilesPanel(QWidget):
    """Signals: showFileFlags(int file_id) when the clerk asks to see a file's flags in the queue;
    reloaded() when a new list of files is shown (after `reload`)."""

    showFileFlags = Signal(int)
    reloaded = Signal()

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filesPanel")
        self.db = db
        path = store_file(db)
        # No second connection can see an in-memory store: its overview is read in the GUI thread.
        self.loader = (ReadLoader(path, whole(uq.files_overview), "files overview", "filesLoader")
                       if path is not None else None)
        if self.loader is not None:
            self.loader.loaded.connect(self._on_loaded)
            self.loader.failed.connect(self._on_failed)
        self._generation = 0          # of the latest reload asked for
        self._loading = False
        self._shown = False           # a list of files has been shown (READING_TEXT is not needed)
        self._select_id: int | None = None   # a file to select once the list on its way is shown
        self.failed = False           # the latest read failed (the window reads again on the next visit)
        self.model = FilesModel(self)
        self.view = Table(name="filesView")
        self.view.setModel(self.model)
        self.view.setItemDelegateForColumn(5, RateBarDelegate(self.view))
        self.view.opened.connect(self._on_opened)
        self.view.selectionModel().selectionChanged.connect(self._on_selected)
        h = self.view.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(False)
        self.intro = QLabel()
        self.intro.setObjectName("filesIntro")
        self.intro.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setObjectName("fileDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.rate_model = RateModel(self)
        self.chart = ErrorRateChart(self.rate_model)
        self.per_file = QRadioButton("Per file")
        self.per_file.setObjectName("chartPerFile")
        self.per_month = QRadioButton("By month")
        self.per_month.setObjectName("chartPerMonth")
        self.per_file.setChecked(True)
        grp = QButtonGroup(self)
        grp.addButton(self.per_file)
        grp.addButton(self.per_month)
        self.per_file.toggled.connect(self._fill_chart)
        chart_title = QLabel("Error rate: members with an open error or warning flag, as a share of the "
                             "members received")
        chart_title.setObjectName("chartTitle")
        chart_title.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(chart_title, 1)
        row.addWidget(self.per_file)
        row.addWidget(self.per_month)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.chart)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        chart_box = QWidget()
        cl = QVBoxLayout(chart_box)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addLayout(row)
        cl.addWidget(scroll, 1)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.intro)
        tl.addWidget(self.view, 1)
        tl.addWidget(self.detail)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("filesSplitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(chart_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.splitter)
        self.files: list[dict[str, Any]] = []

    def reload(self, *, wait: bool = False) -> None:
        """Re-read the files and their flag counts. In the loader's thread (what is shown stays until
        the new list is swapped in) unless `wait` or the store is in memory."""
        self._generation += 1
        request = Request(self._generation)
        if self.loader is None or wait:
            if self.loader is not None:
                self.loader.forget(request.generation)
            self._apply(Result(request, uq.files_overview(self.db)))
            return
        self._loading = True
        if not self._shown:
            self.intro.setText(READING_TEXT)
        self.loader.request(request)

    def loading(self) -> bool:
        """Whether a reload asked for has not been shown yet."""
        return self._loading

    def select_file(self, file_id: int | None) -> None:
        """Select a file's row: now if it is listed, and again when the list on its way is shown."""
        for i, f in enumerate(self.files):
            if f["id"] == file_id:
                self.view.select_row(i)
        if self._loading:
            self._select_id = file_id

    def shutdown(self) -> None:
        """The window closes: stop a running read and its thread."""
        if self.loader is not None:
            self.loader.shutdown()

    @Slot(object)
    def _on_loaded(self, result: Result) -> None:
        if result.request.generation == self._generation:   # else a newer reload is on its way
            self._apply(result)

    @Slot(object, str)
    def _on_failed(self, request: Request, text: str) -> None:
        if request.generation == self._generation:
            self._loading, self.failed = False, True
            self.intro.setText(f"The list of files could not be read ({text}). It is read again when you come "
                               "back to this tab.")

    def _apply(self, result: Result) -> None:
        self._loading, self._shown, self.failed = False, True, False
        select, self._select_id = self._select_id, None
        self.files = result.value
        self.model.set_rows(self.files)
        self.view.resizeColumnsToContents()
        h = self.view.horizontalHeader()
        fm = self.view.fontMetrics()
        h.resizeSection(0, min(h.sectionSize(0), fm.horizontalAdvance("0") * 40))
        h.resizeSection(5, max(h.sectionSize(5), fm.horizontalAdvance("0") * 14))
        imported = [f for f in self.files if f["status"] == "imported"]
        rejected = len(self.files) - len(imported)
        members = sum(f["members"] or 0 for f in imported)
        flagged = sum(f["flagged_members"] for f in imported)
        rate = f"{flagged / members * 100:.1f}%" if members else "n/a"
        self.intro.setText(
            f"{len(self.files)} file{'s' if len(self.files) != 1 else ''} received: {len(imported)} imported, "
            f"{rejected} rejected. {members:,} members, {flagged:,} with an open error or warning "
            f"(overall error rate {rate}). Double-click a file (or press Enter) to review its flags.")
        self._fill_chart()
        if select is not None:
            self.select_file(select)
        if self.files and self.view.current_row() < 0:
            self.view.select_row(len(self.files) - 1)
        self.reloaded.emit()

    @Slot()
    def _fill_chart(self, *_: Any) -> None:
        if self.per_file.isChecked():
            rows = [{"label": f["name"], "members": f["members"] or 0, "flagged_members": f["flagged_members"],
                     "error_rate": f["error_rate"]} for f in self.files if f["status"] == "imported"]
        else:
            rows = [{"label": m["month"], **m} for m in uq.error_rate_by_month(self.files)]
        self.rate_model.set_rows(rows)

    @Slot(QItemSelection, QItemSelection)
    def _on_selected(self, sel: QItemSelection, _d: QItemSelection) -> None:
        f = self.model.first_selected(sel)
        if f is None:
            return
        if f["status"] != "imported":
            self.detail.setText(f"{f['name']} was rejected: {f.get('reason') or 'no reason recorded'}. "
                                "Nothing from it was loaded. Ask the sender for a corrected file.")
        else:
            demo = "  Demo data (made-up members)." if f.get("is_demo") else ""
            self.detail.setText(
                f"{f['name']}: dated {f['received'] or '?'}, sender {f.get('isa_sender') or '?'}, interchange "
                f"control number {f.get('isa_control') or '?'}; {f['members'] or 0:,} members in "
                f"{f['transactions'] or 0:,} transaction set{'s' if f['transactions'] != 1 else ''}, {f['flags']:,} open flags, "
                f"{f['findings'] or 0:,} syntax findings.{demo}")

    @Slot(int)
    def _on_opened(self, row: int) -> None:
        f = self.model.row(row)
        if f is not None and f["status"] == "imported":
            self.showFileFlags.emit(f["id"])
