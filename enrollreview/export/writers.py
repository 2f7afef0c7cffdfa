"""CSV and XLSX writers that stream rows (the PDF writer lives in enrollreview/ui/pdf_export.py).

CSV is UTF-8 with a byte-order mark so Excel opens accents right; dates are YYYY-MM-DD; rates are
written as percentages. XLSX uses XlsxWriter's constant-memory mode (rows go straight to disk): the
header row is frozen, every column has an autofilter, dates are real Excel dates and rates real
percentages. Both guard against spreadsheet formula injection: a text cell starting with =, +, - or
@ that is not a number is written as text (XLSX) or prefixed with an apostrophe (CSV).
"""

from __future__ import annotations

import csv
import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from .lists import Column

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]
EVERY = 1000


class Cancelled(Exception):
    """The export was cancelled; the partial file was removed."""


def _tick(i: int, total: int, progress: ProgressFn | None, cancel: CancelFn | None) -> None:
    if i % EVERY == 0:
        if cancel is not None and cancel():
            raise Cancelled()
        if progress is not None:
            progress(i, total)


def _risky(text: str) -> bool:
    if not text or text[0] not in "=+-@\t\r":
        return False
    try:
        float(text.replace(" ", "").replace("(", "").replace(")", ""))
        return False
    except ValueError:
        return True


def csv_cell(value: Any, col: Column) -> str:
    if value is None:
        return ""
    if col.kind == "date":
        return value.isoformat() if isinstance(value, _dt.date) else str(value)
    if col.kind == "pct":
        return f"{value * 100:.1f}%" if isinstance(value, (int, float)) else str(value)
    text = str(value)
    return "'" + text if col.kind == "text" and _risky(text) else text


def write_csv(fh: IO[bytes], columns: Sequence[Column], rows: Iterable[Sequence[Any]], total: int,
              progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> int:
    import io

    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    w = csv.writer(text)
    w.writerow([c.header for c in columns])
    n = 0
    for row in rows:
        w.writerow([csv_cell(v, c) for v, c in zip(row, columns, strict=True)])
        n += 1
        _tick(n, total, progress, cancel)
    text.flush()
    text.detach()
    return n


def write_xlsx(fh: IO[bytes], columns: Sequence[Column], rows: Iterable[Sequence[Any]], total: int,
               *, sheet: str, about: Sequence[tuple[str, str]] = (), progress: ProgressFn | None = None,
               cancel: CancelFn | None = None) -> int:
    import xlsxwriter

    wb = xlsxwriter.Workbook(fh, {"constant_memory": True, "strings_to_formulas": False,
                                  "strings_to_numbers": False, "strings_to_urls": False})
    try:
        ws = wb.add_worksheet(sheet[:31])
        head = wb.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True,
                              "valign": "top"})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd", "align": "left"})
        pct_fmt = wb.add_format({"num_format": "0.0%"})
        for i, c in enumerate(columns):
            ws.set_column(i, i, c.width)
        ws.freeze_panes(1, 0)
        for i, c in enumerate(columns):
            ws.write_string(0, i, c.header, head)
        r = 0
        kinds = [c.kind for c in columns]
        write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
        for row in rows:
            r += 1
            for i, v in enumerate(row):
                if v is None or v == "":
                    continue
                k = kinds[i]
                if k == "text":
                    write_string(r, i, v if isinstance(v, str) else str(v))
                elif k == "date":
                    if isinstance(v, _dt.date):
                        write_datetime(r, i, _dt.datetime(v.year, v.month, v.day), date_fmt)
                    else:
                        write_string(r, i, str(v))  # a value that is not a real date stays as received
                elif k == "pct":
                    write_number(r, i, v, pct_fmt)
                else:
                    write_number(r, i, v)
            _tick(r, total, progress, cancel)
        ws.autofilter(0, 0, max(r, 1), len(columns) - 1)
        if about:
            info = wb.add_worksheet("About this export")
            bold = wb.add_format({"bold": True})
            info.set_column(0, 0, 22)
            info.set_column(1, 1, 80)
            for j, (k, v) in enumerate(about):
                info.write_string(j, 0, k, bold)
                info.write_string(j, 1, v)
    finally:
        wb.close()
    return r
