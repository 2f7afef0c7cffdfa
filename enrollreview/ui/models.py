"""Table models over the store (never the parser).

`QueueModel` is the triage queue: sorting and filtering happen in SQL (`ui_queries.queue_keys`
returns the ordered keys only, in a worker thread of `queue_loader` once the panel attaches one), and
rows are fetched lazily in batches through `canFetchMore`/`fetchMore`, so 100,000 flags open at once.
The other models are small and hold plain row dicts (`RowsModel`). `SegmentModel` is the raw X12 view: one segment per row with the loop
id in a gutter and the character ranges to highlight in `SpansRole`.

Every model derives from `TableModel`, which writes the Qt plumbing (rowCount, columnCount,
headerData, data) once; the models over dict rows described by `Column`s derive from `ColumnsModel`.
Every model returns its row object under `RowRole`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont, QIcon
from sqlite_utils import Database

from .. import ui_queries as uq
from ..review import statuses as st
from . import style
from .queue_loader import QueueLoader, QueueQuery, QueueResult, load_queue

# Item roles as plain ints. Qt hands `role` to data() as an int, and comparing an int with a PySide6
# enum member (attribute lookups and IntEnum.__eq__) costs about 0.5 us: thousands of times per repaint.
BACKGROUND_ROLE = int(Qt.ItemDataRole.BackgroundRole)
DECORATION_ROLE = int(Qt.ItemDataRole.DecorationRole)
DISPLAY_ROLE = int(Qt.ItemDataRole.DisplayRole)
FONT_ROLE = int(Qt.ItemDataRole.FontRole)
FOREGROUND_ROLE = int(Qt.ItemDataRole.ForegroundRole)
ALIGNMENT_ROLE = int(Qt.ItemDataRole.TextAlignmentRole)
TOOLTIP_ROLE = int(Qt.ItemDataRole.ToolTipRole)
USER_ROLE = int(Qt.ItemDataRole.UserRole)
RowRole = USER_ROLE + 1
KeyRole = USER_ROLE + 2
SpansRole = USER_ROLE + 3
SeverityRole = USER_ROLE + 4
RateRole = USER_ROLE + 5
SectionRole = USER_ROLE + 6

_Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def _name(r: dict[str, Any]) -> str:
    last, first = r.get("last_name") or "", r.get("first_name") or ""
    if last and first:
        return f"{last}, {first}"
    return last or first or ""


def _status(r: dict[str, Any]) -> str:
    """The words a clerk reads ("Closed (no action needed)"); a member row shows its rolled-up status."""
    if r.get("resolved_at"):
        return "Resolved by a later file"
    if r.get("status"):
        return st.label(r["status"])
    several = [s for s in (r.get("statuses") or "").split(",") if s]
    return st.label(st.rollup(several)) if several else ""


def _member_name(r: dict[str, Any]) -> str:
    """The queue's Member cell: a flag about a whole file (envelope, numbering) names no member."""
    if not r.get("member_row") and not r.get("roster_row"):
        return "(the whole file)"
    return _name(r)


def _date(v: Any) -> str:
    return (v or "")[:10]


def _bold() -> QFont:
    f = QFont()
    f.setBold(True)
    return f


@dataclass
class Column:
    key: str
    header: str
    text: Callable[[dict[str, Any]], str]
    icon: Callable[[dict[str, Any]], QIcon | None] | None = None
    tip: Callable[[dict[str, Any]], str] | None = None
    align: int = _LEFT


def _sev_icon(key: str) -> Callable[[dict[str, Any]], QIcon | None]:
    def f(r: dict[str, Any]) -> QIcon | None:
        return style.severity_icon(r[key]) if r.get(key) else None
    return f


class TableModel(QAbstractTableModel):
    """A read-only flat table: the Qt plumbing every model here shares, written once.

    A subclass says how many rows there are (`row_count`), what the column headers are (`headers`)
    and what one cell holds for one role (`cell`, only ever called with a row and column in range).
    """

    def row_count(self) -> int:
        raise NotImplementedError

    def headers(self) -> Sequence[str]:
        raise NotImplementedError

    def cell(self, row: int, column: int, role: int) -> Any:
        raise NotImplementedError

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY_ROLE) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY_ROLE:
            headers = self.headers()
            if 0 <= section < len(headers):
                return headers[section]
        return None

    def data(self, index: _Index, role: int = DISPLAY_ROLE) -> Any:
        row = index.row()
        if not index.isValid() or not (0 <= row < self.row_count()):
            return None
        return self.cell(row, index.column(), role)


class ColumnsModel(TableModel):
    """Rows are dicts in `rows`, described by `Column`s (text, icon, tool tip, alignment).

    `KEY` names the row field returned under `KeyRole` (None: no key); `extra_data` answers any
    other role.
    """

    KEY: str | None = None
    columns: list[Column]
    rows: list[dict[str, Any]]

    def row_count(self) -> int:
        return len(self.rows)

    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # called for every index Qt checks
        return 0 if parent.isValid() else len(self.columns)

    def row(self, i: int) -> dict[str, Any] | None:
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def first_selected(self, selection: QItemSelection) -> dict[str, Any] | None:
        """The row of the topmost selected index in ``selection``; None when it selects nothing."""
        rows = {i.row() for i in selection.indexes()}
        return self.row(min(rows)) if rows else None

    def cell(self, row: int, column: int, role: int) -> Any:
        r = self.rows[row]
        col = self.columns[column]
        if role == DISPLAY_ROLE:
            return col.text(r)
        if role == DECORATION_ROLE and col.icon is not None:
            return col.icon(r)
        if role == TOOLTIP_ROLE and col.tip is not None:
            return col.tip(r) or None
        if role == ALIGNMENT_ROLE:
            return col.align
        if role == RowRole:
            return r
        if role == KeyRole and self.KEY is not None:
            return r.get(self.KEY)
        return self.extra_data(r, col, role)

    def extra_data(self, row: dict[str, Any], col: Column, role: int) -> Any:
        return None


class RowsModel(ColumnsModel):
    """A read-only table over a list of dicts described by `Column`s."""

    def __init__(self, columns: list[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()


# -- the queue ------------------------------------------------------------------------------------

FLAG_COLUMNS = [
    Column("severity", "Severity", lambda r: style.severity_word(r.get("severity")), _sev_icon("severity")),
    Column("rule", "Rule", lambda r: r.get("rule") or ""),
    Column("category", "Category", lambda r: uq.CATEGORY_LABELS.get(r.get("category") or "", r.get("category") or "")),
    Column("name", "Member", _member_name),
    Column("member_id", "Member id", lambda r: r.get("member_id") or ""),
    Column("policy_id", "Policy id", lambda r: r.get("policy_id") or ""),
    Column("status", "Status", _status),
    Column("message", "Reason", lambda r: r.get("message") or "",
           tip=lambda r: (r.get("message") or "") + (f"\n\nNext step: {r['next_step']}" if r.get("next_step") else "")),
    Column("file", "File", lambda r: r.get("file") or ""),
    Column("received", "Received", lambda r: _date(r.get("received"))),
]

MEMBER_COLUMNS = [
    Column("severity", "Worst", lambda r: style.severity_word(r.get("worst")), _sev_icon("worst")),
    Column("name", "Member", _member_name),
    Column("member_id", "Member id", lambda r: r.get("member_id") or ""),
    Column("subscriber_id", "Subscriber id", lambda r: r.get("subscriber_id") or ""),
    Column("policy_id", "Policy id", lambda r: r.get("policy_id") or ""),
    Column("dob", "Date of birth", lambda r: r.get("dob") or ""),
    Column("flags", "Flags", lambda r: f"{r.get('flags') or 0:,}", align=_RIGHT,
           tip=lambda r: r.get("rules") or ""),
    Column("categories", "Categories", lambda r: ", ".join(
        uq.CATEGORY_LABELS.get(c, c) for c in sorted((r.get("categories") or "").split(",")) if c)),
    Column("file", "File", lambda r: r.get("file") or ""),
    Column("status", "Status", _status),
]


class QueueModel(ColumnsModel):
    """The triage queue: one row per flag, or per flagged member; lazily fetched from SQL.

    `filter`, `sort_key` and `descending` describe the rows shown. A change (`set_filter`, `sort`,
    `reload`) is a `QueueQuery`; with a `QueueLoader` attached (`use_loader`) it runs in a worker thread
    and the rows shown stay until its result is swapped in (one model reset, first rows included, never
    an empty queue in between); without one, or with `wait=True`, it runs at once. Signals:
    loadingChanged(bool), reloaded(QueueResult) after every swap, loadFailed(str).
    """

    BATCH = 256
    KEY = "key"
    #: the rows a reload replaces are freed a slice at a time, at most this long per event-loop turn
    #: (freeing 100,000 fetched row dicts at once held the GUI thread for over 100 ms)
    FREE_SLICE_MS = 4.0

    loadingChanged = Signal(bool)
    reloaded = Signal(object)
    loadFailed = Signal(str)

    def __init__(self, db: Database, parent: Any = None) -> None:
        super().__init__(parent)
        self.db = db
        self.filter = uq.QueueFilter()
        self.sort_key = "severity"
        self.descending = False
        self._keys: list[int] = []
        self.rows = []
        self._wanted = QueueQuery(0, self.filter, self.sort_key, self.descending)
        self._loader: QueueLoader | None = None
        self._loading = False
        self._trash: list[list[dict[str, Any]]] = []
        self._trash_timer = QTimer(self)
        self._trash_timer.setInterval(0)
        self._trash_timer.timeout.connect(self._free_some)

    @property
    def columns(self) -> list[Column]:
        return MEMBER_COLUMNS if self.filter.mode == "members" else FLAG_COLUMNS

    # -- loading ------------------------------------------------------------------------------
    def use_loader(self, loader: QueueLoader | None) -> None:
        """Run the queries in `loader`'s thread from now on (None: in the calling thread)."""
        if self._loader is not None:
            self._loader.loaded.disconnect(self._on_loaded)
            self._loader.failed.disconnect(self._on_failed)
        self._loader = loader
        if loader is not None:
            loader.loaded.connect(self._on_loaded)
            loader.failed.connect(self._on_failed)

    def wanted(self) -> QueueQuery:
        """The latest query asked for (shown once it has loaded)."""
        return self._wanted

    def loading(self) -> bool:
        """Whether a query asked for has not been swapped in yet."""
        return self._loading

    def set_filter(self, flt: uq.QueueFilter, *, wait: bool = False) -> int:
        w = self._wanted
        sort_key, desc = (w.sort_key, w.descending) if flt.mode == w.filter.mode else ("severity", False)
        return self._request(flt, sort_key, desc, (), wait)

    def reload(self, keep: tuple[int, ...] = (), *, wait: bool = False) -> int:
        """Re-run the latest query (after an import, a status change). `keep`: keys whose rows the caller
        wants back (the selection); their new rows are in the result's `positions`. Returns the
        query's generation, which `reloaded` carries back."""
        w = self._wanted
        return self._request(w.filter, w.sort_key, w.descending, keep, wait)

    def _request(self, flt: uq.QueueFilter, sort_key: str, descending: bool, keep: tuple[int, ...],
                 wait: bool) -> int:
        query = QueueQuery(self._wanted.generation + 1, flt, sort_key, descending, tuple(keep))
        self._wanted = query
        if self._loader is None or wait:
            if self._loader is not None:
                self._loader.forget(query.generation)
            self._apply(load_queue(self.db, query, self.BATCH))
        else:
            self._set_loading(True)
            self._loader.request(query)
        return query.generation

    @Slot(object)
    def _on_loaded(self, result: QueueResult) -> None:
        if result.query.generation == self._wanted.generation:   # else a newer query is on its way
            self._apply(result)

    @Slot(object, str)
    def _on_failed(self, query: QueueQuery, text: str) -> None:
        if query.generation == self._wanted.generation:
            self._set_loading(False)
            self.loadFailed.emit(text)

    def _apply(self, result: QueueResult) -> None:
        q = result.query
        old = self.rows
        self.beginResetModel()
        self.filter, self.sort_key, self.descending = q.filter, q.sort_key, q.descending
        self._keys = result.keys
        self.rows = list(result.rows)   # the model's own list: fetchMore grows it, _free_some empties it
        self.endResetModel()
        if len(old) > self.BATCH:
            self._trash.append(old)
            self._trash_timer.start()
        self._set_loading(False)
        self.reloaded.emit(result)

    @Slot()
    def _free_some(self) -> None:
        end = time.perf_counter() + self.FREE_SLICE_MS / 1000
        while self._trash and time.perf_counter() < end:
            rows = self._trash[-1]
            del rows[-500:]
            if not rows:
                self._trash.pop()
        if not self._trash:
            self._trash_timer.stop()

    def _set_loading(self, on: bool) -> None:
        if on != self._loading:
            self._loading = on
            self.loadingChanged.emit(on)

    def total(self) -> int:
        """Rows matching the filter (the view may have fetched fewer so far)."""
        return len(self._keys)

    def keys(self) -> list[int]:
        return list(self._keys)

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:
        return not parent.isValid() and len(self.rows) < len(self._keys)

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:
        if parent.isValid():
            return
        start = len(self.rows)
        keys = self._keys[start:start + self.BATCH]
        if not keys:
            return
        found = uq.queue_rows(self.db, self.filter, keys)
        rows = [found.get(k) or {"key": k, "missing": True} for k in keys]
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def fetch_all(self) -> None:
        while self.canFetchMore():
            self.fetchMore()

    def ensure_fetched(self, row: int) -> None:
        while row >= len(self.rows) and self.canFetchMore():
            self.fetchMore()

    def row_of_key(self, key: int) -> int:
        try:
            i = self._keys.index(key)
        except ValueError:
            return -1
        self.ensure_fetched(i)
        return i

    def refresh_keys(self, keys: list[int]) -> None:
        """Re-read some rows in place (after a status change): the smallest change, dataChanged."""
        found = uq.queue_rows(self.db, self.filter, list(keys))
        last = len(self.columns) - 1
        for i, r in enumerate(self.rows):
            if r.get("key") in found:
                self.rows[i] = found[r["key"]]
                self.dataChanged.emit(self.index(i, 0), self.index(i, last))

    # -- sorting ------------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not (0 <= column < len(self.columns)):
            return
        key = self.columns[column].key
        desc = order == Qt.SortOrder.DescendingOrder
        w = self._wanted
        if key == w.sort_key and desc == w.descending:
            return   # already in (or on its way to) this order (the view calls sort() when sorting is switched on)
        self._request(w.filter, key, desc, (), False)

    # -- reading ------------------------------------------------------------------------------
    def cell(self, row: int, column: int, role: int) -> Any:
        if self.rows[row].get("missing"):
            return "(no longer in the store)" if role == DISPLAY_ROLE and column == 0 else None
        return super().cell(row, column, role)

    def extra_data(self, row: dict[str, Any], col: Column, role: int) -> Any:
        if role == FOREGROUND_ROLE and col.key == "severity":
            return style.tone(row.get("severity") or row.get("worst")).fg
        return None


# -- files ----------------------------------------------------------------------------------------

def _pct(v: float | None) -> str:
    return "" if v is None else f"{v * 100:.1f}%"


def _file_status(r: dict[str, Any]) -> str:
    s = "Imported" if r["status"] == "imported" else "Rejected"
    return s + (" (demo)" if r.get("is_demo") else "")


def _category_column(cat: str) -> Column:
    label = uq.CATEGORY_LABELS[cat]
    return Column(cat, label, lambda r: f"{r['by_category'][cat]:,}" if r["status"] == "imported" else "",
                  align=_RIGHT, tip=lambda r: f"Open {label.lower()} flags")


FILE_COLUMNS = [
    Column("name", "File", lambda r: r["name"], tip=lambda r: r.get("reason") or r["name"]),
    Column("status", "Status", _file_status,
           lambda r: style.icon("ok" if r["status"] == "imported" else "rejected"),
           tip=lambda r: ("Rejected: " + (r.get("reason") or "")) if r["status"] != "imported" else "Imported"),
    Column("received", "File date", lambda r: r.get("received") or "",
           tip=lambda r: "The interchange date (ISA09), else when the file arrived"),
    Column("members", "Members", lambda r: f"{r['members'] or 0:,}", align=_RIGHT),
    Column("flagged", "Flagged members", lambda r: f"{r['flagged_members']:,}" if r["status"] == "imported" else "",
           align=_RIGHT, tip=lambda r: "Members with an open error or warning flag"),
    Column("rate", "Error rate", lambda r: _pct(r["error_rate"]),
           tip=lambda r: "Flagged members / members" if r["error_rate"] is not None else ""),
    *[_category_column(c) for c in uq.CATEGORIES],
]


class FilesModel(RowsModel):
    KEY = "id"

    def __init__(self, parent: Any = None) -> None:
        super().__init__(FILE_COLUMNS, parent)

    def extra_data(self, row: dict[str, Any], col: Column, role: int) -> Any:
        if role == RateRole and col.key == "rate":
            return row["error_rate"]
        return None


class RateModel(RowsModel):
    """Error rate per file or per month, for the bar chart (and its accessible table)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("label", "File or month", lambda r: r["label"]),
            Column("members", "Members", lambda r: f"{r['members']:,}", align=_RIGHT),
            Column("flagged", "Flagged", lambda r: f"{r['flagged_members']:,}", align=_RIGHT),
            Column("rate", "Error rate", lambda r: _pct(r["error_rate"]), align=_RIGHT),
        ], parent)

    def extra_data(self, row: dict[str, Any], col: Column, role: int) -> Any:
        if role == RateRole:
            return row["error_rate"]
        return None


# -- search, member flags, family, timeline -------------------------------------------------------

class SearchModel(RowsModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("name", "Member", _name),
            Column("member_id", "Member id", lambda r: r.get("member_id") or ""),
            Column("subscriber_id", "Subscriber id", lambda r: r.get("subscriber_id") or ""),
            Column("policy_id", "Policy id", lambda r: r.get("policy_id") or ""),
            Column("dob", "Date of birth", lambda r: (r.get("dob") or "")
                   + (f" (age {r['age']})" if r.get("age") is not None else "")),
            Column("ssn", "SSN", lambda r: r.get("ssn_masked") or ""),
            Column("rel", "Relationship", lambda r: uq.queries.RELATIONSHIPS.get(r.get("rel") or "", r.get("rel") or "")),
            Column("file", "File", lambda r: r.get("file") or ""),
            Column("flags", "Open flags", lambda r: f"{r.get('flags') or 0:,}" if r.get("flags") else "none",
                   align=_RIGHT),
        ], parent)


def _flag_text(r: dict[str, Any]) -> str:
    return r.get("message") or ""


class MemberFlagsModel(RowsModel):
    """The selected member's flags (the list above the side-by-side view)."""

    KEY = "id"

    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("severity", "Severity", lambda r: style.severity_word(r.get("severity")), _sev_icon("severity")),
            Column("rule", "Rule", lambda r: r.get("rule") or ""),
            Column("category", "Category", lambda r: uq.CATEGORY_LABELS.get(r.get("category") or "", "")),
            Column("message", "Reason", _flag_text, tip=lambda r: r.get("next_step") or ""),
            Column("status", "Status", _status),
        ], parent)

    def extra_data(self, row: dict[str, Any], col: Column, role: int) -> Any:
        if role == FOREGROUND_ROLE and col.key == "severity":
            return style.tone(row.get("severity")).fg
        return None

    def row_of_flag(self, flag_id: int | None) -> int:
        for i, r in enumerate(self.rows):
            if r["id"] == flag_id:
                return i
        return -1


def _flags_cell(r: dict[str, Any]) -> str:
    n = r.get("flags") or 0
    if not n:
        return "none"
    return f"{n} ({r.get('rules') or ''})"


class FamilyModel(RowsModel):
    KEY = "id"

    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("name", "Member", _name),
            Column("relationship", "Relationship", lambda r: ("Subscriber, " if r.get("ins01") == "Y" else "")
                   + (r.get("relationship") or "")),
            Column("dob", "Date of birth", lambda r: (r.get("dob") or "")
                   + (f" (age {r['age']})" if r.get("age") is not None else "")),
            Column("member_id", "Member id", lambda r: r.get("member_id") or ""),
            Column("subscriber_id", "Subscriber id", lambda r: r.get("subscriber_id") or ""),
            Column("policy_id", "Policy id", lambda r: r.get("policy_id") or ""),
            Column("flags", "Open flags", _flags_cell, _sev_icon("worst")),
        ], parent)
        self.current: int | None = None

    def extra_data(self, row: dict[str, Any], col: Column, role: int) -> Any:
        if role == FONT_ROLE and row["id"] == self.current:
            return _bold()
        return None


class TimelineModel(RowsModel):
    KEY = "id"

    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("received", "Received", lambda r: _date(r.get("received"))),
            Column("file", "File", lambda r: r.get("file") or ""),
            Column("action", "Maintenance", lambda r: (r.get("action") or "")
                   + (f", reason {r['ins04']}" if r.get("ins04") else "")
                   + (f", {r['amrc']}" if r.get("amrc") else "")),
            Column("policy_id", "Policy id", lambda r: r.get("policy_id") or ""),
            Column("coverage", "Coverage", lambda r: (f"{r['cov_begin'] or '?'} to {r['cov_end'] or 'open'}"
                                                      if r.get("cov_begin") or r.get("cov_end") else "")),
            Column("member", "Member", lambda r: _name(r) + ("  (this one)" if r.get("this") else "")),
            Column("flags", "Open flags", _flags_cell, _sev_icon("worst")),
        ], parent)

    def extra_data(self, row: dict[str, Any], col: Column, role: int) -> Any:
        if role == FONT_ROLE and row.get("this"):
            return _bold()
        return None


# -- the member sheet (left side) -----------------------------------------------------------------

class SheetModel(TableModel):
    """The parsed member as a clerk reads it: (label, value) rows under section headings.

    Values named by the selected flag are marked (icon, word and tint); values named by the
    member's other open flags get their severity icon only.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[uq.SheetField | str] = []
        self.flag: dict[str, Any] | None = None
        self.others: list[dict[str, Any]] = []
        self._marks: dict[int, tuple[str, bool]] = {}   # row -> (severity, is the selected flag)

    def set_fields(self, fields: list[uq.SheetField]) -> None:
        self.beginResetModel()
        items: list[uq.SheetField | str] = []
        section = None
        for f in fields:
            if f.section != section:
                items.append(f.section)
                section = f.section
            items.append(f)
        self.items = items
        self._remark()
        self.endResetModel()

    def set_flags(self, current: dict[str, Any] | None, others: list[dict[str, Any]]) -> None:
        self.flag, self.others = current, others
        self._remark()
        if self.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.items) - 1, 1))

    def _remark(self) -> None:
        self._marks = {}
        for i, it in enumerate(self.items):
            if isinstance(it, str):
                continue
            if self.flag is not None and uq.field_marked(it, uq.parse_refs(self.flag.get("segments"))):
                self._marks[i] = (self.flag["severity"], True)
                continue
            for o in self.others:
                if uq.field_marked(it, uq.parse_refs(o.get("segments"))):
                    prev = self._marks.get(i)
                    if prev is None or uq.SEVERITY_RANK[o["severity"]] < uq.SEVERITY_RANK[prev[0]]:
                        self._marks[i] = (o["severity"], False)

    def marked_rows(self) -> dict[int, tuple[str, bool]]:
        return dict(self._marks)

    def marked_labels(self, current_only: bool = True) -> list[str]:
        return [self.items[i].label for i, (_s, cur) in sorted(self._marks.items())  # type: ignore[union-attr]
                if cur or not current_only]

    def row_count(self) -> int:
        return len(self.items)

    def headers(self) -> Sequence[str]:
        return ("Field", "Value")

    def cell(self, row: int, column: int, role: int) -> Any:
        it = self.items[row]
        if isinstance(it, str):
            if role == DISPLAY_ROLE:
                return it if column == 0 else ""
            if role == FONT_ROLE:
                return _bold()
            if role == SectionRole:
                return True
            return None
        mark = self._marks.get(row)
        if role == DISPLAY_ROLE:
            if column == 0:
                return it.label
            if mark and mark[1]:
                return f"{it.value}    \u25c0 {style.severity_word(mark[0])}"
            return it.value
        if role == DECORATION_ROLE and column == 0 and mark:
            return style.severity_icon(mark[0])
        if role == BACKGROUND_ROLE and mark and mark[1]:
            return style.tone(mark[0]).bg
        if role == FONT_ROLE and mark and mark[1]:
            return _bold()
        if role == TOOLTIP_ROLE and mark:
            src = ", ".join(f"segment {s.ordinal}" + (f" {s.element}" if s.element else "") for s in it.sources)
            who = "the selected flag" if mark[1] else "another flag on this member"
            return f"Named by {who} ({style.severity_word(mark[0]).lower()}). From {src}."
        if role == SeverityRole:
            return mark[0] if mark else None
        if role == RowRole:
            return it
        return None


# -- raw segments (right side) --------------------------------------------------------------------

class SegmentModel(TableModel):
    """The raw X12 segments of one member: gutter (mark), ordinal, loop id, segment text.

    `SpansRole` on the text column gives the [start, end) character ranges to highlight; the
    highlighted rows carry the severity (or 'diff' when comparing two copies) in `SeverityRole`.
    """

    MARK, ORDINAL, LOOP, TEXT = range(4)
    HEADERS = ("", "Seg #", "Loop", "Segment")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.lines: list[uq.SegmentLine] = []
        self.sep, self.comp = "*", ":"
        self.severity: str | None = None
        self.spans: dict[int, list[tuple[int, int]]] = {}
        self.other_marks: dict[int, str] = {}

    def set_lines(self, lines: list[uq.SegmentLine], sep: str = "*", comp: str = ":") -> None:
        self.beginResetModel()
        self.lines = list(lines)
        self.sep, self.comp = sep, comp
        self.spans, self.other_marks, self.severity = {}, {}, None
        self.endResetModel()

    def set_flag(self, flag: dict[str, Any] | None, others: list[dict[str, Any]] | None = None) -> None:
        """Highlight exactly the segments and elements the flag names; others get a gutter icon."""
        self.severity = flag["severity"] if flag else None
        self.spans = uq.flag_spans(self.lines, uq.parse_refs(flag.get("segments")), self.sep, self.comp) \
            if flag else {}
        self.other_marks = {}
        for o in others or []:
            for row in uq.flag_spans(self.lines, uq.parse_refs(o.get("segments")), self.sep, self.comp):
                if row in self.spans:
                    continue
                prev = self.other_marks.get(row)
                if prev is None or uq.SEVERITY_RANK[o["severity"]] < uq.SEVERITY_RANK[prev]:
                    self.other_marks[row] = o["severity"]
        self._changed()

    def set_diff(self, spans: dict[int, list[tuple[int, int]]]) -> None:
        self.severity = "diff"
        self.spans = spans
        self.other_marks = {}
        self._changed()

    def _changed(self) -> None:
        if self.lines:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.lines) - 1, 3))

    def highlights(self) -> dict[int, list[tuple[int, int]]]:
        """Row -> highlighted character ranges (what the tests assert on)."""
        return {r: list(s) for r, s in self.spans.items()}

    def first_highlighted_row(self) -> int:
        return min(self.spans) if self.spans else -1

    def row_count(self) -> int:
        return len(self.lines)

    def headers(self) -> Sequence[str]:
        return self.HEADERS

    def cell(self, r: int, c: int, role: int) -> Any:
        line = self.lines[r]
        hit = r in self.spans
        if role == DISPLAY_ROLE:
            if c == self.MARK:
                if not hit:
                    return ""
                word = style.severity_word(self.severity)
                return word if line.own else f"{word} · another member" if line.note.startswith("member") \
                    else f"{word} · {line.note}"
            if c == self.ORDINAL:
                return str(line.ordinal)
            if c == self.LOOP:
                return line.loop
            return line.text
        if role == DECORATION_ROLE and c == self.MARK:
            if hit:
                return style.severity_icon(self.severity)
            if r in self.other_marks:
                return style.severity_icon(self.other_marks[r])
            return None
        if role == BACKGROUND_ROLE and hit:
            return style.tone(self.severity).bg
        if role == FOREGROUND_ROLE and c in (self.ORDINAL, self.LOOP) and not line.own:
            return style.tone("info").fg
        if role == ALIGNMENT_ROLE and c == self.ORDINAL:
            return _RIGHT
        if role == TOOLTIP_ROLE:
            if c == self.MARK and r in self.other_marks and not hit:
                return f"Named by another flag on this member ({style.severity_word(self.other_marks[r]).lower()})"
            if not line.own:
                return f"From the {line.note} (outside the member's own segments)"
            return None
        if role == SpansRole:
            return self.spans.get(r, []) if c == self.TEXT else []
        if role == SeverityRole:
            return self.severity if hit else None
        if role == RowRole:
            return line
        return None


def flag_segments_text(flag: dict[str, Any]) -> str:
    """'segment 12 (REF02), segment 15' for a flag's segments list."""
    parts = []
    for ref in uq.parse_refs(flag.get("segments")):
        el = ref.get("element")
        parts.append(f"segment {ref.get('ordinal')}" + (f" ({el})" if el else ""))
    return ", ".join(parts)
