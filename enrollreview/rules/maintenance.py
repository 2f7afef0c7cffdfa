"""Conflicting or duplicate maintenance (834-domain.md section 2c): MNT-01, MNT-02, MNT-03, MNT-04, MNT-05,
MNT-07, MNT-10, MNT-12, MNT-13."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .base import HIOS_GLOB, At, Context, Flag, rule, show_date
from .history import sent_stamp

MAINT_NAMES = {"001": "change", "021": "addition", "024": "cancellation or termination", "025": "reinstatement",
               "030": "audit"}
_DASHES = re.compile(r"\s*[-\u2013\u2014]\s*")


def norm_amrc(a: str | None) -> str:
    """'PASSIVE – B2S' -> 'PASSIVE-B2S'; 'issuer - reinstatement' -> 'ISSUER-REINSTATEMENT'."""
    return _DASHES.sub("-", " ".join((a or "").upper().split()))


def _code(c: str | None) -> str:
    c = (c or "").strip()
    return "" if c == "AI" else c   # AI = "no reason given", used where the guide sends none


# CMS FFE companion guide, Appendix C Tables 29 (inbound) and 30 (outbound), as (INS03, INS04) -> AMRC.
_CANCEL_14 = {"CANCEL", "CANCELCIC", "CANCEL-OTH-COVERAGE", "TERM", "TERMCIC", "TERM-OTH-COVERAGE", "CANCEL-FLC"}
VALID_TRIPLES: dict[tuple[str, str], set[str]] = {
    ("021", "EC"): {"", "CIC", "PASSIVE REENROLL-NEW TO ISSUER", "PASSIVE REENROLL-NEW TO ISSUER (B2S)"},
    ("021", "41"): {"PASSIVE", "PASSIVE-B2S", "PASSIVE-INITIAL", "PASSIVE-NEW SUBSCRIBER",
                    "PASSIVE-NEW SUBSCRIBER (B2S)"},
    ("021", "28"): {"CONFIRM"},
    ("024", "14"): _CANCEL_14,
    ("024", "07"): {"CANCEL-NLE", "CANCEL-FRD", "TERM-NLE", "CANCEL-RESCIND"},
    ("024", "03"): {"CANCEL-PDM", "TERM-PDM"},
    ("024", ""): {"CANCEL-CARRYFORWARD", "CANCEL-OTH", "TERM-OTH", "CANCEL-ANTIDUPLICATION", "CANCEL-OUT-OF-AREA",
                  "TERM-ANTIDUPLICATION"},
    ("024", "59"): {"CANCEL", "TERM"},
    ("024", "26"): {"CANCEL-HICS", "TERM-HICS"},
    ("025", ""): {"", "ISSUER-REINSTATEMENT"},
    ("001", ""): {"", "FINANCIAL CHANGE", "CSR VARIANT CHANGE", "AGENT BROKER INFO", "DEMOGRAPHIC CHANGE", "NO CHANGE"},
    ("001", "25"): {"DEMOGRAPHIC CHANGE", "ISSUER MAINT", "NO CHANGE"},
    ("001", "43"): {"DEMOGRAPHIC CHANGE"},
}


def _spellings(a: str) -> set[str]:
    return {a, a.replace("-", " - ")} if "-" in a else {a}


_TRIPLE_VALUES = ", ".join(f"('{k3}', '{k4}', '{sp}')" for (k3, r4), amrcs in VALID_TRIPLES.items()
                           for k4 in ((r4, "AI") if r4 == "" else (r4,)) for a in amrcs for sp in _spellings(a))


def _segs_end() -> list[At]:
    return [At("DTP", qual="356", element="DTP03"), At("DTP", qual="357", element="DTP03"),
            At("DTP", qual="348", element="DTP03"), At("DTP", qual="349", element="DTP03")]


def _amrc_seg(ctx: Context, rows: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(rows), 500):
        part = rows[i:i + 500]
        for r in ctx.q(f"""SELECT member_id, min(ref_ordinal) AS o FROM categories WHERE name = 'ADDL MAINT REASON'
                           AND member_id IN ({','.join('?' * len(part))}) GROUP BY member_id""", list(part)):
            if r["o"]:
                out[r["member_id"]] = {"ordinal": r["o"], "element": "REF02"}
    return out


@rule("MNT-01", "maintenance", "warning", "Ending without an end date",
      """Every cancellation or termination (INS03 024) is classified by its dates: a cancellation ends on
      or before its begin date (coverage never took effect), a termination ends after it. The class is
      kept in the policy history; this flag is raised when a 024 carries no end date at all (no DTP*357
      or DTP*349), so nobody can tell which it is.""",
      """Ask the sender for the end date of this cancellation or termination.""")
def mnt01(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""SELECT m.id FROM mm m
                      WHERE m.ins03 = '024' AND m.event = 'ended'"""):
        yield Flag("MNT-01", "This cancellation or termination (INS03 024) has no end date (no DTP*357 or DTP*349), "
                   "so it is unclear whether coverage ever started.", member_row=r["id"],
                   segments=[At("INS", element="INS03")])


@rule("MNT-02", "maintenance", "error", "Reason says cancel but dates say termination (or the reverse)",
      """The additional maintenance reason (2750 ADDL MAINT REASON) must agree with the dates: a CANCEL
      reason needs an end date on or before the begin date, a TERM reason an end date after it (except
      TERM-HICS).""",
      """Ask the exchange whether coverage was meant to be cancelled (never effective) or terminated on
      the end date, and have the transaction corrected.""")
def mnt02(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""SELECT m.id, m.amrc, m.event, m.eff_begin, m.eff_end FROM mm m
                    WHERE m.ins03 = '024' AND m.amrc IS NOT NULL AND m.amrc != ''
                      AND m.event IN ('cancelled', 'terminated')""")
    bad = []
    for r in rows:
        a = norm_amrc(r["amrc"])
        if a.startswith("CANCEL") and r["event"] == "terminated":
            bad.append((r, f"The reason is {a} (a cancellation) but coverage runs from {show_date(r['eff_begin'])} "
                        f"to {show_date(r['eff_end'])}, which is a termination."))
        elif a.startswith("TERM") and a != "TERM-HICS" and r["event"] == "cancelled":
            bad.append((r, f"The reason is {a} (a termination) but the end date {show_date(r['eff_end'])} is not "
                        f"after the begin date {show_date(r['eff_begin'])}, which makes it a cancellation."))
    amrc = _amrc_seg(ctx, [r["id"] for r, _ in bad])
    for r, msg in bad:
        yield Flag("MNT-02", msg, member_row=r["id"],
                   segments=[*([amrc[r["id"]]] if r["id"] in amrc else []), *_segs_end()])


@rule("MNT-03", "maintenance", "error", "Maintenance codes that do not go together",
      """In an exchange file the maintenance type (INS03), reason (INS04) and additional reason (2750 ADDL
      MAINT REASON) must form one of the combinations of the CMS companion guide (Appendix C).""",
      """Ask the exchange what the transaction was meant to do (add, change, cancel, terminate, reinstate)
      and have it resent with the right codes.""")
def mnt03(ctx: Context) -> Iterator[Flag]:
    # SQL lets through only rows whose codes are not a valid combination exactly as spelled; Python then
    # normalises the spelling (dashes, spaces) before deciding
    rows = ctx.q(f"""SELECT m.id, m.ins03, m.ins04, m.amrc, h.ins03 AS h03, h.ins04 AS h04, h.amrc AS hamrc
                    FROM mm m JOIN fset f ON f.file_id = m.file_id
                    LEFT JOIN mm h ON h.id = m.head_row AND h.id != m.id
                    WHERE f.exchange = 1 AND m.ins03 IN ('001', '021', '024', '025')
                      AND (m.ins03, COALESCE(m.ins04, ''), upper(COALESCE(m.amrc, ''))) NOT IN (VALUES {_TRIPLE_VALUES})""")

    def valid(ins03: str, ins04: str | None, amrc: str | None) -> bool:
        ok = VALID_TRIPLES.get((ins03, _code(ins04)))
        return ok is not None and norm_amrc(amrc) in ok

    bad = []
    for r in rows:
        if valid(r["ins03"], r["ins04"], r["amrc"]):
            continue
        if not r["amrc"] and r["h03"] and (r["h03"], _code(r["h04"])) == (r["ins03"], _code(r["ins04"])) \
                and valid(r["h03"], r["h04"], r["hamrc"]):
            continue  # a dependant sharing its subscriber's codes: the reason is given on the subscriber
        bad.append(r)
    amrc = _amrc_seg(ctx, [r["id"] for r in bad])
    for r in bad:
        what = MAINT_NAMES.get(r["ins03"], r["ins03"])
        reason = f"reason {r['ins04']}" if r["ins04"] else "no reason code"
        extra = f"additional reason {r['amrc']}" if r["amrc"] else "no additional reason"
        yield Flag("MNT-03", f"Maintenance type {r['ins03']} ({what}) with {reason} and {extra} is not a "
                   "combination the exchange's companion guide allows.", member_row=r["id"],
                   segments=[At("INS", element="INS03"), At("INS", element="INS04"),
                             *([amrc[r["id"]]] if r["id"] in amrc else [])])


#: enrollment groups of the imported rows that appear in more than one transaction (see _multi_groups)
MULTI_TXN_GROUPS = "(SELECT g FROM temp.multi_groups)"


def _multi_groups(ctx: Context) -> None:
    """temp.multi_groups: groups of the imported rows seen in more than one transaction: twice in the
    imported files, or also in a transaction loaded before them (one index probe per group)."""
    if ctx.q("SELECT 1 FROM sqlite_temp_master WHERE name = 'multi_groups'"):
        return
    first = ctx.q("SELECT min(transaction_id) AS t FROM mm")[0]["t"] or 0
    ctx.x(f"""CREATE TEMP TABLE multi_groups AS
              SELECT group_key AS g FROM mm WHERE group_key IS NOT NULL GROUP BY group_key
              HAVING count(DISTINCT transaction_id) > 1
                  OR EXISTS (SELECT 1 FROM member_facts o WHERE o.group_key = mm.group_key AND o.transaction_id < {first})""")


def _ordered(ctx: Context, where: str) -> list[Any]:
    """Rows of the imported rows' enrollment groups (with their history facts) in the order received. Every
    row sharing a group with an imported row is in scope, so they are read from the narrow copy ma, not
    from the wide members rows (a resend of a whole file puts every stored row here)."""
    return ctx.q(f"""
        SELECT m.id, m.group_key, m.person_id, m.ins01, m.ins03, m.ins04, m.amrc, m.event, m.eff_begin, m.eff_end,
               m.maint_eff, m.file_id, m.transaction_id, m.seq, m.head_row
        FROM ma m WHERE {where} ORDER BY m.file_id, m.transaction_id, m.seq""")


@rule("MNT-04", "maintenance", "error", "Second cancellation or termination",
      """Several cancellations or terminations for one policy and person: the same end date again is a
      duplicate notice (information); an earlier end date is an allowed correction (information); a later
      end date without a reinstatement in between is an error; different reasons are a warning.""",
      """Compare the two notices with the exchange. A later end date needs a reinstatement first; a
      duplicate notice needs no action beyond making sure it was processed once.""")
def mnt04(ctx: Context) -> Iterator[Flag]:
    _multi_groups(ctx)
    rows = _ordered(ctx, f"m.group_key IN {MULTI_TXN_GROUPS} AND m.ins03 IN ('024', '025')")
    seqs: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for r in rows:
        seqs[(r["group_key"], r["person_id"])].append(r)
    for rs in seqs.values():
        prev = None
        for r in rs:
            if r["ins03"] == "025":
                prev = None
                continue
            if prev is not None and r["transaction_id"] != prev["transaction_id"]:
                a, b = prev["eff_end"] or "", r["eff_end"] or ""
                reasons_differ = (norm_amrc(prev["amrc"]), _code(prev["ins04"])) != (norm_amrc(r["amrc"]), _code(r["ins04"]))
                if a and b and b > a:
                    sev, msg = "error", (f"A second end for this policy moves the end date later, from {show_date(a)} to "
                                         f"{show_date(b)}, with no reinstatement in between.")
                elif reasons_differ:
                    sev, msg = "warning", (f"Conflicting reasons: ended before with {prev['amrc'] or prev['ins04'] or 'no reason'} "
                                           f"(end {show_date(a)}), now with {r['amrc'] or r['ins04'] or 'no reason'} "
                                           f"(end {show_date(b)}).")
                elif a == b:
                    sev, msg = "info", f"Duplicate notice: this policy was already ended on {show_date(a)} for this person."
                else:
                    sev, msg = "info", (f"The end date was moved earlier, from {show_date(a)} to {show_date(b)} "
                                        "(allowed); both notices are shown.")
                yield Flag("MNT-04", msg, member_row=r["id"], related=[prev["id"]], key=str(prev["id"]), severity=sev,
                           segments=[At("DTP", qual="357", element="DTP03"), At("DTP", qual="349", element="DTP03"),
                                     At("INS", element="INS04")])
            prev = r


@rule("MNT-05", "maintenance", "error", "Activity after the policy ended",
      """An addition, change or effectuation arrived for a policy (or a member) after it was cancelled or
      terminated, with no reinstatement in between. After a termination, changes that take effect before
      the end date and an effectuation of a policy never effectuated are allowed.""",
      """Ask the exchange whether the policy should be reinstated. Do not apply the change to an ended
      policy until then.""")
def mnt05(ctx: Context) -> Iterator[Flag]:
    _multi_groups(ctx)
    rows = _ordered(ctx, f"m.group_key IN {MULTI_TXN_GROUPS}")
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        groups[r["group_key"]].append(r)
    for rs in groups.values():
        g_end: Any = None              # the subscriber's end row
        p_end: dict[int, Any] = {}     # a member's own end row
        effectuated = False
        flagged_txn: set[int] = set()
        for r in rs:
            ev = r["event"]
            if ev == "reinstated":
                if r["ins01"] == "Y":
                    g_end = None
                p_end.pop(r["person_id"], None)
                continue
            if ev in ("cancelled", "terminated", "ended"):
                if r["ins01"] == "Y":
                    g_end = r
                else:
                    p_end[r["person_id"]] = r
                continue
            if ev not in ("enrolled", "effectuated", "changed"):
                continue
            if ev == "enrolled" and r["group_key"].startswith("|"):
                continue  # no exchange policy id: a new enrollment is a new coverage span, not activity on the old
            for end in (g_end, p_end.get(r["person_id"])):
                if end is None or end["transaction_id"] == r["transaction_id"]:
                    continue
                if end["event"] != "cancelled":
                    if ev == "effectuated" and not effectuated:
                        continue
                    when = r["maint_eff"] or r["eff_begin"] or ""
                    if when and end["eff_end"] and when < end["eff_end"]:
                        continue
                if r["transaction_id"] in flagged_txn:
                    break
                flagged_txn.add(r["transaction_id"])
                what = {"enrolled": "an addition", "effectuated": "an effectuation", "changed": "a change"}[ev]
                how = "cancelled" if end["event"] == "cancelled" else "terminated"
                yield Flag("MNT-05", f"This is {what} (INS03 {r['ins03']}) for a policy that was {how} "
                           f"(end {show_date(end['eff_end'])}) in an earlier transaction, with no reinstatement since.",
                           member_row=r["id"], related=[end["id"]], key=str(end["id"]),
                           segments=[At("INS", element="INS03")])
                break
            if ev == "effectuated":
                effectuated = True


@rule("MNT-07", "maintenance", "error", "Dependant left active after the group ended",
      """When the subscriber's coverage is cancelled or terminated the whole group ends. A dependant sent in
      the same transaction as still active (not ended, or ending later than the subscriber) is an
      error.""",
      """Ask the exchange whether the dependant's coverage ends with the group; if the dependant is to stay
      covered, a new enrollment is needed.""")
def mnt07(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        SELECT d.id, d.ins03, d.eff_end, s.id AS sid, s.eff_end AS send, s.event AS sev
        FROM mm d JOIN mm s ON s.id = d.head_row
        WHERE d.ins01 != 'Y' AND s.ins03 = '024' AND s.event IN ('cancelled', 'terminated')
          AND (d.ins03 != '024' OR d.eff_end IS NULL OR (s.eff_end IS NOT NULL AND d.eff_end > s.eff_end))""")
    for r in rows:
        what = "cancelled" if r["sev"] == "cancelled" else "terminated"
        if r["ins03"] != "024":
            tail = f"but this dependant is sent as active (INS03 {r['ins03']}, no end date)."
        else:
            tail = f"but this dependant's coverage ends later, on {show_date(r['eff_end'])}."
        yield Flag("MNT-07", f"The subscriber's coverage is {what} (end {show_date(r['send'])}) {tail}",
                   member_row=r["id"], related=[r["sid"]],
                   segments=[At("INS", element="INS03"), At("DTP", qual="349", element="DTP03"),
                             At("INS", element="INS03", row=r["sid"]), At("DTP", qual="357", row=r["sid"])])


def _ts(s: str | None) -> str:
    if not s or len(s) < 12:
        return s or ""
    return f"{s[4:6]}/{s[6:8]}/{s[:4]} {s[8:10]}:{s[10:12]}"


@rule("MNT-10", "maintenance", "warning", "Older transaction arrived after a newer one",
      """A transaction for a policy was made (REQUEST SUBMIT TIMESTAMP, else BGN date and time) before one
      already received in an earlier file: applying it now may undo the newer change.""",
      """Check which transaction is the current one before applying this one; ask the exchange if
      unsure.""")
def mnt10(ctx: Context) -> Iterator[Flag]:
    first_txn = {r["file_id"]: r["t"] for r in ctx.q("SELECT file_id, min(transaction_id) AS t FROM mm GROUP BY file_id")}
    cands: list[Any] = []
    for fid, t in first_txn.items():
        # transactions are numbered in the order files are loaded: "< t" is "in an earlier file"
        cands += ctx.q("""
            SELECT m.id, m.group_key, :t AS t FROM mm m
            WHERE m.file_id = :f AND m.group_key IS NOT NULL AND m.group_key NOT LIKE '|%'
              AND (m.ins01 = 'Y' OR m.head_row IS NULL)
              AND EXISTS (SELECT 1 FROM member_facts o WHERE o.group_key = m.group_key AND o.transaction_id < :t)""",
                       {"t": t, "f": fid})
    if not cands:
        return
    earlier: dict[int, list[int]] = {}
    for c in cands:
        earlier[c["id"]] = [r[0] for r in ctx.q("SELECT id FROM member_facts WHERE group_key = ? AND transaction_id < ?",
                                                [c["group_key"], c["t"]])]
    sent = submit_times(ctx, [c["id"] for c in cands] + [i for v in earlier.values() for i in v])
    for c in cands:
        mine = sent.get(c["id"])
        newer = max(((sent[i], i) for i in earlier[c["id"]] if sent.get(i) and mine and sent[i] > mine), default=None)
        if newer is None:
            continue
        yield Flag("MNT-10", f"This transaction was made {_ts(mine)}, before one received earlier for the same policy "
                   f"(made {_ts(newer[0])}): it arrived out of order.", member_row=c["id"], related=[newer[1]],
                   key="order", segments=[At("BGN", element="BGN03")])


def submit_times(ctx: Context, ids: list[int]) -> dict[int, str]:
    """When the sender made each row's transaction: REQUEST SUBMIT TIMESTAMP, else BGN03 + BGN04 (14 digits)."""
    out: dict[int, str] = {}
    uniq = sorted(set(ids))
    for i in range(0, len(uniq), 500):
        part = uniq[i:i + 500]
        for r in ctx.q(f"""
                SELECT m.id, (SELECT c.value FROM categories c WHERE c.member_id = m.id
                              AND c.name = 'REQUEST SUBMIT TIMESTAMP' LIMIT 1) AS ts, t.bgn_date, t.bgn_time
                FROM members m JOIN transactions t ON t.id = m.transaction_id
                WHERE m.id IN ({','.join('?' * len(part))})""", list(part)):
            stamp = sent_stamp(r["ts"], r["bgn_date"], r["bgn_time"])
            if stamp:
                out[r["id"]] = stamp
    return out


@rule("MNT-12", "maintenance", "warning", "Plan change (CIC) half missing",
      """A plan change is sent as a pair: the old policy ends with TERMCIC or CANCELCIC and a new policy
      starts with CIC. Flagged when one half is on record and the other is not (yet).""",
      """Ask the exchange for the missing half of the plan change. If the old policy does not end, the
      member is covered twice.""", scope="store")
def mnt12(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""
            SELECT x.id, x.policy_id FROM ma x
            WHERE x.ins03 = '021' AND upper(x.amrc) = 'CIC' AND (x.ins01 = 'Y' OR x.head_row IS NULL)
              AND NOT EXISTS (SELECT 1 FROM members r JOIN member_facts rf ON rf.id = r.id WHERE r.person_id IN
                                  (SELECT p.person_id FROM member_facts pf JOIN members p ON p.id = pf.id
                                   WHERE pf.head_row = x.head_row UNION SELECT x.person_id)
                                AND upper(r.amrc) IN ('TERMCIC', 'CANCELCIC') AND rf.group_key != x.group_key)"""):
        yield Flag("MNT-12", f"Policy {r['policy_id'] or '(no id)'} starts as a plan change (CIC), but no old policy of "
                   "these members was ended with TERMCIC or CANCELCIC.", member_row=r["id"],
                   segments=[At("N1", qual="75", loop="2750", nth=None), At("REF", qual="1L", loop="2300")])
    for r in ctx.q("""
            SELECT x.id, x.policy_id, x.amrc FROM ma x
            WHERE upper(x.amrc) IN ('TERMCIC', 'CANCELCIC')
              AND NOT EXISTS (SELECT 1 FROM member_facts of JOIN members o ON o.id = of.id
                              JOIN members c ON c.person_id = o.person_id JOIN member_facts cf ON cf.id = c.id
                              WHERE of.group_key = x.group_key AND c.ins03 = '021' AND upper(c.amrc) = 'CIC'
                                AND cf.group_key != x.group_key)"""):
        yield Flag("MNT-12", f"Policy {r['policy_id'] or '(no id)'} ends with {r['amrc']} (a plan change), but no new "
                   "policy with CIC for these members is on record.", member_row=r["id"],
                   segments=[At("INS", element="INS03"), At("DTP", qual="357", element="DTP03")])


@rule("MNT-13", "maintenance", "error", "Plan changed inside one policy",
      """The 14-character plan (REF*CE without the variant) changed between transactions of one exchange
      policy; a plan change must come as a CIC pair with a new policy id. A change of only the CSR
      variant needs the reason CSR VARIANT CHANGE (warning otherwise).""",
      """Ask the exchange to send the plan change as a termination of the old policy and a new enrollment
      (CIC), or confirm the plan on record.""")
def mnt13(ctx: Context) -> Iterator[Flag]:
    _multi_groups(ctx)
    rows = ctx.q(f"""
        WITH gk AS (SELECT g FROM temp.multi_groups WHERE g NOT LIKE '|%'),
        multi AS (SELECT f.group_key AS g, c.hd03 FROM gk JOIN member_facts f ON f.group_key = gk.g
                  JOIN coverages c ON c.member_id = f.id WHERE c.plan_id GLOB '{HIOS_GLOB}'
                  GROUP BY f.group_key, c.hd03 HAVING count(DISTINCT c.plan_id) > 1)
        SELECT m.id, f.group_key, m.transaction_id, m.file_id, m.seq, m.ins01, m.amrc, c.plan_id, c.hd03, c.ordinal
        FROM multi JOIN member_facts f ON f.group_key = multi.g JOIN members m ON m.id = f.id
        JOIN coverages c ON c.member_id = m.id AND c.hd03 = multi.hd03 AND c.plan_id GLOB '{HIOS_GLOB}'
        ORDER BY m.file_id, m.transaction_id, m.ins01 = 'Y' DESC, m.seq""")
    txns: dict[tuple[str, str], dict[int, list[Any]]] = defaultdict(dict)
    for r in rows:
        txns[(r["group_key"], r["hd03"])].setdefault(r["transaction_id"], []).append(r)
    for per_txn in txns.values():
        prev = None
        for rs in per_txn.values():
            head = rs[0]
            if prev is not None and head["plan_id"] != prev["plan_id"]:
                csr_change = any(norm_amrc(x["amrc"]) == "CSR VARIANT CHANGE" for x in rs)
                if head["plan_id"][:14] != prev["plan_id"][:14]:
                    yield Flag("MNT-13", f"The plan changed from {prev['plan_id']} to {head['plan_id']} inside policy "
                               f"{head['group_key'].split('|')[0]}; a plan change must end this policy and start a new "
                               "one (CIC).", member_row=head["id"], related=[prev["id"]], key=str(head["transaction_id"]),
                               segments=[{"ordinal": head["ordinal"], "element": None},
                                         At("REF", qual="CE", element="REF02")])
                elif not csr_change:
                    yield Flag("MNT-13", f"The cost-sharing variant changed from {prev['plan_id'][14:]} to "
                               f"{head['plan_id'][14:]} (plan {head['plan_id']}) without the reason CSR VARIANT CHANGE.",
                               member_row=head["id"], related=[prev["id"]], key=str(head["transaction_id"]),
                               severity="warning", segments=[At("REF", qual="CE", element="REF02")])
            prev = head
