"""The member view's "History and notes" slot (issue 4's hook): the review panel of issue 5.

MainWindow._install_history_panel imports `HistoryPanel(db, parent)` from here and hands it to
`MemberView.set_history_panel`; the member view then calls `show_member(member_row, flag_id)`.
When the clerk saves something, the member view and the queue are refreshed so statuses show at once.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QWidget
from sqlite_utils import Database

from .review_panel import ReviewPanel


class HistoryPanel(ReviewPanel):
    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(db, None)
        self._window: Any = parent
        self.changed.connect(self._refresh_window)

    @Slot()
    def _refresh_window(self) -> None:
        w = self._window
        mv = getattr(w, "member_view", None)
        if mv is not None and getattr(mv, "member", None) is not None and hasattr(mv, "load"):
            flag = getattr(mv, "flag", None)
            mv.load(mv.member["id"], flag["id"] if flag else None)
        queue = getattr(w, "queue", None)
        if queue is not None and hasattr(queue, "reload"):
            queue.reload()
