"""Missing / never-received enrollment (834-domain.md section 2a): MISS-04 and MISS-06.

(MISS-01, -02, -03 and -07 compare the store with a roster and live in enrollreview.reconcile.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .base import At, Context, Flag, rule

MAINT_WORDS = {"001": "a change", "024": "a cancellation or termination", "025": "a reinstatement"}


@rule("MISS-04", "missing", "warning", "Maintenance for an enrollment we never received",
      """A change, cancellation, termination or reinstatement (INS03 001, 024, 025) for a person and policy
      with no enrollment (021) or audit (030) on record (every row of the person is in scope): the initial 834 was probably never received (or
      predates this store). Resolved when the enrollment arrives.""",
      """Look the member up in the enrollment system. If the member is not there, ask the exchange for the
      original enrollment before applying this transaction.""", scope="store")
def miss04(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        SELECT m.id, m.ins03, m.policy_id, m.g, m.ins01, m.head_row
        FROM ma m
        WHERE m.ins03 IN ('001', '024', '025') AND m.person_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ma o WHERE o.person_id = m.person_id AND o.ins03 IN ('021', '030')
                          AND (o.group_key = m.group_key OR o.policy_id = '' OR m.policy_id = ''
                               OR o.policy_id = m.policy_id))
        ORDER BY m.g, m.id""")
    by_group: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_group[r["g"]].append(r)
    for rs in by_group.values():
        head = next((r for r in rs if r["ins01"] == "Y"), None)
        targets = [head] if head is not None else rs
        for r in targets:
            others = [x["id"] for x in rs if x is not r] if head is not None else []
            pol = f"policy {r['policy_id']}" if r["policy_id"] else "this member"
            yield Flag("MISS-04", f"This is {MAINT_WORDS[r['ins03']]} for {pol}, but no enrollment of this member "
                       "in it is on record: the original enrollment may never have been received.",
                       member_row=r["id"], related=others, segments=[At("INS", element="INS03"),
                                                                     At("REF", qual="1L", element="REF02")])


@rule("MISS-06", "missing", "warning", "Gap in the sender's file numbers",
      """The interchange control numbers (ISA13) a sender uses go up by one from file to file; a number
      skipped between two received files suggests a file that never arrived. Resolved when it
      arrives.""",
      """Ask the sender (the exchange) for the interchange with the missing control number.""", scope="store")
def miss06(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""SELECT f.id, f.isa_sender, f.isa_control, f.name FROM files f
                    WHERE f.status = 'imported' AND f.isa_sender IN (SELECT isa_sender FROM files
                          WHERE id IN (SELECT id FROM scope_f)) AND f.isa_control <> ''
                      AND f.isa_control NOT GLOB '*[^0-9]*'""")
    by_sender: dict[str, dict[int, Any]] = defaultdict(dict)
    for r in rows:
        if not r["isa_control"].isdigit():  # SQLite's GLOB stops at a NUL byte inside the value
            continue
        n = int(r["isa_control"])
        by_sender[r["isa_sender"]].setdefault(n, r)
    for sender, nums in by_sender.items():
        ordered = sorted(nums)
        steps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
        if 1 not in steps:
            continue   # this sender does not number its files one by one
        for a, b in zip(ordered, ordered[1:], strict=False):
            first = nums[a]
            limit = ctx.setting(first["id"], "miss06_max_gap")
            if 1 < b - a <= limit + 1:
                later = nums[b]
                missing = f"{a + 1}" if b - a == 2 else f"{a + 1} to {b - 1}"
                yield Flag("MISS-06", f"Sender {sender} numbered its files {a} ({first['name']}) and then {b}: "
                           f"interchange {missing} was never received.", file_id=later["id"], key=f"{a}-{b}",
                           segments=[At("ISA", element="ISA13", env=later["id"])])

