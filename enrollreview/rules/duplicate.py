"""Duplicate enrollment (834-domain.md section 2b): DUP-01, DUP-02, DUP-03, DUP-04, DUP-05, DUP-07."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .base import HIOS_GLOB, At, Context, Flag, rule, show_date
from .history import GroupPeriod, group_periods

#: a "household" larger than this is not one (dependants without a subscriber sharing an empty REF*0F)
HOUSEHOLD_MAX = 40
VALID_SSN_SQL = ("length({c}) = 9 AND {c} NOT GLOB '*[^0-9]*' AND replace({c}, substr({c}, 1, 1), '') != ''")


@rule("DUP-01", "duplicate", "info", "Same transaction received twice",
      """A transaction set whose content (everything between ST and SE except the control numbers) is
      identical to one already received. The data is loaded once per copy; the copy adds nothing.""",
      """No change is needed for a plain resend. Check that the member was not set up twice in the
      enrollment system, then close the flag.""")
def dup01(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        WITH st AS (SELECT DISTINCT m.transaction_id AS tid FROM mm m),
        dup AS (SELECT t.id AS tid, min(o.id) AS oid FROM st JOIN transactions t ON t.id = st.tid
                JOIN transactions o ON o.content_hash = t.content_hash AND o.id < t.id
                WHERE t.content_hash IS NOT NULL GROUP BY t.id)
        SELECT dup.tid, dup.oid, t.st_control, t.bgn_ref, o.st_control AS ost, fo.name AS ofile, o.file_id AS ofid,
               t.file_id AS fid,
               (SELECT id FROM members WHERE transaction_id = dup.tid ORDER BY ins01 = 'Y' DESC, seq LIMIT 1) AS row,
               (SELECT id FROM members WHERE transaction_id = dup.oid ORDER BY ins01 = 'Y' DESC, seq LIMIT 1) AS orow
        FROM dup JOIN transactions t ON t.id = dup.tid JOIN transactions o ON o.id = dup.oid
        JOIN files fo ON fo.id = o.file_id""")
    seen = set()
    for r in rows:
        seen.add(r["tid"])
        where = "earlier in this file" if r["ofid"] == r["fid"] else f"in file {r['ofile']}"
        yield Flag("DUP-01", f"This transaction (ST02 {r['st_control']}, reference {r['bgn_ref'] or '(none)'}) is a "
                   f"word-for-word copy of transaction ST02 {r['ost']} received {where}.",
                   member_row=r["row"], related=[r["orow"]],
                   segments=[At("ST", element="ST02", txn=r["tid"]), At("BGN", element="BGN02", txn=r["tid"])])
    # A resend in a later file has a new envelope date (BGN03/BGN04) but the same members, word for word:
    # candidates are earlier transactions of the same enrollment group whose first member has the same
    # member id and maintenance type; their member text decides.
    cands = ctx.q("""
        SELECT DISTINCT m.transaction_id AS tid, o.transaction_id AS oid
        FROM (SELECT min(id) AS id FROM mm GROUP BY transaction_id) f JOIN mm m ON m.id = f.id
        JOIN member_facts ox ON ox.group_key = m.group_key AND ox.transaction_id < m.transaction_id
        JOIN members o ON o.id = ox.id AND o.member_id = m.member_id AND o.ins03 = m.ins03
        WHERE m.member_id != '' AND m.ins03 != '030'
          AND o.id = (SELECT min(y.id) FROM members y WHERE y.transaction_id = o.transaction_id)
        ORDER BY m.transaction_id, o.transaction_id""")
    texts: dict[int, list[str]] = {}

    def members_text(tid: int) -> list[str]:
        if tid not in texts:
            texts[tid] = [x["raw"] for x in ctx.q("SELECT raw FROM members WHERE transaction_id = ? ORDER BY seq", [tid])]
        return texts[tid]

    for c in cands:
        if c["tid"] in seen or members_text(c["tid"]) != members_text(c["oid"]):
            continue
        seen.add(c["tid"])
        info = ctx.q("""SELECT t.st_control, t.bgn_ref, t.file_id, o.st_control AS ost, o.file_id AS ofid, fo.name AS ofile,
                               (SELECT id FROM members WHERE transaction_id = t.id ORDER BY ins01 = 'Y' DESC, seq LIMIT 1) AS row,
                               (SELECT id FROM members WHERE transaction_id = o.id ORDER BY ins01 = 'Y' DESC, seq LIMIT 1) AS orow
                        FROM transactions t, transactions o JOIN files fo ON fo.id = o.file_id
                        WHERE t.id = ? AND o.id = ?""", [c["tid"], c["oid"]])[0]
        where = "earlier in this file" if info["ofid"] == info["file_id"] else f"in file {info['ofile']}"
        yield Flag("DUP-01", f"This transaction (ST02 {info['st_control']}, reference {info['bgn_ref'] or '(none)'}) "
                   f"repeats transaction ST02 {info['ost']} received {where}: the same members, word for word.",
                   member_row=info["row"], related=[info["orow"]],
                   segments=[At("ST", element="ST02", txn=c["tid"]), At("BGN", element="BGN02", txn=c["tid"])])


@rule("DUP-02", "duplicate", "error", "Control number used again",
      """The interchange control number (ISA13) was already used by the same sender in another file, or a
      functional group (GS06) or transaction (ST02) control number repeats inside the file. The exchange
      rejects such files.""",
      """Ask the sender whether this file is a resend of an earlier one or a new file numbered wrongly.
      Do not process it twice.""")
def dup02(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""
            SELECT * FROM (SELECT f.id, f.isa_sender, f.isa_control,
                   (SELECT o.name FROM files o WHERE o.isa_sender = f.isa_sender AND o.isa_control = f.isa_control
                    AND o.id < f.id AND o.status = 'imported' ORDER BY o.id LIMIT 1) AS oname
            FROM scope_f s JOIN files f ON f.id = s.id
            WHERE f.isa_control IS NOT NULL AND f.isa_control != '') WHERE oname IS NOT NULL"""):
        yield Flag("DUP-02", f"Interchange control number (ISA13) {r['isa_control']} from sender "
                   f"{r['isa_sender']} was already used in file {r['oname']}.", file_id=r["id"], key="ISA13",
                   segments=[At("ISA", element="ISA13", env=r["id"])])
    for r in ctx.q("SELECT f.id, f.envelope, f.delims FROM scope_f s JOIN files f ON f.id = s.id"):
        sep = (r["delims"] or "*")[0]
        seen: dict[str, int] = {}
        for ordinal, text, _off in json.loads(r["envelope"] or "[]"):
            parts = text.split(sep)
            if parts[0] != "GS" or len(parts) < 7:
                continue
            gs06 = parts[6]
            if gs06 in seen:
                yield Flag("DUP-02", f"Functional group control number (GS06) {gs06} is used twice in this file.",
                           file_id=r["id"], key=f"GS06:{gs06}",
                           segments=[{"ordinal": seen[gs06], "element": "GS06"}, {"ordinal": ordinal, "element": "GS06"}])
            else:
                seen[gs06] = ordinal
    for r in ctx.q("""
            SELECT t.file_id, t.gs_control, t.st_control, group_concat(t.id) AS tids, count(*) AS n
            FROM scope_f s JOIN transactions t ON t.file_id = s.id
            GROUP BY t.file_id, t.gs_control, t.st_control HAVING count(*) > 1"""):
        tids = [int(x) for x in r["tids"].split(",")]
        yield Flag("DUP-02", f"Transaction control number (ST02) {r['st_control']} is used {r['n']} times in "
                   f"functional group {r['gs_control']}.", file_id=r["file_id"],
                   key=f"ST02:{r['gs_control']}:{r['st_control']}",
                   segments=[At("ST", element="ST02", txn=t) for t in tids[:10]])


@rule("DUP-03", "duplicate", "error", "Same person twice in one enrollment group",
      """Two members of one enrollment group in one transaction have the same member id, the same SSN,
      or the same name, date of birth and gender (twins differ in first name and are not flagged).""",
      """Check with the exchange which of the two entries is right and have the extra one cancelled. Make
      sure only one ID card is issued.""")
def dup03(ctx: Context) -> Iterator[Flag]:
    ssn_ok = VALID_SSN_SQL.format(c="a.ssn")
    rows = ctx.q(f"""
        SELECT a.id AS a, b.id AS b, a.member_id AS amid, b.member_id AS bmid, a.first_name, a.last_name, a.dob,
               a.ssn AS assn, b.ssn AS bssn, b.first_name AS bfirst, b.last_name AS blast, b.dob AS bdob
        FROM mm a JOIN mm b ON b.g = a.g AND b.id > a.id
        WHERE a.g NOT IN (SELECT g FROM mm GROUP BY g HAVING count(*) > {HOUSEHOLD_MAX})
          AND ((a.ins03 = '024') = (b.ins03 = '024'))
          AND NOT (COALESCE(a.ins17, '') != '' AND COALESCE(b.ins17, '') != '' AND a.ins17 != b.ins17)
          AND ((a.member_id = b.member_id AND a.member_id != '')
               OR (a.ssn = b.ssn AND {ssn_ok})
               OR (a.dob = b.dob AND a.dob != '' AND upper(a.first_name) = upper(b.first_name)
                   AND upper(a.last_name) = upper(b.last_name) AND a.last_name != ''
                   AND (COALESCE(a.gender, '') = '' OR COALESCE(b.gender, '') = '' OR a.gender = b.gender)))""")
    for r in rows:
        why = []
        if r["amid"] and r["amid"] == r["bmid"]:
            why.append(f"the same member id {r['amid']}")
        if r["assn"] and r["assn"] == r["bssn"]:
            why.append(f"the same SSN (ending {r['assn'][-4:]})")
        if (r["first_name"] or "").upper() == (r["bfirst"] or "").upper() and r["dob"] == r["bdob"]:
            why.append(f"the same name {r['first_name']} {r['last_name']} and date of birth {show_date(r['dob'])}")
        ids = f"member ids {r['amid'] or '(none)'} and {r['bmid'] or '(none)'}"
        yield Flag("DUP-03", f"{r['bfirst']} {r['blast']} is listed twice in this enrollment group ({ids}): "
                   f"{' and '.join(why)}.", member_row=r["b"], related=[r["a"]], key=str(r["a"]),
                   segments=[At("INS"), At("NM1", qual="IL"), At("INS", row=r["a"]), At("NM1", qual="IL", row=r["a"])])


def _periods_for(ctx: Context, key_sql: str) -> dict[Any, list[GroupPeriod]]:
    """Coverage periods of every enrollment group of the keys (person or subscriber) that have more than
    one group, computed from all their rows in the store."""
    # every stored row of a person or subscriber id in scope is in ma (the scope follows both keys)
    keys = [r[0] for r in ctx.q(f"""
        SELECT {key_sql} AS k FROM ma m WHERE {key_sql} IS NOT NULL AND {key_sql} != '' AND m.policy_id != ''
        GROUP BY {key_sql} HAVING count(DISTINCT m.group_key) > 1""")]
    if not keys:
        return {}
    return group_periods(ctx, key_sql, keys)


def _overlap(a: GroupPeriod, b: GroupPeriod) -> bool:
    return a.begin <= b.end and b.begin <= a.end


@rule("DUP-04", "duplicate", "error", "Person covered by two policies at once",
      """The same person is covered by two different exchange policies of the same kind (health or
      dental) for overlapping periods. A plan change (CIC) whose old policy ends the day before the new
      one begins does not overlap. A passive re-enrollment next to an active one is a warning.""",
      """Ask the exchange which policy is right; the other must be cancelled (a passive enrollment is
      cancelled with reason CANCEL-OTH). Until then do not bill both.""", scope="store")
def dup04(ctx: Context) -> Iterator[Flag]:
    for person, periods in _periods_for(ctx, "m.person_id").items():
        live = sorted((p for p in periods if p.covered and p.policy_id), key=lambda p: p.first_row)
        for i, b in enumerate(live):
            for a in live[:i]:
                if a.policy_id == b.policy_id or a.line != b.line or not _overlap(a, b):
                    continue
                passive = a.passive or b.passive
                yield Flag("DUP-04", f"This person is covered by policy {b.policy_id} from {show_date(b.begin)} "
                           f"and also by policy {a.policy_id} ({a.line or 'same line'}) from {show_date(a.begin)} to "
                           f"{show_date(a.end) if not a.open_end else 'the end of the year'}: the two overlap.",
                           member_row=b.person_rows.get(person, b.first_row), related=[a.person_rows.get(person, a.first_row)],
                           policy_id=b.policy_id, key=a.group_key, severity="warning" if passive else None,
                           segments=[At("REF", qual="1L", element="REF02", loop="2300"), At("DTP", qual="348")])


@rule("DUP-05", "duplicate", "warning", "Subscriber with two active groups",
      """One subscriber id (REF*0F) heads two different active exchange policies of the same kind in the
      same coverage year.""",
      """Ask the exchange whether the household really has two policies; usually one should have been
      cancelled or was meant as a plan change.""", scope="store")
def dup05(ctx: Context) -> Iterator[Flag]:
    for sub, periods in _periods_for(ctx, "m.subscriber_id").items():
        live = sorted((p for p in periods if p.covered and p.policy_id and p.subscriber_row), key=lambda p: p.first_row)
        for i, b in enumerate(live):
            for a in live[:i]:
                if a.policy_id == b.policy_id or a.line != b.line or a.begin[:4] != b.begin[:4] or not _overlap(a, b):
                    continue
                yield Flag("DUP-05", f"Subscriber {sub} heads policy {b.policy_id} and also policy {a.policy_id}, both "
                           f"active for {a.line or 'the same coverage'} in {b.begin[:4]}.",
                           member_row=b.subscriber_row, related=[a.subscriber_row], policy_id=b.policy_id,
                           key=a.group_key, segments=[At("REF", qual="0F", element="REF02"),
                                                      At("REF", qual="1L", element="REF02", loop="2300")])


@rule("DUP-06", "duplicate", "error", "Enrollment meant for another issuer or state",
      """The plan id (REF*CE) names another issuer (its first five digits are not one of our HIOS issuer
      ids) or a state we do not sell in. Checked only when the settings our_issuer_ids / our_states are
      filled in.""",
      """Do not enroll the member; tell the exchange the enrollment was sent to the wrong issuer so the
      member is not left without coverage.""")
def dup06(ctx: Context) -> Iterator[Flag]:
    for (fid,) in ctx.q("SELECT file_id FROM fset"):
        issuers = [str(x) for x in ctx.setting(fid, "our_issuer_ids")]
        states = [str(x).upper() for x in ctx.setting(fid, "our_states")]
        if not issuers and not states:
            continue
        seen = set()
        for r in ctx.q(f"""SELECT m.id, c.plan_id FROM mm m JOIN cv c ON c.member_id = m.id
                           WHERE m.file_id = ? AND (m.ins01 = 'Y' OR m.head_row IS NULL)
                             AND c.plan_id GLOB '{HIOS_GLOB}'""", [fid]):
            plan = r["plan_id"]
            if r["id"] in seen:
                continue
            if issuers and plan[:5] not in issuers:
                msg = f"Plan {plan} belongs to issuer {plan[:5]}, not to us ({', '.join(issuers)})."
            elif states and plan[5:7] not in states:
                msg = f"Plan {plan} is a {plan[5:7]} plan; we sell in {', '.join(states)}."
            else:
                continue
            seen.add(r["id"])
            yield Flag("DUP-06", msg, member_row=r["id"], key="issuer",
                       segments=[At("REF", qual="CE", element="REF02")])


@rule("DUP-07", "duplicate", "warning", "Same person under two member ids",
      """Two different exchange member ids (REF*17) carry the same SSN, or the same name, date of birth and
      gender: probably one person with two applications.""",
      """Ask the exchange whether these are the same person. If so, one member id (and its policy) should
      be cancelled or merged.""")
def dup07(ctx: Context) -> Iterator[Flag]:
    # persons are never merged across two member ids, so two persons sharing an SSN or a name and birth
    # date while carrying different member ids are exactly the candidates. The flag goes on the first row
    # of the newer person, so only persons first seen in the imported rows need looking at.
    # the links are found when a person is first seen (rules.history); persons first seen in the imported
    # rows have the imported row's id
    pairs = ctx.q("SELECT l.person_id AS a, l.other_id AS b, l.how FROM person_links l JOIN mm ON mm.id = l.person_id")
    if not pairs:
        return
    how: dict[tuple[int, int], set[str]] = defaultdict(set)
    for p in pairs:
        how[(min(p["a"], p["b"]), max(p["a"], p["b"]))].add(p["how"])
    pids = sorted({i for k in how for i in k})
    info = {r["id"]: r for r in ctx.q(f"""
        SELECT p.id, p.member_id, p.first_member_row AS row, m.transaction_id, m.first_name, m.last_name, m.dob, m.ssn
        FROM persons p JOIN members m ON m.id = p.first_member_row WHERE p.id IN ({','.join('?' * len(pids))})""", pids)}
    for (x, y), hows in how.items():
        if x not in info or y not in info:
            continue
        old, new = sorted((info[x], info[y]), key=lambda r: r["row"])
        if old["transaction_id"] == new["transaction_id"]:
            continue  # twice in one transaction: DUP-03
        what = []
        if "ssn" in hows:
            what.append(f"the same SSN (ending {(new['ssn'] or '')[-4:]})")
        if "name" in hows:
            what.append(f"the same name and date of birth ({new['first_name']} {new['last_name']}, "
                        f"{show_date(new['dob'])})")
        yield Flag("DUP-07", f"Member id {new['member_id']} has {' and '.join(what)} as member id {old['member_id']}: "
                   "probably the same person under two member ids.", member_row=new["row"], related=[old["row"]],
                   key=old["member_id"], segments=[At("REF", qual="17", element="REF02"), At("NM1", qual="IL")])


__all__ = ["dup01", "dup02", "dup03", "dup04", "dup05", "dup07", "GroupPeriod"]
