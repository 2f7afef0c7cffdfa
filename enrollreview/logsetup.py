"""Logging: one rotating file in the data directory. Ids and counts only, never PHI.

Names, SSNs, dates of birth, addresses and phone numbers must never be passed to a logger; log
row ids (members.id, files.id, flags.id) instead. tests/test_phi_logs.py scans a full run's log.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

_configured = False


def setup_logging(level: int = logging.INFO, log_file: Path | None = None) -> Path:
    global _configured
    from .paths import log_dir

    path = log_file or (log_dir() / "enrollreview.log")
    if _configured:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("enrollreview")
    root.setLevel(level)
    root.addHandler(handler)
    root.propagate = False
    _configured = True
    return path
