"""Subsidy (APTC / CSR / premium) errors (834-domain.md section 2e): FIN-01 to FIN-10.

Amounts come from the 2750 reporting categories, evaluated per financial effective date (DTP*007):
the engine's `fin` table holds, for each member and date, the amounts in force on that date. Names
are the source's own (setting `category_names`), compared within the money tolerance (0.01).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .base import At, Context, Flag, money, rule, show_date

SUB_ONLY = {"aptc": "APTC AMT", "pretot": "PRE AMT TOT", "totres": "TOT RES AMT", "ra": "RATING AREA"}
REQUIRED_SUB = {"pre1": "PRE AMT 1", "pretot": "PRE AMT TOT", "aptc": "APTC AMT", "totres": "TOT RES AMT",
                "ra": "RATING AREA"}
_RA = re.compile(r"^R-([A-Z]{2})(\d{3})$")
_MONEY = ("('PRE AMT 1', 'PRE AMT TOT', 'APTC AMT', 'TOT RES AMT', 'CSR AMT', 'OTH PAY AMT 1', 'OTH PAY AMT 2', "
          "'TOT EMP RES AMT')")


def _ref(ordinal: int | None) -> list[dict[str, Any]]:
    return [{"ordinal": ordinal, "element": "REF02"}] if ordinal else []


@rule("FIN-01", "subsidy", "error", "Premium or subsidy amounts missing",
      """In an exchange file that sends premium amounts, an addition or change must give the subscriber
      PRE AMT 1, PRE AMT TOT, APTC AMT (0 when not eligible), TOT RES AMT and RATING AREA, and every
      dependant PRE AMT 1.""",
      """Ask the exchange for the missing amounts before billing; the member's share cannot be worked out
      without them.""")
def fin01(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    rows = ctx.q("""
        SELECT m.id, m.ins01, p.has_pre1 AS n_pre1, p.has_pretot AS n_pretot, p.has_aptc AS n_aptc,
               p.has_totres AS n_totres, p.has_ra AS n_ra
        FROM mm m JOIN fset f ON f.file_id = m.file_id
        LEFT JOIN mm h ON h.id = m.head_row
        LEFT JOIN finp p ON p.member_row = m.id
        WHERE f.fin_vocab = 1 AND m.ins03 IN ('021', '001') AND COALESCE(h.ins03, m.ins03) IN ('021', '001')
          AND (p.member_row IS NULL OR NOT p.has_pre1 OR (m.ins01 = 'Y' AND NOT (p.has_pretot AND p.has_aptc
               AND p.has_totres AND p.has_ra)))""")
    for r in rows:
        need = REQUIRED_SUB if r["ins01"] == "Y" else {"pre1": "PRE AMT 1"}
        missing = [name for col, name in need.items() if not r[f"n_{col}"]]
        if missing:
            who = "the subscriber" if r["ins01"] == "Y" else "this dependant"
            yield Flag("FIN-01", f"The amounts {', '.join(missing)} are missing for {who}.", member_row=r["id"],
                       segments=[At("LS"), At("LE")])


@rule("FIN-02", "subsidy", "warning", "Subscriber-only amount on a dependant",
      """APTC AMT, PRE AMT TOT, TOT RES AMT and RATING AREA belong on the subscriber only; on a dependant
      they may be counted twice.""",
      """Use the subscriber's amounts for the household and ignore the dependant's copy; tell the
      exchange.""")
def fin02(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    for r in ctx.q("""SELECT p.member_row AS id, p.has_aptc AS aptc, p.has_pretot AS pretot, p.has_totres AS totres,
                             p.has_ra AS ra, p.o_aptc AS aptc_ord, p.o_pretot AS pretot_ord, p.o_totres AS totres_ord,
                             p.o_ra AS ra_ord
                      FROM finp p JOIN mm m ON m.id = p.member_row
                      WHERE (p.has_aptc OR p.has_pretot OR p.has_totres OR p.has_ra) AND m.ins01 != 'Y'"""):
        names = [name for col, name in SUB_ONLY.items() if r[col]]
        yield Flag("FIN-02", f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} sent on this dependant; "
                   "they belong on the subscriber only.", member_row=r["id"],
                   segments=[s for col in SUB_ONLY for s in _ref(r[f"{col}_ord"])])


@rule("FIN-03", "subsidy", "error", "APTC above the premium, or a negative amount",
      """The advance premium tax credit (APTC AMT) cannot be more than the total premium (PRE AMT TOT), and
      no premium or subsidy amount can be negative.""",
      """Ask the exchange for the correct APTC; bill the member nothing below zero in the meantime.""")
def fin03(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    for r in ctx.q("""SELECT x.*, f.tol FROM fin x JOIN fset f ON f.file_id = x.file_id
                      WHERE (x.aptc IS NOT NULL AND x.pretot IS NOT NULL AND x.aptc > x.pretot + f.tol)
                         OR x.aptc < 0 OR x.pretot < 0 OR x.pre1 < 0 OR x.totres < 0 OR x.csr < 0"""):
        eff = f" (effective {show_date(r['eff'])})" if r["eff"] else ""
        if r["aptc"] is not None and r["pretot"] is not None and r["aptc"] > r["pretot"] + r["tol"]:
            yield Flag("FIN-03", f"APTC {money(r['aptc'])} is more than the total premium {money(r['pretot'])}{eff}.",
                       member_row=r["member_row"], key=f"{r['eff']}:aptc",
                       segments=_ref(r["aptc_ord"]) + _ref(r["pretot_ord"]))
        neg = [(n, r[c], r[f"{c}_ord"]) for c, n in (("aptc", "APTC AMT"), ("pretot", "PRE AMT TOT"), ("pre1", "PRE AMT 1"),
                                                      ("totres", "TOT RES AMT"), ("csr", "CSR AMT"))
               if r[c] is not None and r[c] < 0]
        if neg:
            yield Flag("FIN-03", "Negative amount: " + ", ".join(f"{n} {money(v)}" for n, v, _ in neg) + f"{eff}.",
                       member_row=r["member_row"], key=f"{r['eff']}:neg",
                       segments=[s for _, _, o in neg for s in _ref(o)])


@rule("FIN-04", "subsidy", "error", "Member's share does not add up",
      """TOT RES AMT (what the member pays) must equal PRE AMT TOT minus APTC AMT (minus other payers such as
      OTH PAY AMT and TOT EMP RES AMT where the source sends them; see the setting
      responsibility_subtracts).""",
      """Ask the exchange which amount is wrong before sending the member a bill.""")
def fin04(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    for r in ctx.q("""SELECT x.*, f.tol FROM fin x JOIN fset f ON f.file_id = x.file_id
                      WHERE x.pretot IS NOT NULL AND x.aptc IS NOT NULL AND x.totres IS NOT NULL
                        AND abs(x.totres - (x.pretot - x.aptc - COALESCE(x.oth, 0))) > f.tol + 0.0000001"""):
        expect = r["pretot"] - r["aptc"] - (r["oth"] or 0)
        others = f" - other payers {money(r['oth'])}" if r["oth"] else ""
        eff = f" (effective {show_date(r['eff'])})" if r["eff"] else ""
        yield Flag("FIN-04", f"The member's share TOT RES AMT is {money(r['totres'])}, but PRE AMT TOT {money(r['pretot'])} "
                   f"- APTC {money(r['aptc'])}{others} = {money(expect)}{eff}.", member_row=r["member_row"],
                   key=r["eff"] or "", segments=_ref(r["totres_ord"]) + _ref(r["pretot_ord"]) + _ref(r["aptc_ord"]))


@rule("FIN-05", "subsidy", "error", "Member premiums do not add up to the total",
      """The members' PRE AMT 1 in one household (those not being removed) must add up to the
      subscriber's PRE AMT TOT for the same effective date. Family-rated dental, where dependants carry
      0, is not checked.""",
      """Ask the exchange for the right member premiums or total; the bill is based on the total.""")
def fin05(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    # Households where every member has one effective date are summed in SQL (nearly all); the others in
    # Python, picking for each member the PRE AMT 1 in force on the subscriber's date.
    simple = ctx.q("""
        WITH hh AS (
            SELECT m.g, sum(x.pre1) AS total, sum(x.member_row IS NULL OR x.pre1 IS NULL) AS missing,
                   sum(m.ins01 != 'Y' AND x.pre1 != 0) AS dep_nonzero, group_concat(m.id) AS ids,
                   max(p.e0 != p.e1) AS multi
            FROM mm m LEFT JOIN finp p ON p.member_row = m.id LEFT JOIN fin x ON x.member_row = m.id
            WHERE m.ins03 != '024' AND m.g IN (SELECT s.g FROM mm s JOIN finp sp ON sp.member_row = s.id
                                                WHERE s.ins01 = 'Y' AND sp.has_pretot)
            GROUP BY m.g)
        SELECT s.id, s.g, x.eff, x.pretot, x.pretot_ord, hh.total, hh.missing, hh.dep_nonzero, hh.ids, hh.multi, f.tol
        FROM hh JOIN mm s ON s.g = hh.g AND s.ins01 = 'Y' JOIN fin x ON x.member_row = s.id AND x.pretot IS NOT NULL
        JOIN fset f ON f.file_id = s.file_id
        WHERE hh.missing = 0 AND (hh.multi OR abs(round(hh.total, 2) - x.pretot) > f.tol + 1e-7)""")
    for r in simple:
        ids = [int(i) for i in r["ids"].split(",")]
        eff = r["eff"] or ""
        if r["multi"]:
            parts = []
            for mid in ids:
                cands = ctx.q("SELECT member_row, eff, pre1, pre1_ord FROM fin WHERE member_row = ? AND pre1 IS NOT NULL "
                              "ORDER BY eff", [mid])
                ok = [c for c in cands if not c["eff"] or not eff or c["eff"] <= eff]
                if cands:
                    parts.append((ok or cands)[-1])
            total = round(sum(c["pre1"] for c in parts), 2)
            if abs(total - r["pretot"]) <= r["tol"] + 1e-7:
                continue
            ords = [c["pre1_ord"] for c in parts]
        else:
            total = round(r["total"], 2)
            ords = [o[0] for o in ctx.q(f"SELECT pre1_ord FROM fin WHERE member_row IN ({','.join('?' * len(ids))})",
                                        ids)]
        if r["dep_nonzero"] == 0 and ctx.q("SELECT 1 FROM cv WHERE member_id = ? AND hd03 = 'DEN'", [r["id"]]):
            continue   # family-rated dental: the dependants carry 0 and the subscriber the family premium
        yield Flag("FIN-05", f"The members' premiums (PRE AMT 1) add up to {money(total)} but the total premium "
                   f"(PRE AMT TOT) is {money(r['pretot'])}" + (f" (effective {show_date(eff)})" if eff else "") + ".",
                   member_row=r["id"], related=ids, key=eff,
                   segments=_ref(r["pretot_ord"]) + [x for o in ords for x in _ref(o)])


CSR_VARIANTS = {"00": "non-exchange plan", "01": "exchange plan without cost-sharing reduction",
                "02": "zero cost-sharing (American Indian / Alaska Native)",
                "03": "limited cost-sharing (American Indian / Alaska Native)",
                "04": "73% silver cost-sharing reduction", "05": "87% silver cost-sharing reduction",
                "06": "94% silver cost-sharing reduction"}


@rule("FIN-06", "subsidy", "error", "Cost-sharing variant not valid",
      """The last two characters of the 16-character plan id (REF*CE) are the cost-sharing (CSR) variant,
      00 to 06. Anything else is an error; 00 (the off-exchange variant) on an exchange enrollment is a
      warning.""",
      """Ask the exchange for the right plan id; the variant decides the member's deductibles and
      copays.""")
def fin06(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""SELECT m.id, c.plan_id, c.csr_variant, c.ordinal, f.exchange
                      FROM mm m JOIN cv c ON c.member_id = m.id
                      JOIN fset f ON f.file_id = m.file_id
                      WHERE length(c.plan_id) = 16 AND substr(c.plan_id, 1, 5) NOT GLOB '*[^0-9]*'
                        AND (c.csr_variant NOT IN ('00','01','02','03','04','05','06')
                             OR (c.csr_variant = '00' AND f.exchange = 1))
                        AND (m.ins01 = 'Y' OR m.head_row IS NULL OR c.plan_id NOT IN
                             (SELECT hc.plan_id FROM cv hc WHERE hc.member_id = m.head_row))"""):
        seg = [{"ordinal": r["ordinal"], "element": None}, At("REF", qual="CE", element="REF02")]
        if r["csr_variant"] == "00":
            yield Flag("FIN-06", f"Plan {r['plan_id']} has variant 00 (the off-exchange variant) on an exchange "
                       "enrollment.", member_row=r["id"], key=r["plan_id"], severity="warning", segments=seg)
        else:
            yield Flag("FIN-06", f"Plan {r['plan_id']} ends in variant {r['csr_variant']}, which does not exist "
                       "(valid: 00 to 06).", member_row=r["id"], key=r["plan_id"], segments=seg)


@rule("FIN-07", "subsidy", "error", "Cost-sharing variant does not match the CSR amount",
      """A CSR AMT above 0 with variant 00 or 01 (no cost-sharing reduction) is an error; variant 02 or 04-06
      without a CSR AMT, where the source still sends CSR AMT, is a warning; variant 04-06 with APTC 0 is
      information only (a member may take no APTC and keep the reduction).""",
      """Ask the exchange whether the member qualifies for a cost-sharing reduction and which plan
      variant is right.""")
def fin07(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    # "the source still sends CSR AMT": most subscribers with a cost-sharing variant in the file carry one
    csr_files = {r[0] for r in ctx.q("""
        SELECT x.file_id FROM fin x JOIN mm m ON m.id = x.member_row
        JOIN cv c ON c.member_id = m.id AND c.csr_variant IN ('02', '03', '04', '05', '06')
        JOIN finp p ON p.member_row = m.id
        WHERE m.ins01 = 'Y' GROUP BY x.file_id HAVING 2 * sum(p.has_csr) >= count(*)""")}
    rows = ctx.q("""
        SELECT m.id, m.file_id, x.eff, x.csr, x.aptc, x.csr_ord, x.aptc_ord, c.plan_id, c.csr_variant, c.ordinal
        FROM fin x JOIN mm m ON m.id = x.member_row
        JOIN cv c ON c.member_id = m.id AND c.csr_variant != ''
        WHERE m.ins01 = 'Y' AND c.plan_id NOT GLOB '*[^0-9A-Z]*' AND length(c.plan_id) = 16
          AND ((c.csr_variant IN ('00', '01') AND x.csr > 0)
               OR (c.csr_variant IN ('02', '04', '05', '06') AND COALESCE(x.csr, 0) = 0)
               OR (c.csr_variant IN ('04', '05', '06') AND x.aptc = 0))""")
    for r in rows:
        v, csr = r["csr_variant"], r["csr"]
        seg = [{"ordinal": r["ordinal"], "element": None}, *_ref(r["csr_ord"])]
        if v in ("00", "01") and csr is not None and csr > 0:
            yield Flag("FIN-07", f"CSR AMT {money(csr)} is sent, but plan {r['plan_id']} is variant {v} "
                       f"({CSR_VARIANTS[v]}).", member_row=r["id"], key=f"{r['eff']}:csr", segments=seg)
        elif v in ("02", "04", "05", "06") and not csr and r["file_id"] in csr_files:
            yield Flag("FIN-07", f"Plan {r['plan_id']} is variant {v} ({CSR_VARIANTS[v]}) but no CSR AMT is sent.",
                       member_row=r["id"], key=f"{r['eff']}:nocsr", severity="warning", segments=seg)
        elif v in ("04", "05", "06") and r["aptc"] is not None and r["aptc"] == 0:
            yield Flag("FIN-07", f"Plan {r['plan_id']} is a silver cost-sharing variant {v} with APTC 0 (allowed when the "
                       "member chose no APTC).", member_row=r["id"], key=f"{r['eff']}:aptc0", severity="info",
                       segments=seg + _ref(r["aptc_ord"]))


@rule("FIN-08", "subsidy", "error", "Rating area not valid",
      """RATING AREA must read R-SS### (SS the plan's state, ### 001 to 150), e.g. R-VA010.""",
      """Ask the exchange for the correct rating area; the premium depends on it.""")
def fin08(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    rows = ctx.q("""
        SELECT * FROM (
            SELECT x.member_row AS id, x.ra, x.ra_ord, x.eff,
                   (SELECT c.plan_id FROM cv c WHERE c.member_id = x.member_row AND length(c.plan_id) = 16
                    ORDER BY c.seq LIMIT 1) AS plan
            FROM fin x WHERE x.ra IS NOT NULL)
        WHERE upper(trim(ra)) NOT GLOB 'R-[A-Z][A-Z][0-9][0-9][0-9]'
           OR CAST(substr(trim(ra), 6) AS INTEGER) NOT BETWEEN 1 AND 150
           OR (plan IS NOT NULL AND substr(plan, 6, 2) GLOB '[A-Z][A-Z]' AND upper(substr(trim(ra), 3, 2)) != substr(plan, 6, 2))""")
    seen = set()
    for r in rows:
        ra = (r["ra"] or "").strip()
        m = _RA.match(ra.upper())
        plan_state = r["plan"][5:7] if r["plan"] and r["plan"][5:7].isalpha() else None
        if not m or not 1 <= int(m.group(2)) <= 150:
            msg = f"The rating area '{ra}' is not in the form R-SS### (for example R-VA010)."
        elif plan_state and m.group(1) != plan_state:
            msg = f"The rating area {ra} is in {m.group(1)} but the plan {r['plan']} is a {plan_state} plan."
        else:
            continue
        if (r["id"], ra) in seen:
            continue
        seen.add((r["id"], ra))
        yield Flag("FIN-08", msg, member_row=r["id"], key=ra, segments=_ref(r["ra_ord"]))


@rule("FIN-09", "subsidy", "error", "Financial effective date out of range",
      """The effective date (DTP*007) of the premium and subsidy amounts must fall inside the member's
      coverage and its coverage year; an amount starting on a day other than the 1st of a month is a
      warning unless the member is a newborn or the coverage ends mid-month.""",
      """Ask the exchange for the right effective date of the amounts; billing periods follow it.""")
def fin09(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    rows = ctx.q("""
        SELECT m.id, m.eff_begin, m.eff_end, m.ins04, x.eff,
               (SELECT k.value FROM categories k WHERE k.member_id = m.id AND k.name = 'SEP REASON') AS sep,
               (SELECT min(c.dtp_ordinal) FROM categories c WHERE c.member_id = m.id AND c.date_from = x.eff) AS dtp
        FROM fin x JOIN mm m ON m.id = x.member_row JOIN fset f ON f.file_id = m.file_id
        WHERE f.exchange = 1 AND x.eff != '' AND m.ins03 != '024' AND m.eff_begin IS NOT NULL
          AND (x.eff < m.eff_begin OR (m.eff_end IS NOT NULL AND x.eff > m.eff_end)
               OR substr(x.eff, 1, 4) != substr(m.eff_begin, 1, 4) OR substr(x.eff, 9, 2) != '01')""")
    done = set()
    for r in rows:
        eff, begin, end = r["eff"], r["eff_begin"], r["eff_end"]
        seg = [{"ordinal": r["dtp"], "element": "DTP03"}] if r["dtp"] else []
        if eff < begin:
            msg, sev = f"The amounts take effect {show_date(eff)}, before coverage begins ({show_date(begin)}).", None
        elif end and eff > end:
            msg, sev = f"The amounts take effect {show_date(eff)}, after coverage ends ({show_date(end)}).", None
        elif eff[:4] != begin[:4]:
            msg, sev = f"The amounts take effect {show_date(eff)}, outside the coverage year {begin[:4]}.", None
        else:
            newborn = r["ins04"] == "02" or (r["sep"] or "").startswith("02")
            if newborn or (end and end[:7] == eff[:7]) or eff == begin:
                continue
            msg, sev = f"The amounts take effect {show_date(eff)}, not on the 1st of a month.", "warning"
        if r["id"] in done:
            continue
        done.add(r["id"])
        yield Flag("FIN-09", msg, member_row=r["id"], key="date", severity=sev, segments=seg)


@rule("FIN-10", "subsidy", "error", "Amount is not a number",
      """Premium and subsidy amounts (REF02 of PRE AMT 1, PRE AMT TOT, APTC AMT, TOT RES AMT, CSR AMT and the
      other payers) must be numbers with an explicit decimal point, at most 18 characters.""",
      """Ask the exchange to resend the amount as a number.""")
def fin10(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    ctx.need("cats")
    for r in ctx.q(f"""SELECT c.m AS id, n.canon, c.name, c.value, c.ref_ordinal AS ord FROM cats c
                       JOIN catname n ON n.file_id = c.file_id AND n.name = c.name
                       WHERE n.canon IN {_MONEY} AND COALESCE(c.value, '') != ''
                         AND (c.amount IS NULL OR length(c.value) > 18)"""):
        yield Flag("FIN-10", f"{r['name']} is '{r['value']}', which is not an amount.", member_row=r["id"],
                   key=f"{r['canon']}:{r['ord']}", segments=_ref(r["ord"]))
