"""Flag statuses, the transitions a clerk may make, reason codes, and a member's rolled-up status.

A status is stored in `flags.status` in its CLI spelling (lower case, hyphens): that is what the
command line accepts and prints, and what filters use. `label()` gives the words a clerk reads.
Whether a later file resolved a flag is separate (`flags.resolved_at`), not a status: a corrected
flag that a newer file also resolved keeps the clerk's status and gains "resolved by file NAME".
"""

from __future__ import annotations

from collections.abc import Iterable

NEW = "new"
IN_REVIEW = "in-review"
NEEDS_CALL_BACK = "needs-call-back"
WAITING_ON_EXCHANGE = "waiting-on-exchange"
CORRECTED = "corrected"
CLOSED_NO_ACTION = "closed-no-action"
CLOSED_FALSE_POSITIVE = "closed-false-positive"

#: every status, in the order a clerk's work flows
STATUSES: tuple[str, ...] = (NEW, IN_REVIEW, NEEDS_CALL_BACK, WAITING_ON_EXCHANGE, CORRECTED,
                             CLOSED_NO_ACTION, CLOSED_FALSE_POSITIVE)

LABELS: dict[str, str] = {
    NEW: "New",
    IN_REVIEW: "In review",
    NEEDS_CALL_BACK: "Needs call-back",
    WAITING_ON_EXCHANGE: "Waiting on exchange",
    CORRECTED: "Corrected",
    CLOSED_NO_ACTION: "Closed (no action needed)",
    CLOSED_FALSE_POSITIVE: "Closed (false positive)",
}

CLOSED: frozenset[str] = frozenset({CLOSED_NO_ACTION, CLOSED_FALSE_POSITIVE})
#: statuses in which nobody has to do anything more
DONE: frozenset[str] = frozenset({CORRECTED, *CLOSED})
_OPEN_WORK = (IN_REVIEW, NEEDS_CALL_BACK, WAITING_ON_EXCHANGE)

#: allowed transitions (nothing goes back to new); setting the same status again is a no-op
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({IN_REVIEW, NEEDS_CALL_BACK, WAITING_ON_EXCHANGE, CORRECTED, *CLOSED}),
    IN_REVIEW: frozenset({NEEDS_CALL_BACK, WAITING_ON_EXCHANGE, CORRECTED, *CLOSED}),
    NEEDS_CALL_BACK: frozenset({IN_REVIEW, WAITING_ON_EXCHANGE, CORRECTED, *CLOSED}),
    WAITING_ON_EXCHANGE: frozenset({IN_REVIEW, NEEDS_CALL_BACK, CORRECTED, *CLOSED}),
    CORRECTED: frozenset({IN_REVIEW, WAITING_ON_EXCHANGE, *CLOSED}),  # re-open, wait for the exchange, close
    CLOSED_NO_ACTION: frozenset({IN_REVIEW, CLOSED_FALSE_POSITIVE}),   # re-open, or close differently
    CLOSED_FALSE_POSITIVE: frozenset({IN_REVIEW, CLOSED_NO_ACTION}),
}

#: member roll-up: the first status (in this order) that any of the member's open flags has
ROLLUP_ORDER: tuple[str, ...] = (NEEDS_CALL_BACK, NEW, IN_REVIEW, WAITING_ON_EXCHANGE, CORRECTED,
                                 CLOSED_NO_ACTION, CLOSED_FALSE_POSITIVE)

#: reason codes a clerk can give with a status (what was wrong / why it was closed)
REASON_CODES: dict[str, str] = {
    "exchange-data-error": "The exchange sent wrong data",
    "member-reported-change": "The member reported a change",
    "awaiting-documents": "Waiting for documents from the member",
    "exchange-ticket": "A ticket is open with the exchange",
    "duplicate-transmission": "The same data was sent twice",
    "timing": "Timing: a later file is expected to fix it",
    "verified-correct": "Checked: the data is correct as sent",
    "issuer-system-error": "Our own system was wrong",
    "other": "Other (see the note)",
}

_ALIASES = {
    "needs-callback": NEEDS_CALL_BACK, "callback": NEEDS_CALL_BACK, "call-back": NEEDS_CALL_BACK,
    "waiting": WAITING_ON_EXCHANGE, "review": IN_REVIEW, "closed": CLOSED_NO_ACTION,
    "false-positive": CLOSED_FALSE_POSITIVE, "no-action": CLOSED_NO_ACTION,
}


class StatusError(ValueError):
    """An unknown status or a transition that is not allowed; str() is one line for the clerk."""


def normalize(text: str) -> str:
    """Accept 'needs-call-back', 'needs_call_back', 'Needs call-back', 'Closed (false positive)'."""
    t = (text or "").strip().lower()
    for label_code, label_text in LABELS.items():
        if t == label_text.lower():
            return label_code
    t = t.replace("(", " ").replace(")", " ").replace("_", "-")
    t = "-".join(t.split())
    t = _ALIASES.get(t, t)
    if t not in LABELS:
        raise StatusError(f"unknown status {text!r}; use one of: {', '.join(STATUSES)}")
    return t


def label(status: str | None) -> str:
    if status is None:
        return ""
    return LABELS.get(status, status.replace("-", " ").capitalize())


def can_transition(old: str, new: str) -> bool:
    if old == new:
        return True
    return new in TRANSITIONS.get(old, frozenset(STATUSES))  # unknown old status: anything goes


def check_transition(old: str, new: str) -> None:
    if not can_transition(old, new):
        allowed = ", ".join(s for s in STATUSES if s in TRANSITIONS.get(old, ())) or "none"
        raise StatusError(f"a flag that is {old} cannot become {new} (allowed: {allowed})")


def is_open(status: str | None) -> bool:
    """True while someone still has to act on the flag."""
    return status not in DONE


def rollup(statuses: Iterable[str | None]) -> str | None:
    """A member's status from its open (not resolved) flags' statuses; None if it has none."""
    seen = {s or NEW for s in statuses}
    if not seen:
        return None
    for s in ROLLUP_ORDER:
        if s in seen:
            return s
    return sorted(seen)[0]  # a status this module does not know (set by another feature)


def normalize_reason(code: str) -> str:
    c = "-".join((code or "").strip().lower().replace("_", "-").split())
    if c not in REASON_CODES:
        raise StatusError(f"unknown reason code {code!r}; use one of: {', '.join(REASON_CODES)}")
    return c
