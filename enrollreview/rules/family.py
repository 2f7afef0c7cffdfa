"""Family (dependant) inconsistencies (834-domain.md section 2d): FAM-01 to FAM-10 and FAM-12.

"Household" below is a subscriber and the dependants that belong to it in one transaction (see
history: the subscriber with the same REF*0F, else the one they follow). Employer-style files with
many subscribers in one transaction are therefore compared household by household.
"""

from __future__ import annotations

from collections.abc import Iterator

from .base import HIOS_GLOB, ISO_GLOB, At, Context, Flag, age_on, rel, rule, show_date

CHILD_TYPES = ("19", "09", "10", "17", "05")
PARENT_TYPES = ("03", "13", "16")
SPOUSE_TYPES = ("01", "53")


@rule("FAM-01", "family", "error", "More than one subscriber in one group",
      """Two different people are both coded as the subscriber (INS01 Y) with the same subscriber id
      (REF*0F) in one transaction. Several subscribers with different ids in one transaction are an
      employer-style file and are fine.""",
      """Ask the exchange who the subscriber is; the other person should be sent as a dependant with
      the right relationship code.""")
def fam01(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        SELECT m.transaction_id, m.subscriber_id, group_concat(m.id) AS ids
        FROM mm m
        WHERE m.ins01 = 'Y' AND m.subscriber_id != ''
        GROUP BY m.transaction_id, m.subscriber_id HAVING count(DISTINCT m.person_id) > 1""")
    for r in rows:
        ids = sorted(int(x) for x in r["ids"].split(","))
        for extra in ids[1:]:
            yield Flag("FAM-01", f"{len(ids)} people are coded as the subscriber (INS01 Y) of the group with subscriber "
                       f"id {r['subscriber_id']} in this transaction.", member_row=extra, related=[ids[0]],
                       segments=[At("INS", element="INS01"), At("INS", element="INS01", row=ids[0])])


@rule("FAM-02", "family", "error", "Subscriber code and relationship disagree",
      """The subscriber (INS01 Y) must have relationship 18 (self), and a dependant (INS01 N) must not. A
      syntax check passes both mistakes.""",
      """Ask the exchange who the subscriber is and what this person's relationship to them is.""")
def fam02(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""SELECT m.id, m.ins01, m.ins02 FROM mm m
                      WHERE (m.ins01 = 'Y' AND m.ins02 != '18') OR (m.ins01 = 'N' AND m.ins02 = '18')"""):
        if r["ins01"] == "Y":
            msg = f"This member is coded as the subscriber (INS01 Y) but as the subscriber's {rel(r['ins02'])}."
        else:
            msg = "This member is coded as a dependant (INS01 N) but with relationship self (18)."
        yield Flag("FAM-02", msg, member_row=r["id"], segments=[At("INS", element="INS01"), At("INS", element="INS02")])


@rule("FAM-03", "family", "error", "Dependant does not point to the subscriber",
      """Every member carries the subscriber's id in REF*0F. A dependant whose REF*0F is some other id (often
      its own) cannot be tied to its subscriber by the exchange.""",
      """Ask the exchange to resend the dependant with the subscriber's id in REF*0F; until then link the
      dependant to the subscriber by hand.""")
def fam03(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""SELECT d.id, d.subscriber_id, d.member_id, h.subscriber_id AS hsub, h.id AS hid
                      FROM mm d JOIN mm h ON h.id = d.head_row
                      WHERE d.ins01 != 'Y' AND d.subscriber_id != '' AND d.subscriber_id != h.subscriber_id"""):
        own = " (its own member id)" if r["subscriber_id"] == r["member_id"] else ""
        yield Flag("FAM-03", f"This dependant's subscriber id (REF*0F) is {r['subscriber_id']}{own}, but the subscriber "
                   f"it is listed with has {r['hsub']}.", member_row=r["id"], related=[r["hid"]],
                   segments=[At("REF", qual="0F", element="REF02"), At("REF", qual="0F", element="REF02", row=r["hid"])])


@rule("FAM-04", "family", "error", "Different policy or plan inside one group",
      """A dependant's coverage of one kind (HD03) has a different exchange policy id (2300 REF*1L) or
      plan (REF*CE) than the subscriber's coverage of the same kind in the same transaction.""",
      """Ask the exchange which plan and policy the household is enrolled in; one group has one
      policy and one plan per kind of coverage.""")
def fam04(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        SELECT d.id, h.id AS hid, dc.hd03, dc.plan_id, dc.policy_id, dc.ordinal,
               (SELECT group_concat(DISTINCT sc.plan_id) FROM cv sc WHERE sc.member_id = h.id
                AND sc.hd03 = dc.hd03) AS hplans,
               (SELECT group_concat(DISTINCT sc.policy_id) FROM cv sc WHERE sc.member_id = h.id
                AND sc.hd03 = dc.hd03) AS hpols
        FROM mm d JOIN mm h ON h.id = d.head_row
        JOIN cv dc ON dc.member_id = d.id
        WHERE d.ins01 != 'Y' AND EXISTS (SELECT 1 FROM cv sc WHERE sc.member_id = h.id AND sc.hd03 = dc.hd03)
          AND ((dc.plan_id != '' AND NOT EXISTS (SELECT 1 FROM cv sc WHERE sc.member_id = h.id
                AND sc.hd03 = dc.hd03 AND (sc.plan_id = dc.plan_id OR sc.plan_id = '')))
            OR (dc.policy_id != '' AND NOT EXISTS (SELECT 1 FROM cv sc WHERE sc.member_id = h.id
                AND sc.hd03 = dc.hd03 AND (sc.policy_id = dc.policy_id OR sc.policy_id = ''))))""")
    for r in rows:
        hplans = [p for p in (r["hplans"] or "").split(",") if p]
        hpols = [p for p in (r["hpols"] or "").split(",") if p]
        parts = []
        if r["plan_id"] and hplans and r["plan_id"] not in hplans:
            parts.append(f"plan {r['plan_id']} (the subscriber's is {', '.join(hplans)})")
        if r["policy_id"] and hpols and r["policy_id"] not in hpols:
            parts.append(f"policy {r['policy_id']} (the subscriber's is {', '.join(hpols)})")
        yield Flag("FAM-04", f"This dependant's {r['hd03'] or ''} coverage has {' and '.join(parts)}.",
                   member_row=r["id"], related=[r["hid"]], key=r["hd03"] or "",
                   segments=[{"ordinal": r["ordinal"], "element": None}, At("REF", qual="CE", element="REF02"),
                             At("REF", qual="1L", element="REF02", loop="2300")])


@rule("FAM-05", "family", "warning", "Dependant without a subscriber on record",
      """A dependant sent without its subscriber (a dependant-only transaction is legal) whose subscriber id
      (REF*0F) belongs to no subscriber in this file or anywhere in the store.""",
      """Look the subscriber up in the enrollment system. If the household is unknown, ask the exchange for
      the subscriber's enrollment (it may never have been received).""", scope="store")
def fam05(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""SELECT d.id, d.subscriber_id, d.ins03 FROM ma d
                      WHERE d.ins01 != 'Y' AND d.head_row IS NULL
                        AND (d.subscriber_id = '' OR NOT EXISTS (SELECT 1 FROM members h
                             WHERE h.subscriber_id = d.subscriber_id AND h.ins01 = 'Y'))"""):
        sub = r["subscriber_id"] or "(none)"
        yield Flag("FAM-05", f"This dependant is sent without its subscriber, and no subscriber with id {sub} (REF*0F) is "
                   "on record.", member_row=r["id"], segments=[At("REF", qual="0F", element="REF02")])


@rule("FAM-06", "family", "error", "More than one spouse",
      """A household has more than one member coded spouse (01) or life partner (53), not counting one
      being removed.""",
      """Ask the exchange for the right relationship of each of them; often a child or parent was coded as
      spouse.""")
def fam06(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        SELECT m.g, group_concat(m.id) AS ids FROM mm m
        WHERE m.ins02 IN ('01', '53') AND m.ins03 != '024'
        GROUP BY m.g HAVING count(DISTINCT m.person_id) > 1""")
    for r in rows:
        ids = sorted(int(x) for x in r["ids"].split(","))
        for extra in ids[1:]:
            yield Flag("FAM-06", f"{len(ids)} members of this household are coded as spouse or life partner.",
                       member_row=extra, related=[ids[0]],
                       segments=[At("INS", element="INS02"), At("INS", element="INS02", row=ids[0])])


@rule("FAM-07", "family", "error", "Ages that do not fit the relationship",
      """Compares each dependant's date of birth with the subscriber's: a child born on or before the
      subscriber, a parent born after the subscriber, a spouse younger than the minimum age (14 by
      default) are errors; a subscriber under 18 with an adult spouse or child is a warning (parent and
      child may be swapped).""",
      """Check the dates of birth and relationship codes with the member or the exchange; a daughter coded
      as wife or a child coded as subscriber are typical.""")
def fam07(ctx: Context) -> Iterator[Flag]:
    child, parent, spouse = (", ".join(f"'{c}'" for c in t) for t in (CHILD_TYPES, PARENT_TYPES, SPOUSE_TYPES))
    rows = ctx.q(f"""
        SELECT * FROM (
            SELECT d.id, d.ins02, d.dob, h.id AS hid, h.dob AS hdob, f.spouse_min,
                   COALESCE(d.eff_begin, h.eff_begin, f.file_date) AS on_
            FROM mm d JOIN mm h ON h.id = d.head_row JOIN fset f ON f.file_id = d.file_id
            WHERE d.ins01 != 'Y' AND h.ins01 = 'Y' AND d.dob GLOB '{ISO_GLOB}' AND h.dob GLOB '{ISO_GLOB}')
        WHERE (ins02 IN ({child}) AND dob <= hdob) OR (ins02 IN ({parent}) AND dob > hdob)
           OR (ins02 IN ({spouse}) AND dob > date(on_, '-' || spouse_min || ' years'))
           OR (ins02 IN ({child}, {spouse}) AND hdob > date(on_, '-18 years') AND dob <= date(on_, '-18 years'))""")
    for r in rows:
        on, rel_ = r["on_"], r["ins02"]
        seg = [At("INS", element="INS02"), At("DMG", element="DMG02"), At("DMG", element="DMG02", row=r["hid"])]
        if rel_ in CHILD_TYPES and r["dob"] <= r["hdob"]:
            yield Flag("FAM-07", f"This member is the subscriber's {rel(rel_)} but was born {show_date(r['dob'])}, not after "
                       f"the subscriber ({show_date(r['hdob'])}).", member_row=r["id"], related=[r["hid"]],
                       key="child", segments=seg)
        elif rel_ in PARENT_TYPES and r["dob"] > r["hdob"]:
            yield Flag("FAM-07", f"This member is the subscriber's {rel(rel_)} but was born {show_date(r['dob'])}, after "
                       f"the subscriber ({show_date(r['hdob'])}).", member_row=r["id"], related=[r["hid"]],
                       key="parent", segments=seg)
        elif rel_ in SPOUSE_TYPES:
            age = age_on(r["dob"], on)
            if age is not None and age < r["spouse_min"]:
                yield Flag("FAM-07", f"This member is coded as the subscriber's {rel(rel_)} but is {age} years old "
                           f"(born {show_date(r['dob'])}).", member_row=r["id"], related=[r["hid"]], key="spouse",
                           segments=seg)
        if rel_ in CHILD_TYPES + SPOUSE_TYPES:
            hage, age = age_on(r["hdob"], on), age_on(r["dob"], on)
            if hage is not None and age is not None and hage < 18 <= age:
                yield Flag("FAM-07", f"The subscriber is {hage} years old but this {rel(rel_)} is {age}: subscriber and "
                           "dependant may be swapped.", member_row=r["id"], related=[r["hid"]], key="minor",
                           severity="warning", segments=seg)


@rule("FAM-08", "family", "warning", "Child over the age limit",
      """A child (relationship 19, 09, 10 or 17) who is at or over the dependant age limit (26 by default)
      at the start of coverage and is not a ward (15) or marked disabled (INS10 Y). Not raised when the
      child is being removed.""",
      """Check whether the child is disabled (then the exchange should code it) or should be removed from
      the policy.""")
def fam08(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        SELECT d.id, d.ins02, d.dob, (SELECT r.raw FROM members r WHERE r.id = d.id) AS raw, d.eff_begin, f.file_date,
               f.age_limit, fl.delims
        FROM mm d JOIN fset f ON f.file_id = d.file_id
        JOIN files fl ON fl.id = d.file_id
        WHERE d.ins01 != 'Y' AND d.ins02 IN ('19', '09', '10', '17') AND d.ins03 != '024'
          AND d.dob GLOB '[0-9]*-*'
          AND d.dob <= date(COALESCE(d.eff_begin, f.file_date), '-' || f.age_limit || ' years')""")
    for r in rows:
        ins = r["raw"].split("\n", 1)[0].split((r["delims"] or "*")[0])
        if len(ins) > 10 and ins[10] == "Y":
            continue  # INS10 handicap indicator: an over-age disabled dependant
        on = r["eff_begin"] or r["file_date"]
        yield Flag("FAM-08", f"This {rel(r['ins02'])} is {age_on(r['dob'], on)} years old on {show_date(on)} (born "
                   f"{show_date(r['dob'])}), at or over the dependant age limit of {r['age_limit']}.",
                   member_row=r["id"], segments=[At("DMG", element="DMG02"), At("INS", element="INS02")])


@rule("FAM-09", "family", "error", "Dependant covered outside the subscriber's coverage",
      """A dependant's coverage begins before the subscriber's, or runs on after the subscriber's coverage
      ends (the subscriber's own ending transaction is checked by MNT-07).""",
      """Ask the exchange for the right dates; a dependant can only be covered while the subscriber is.""")
def fam09(ctx: Context) -> Iterator[Flag]:
    rows = ctx.q("""
        SELECT d.id, d.eff_begin, d.eff_end, h.id AS hid, h.eff_begin AS hbegin, h.eff_end AS hend
        FROM mm d JOIN mm h ON h.id = d.head_row
        WHERE d.ins01 != 'Y' AND h.ins01 = 'Y' AND h.ins03 != '024'
          AND ((d.eff_begin < h.eff_begin)
               OR (h.eff_end IS NOT NULL AND (d.eff_end IS NULL OR d.eff_end > h.eff_end) AND d.ins03 != '024'))""")
    for r in rows:
        if r["eff_begin"] and r["hbegin"] and r["eff_begin"] < r["hbegin"]:
            msg = (f"This dependant's coverage begins {show_date(r['eff_begin'])}, before the subscriber's "
                   f"({show_date(r['hbegin'])}).")
        else:
            msg = (f"The subscriber's coverage ends {show_date(r['hend'])} but this dependant's "
                   + (f"ends later, {show_date(r['eff_end'])}." if r["eff_end"] else "has no end date."))
        yield Flag("FAM-09", msg, member_row=r["id"], related=[r["hid"]],
                   segments=[At("DTP", qual="348", element="DTP03"), At("DTP", qual="356", element="DTP03"),
                             At("DTP", qual="348", element="DTP03", row=r["hid"])])


@rule("FAM-10", "family", "error", "Missing date of birth or gender",
      """A member being added has no demographic segment (DMG), no date of birth or no gender; gender U
      (unknown) in an exchange file is a warning (the exchange sends only M or F).""",
      """Ask the member or the exchange for the missing date of birth or gender; premiums and age rules
      depend on them.""")
def fam10(ctx: Context) -> Iterator[Flag]:
    for r in ctx.q("""
            SELECT m.id, m.has_dmg, m.dob, m.gender, m.ins03, f.exchange
            FROM mm m JOIN fset f ON f.file_id = m.file_id
            WHERE (m.ins03 = '021' AND (COALESCE(m.has_dmg, 0) = 0 OR COALESCE(m.dob, '') = ''
                                         OR COALESCE(m.gender, '') = ''))
               OR (f.exchange = 1 AND m.gender = 'U')"""):
        if r["ins03"] == "021" and not r["has_dmg"]:
            yield Flag("FAM-10", "This member is being added without a demographic segment (DMG): no date of birth "
                       "and no gender.", member_row=r["id"], key="dmg", segments=[At("NM1", qual="IL")])
            continue
        if r["ins03"] == "021" and not r["dob"]:
            yield Flag("FAM-10", "This member is being added without a date of birth (DMG02).", member_row=r["id"],
                       key="dob", segments=[At("DMG", element="DMG02")])
        if r["ins03"] == "021" and not r["gender"]:
            yield Flag("FAM-10", "This member is being added without a gender (DMG03).", member_row=r["id"],
                       key="gender", segments=[At("DMG", element="DMG03")])
        elif r["gender"] == "U" and r["exchange"]:
            yield Flag("FAM-10", "Gender is U (unknown); the exchange sends only M or F.", member_row=r["id"],
                       key="gender-u", severity="warning", segments=[At("DMG", element="DMG03")])


@rule("FAM-12", "family", "error", "Residence state does not match the plan",
      """The subscriber's residence state (N402) differs from the state of the plan (REF*CE characters 6-7)
      or of the rating area: an error. A residence outside our states (when set): a warning. A dependant
      living in another state than the subscriber: information.""",
      """Confirm the household's address with the member; a move to another state ends eligibility for
      this plan and needs the exchange.""")
def fam12(ctx: Context) -> Iterator[Flag]:
    ctx.need("fin")
    seen = set()
    for r in ctx.q(f"""
            SELECT m.id, upper(m.state) AS st, c.plan_id AS plan FROM mm m JOIN cv c ON c.member_id = m.id
            WHERE (m.ins01 = 'Y' OR m.head_row IS NULL) AND COALESCE(m.state, '') != ''
              AND c.plan_id GLOB '{HIOS_GLOB}' AND upper(m.state) != substr(c.plan_id, 6, 2)"""):
        if r["id"] in seen:
            continue
        seen.add(r["id"])
        yield Flag("FAM-12", f"The residence is in {r['st']} but the plan {r['plan']} is a {r['plan'][5:7]} plan.",
                   member_row=r["id"], key="plan", segments=[At("N4", element="N402"), At("REF", qual="CE", element="REF02")])
    for r in ctx.q("""
            SELECT m.id, upper(m.state) AS st, x.ra FROM fin x JOIN mm m ON m.id = x.member_row
            WHERE (m.ins01 = 'Y' OR m.head_row IS NULL) AND COALESCE(m.state, '') != '' AND upper(x.ra) LIKE 'R-__%'
              AND upper(m.state) != upper(substr(x.ra, 3, 2))"""):
        if r["id"] in seen:
            continue
        seen.add(r["id"])
        yield Flag("FAM-12", f"The residence is in {r['st']} but the rating area {r['ra']} is in {r['ra'][2:4].upper()}.",
                   member_row=r["id"], key="plan", segments=[At("N4", element="N402")])
    for r in ctx.q("""
            SELECT d.id, upper(d.state) AS st, upper(h.state) AS hstate, h.id AS hid FROM mm d JOIN mm h ON h.id = d.head_row
            WHERE d.ins01 != 'Y' AND COALESCE(d.state, '') != '' AND COALESCE(h.state, '') != ''
              AND upper(d.state) != upper(h.state)"""):
        yield Flag("FAM-12", f"This dependant lives in {r['st']}, the subscriber in {r['hstate']}.", member_row=r["id"],
                   related=[r["hid"]], key="household", severity="info", segments=[At("N4", element="N402")])
    ours_by_file = {fid: [x.upper() for x in ctx.setting(fid, "our_states")] for (fid,) in ctx.q("SELECT file_id FROM fset")}
    for fid, ours in ours_by_file.items():
        if not ours:
            continue
        for r in ctx.q(f"""SELECT m.id, upper(m.state) AS st FROM mm m WHERE m.file_id = ? AND COALESCE(m.state, '') != ''
                           AND upper(m.state) NOT IN ({','.join('?' * len(ours))})""", [fid, *ours]):
            yield Flag("FAM-12", f"The residence state {r['st']} is not one of our states ({', '.join(ours)}).",
                       member_row=r["id"], key="ours", severity="warning", segments=[At("N4", element="N402")])
