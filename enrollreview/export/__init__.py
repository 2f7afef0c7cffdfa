"""Supervisor exports: call-back list, follow-up list for the exchange, summary (CSV, XLSX, PDF).

`export(db, kind, fmt, out, filters=Filters(...), show_ssn=False, progress=..., cancel=...)` is the one
entry point (CLI and GUI). The core never imports Qt at module load: the PDF writer is imported from
enrollreview.ui.pdf_export only when a PDF is asked for.
"""

from .lists import Column, Filters, ListData, callbacks, followups, summary
from .run import FORMATS, KINDS, ExportError, ExportResult, build_list, export
from .writers import Cancelled

__all__ = ["Column", "Filters", "ListData", "callbacks", "followups", "summary", "FORMATS", "KINDS",
           "ExportError", "ExportResult", "build_list", "export", "Cancelled"]
