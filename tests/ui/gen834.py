"""A small 834 (005010X220A1) writer for the GUI tests and the GUI benchmark.

The project's generator (enrollreview.x12.generator) is preferred when it exists; this one only
needs to produce realistic, importable text quickly, with a few planted problems.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST = ["JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA", "DAVID", "ELIZABETH",
         "WILLIAM", "BARBARA", "RICHARD", "SUSAN", "JOSEPH", "JESSICA", "THOMAS", "SARAH", "CARLOS", "MARIA"]
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ",
        "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN"]


@dataclass
class Person:
    first: str
    last: str
    rel: str                 # INS02: 18 self, 01 spouse, 19 child
    dob: str                 # CCYYMMDD
    ssn: str
    member_id: str
    gender: str = "F"


@dataclass
class Family:
    subscriber_id: str
    policy_id: str
    people: list[Person] = field(default_factory=list)
    maint: str = "021"
    reason: str = "28"
    begin: str = "20260101"
    plan: str = "12345VA0010001"
    csr: str = "01"
    premium: float = 612.40
    aptc: float = 250.00


def families(n_members: int, seed: int = 7, start: int = 0) -> list[Family]:
    rnd = random.Random(seed)
    out: list[Family] = []
    i = start
    made = 0
    while made < n_members:
        size = min(rnd.choice([1, 1, 2, 3, 4]), n_members - made)
        last = rnd.choice(LAST)
        sub = f"{i:09d}"
        fam = Family(subscriber_id="S" + sub, policy_id="P" + sub)
        for k in range(size):
            rel = "18" if k == 0 else ("01" if k == 1 else "19")
            year = rnd.randint(1955, 1995) if rel != "19" else rnd.randint(2005, 2022)
            fam.people.append(Person(rnd.choice(FIRST), last, rel, f"{year}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}",
                                     f"{(i * 7 + k) % 900000000 + 100000000:09d}", f"M{sub}{k}",
                                     rnd.choice("FM")))
        out.append(fam)
        made += size
        i += 1
    return out


def render(fams: list[Family], *, control: int = 1, sender: str = "EXCHANGE", date: str = "20260105") -> str:
    """One interchange, one transaction set, every family in it; '~' terminated, one segment per line."""
    seg: list[str] = []
    isa = (f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*ISSUER12345    *{date[2:]}*1200*^*00501*"
           f"{control:09d}*0*P*:")
    seg += [isa, f"GS*BE*{sender}*ISSUER12345*{date}*1200*{control}*X*005010X220A1"]
    body = [f"ST*834*{control:04d}*005010X220A1", f"BGN*00*REF{control:06d}*{date}*1200****2",
            "N1*P5*STATE EXCHANGE*FI*123456789", "N1*IN*SAMPLE HEALTH PLAN*FI*987654321"]
    for fam in fams:
        for p in fam.people:
            sub = p.rel == "18"
            body += [
                f"INS*{'Y' if sub else 'N'}*{p.rel}*{fam.maint}*{fam.reason}*A***AC",
                f"REF*0F*{fam.subscriber_id}",
                f"REF*17*{p.member_id}",
                f"DTP*356*D8*{fam.begin}",
                f"NM1*IL*1*{p.last}*{p.first}****34*{p.ssn}",
            ]
            if sub:
                body.append("PER*IP**TE*5551234567")
            body += ["N3*100 MAIN ST", "N4*RICHMOND*VA*23219**CY*51760", f"DMG*D8*{p.dob}*{p.gender}",
                     f"HD*{fam.maint}**HLT**{'FAM' if len(fam.people) > 1 else 'IND'}",
                     f"DTP*348*D8*{fam.begin}", f"REF*CE*{fam.plan}{fam.csr}", f"REF*1L*{fam.policy_id}"]
            if sub:
                body += ["LS*2700", "LX*1", "N1*75*PRE AMT TOT", f"REF*9X*{fam.premium:.2f}",
                         f"DTP*007*D8*{fam.begin}", "LX*2", "N1*75*APTC AMT", f"REF*9V*{fam.aptc:.2f}",
                         f"DTP*007*D8*{fam.begin}", "LX*3", "N1*75*TOT RES AMT",
                         f"REF*9X*{fam.premium - fam.aptc:.2f}", f"DTP*007*D8*{fam.begin}", "LE*2700"]
    body.append(f"SE*{len(body) + 1}*{control:04d}")
    seg += body
    seg += [f"GE*1*{control}", f"IEA*1*{control:09d}"]
    return "~\n".join(seg) + "~\n"
