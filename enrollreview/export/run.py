"""Run one export: choose the list, write it in the chosen format, protect and audit the file.

The file is written next to its destination under a temporary name created readable by the user
only (0600), then renamed into place, so a cancelled or failed export never leaves half a file and
the file is never readable by others, not even for a moment. Every export is audited (what, where,
how many rows, which filters, whether SSNs were shown); showing full SSNs adds a `reveal_ssn` row.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..review.audit import os_user, record_many, utcnow
from .lists import LISTS, Filters, ListData
from .writers import CancelFn, Cancelled, ProgressFn, write_csv, write_xlsx

log = logging.getLogger("enrollreview.export")

KINDS = ("callbacks", "followups", "summary")
FORMATS = ("csv", "xlsx", "pdf")
PDF_KINDS = ("callbacks",)


class ExportError(Exception):
    """An export that cannot be made; str() is one line for the user."""


@dataclass
class ExportResult:
    kind: str
    format: str
    path: Path
    rows: int
    seconds: float
    audit_id: int


def build_list(db: Database, kind: str, filters: Filters | None = None, *,
               show_ssn: bool = False) -> ListData:
    if kind not in LISTS:
        raise ExportError(f"unknown list {kind!r}; choose one of: {', '.join(KINDS)}")
    return LISTS[kind](db, filters, show_ssn=show_ssn)


def create_private(path: Path) -> int:
    """Create (or truncate) a file readable and writable by the user only; returns the descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)  # an existing file keeps its old mode otherwise
    return fd


def export(db: Database, kind: str, fmt: str, out: str | os.PathLike[str], *, filters: Filters | None = None,
           show_ssn: bool = False, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
           user: str | None = None) -> ExportResult:
    """Write one list to `out`; raises ExportError (bad request) or writers.Cancelled."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "pdf" and kind not in PDF_KINDS:
        raise ExportError("PDF is made for the call-back list only; use csv or xlsx for this list")
    dest = Path(out).expanduser()
    if dest.is_dir():
        raise ExportError(f"{dest} is a folder; give a file name")
    if not dest.parent.is_dir():
        raise ExportError(f"the folder {dest.parent} does not exist")
    who = user or os_user()
    started = time.perf_counter()
    filters = filters or Filters()
    data = build_list(db, kind, filters, show_ssn=show_ssn)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
    fd = -1
    try:
        if cancel is not None and cancel():
            raise Cancelled()
        fd = create_private(tmp)
        about = [("List", data.title), ("Created (UTC)", utcnow()[:19].replace("T", " ")),
                 ("Created by", who), ("Filters", filters.describe()), ("Rows", str(data.count)),
                 ("SSNs", "shown in full (recorded in the audit trail)" if show_ssn else "masked")]
        if fmt == "csv":
            with os.fdopen(fd, "wb") as fh:
                fd = -1
                n = write_csv(fh, data.columns, data.rows, data.count, progress, cancel)
        elif fmt == "xlsx":
            with os.fdopen(fd, "wb") as fh:
                fd = -1
                n = write_xlsx(fh, data.columns, data.rows, data.count, sheet=data.title, about=about,
                               progress=progress, cancel=cancel)
        else:
            os.close(fd)
            fd = -1
            from ..ui.pdf_export import write_table_pdf  # Qt only here, only when a PDF is asked for

            n = write_table_pdf(str(tmp), data.title, [f"{k}: {v}" for k, v in about if k != "List"],
                                data.columns, data.rows, data.count, progress=progress, cancel=cancel)
        os.replace(tmp, dest)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        data.close()
        raise
    data.close()
    with contextlib.suppress(OSError):
        os.chmod(dest, 0o600)
    seconds = time.perf_counter() - started
    detail: dict[str, Any] = {"kind": kind, "format": fmt, "path": str(dest.resolve()), "rows": n,
                              "filters": filters.as_dict(), "show_ssn": show_ssn}
    entries: list[tuple[str, int | None, int | None, dict[str, Any] | None]] = [
        ("export", None, None, detail)]
    if show_ssn:
        entries.append(("reveal_ssn", None, None,
                        {"where": f"{kind} export", "path": detail["path"], "rows": n}))
    audit_id = record_many(db, entries, user=who)[0]
    if progress is not None:
        progress(n, n)
    log.info("export %s as %s: %d rows in %.2f s (audit %d)", kind, fmt, n, seconds, audit_id)
    return ExportResult(kind, fmt, dest, n, seconds, audit_id)


__all__ = ["KINDS", "FORMATS", "ExportError", "ExportResult", "Cancelled", "export", "build_list", "Filters"]
