"""Data quality / garbled files (834-domain.md section 2f): DQ-01 to DQ-10.

DQ-01 to DQ-04 turn the TR3 (syntax) findings recorded at import into flags: on the member they
belong to, or on the file when they belong to no member. The rest check values a syntax validator
lets through.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .base import HIOS_GLOB, ISO_GLOB, At, Context, Flag, age_on, rule, show_date

GUIDE = "005010X220A1"
READER_CODES = {"BOM", "LEAD", "ISA-LEN", "ISA16"}
SOFT_READER_CODES = {"BOM", "LEAD"}     # harmless once tolerated: a warning
DUP_CONTROL = {("interchange", "025"), ("group", "6"), ("transaction", "23")}   # DUP-02's
GUIDE_ELEMENTS = {"GS01", "GS08", "ST03"}


def _classify(f: Any) -> str | None:
    """Which DQ rule a stored TR3 finding belongs to (None: another rule reports it)."""
    level, code, element, seg = f["level"], f["code"] or "", f["element"] or "", f["seg_id"] or ""
    if (level, code) in DUP_CONTROL:
        return None
    if level == "interchange" and code in READER_CODES:
        return "DQ-01"
    if seg == "ISA" and level == "element":
        return "DQ-01"
    if element in GUIDE_ELEMENTS:
        return None   # DQ-03 checks GS01/GS08/ST03 itself, per transaction
    if level in ("interchange", "group", "transaction") or code == "TRUNC":
        return "DQ-02"
    return "DQ-04"


def _findings(ctx: Context) -> list[Any]:
    if "findings" not in ctx.__dict__:
        ctx.__dict__["findings"] = ctx.q("""
            SELECT g.* FROM findings g WHERE g.file_id IN (SELECT id FROM scope_rf)
            UNION SELECT g.* FROM findings g JOIN mm s ON s.id = g.member_id
            ORDER BY file_id, ordinal, id""")
    return ctx.__dict__["findings"]


def _finding_flags(ctx: Context, rid: str, lead: str) -> Iterator[Flag]:
    """One flag per member with all its findings of this rule; one per segment for findings outside members."""
    per_member: dict[int, list[Any]] = defaultdict(list)
    per_segment: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for f in _findings(ctx):
        if _classify(f) != rid:
            continue
        if f["member_id"] is not None:
            per_member[f["member_id"]].append(f)
        else:
            per_segment[(f["file_id"], f["ordinal"] or 0)].append(f)
    for (fid, ordinal), fs in per_segment.items():
        soft = rid == "DQ-01" and all(f["code"] in SOFT_READER_CODES for f in fs)
        msgs = list(dict.fromkeys(f["message"].rstrip(".") for f in fs))
        yield Flag(rid, f"{lead}: {'; '.join(msgs)}.", file_id=fid, key=f"seg:{ordinal}",
                   severity="warning" if soft else None,
                   segments=[{"ordinal": f["ordinal"], "element": f["element"]} for f in fs if f["ordinal"]])
    for mid, fs in per_member.items():
        msgs = list(dict.fromkeys(f["message"].rstrip(".") for f in fs))
        text = "; ".join(msgs[:5]) + (f"; and {len(msgs) - 5} more" if len(msgs) > 5 else "")
        n = f"{len(fs)} problems" if len(fs) > 1 else "one problem"
        yield Flag(rid, f"{lead} ({n} in this member's segments): {text}.", member_row=mid,
                   segments=[{"ordinal": f["ordinal"], "element": f["element"]} for f in fs if f["ordinal"]])


@rule("DQ-01", "data_quality", "error", "File is not clean X12",
      """The file did not start cleanly: a byte-order mark or blanks before the ISA (warning), an ISA that
      is not the fixed 106 characters, or a missing component separator (ISA16). It was read anyway.""",
      """Ask the sender to fix their file writer; check the members of this file more carefully, as
      values may have been split wrongly.""")
def dq01(ctx: Context) -> Iterator[Flag]:
    yield from _finding_flags(ctx, "DQ-01", "The start of the file is not clean X12")


@rule("DQ-02", "data_quality", "error", "Envelope does not add up",
      """Control numbers and counts of the envelope (ISA/IEA, GS/GE, ST/SE) disagree, or a trailer is
      missing: the file may be cut off or pieced together.""",
      """Ask the sender whether the file is complete; if it was cut off, ask for it again.""")
def dq02(ctx: Context) -> Iterator[Flag]:
    yield from _finding_flags(ctx, "DQ-02", "The envelope does not add up")


@rule("DQ-03", "data_quality", "error", "Not the 834 enrollment guide",
      """A functional group that is not benefit enrollment (GS01 BE), or a guide version other than
      005010X220A1 in GS08 or ST03.""",
      """Ask the sender which guide the file follows; it may be meant for another system.""")
def dq03(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""SELECT t.id, t.file_id, t.st_control, t.gs_functional, t.gs_version, t.st_version
                      FROM transactions t WHERE t.file_id IN (SELECT id FROM scope_rf)"""):
        bad = []
        if r["gs_functional"] and r["gs_functional"] != "BE":
            bad.append(f"functional group code (GS01) {r['gs_functional']}, not BE")
        if r["gs_version"] and r["gs_version"] != GUIDE:
            bad.append(f"guide version (GS08) {r['gs_version']}")
        if r["st_version"] and r["st_version"] != GUIDE:
            bad.append(f"guide version (ST03) {r['st_version']}")
        if bad:
            yield Flag("DQ-03", f"Transaction {r['st_control']} has {', '.join(bad)}; expected {GUIDE}.",
                       file_id=r["file_id"], key=f"txn:{r['id']}", segments=[At("ST", element="ST03", txn=r["id"])])


@rule("DQ-04", "data_quality", "error", "Does not follow the 834 implementation guide",
      """The syntax and structure problems found at import (what pyx12 checks): segments out of place or
      missing, codes not in the guide, values too long, control characters inside values.""",
      """Ask the sender to correct the file. Check the highlighted values by hand before using them.""")
def dq04(ctx: Context) -> Iterator[Flag]:
    yield from _finding_flags(ctx, "DQ-04", "The file does not follow the 834 guide here")


#: a TR3 finding on a date segment (the walker already reports dates that are not real: DQ-04)
_DATE_FINDING = "(g.seg_id IN ('DTP', 'DMG') OR g.element LIKE 'DTP%' OR g.element LIKE 'DMG%')"


@rule("DQ-05", "data_quality", "error", "Dates that cannot be right",
      """Dates that are not real calendar dates, a date range whose start is after its end, a birth date in
      the future or more than 120 years back, coverage ending before it begins (a cancellation may end
      the day before), and in exchange files coverage spanning two plan years or starting before 2014
      (warnings).""",
      """Ask the exchange or the member for the right date; until then do not rely on it for eligibility or
      premiums.""")
def dq05(ctx: Context) -> Iterator[Flag]:
    ctx.need("cats")
    nz = f"NOT GLOB '{ISO_GLOB}'"
    iso = re.compile(r"\d{4}-\d{2}-\d{2}")
    flagged_dates = {r[0] for r in ctx.q(f"SELECT DISTINCT g.member_id FROM findings g JOIN mm m ON m.id = g.member_id "
                                          f"WHERE {_DATE_FINDING}")}
    # member-level dates
    for r in ctx.q(f"""
            SELECT m.id, m.dob, m.has_dmg, m.elig_begin, m.elig_end, m.maint_eff, m.ins03, m.eff_begin, f.file_date,
                   f.dob_min, f.max_age
            FROM mm m JOIN fset f ON f.file_id = m.file_id
            WHERE (m.has_dmg = 1 AND COALESCE(m.dob, '') != '' AND m.dob {nz})
               OR (COALESCE(m.elig_begin, '') != '' AND m.elig_begin {nz})
               OR (COALESCE(m.elig_end, '') != '' AND m.elig_end {nz})
               OR (COALESCE(m.maint_eff, '') != '' AND m.maint_eff {nz})
               OR (m.dob > f.file_date AND (m.eff_begin IS NULL OR m.dob > m.eff_begin) AND m.dob GLOB '{ISO_GLOB}')
               OR (m.dob < f.dob_min AND m.dob GLOB '{ISO_GLOB}')
               OR (m.elig_end < m.elig_begin AND m.elig_end GLOB '{ISO_GLOB}' AND m.elig_begin GLOB '{ISO_GLOB}')"""):
        bad = [f"{label} '{r[c]}'" for c, label in (("dob", "date of birth"), ("elig_begin", "eligibility begin"),
                                                    ("elig_end", "eligibility end"), ("maint_eff", "maintenance date"))
               if r[c] and not iso.fullmatch(r[c]) and (c != "dob" or r["has_dmg"])]
        if bad and r["id"] not in flagged_dates:
            yield Flag("DQ-05", f"Not a real date: {', '.join(bad)}.", member_row=r["id"], key="real",
                       segments=[At("DMG", element="DMG02"), At("DTP", nth=None)])
        dob = r["dob"] or ""
        if iso.fullmatch(dob):
            ref = max(r["file_date"] or "", r["eff_begin"] or "")
            if dob > ref:
                yield Flag("DQ-05", f"The date of birth {show_date(dob)} is in the future (the file is dated "
                           f"{show_date(r['file_date'])}).", member_row=r["id"], key="dob",
                           segments=[At("DMG", element="DMG02")])
            elif r["dob_min"] and dob < r["dob_min"]:
                yield Flag("DQ-05", f"The date of birth {show_date(dob)} makes this member {age_on(dob, ref)} years old, "
                           f"more than {r['max_age']}.", member_row=r["id"], key="dob",
                           segments=[At("DMG", element="DMG02")])
        b, e = r["elig_begin"] or "", r["elig_end"] or ""
        if iso.fullmatch(b) and iso.fullmatch(e) and e < b and not (r["ins03"] == "024" and _day_before(e, b)):
            yield Flag("DQ-05", f"The eligibility ends {show_date(e)}, before it begins {show_date(b)}.",
                       member_row=r["id"], key="range:eligibility",
                       segments=[At("DTP", qual="356", element="DTP03"), At("DTP", qual="357", element="DTP03")])
    # coverage dates, in one pass
    for r in ctx.q(f"""
            SELECT m.id, m.ins03, c.begin, c."end", c.maint_eff, c.paid_through, c.ordinal, f.exchange, f.earliest_year
            FROM mm m JOIN cv c ON c.member_id = m.id JOIN fset f ON f.file_id = m.file_id
            WHERE (c.begin != '' AND c.begin {nz}) OR (c."end" != '' AND c."end" {nz})
               OR (c.maint_eff != '' AND c.maint_eff {nz}) OR (c.paid_through != '' AND c.paid_through {nz})
               OR (c."end" < c.begin AND c."end" != '')
               OR (f.exchange = 1 AND c.begin != '' AND ((c."end" != '' AND substr(c."end", 1, 4) != substr(c.begin, 1, 4))
                                                        OR CAST(substr(c.begin, 1, 4) AS INTEGER) < f.earliest_year))"""):
        b, e = r["begin"] or "", r["end"] or ""
        bad = [f"'{r[c]}'" for c in ("begin", "end", "maint_eff", "paid_through") if r[c] and not iso.fullmatch(r[c])]
        if bad:
            if r["id"] not in flagged_dates:
                yield Flag("DQ-05", f"Not a real coverage date: {', '.join(bad)}.", member_row=r["id"],
                           key=f"real:{r['ordinal']}", segments=[At("DTP", loop="2300", nth=None)])
            continue
        seg = [At("DTP", qual="348", element="DTP03"), At("DTP", qual="349", element="DTP03")]
        if b and e and e < b:
            if not (r["ins03"] == "024" and _day_before(e, b)):
                yield Flag("DQ-05", f"The coverage ends {show_date(e)}, before it begins {show_date(b)}.",
                           member_row=r["id"], key="range:coverage", segments=seg)
        elif r["exchange"] and b and int(b[:4]) < r["earliest_year"]:
            yield Flag("DQ-05", f"Exchange coverage begins {show_date(b)}, before {r['earliest_year']}.",
                       member_row=r["id"], key=f"year:{r['ordinal']}", severity="warning", segments=seg)
        elif r["exchange"] and b and e and e[:4] != b[:4]:
            yield Flag("DQ-05", f"Coverage from {show_date(b)} to {show_date(e)} spans two plan years.",
                       member_row=r["id"], key=f"year:{r['ordinal']}", severity="warning", segments=seg)
    # reporting-category dates
    for r in ctx.q(f"""
            SELECT c.m AS id, c.name, c.date_from, c.date_to, c.dtp_ordinal FROM cats c
            WHERE (c.date_from != '' AND c.date_from {nz}) OR (c.date_to != '' AND c.date_to {nz})
               OR (c.date_to GLOB '{ISO_GLOB}' AND c.date_from > c.date_to)"""):
        f, t = r["date_from"] or "", r["date_to"] or ""
        if iso.fullmatch(f) and iso.fullmatch(t) and f > t:
            msg = f"The {r['name']} date range starts {show_date(f)}, after it ends {show_date(t)}."
        elif r["id"] in flagged_dates:
            continue
        else:
            msg = f"The {r['name']} date {show_date(f)}{' to ' + show_date(t) if t else ''} is not a real date."
        yield Flag("DQ-05", msg, member_row=r["id"], key=f"cat:{r['dtp_ordinal']}",
                   segments=[{"ordinal": r["dtp_ordinal"], "element": "DTP03"}] if r["dtp_ordinal"] else [])


def _day_before(end: str, begin: str) -> bool:
    """An inbound cancellation may end the day before it begins."""
    try:
        return _dt.date.fromisoformat(begin) - _dt.date.fromisoformat(end) == _dt.timedelta(days=1)
    except ValueError:
        return False


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def _repeating(d: str) -> bool:
    return len(set(d)) == 1


_PHONE_QUALS = ("TE", "HP", "CP", "WP", "AP", "BN", "FX")


_TEN = "[0-9]" * 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _ok_zip(x: str) -> str:
    """SQL: the ZIP expression x is 5 or 9 digits (a dash allowed) and not one digit repeated."""
    d = f"replace({x}, '-', '')"
    return f"(length({d}) IN (5, 9) AND {d} NOT GLOB '*[^0-9]*' AND replace({d}, substr({d}, 1, 1), '') != '')"


@rule("DQ-06", "data_quality", "error", "Identifier in the wrong format",
      """SSN not 9 digits or one digit repeated, phone not 10 digits or one digit repeated, ZIP not 5 or 9
      digits or one digit repeated, e-mail without @, and in exchange files a plan id (REF*CE) that is not
      5 digits + state + 9 digits. Placeholder SSNs in a non-exchange file are a warning.""",
      """Ask the member or the exchange for the correct value; correspondence and ID cards depend on it.""")
def dq06(ctx: Context) -> Iterator[Flag]:
    # SQL picks the rows with anything unusual (the fast path for phones: one 10-digit TE number, maybe an
    # AP number or an e-mail with @ and a dot); Python then says exactly what is wrong
    rows = ctx.q(f"""
        SELECT m.id, m.ssn, m.id_qual, m.zip, m.phones, m.mailing, m.email, m.head_row,
               (SELECT h.zip FROM mm h WHERE h.id = m.head_row AND h.id != m.id) AS hzip, f.exchange
        FROM mm m JOIN fset f ON f.file_id = m.file_id
        WHERE (m.id_qual = '34' AND COALESCE(m.ssn, '') != '' AND NOT (length(m.ssn) = 9 AND m.ssn NOT GLOB '*[^0-9]*'
                                                                    AND replace(m.ssn, substr(m.ssn, 1, 1), '') != ''))
           OR (COALESCE(m.zip, '') != '' AND NOT {_ok_zip("m.zip")})
           OR (m.mailing IS NOT NULL AND NOT {_ok_zip("json_extract(m.mailing, '$.zip')")})
           OR (m.phones IS NOT NULL AND NOT (
                m.phones GLOB '{{"TE":[[]"{_TEN}"]*' AND replace(m.phone, substr(m.phone, 1, 1), '') != ''
                AND (length(m.phones) = 21 OR m.phones GLOB '{{"TE":[[]"{_TEN}"],"EM":[[]"*@*.*"]}}'
                     OR m.phones GLOB '{{"TE":[[]"{_TEN}"],"AP":[[]"{_TEN}"]}}')))""")
    for r in rows:
        sev = None if r["exchange"] else "warning"
        ssn = r["ssn"] or ""
        if r["id_qual"] == "34" and ssn:
            d = ssn if ssn.isdigit() else ""
            if len(ssn) != 9 or not d:
                yield Flag("DQ-06", f"The SSN has {len(ssn)} characters ('{'*' * max(0, len(ssn) - 4) + ssn[-4:]}'); "
                           "an SSN is 9 digits.", member_row=r["id"], key="ssn", segments=[At("NM1", qual="IL", element="NM109")])
            elif _repeating(d):
                yield Flag("DQ-06", f"The SSN {ssn[0]}{ssn[0]}{ssn[0]}-{ssn[0]}{ssn[0]}-{ssn[0] * 4} is one digit repeated, a "
                           "placeholder rather than a real SSN.", member_row=r["id"], key="ssn", severity=sev,
                           segments=[At("NM1", qual="IL", element="NM109")])
        zips = [("residence", r["zip"], At("N4", loop="2100A", element="N403"))]
        if r["mailing"]:
            zips.append(("mailing", (json.loads(r["mailing"]) or {}).get("zip"), At("N4", loop="2100C", element="N403")))
        for what, z, at in zips:
            if not z or (what == "residence" and r["head_row"] and r["hzip"] == z and r["head_row"] != r["id"]):
                continue   # the household's shared ZIP is flagged once, on the subscriber
            d = z.replace("-", "")
            if not (len(d) in (5, 9) and d.isdigit() and not _repeating(d)):
                yield Flag("DQ-06", f"The {what} ZIP code '{z}' is not 5 or 9 digits" +
                           (" (one digit repeated)." if d.isdigit() and _repeating(d) else "."),
                           member_row=r["id"], key=f"zip:{what}", segments=[at])
        phones = json.loads(r["phones"]) if r["phones"] else {}
        for q, nums in phones.items():
            for n in nums:
                if q == "EM":
                    if not _EMAIL.match(n):
                        yield Flag("DQ-06", f"The e-mail address '{n}' is not an e-mail address.", member_row=r["id"],
                                   key=f"email:{n}", segments=[At("PER", element=None)])
                    continue
                if q not in _PHONE_QUALS:
                    continue
                d = _digits(n)
                if len(d) == 11 and d[0] == "1":
                    d = d[1:]
                if len(d) != 10 or _repeating(d):
                    why = "one digit repeated" if len(d) == 10 else f"{len(d)} digits"
                    yield Flag("DQ-06", f"The phone number '{n}' is not a usable 10-digit number ({why}).",
                               member_row=r["id"], key=f"phone:{n}", severity=sev, segments=[At("PER")])
    for r in ctx.q(f"""
            SELECT m.id, c.plan_id, c.ordinal FROM mm m
            JOIN cv c ON c.member_id = m.id JOIN fset f ON f.file_id = m.file_id
            WHERE f.exchange = 1 AND c.plan_id != '' AND c.plan_id NOT GLOB '{HIOS_GLOB}'
              AND (m.ins01 = 'Y' OR m.head_row IS NULL OR c.plan_id NOT IN
                   (SELECT hc.plan_id FROM cv hc WHERE hc.member_id = m.head_row))"""):
        yield Flag("DQ-06", f"The plan id (REF*CE) '{r['plan_id']}' is not a 16-character exchange plan id "
                   f"(5-digit issuer, state, 9 digits; it has {len(r['plan_id'])} characters).", member_row=r["id"],
                   key=f"plan:{r['plan_id']}", segments=[At("REF", qual="CE", element="REF02")])


@rule("DQ-07", "data_quality", "error", "Member counts do not match",
      """The transaction's control totals (QTY*TO all members, QTY*DT dependants, QTY*ET subscribers) differ
      from the members actually in it: members may be missing.""",
      """Ask the exchange whether the transaction is complete; a missing member needs to be resent.""")
def dq07(ctx: Context) -> Iterator[Flag]:
    # the count of members is kept per transaction at import; subscribers are counted from the rows
    rows = ctx.q("""
        WITH tx AS (SELECT DISTINCT transaction_id AS tid FROM mm),
        sub AS (SELECT m.transaction_id AS tid, count(*) AS subs FROM mm m WHERE m.ins01 = 'Y' GROUP BY m.transaction_id)
        SELECT * FROM (
            SELECT t.id, t.qty_to, t.qty_dt, t.qty_et, t.member_count AS n, COALESCE(sub.subs, 0) AS subs
            FROM tx JOIN transactions t ON t.id = tx.tid LEFT JOIN sub ON sub.tid = tx.tid)
        WHERE (COALESCE(qty_to, '') != '' AND qty_to != CAST(n AS TEXT))
           OR (COALESCE(qty_dt, '') != '' AND qty_dt != CAST(n - subs AS TEXT))
           OR (COALESCE(qty_et, '') != '' AND qty_et != CAST(subs AS TEXT))""")
    for r in rows:
        row = ctx.q("SELECT id FROM mm WHERE transaction_id = ? ORDER BY ins01 = 'Y' DESC, id LIMIT 1", [r["id"]])
        if not row:
            continue
        r = {**dict(r), "row": row[0]["id"]}
        checks = (("TO", r["qty_to"], r["n"], "members"), ("DT", r["qty_dt"], r["n"] - r["subs"], "dependants"),
                  ("ET", r["qty_et"], r["subs"], "subscribers"))
        for q, said, actual, what in checks:
            if not said:
                continue
            try:
                n = int(float(said))
            except ValueError:
                n = None
            if n != actual:
                yield Flag("DQ-07", f"QTY*{q} says {said} {what} but the transaction has {actual}.", member_row=r["row"],
                           key=q, segments=[At("QTY", qual=q, element="QTY02", txn=r["id"])])


_EXPECTED_QUAL = {"PRE AMT 1": "9X", "PRE AMT TOT": "9X", "APTC AMT": "9V", "TOT RES AMT": "9V", "RATING AREA": "9X",
                  "CSR AMT": "9V", "OTH PAY AMT 1": "9V", "OTH PAY AMT 2": "9V", "TOT EMP RES AMT": "9V",
                  "ADDL MAINT REASON": "17", "SEP REASON": "17", "SOURCE EXCHANGE ID": "17",
                  "REQUEST SUBMIT TIMESTAMP": "17", "APPLICATION ID AND ORIGIN": "6M"}
_FORMATS = {
    "SOURCE EXCHANGE ID": (re.compile(r"^[A-Z]{2}0$"), "a state code followed by 0, e.g. VA0", None),
    "REQUEST SUBMIT TIMESTAMP": (re.compile(r"^\d{14}(\d{2})?$"), "14 or 16 digits (date and time)", None),
    "APPLICATION ID AND ORIGIN": (re.compile(r"^\d+-\d{1,2}$"), "an application number, a dash and an origin code",
                                  "warning"),
    "SEP REASON": (re.compile(r"^[A-Z0-9]{2}\s*(-|\u2013|\xe2\x80\x93)"), "a code such as 02-BIRTH", "warning"),
}


@rule("DQ-08", "data_quality", "warning", "Reporting category not understood",
      """2750 reporting categories (N1*75) whose name is not in the sender's vocabulary, or (in exchange
      files) that use another REF qualifier than the guide's, and values in the wrong form: SOURCE
      EXCHANGE ID not a state + 0 and REQUEST SUBMIT TIMESTAMP not 14 or 16 digits are errors.""",
      """Ask the sender what the category means or have it corrected; an amount under an unknown name is
      not used.""")
def dq08(ctx: Context) -> Iterator[Flag]:
    from .. import settings as _settings

    def lit(x: str) -> str:
        return "'" + x.replace("'", "''") + "'"

    # the odd categories found by the engine's one pass (temp.cats), per vocabulary (a sender's files share one)
    ctx.need("cats")
    vocabs: dict[tuple[frozenset[str], tuple[tuple[str, str], ...]], list[int]] = defaultdict(list)
    for (fid,) in ctx.q("SELECT file_id FROM fset"):
        names = ctx.setting(fid, "category_names")
        known = frozenset(set(_settings.KNOWN_CATEGORIES) | set(ctx.setting(fid, "extra_category_names"))
                          | set(names.values()))
        vocabs[(known, tuple(sorted(names.items())))].append(fid)
    for (known, names), fids in vocabs.items():
        source = dict(names)
        quals = " OR ".join(f"(c.name = {lit(source.get(k, k))} AND c.ref_qual != '{v}')"
                            for k, v in _EXPECTED_QUAL.items())
        fmt = {source.get(k, k): k for k in _FORMATS}
        sid, rst = lit(source.get("SOURCE EXCHANGE ID", "SOURCE EXCHANGE ID")), \
            lit(source.get("REQUEST SUBMIT TIMESTAMP", "REQUEST SUBMIT TIMESTAMP"))
        rows = ctx.q(f"""
            SELECT c.m AS member_id, c.name, c.ordinal, c.ref_qual, c.value, c.ref_ordinal, f.exchange,
                   c.name NOT IN ({', '.join(lit(n) for n in sorted(known))}) AS unknown
            FROM cats c JOIN mm m ON m.id = c.m JOIN fset f ON f.file_id = m.file_id
            WHERE m.file_id IN ({', '.join(str(int(x)) for x in fids)})
              AND (c.name NOT IN ({', '.join(lit(n) for n in sorted(known))})
                   OR (f.exchange = 1 AND c.ref_qual != '' AND ({quals}))
                   OR (c.name IN ({', '.join(lit(n) for n in fmt)}) AND c.value != ''
                       AND NOT (c.name = {sid} AND c.value GLOB '[A-Z][A-Z]0')
                       AND NOT (c.name = {rst} AND length(c.value) IN (14, 16) AND c.value NOT GLOB '*[^0-9]*')))
            ORDER BY c.m, c.seq""")
        unknown: dict[int, list[Any]] = defaultdict(list)
        for r in rows:
            if r["unknown"]:
                unknown[r["member_id"]].append(r)
                continue
            canon = fmt.get(r["name"]) or next((k for k in _EXPECTED_QUAL if source.get(k, k) == r["name"]), r["name"])
            exp = _EXPECTED_QUAL.get(canon)
            if r["exchange"] and exp and r["ref_qual"] and r["ref_qual"] != exp:
                yield Flag("DQ-08", f"{r['name']} is sent with qualifier REF*{r['ref_qual']}; the guide uses REF*{exp}.",
                           member_row=r["member_id"], key=f"qual:{canon}",
                           segments=[{"ordinal": r["ref_ordinal"], "element": "REF01"}] if r["ref_ordinal"] else [])
            form = _FORMATS.get(canon)
            if form and r["value"] and not form[0].match(r["value"].strip().upper()):
                yield Flag("DQ-08", f"{r['name']} is '{r['value']}'; expected {form[1]}.", member_row=r["member_id"],
                           key=f"value:{canon}", severity=form[2] or "error",
                           segments=[{"ordinal": r["ref_ordinal"], "element": "REF02"}] if r["ref_ordinal"] else [])
        for mid, cs in unknown.items():
            listed = ", ".join(sorted({c["name"] or "(empty)" for c in cs}))
            # in a file that speaks the exchange's vocabulary an unknown name is suspect; in other sources
            # (Medicaid, employers) the vocabulary is theirs and we only note it
            yield Flag("DQ-08", f"Reporting {'category' if len(cs) == 1 else 'categories'} not known for this sender: "
                       f"{listed}.", member_row=mid, key="unknown", severity=None if cs[0]["exchange"] else "info",
                       segments=[{"ordinal": c["ordinal"], "element": "N102"} for c in cs])


def _custom_race(ctx: Context) -> list[int]:
    """Files whose sender has its own list of race codes (their rows are all checked in Python)."""
    from .. import settings as _settings

    return [fid for (fid,) in ctx.q("SELECT file_id FROM fset")
            if set(ctx.setting(fid, "race_codes")) != set(_settings.RACE_CODES)] or [-1]


@rule("DQ-09", "data_quality", "warning", "Race or ethnicity coded wrongly",
      """In exchange files race and ethnicity are sent in DMG05 as :RET:code, at most 10 times, with codes
      from the companion guide's list (Appendix B).""",
      """No action is needed for enrollment; tell the exchange if the codes keep arriving this way.""")
def dq09(ctx: Context) -> Iterator[Flag]:
    from .. import settings as _settings

    # the stored race is DMG05 with the component separators turned into spaces: ' RET 2106-3' is the
    # usual single code; only other shapes (or codes a sender's list lacks) are read from the raw DMG
    usual = ", ".join(f"' RET {c}'" for c in _settings.RACE_CODES)
    rows = ctx.q(f"""SELECT m.id, (SELECT r.raw FROM members r WHERE r.id = m.id) AS raw, m.file_id, fl.delims FROM mm m
                    JOIN fset f ON f.file_id = m.file_id JOIN files fl ON fl.id = m.file_id
                    WHERE f.exchange = 1 AND COALESCE(m.race, '') != ''
                      AND (m.race NOT IN ({usual}) OR m.file_id IN ({','.join(str(int(x)) for x in _custom_race(ctx))}))""")
    for r in rows:
        d = r["delims"] or "*:^~"
        el, comp, rep = d[0], d[1] if len(d) > 1 else ":", d[2] if len(d) > 2 else "^"
        line = next((x for x in r["raw"].split("\n") if x.startswith("DMG" + el)), "")
        parts = line.split(el)
        if len(parts) < 6 or not parts[5]:
            continue
        codes = set(ctx.setting(r["file_id"], "race_codes"))
        reps = parts[5].split(rep)
        bad = []
        for x in reps:
            c = x.split(comp)
            if len(c) < 3 or c[0] or c[1] != "RET" or c[2] not in codes:
                bad.append(x)
        if len(reps) > 10:
            bad.append(f"{len(reps)} repetitions (at most 10)")
        if bad:
            yield Flag("DQ-09", f"Race/ethnicity in DMG05 is not in the guide's form :RET:code with a listed code: "
                       f"{', '.join(repr(b) for b in bad[:5])}.", member_row=r["id"], key="race",
                       segments=[At("DMG", element="DMG05")])


@rule("DQ-10", "data_quality", "error", "Required by the exchange but missing",
      """In exchange files: the subscriber's employment status (INS08), the member id (REF*17), the coverage
      loop (2300) of an addition, and no coverage loop on an issuer's own cancellation or termination.""",
      """Ask the exchange (or our own outbound team for an issuer file) to resend the transaction
      complete.""")
def dq10(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""
            SELECT * FROM (
                SELECT m.id, m.ins01, m.ins03, m.ins08, m.member_id, fl.isa_receiver,
                       CASE WHEN m.ins03 IN ('021', '024') THEN (SELECT count(*) FROM cv c WHERE c.member_id = m.id)
                       END AS ncov
                FROM mm m JOIN fset f ON f.file_id = m.file_id
                JOIN files fl ON fl.id = m.file_id WHERE f.exchange = 1)
            WHERE (ins01 = 'Y' AND COALESCE(ins08, '') = '') OR COALESCE(member_id, '') = ''
               OR (ins03 = '021' AND ncov = 0) OR (ins03 = '024' AND ncov > 0 AND trim(isa_receiver) = 'CMSFFM')"""):
        if r["ins01"] == "Y" and not r["ins08"]:
            yield Flag("DQ-10", "The subscriber's employment status (INS08) is missing; the exchange always sends it.",
                       member_row=r["id"], key="ins08", segments=[At("INS")])
        if not r["member_id"]:
            yield Flag("DQ-10", "The member id (REF*17) is missing; the exchange always sends it.", member_row=r["id"],
                       key="ref17", segments=[At("INS")])
        if r["ins03"] == "021" and not r["ncov"]:
            yield Flag("DQ-10", "This addition has no coverage loop (HD, 2300): plan and dates are missing.",
                       member_row=r["id"], key="2300", segments=[At("INS")])
        if r["ins03"] == "024" and r["ncov"] and (r["isa_receiver"] or "").strip() == "CMSFFM":
            yield Flag("DQ-10", "An issuer's cancellation or termination must not contain the coverage loop (2300).",
                       member_row=r["id"], key="2300-end", segments=[At("HD")])
