"""Business rules over the store: the engine, the history across files and one module per category
(duplicate, maintenance, family, subsidy, data_quality, missing). See ARCHITECTURE.md."""

from __future__ import annotations

from .base import CATEGORIES, SEVERITIES, At, Flag, Rule

__all__ = ["CATEGORIES", "SEVERITIES", "At", "Flag", "Rule"]
