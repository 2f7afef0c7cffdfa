"""A printable PDF of an export list through Qt's own PDF writer (QPdfWriter + QTextDocument).

Called by enrollreview.export.run only when a PDF is asked for (lazy import), so the core never loads
Qt otherwise. Works without a display: when no Qt application exists yet (the command line), one
on the offscreen platform is created for the fonts.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QApplication

_app: QApplication | None = None

#: how the call-back list's columns are merged into printable cells: (header, [column keys], width %)
CALLBACK_LAYOUT: list[tuple[str, list[str], int]] = [
    ("Due / open", ["due", "days_open"], 10),
    ("Member", ["name", "ssn"], 17),
    ("Phone and e-mail", ["phones", "email"], 17),
    ("Ids and plan", ["member_id", "policy_id", "plan"], 16),
    ("Reasons", ["reasons"], 27),
    ("Status", ["status", "assigned"], 13),
]


def ensure_app() -> QGuiApplication:
    """The running Qt application, or an offscreen one made for printing.

    A QApplication (not just a QGuiApplication), so that widgets can still be made later in the same
    process (the test suite does).
    """
    global _app
    inst = QGuiApplication.instance()
    if inst is not None:
        return inst  # type: ignore[return-value]
    # No window is ever shown from here (the command line), so render offscreen whatever the session.
    _app = QApplication(["enrollreview", "-platform", "offscreen"])
    return _app


def _text(value: Any, kind: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, _dt.date):
        return value.isoformat()
    if kind == "pct" and isinstance(value, (int, float)):
        return f"{value * 100:.1f}%"
    return str(value)


def _cell(parts: list[tuple[str, str]], key_order: list[str], kinds_of: dict[str, str]) -> str:
    d = dict(parts)
    out = []
    for k in key_order:
        v = d.get(k, "")
        if not v:
            continue
        if k == "name":
            last, _, first = v.partition(", ")
            out.append(f"<b>{html.escape(last)}</b>" + (f", {html.escape(first)}" if first else ""))
        elif k == "phones":
            out.extend(f"<span style='white-space: nowrap'>{html.escape(p)}</span>" for p in v.split("; "))
        elif kinds_of.get(k) == "date" or k in ("plan", "policy_id", "member_id"):
            label = {"policy_id": "policy ", "plan": "plan ", "member_id": "member "}.get(k, "")
            out.append(f"{label}<span style='white-space: nowrap'>{html.escape(v)}</span>")
        elif k == "days_open":
            out.append(f"{html.escape(v)} days open")
        elif k == "ssn":
            out.append(f"SSN {html.escape(v)}")
        elif k == "assigned":
            out.append(f"assigned to {html.escape(v)}")
        elif k == "reasons":
            out.append("<br>".join(html.escape(x) for x in v.split("; ")))
        else:
            out.append(html.escape(v))
    return "<br>".join(out)


def build_html(title: str, meta: Sequence[str], columns: Sequence[Any], rows: Iterable[Sequence[Any]],
               total: int, *, progress: Callable[[int, int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> tuple[str, int]:
    """The list as one HTML table (Qt's rich-text subset); returns (html, row count)."""
    from ..export.writers import Cancelled

    keys = [c.key for c in columns]
    kinds = {c.key: c.kind for c in columns}
    layout = CALLBACK_LAYOUT if all(k in keys for _h, ks, _w in CALLBACK_LAYOUT for k in ks) else \
        [(c.header, [c.key], max(4, 100 // len(columns))) for c in columns]
    chunks = [
        "<html><head><style>"
        "body { font-family: sans-serif; font-size: 8pt; } h1 { font-size: 14pt; margin: 0; }"
        "p.meta { color: #444; margin: 0; } th { background: #dde4ee; text-align: left; }"
        "td, th { padding: 3px; vertical-align: top; }"
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *(f"<p class='meta'>{html.escape(m)}</p>" for m in meta),
        "<br><table width='100%' border='1' cellspacing='0' cellpadding='3' "
        "style='border-collapse: collapse;'>"
        "<thead><tr>",
        *(f"<th width='{w}%'>{html.escape(h)}</th>" for h, _ks, w in layout),
        "</tr></thead><tbody>",
    ]
    n = 0
    for row in rows:
        parts = [(k, _text(v, kinds[k])) for k, v in zip(keys, row, strict=True)]
        cells = "".join(f"<td>{_cell(parts, ks, kinds)}</td>" for _h, ks, _w in layout)
        chunks.append(f"<tr>{cells}</tr>")
        n += 1
        if n % 200 == 0:
            if cancel is not None and cancel():
                raise Cancelled()
            if progress is not None:
                progress(n, total)
    if n == 0:
        chunks.append(f"<tr><td colspan='{len(layout)}'>Nothing to list with these filters.</td></tr>")
    chunks.append("</tbody></table></body></html>")
    return "".join(chunks), n


def write_table_pdf(path: str, title: str, meta: Sequence[str], columns: Sequence[Any],
                    rows: Iterable[Sequence[Any]], total: int, *,
                    progress: Callable[[int, int], None] | None = None,
                    cancel: Callable[[], bool] | None = None) -> int:
    """Write rows as a paginated landscape Letter PDF (page numbers at the bottom). Returns the row count."""
    ensure_app()
    text, n = build_html(title, meta, columns, rows, total, progress=progress, cancel=cancel)
    writer = QPdfWriter(path)
    writer.setTitle(title)
    writer.setCreator("enrollreview")
    writer.setResolution(300)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.Letter),
                                     QPageLayout.Orientation.Landscape, QMarginsF(12, 12, 12, 12),
                                     QPageLayout.Unit.Millimeter))
    doc = QTextDocument()
    doc.setHtml(text)
    doc.print_(writer)
    del writer  # finishes the file
    return n
