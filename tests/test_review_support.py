"""Shared builders for the review, export and audit tests (no tests here).

Data goes through the real importer from hand-written 834 text. To keep the expected rows exact,
imports here skip the rules engine and `raise_flag` upserts a flag the way the engine does (keyed by
fingerprint, never touching the clerk's columns); tests/test_review_engine.py runs the real engine.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enrollreview import segpos
from enrollreview.ingest import import_file

TODAY = _dt.date.today()


@dataclass
class P:
    """One member of a hand-written 834."""

    first: str
    last: str
    ssn: str
    dob: str                      # CCYYMMDD
    member_id: str
    subscriber_id: str
    rel: str = "18"
    sub: bool = True
    policy: str = "POL1001"
    plan: str = "12345VA001000101"
    street: str = "100 MAIN ST"
    city: str = "RICHMOND"
    state: str = "VA"
    zip: str = "23220"
    phones: list[tuple[str, str]] = field(default_factory=lambda: [("TE", "8045550101")])
    gender: str = "F"
    aptc: str | None = None


ALICE = P("ALICE", "QUINTERO", "123456789", "19800214", "M0001", "M0001",
          phones=[("TE", "8045550101"), ("EM", "alice.q@example.com"), ("CP", "8045550109")])
BOB = P("ROBERTO", "QUINTERO", "987654321", "19790505", "M0002", "M0001", rel="01", sub=False,
        phones=[("HP", "8045550102")], gender="M")
CARA = P("CARALYNN", "OSTERHAGEN", "555443333", "19920730", "M0003", "M0003", policy="POL2002",
         plan="12345VA002000101", street="42 WILLOW BEND", city="NORFOLK", zip="23510",
         phones=[("TE", "7575550144"), ("EM", "cara@example.com")])
STANDARD_PEOPLE = (ALICE, BOB, CARA)   # the members standard_store imports


def member_segments(p: P) -> list[str]:
    per = "PER*IP*"
    for q, v in p.phones[:3]:
        per += f"*{q}*{v}"
    segs = [
        f"INS*{'Y' if p.sub else 'N'}*{p.rel}*021*EC*A***AC",
        f"REF*0F*{p.subscriber_id}",
        f"REF*17*{p.member_id}",
        f"REF*1L*{p.policy}",
        "DTP*356*D8*20250101",
        f"NM1*IL*1*{p.last}*{p.first}****34*{p.ssn}",
        per,
        f"N3*{p.street}",
        f"N4*{p.city}*{p.state}*{p.zip}",
        f"DMG*D8*{p.dob}*{p.gender}",
        "HD*021**HLT**IND",
        "DTP*348*D8*20250101",
        f"REF*CE*{p.plan}",
    ]
    if p.aptc is not None:
        segs += ["LS*2700", "LX*1", "N1*75*APTC AMT", f"REF*9V*{p.aptc}", "DTP*007*D8*20250101", "LE*2700"]
    return segs


def make_834(members: list[P], control: int = 1, bgn_ref: str | None = None) -> str:
    body = [
        "ST*834*0001*005010X220A1",
        f"BGN*00*{bgn_ref or f'REF{control:05d}'}*20250101*1200****2",
        f"QTY*TO*{len(members)}",
        "N1*P5*NORTHWIND EXCHANGE*FI*123456789",
        "N1*IN*NORTHWIND HEALTH*FI*987654321",
    ]
    for p in members:
        body += member_segments(p)
    body.append(f"SE*{len(body) + 1}*0001")
    isa = ("ISA*00*          *00*          *ZZ*CMSFFM         *ZZ*NORTHWIND      *250101*1200*^*00501*"
           f"{control:09d}*0*P*:")
    segs = [isa, f"GS*BE*CMSFFM*NORTHWIND*20250101*1200*{control}*X*005010X220A1", *body,
            f"GE*1*{control}", f"IEA*1*{control:09d}"]
    return "~\n".join(segs) + "~\n"


def import_text(db: Any, tmp_path: Path, text: str, name: str, *, rules: bool = False) -> int:
    """Import through the real importer; the rules engine only when asked (tests here raise their own flags)."""
    p = tmp_path / name
    p.write_bytes(text.encode("latin-1"))
    res = import_file(db, p, run_rules=rules)
    assert res.ok, res.summary()
    assert res.file_id is not None
    return res.file_id


def member_row(db: Any, member_id: str, file_id: int | None = None) -> int:
    sql = "SELECT id FROM members WHERE member_id = ?" + (" AND file_id = ?" if file_id else "")
    r = db.execute(sql + " ORDER BY id DESC", [member_id, *([file_id] if file_id else [])]).fetchone()
    assert r, member_id
    return r[0]


def segment_ordinal(db: Any, member_row_id: int, seg_id: str) -> int:
    """The file ordinal of a member's first segment with this id (as the engine would name it)."""
    raw, segs = db.execute("SELECT raw, segs FROM members WHERE id = ?", [member_row_id]).fetchone()
    lines = raw.split("\n")
    for line, (ordinal, _loop, _off) in zip(lines, segpos.decode(segs, lines), strict=True):
        if line.split("*")[0] == seg_id:
            return ordinal
    raise AssertionError(seg_id)


def raise_flag(db: Any, member_row_id: int, rule: str = "DQ-05", *, category: str = "data_quality",
               severity: str = "error", message: str = "Date of birth is in the future",
               subject: str | None = None, file_id: int | None = None,
               segments: list[dict[str, Any]] | None = None) -> int:
    """Upsert a flag by fingerprint like the engine (rule + subject), keeping the clerk's columns."""
    m = db.execute("SELECT member_id, file_id, policy_id, person_id FROM members WHERE id = ?",
                   [member_row_id]).fetchone()
    subject = subject or m[0]
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    db.execute(
        "INSERT INTO flags (fingerprint, rule, category, severity, member_id, person_id, policy_id, file_id, "
        "message, next_step, segments, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,'new',?,?) "
        "ON CONFLICT(fingerprint) DO UPDATE SET member_id = excluded.member_id, file_id = excluded.file_id, "
        "message = excluded.message, updated_at = excluded.updated_at, resolved_at = NULL, "
        "resolved_by_file_id = NULL",
        [f"{rule}:{subject}", rule, category, severity, member_row_id, m[3], m[2], file_id or m[1], message,
         "Call the member to confirm", json.dumps(segments or []), now, now])
    db.conn.commit()
    return db.execute("SELECT id FROM flags WHERE fingerprint = ?", [f"{rule}:{subject}"]).fetchone()[0]


def resolve_flag(db: Any, flag_id: int, file_id: int) -> None:
    """What the engine does when a newer file makes the condition go away, including the hook call."""
    from enrollreview.review.workflow import on_flags_resolved

    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    with db.atomic():
        db.execute("UPDATE flags SET resolved_at = ?, resolved_by_file_id = ? WHERE id = ?", [now, file_id, flag_id])
        on_flags_resolved(db, [flag_id], file_id)


def standard_store(db: Any, tmp_path: Path) -> dict[str, Any]:
    """Two files: the Quinteros (policy POL1001) and Cara (POL2002); three flags."""
    f1 = import_text(db, tmp_path, make_834([ALICE, BOB], control=11), "quintero.834")
    f2 = import_text(db, tmp_path, make_834([CARA], control=12), "osterhagen.834")
    a, b, c = member_row(db, "M0001"), member_row(db, "M0002"), member_row(db, "M0003")
    fa = raise_flag(db, a, "DQ-05", message="Date of birth 2080-02-14 is in the future",
                    segments=[{"ordinal": segment_ordinal(db, a, "DMG"), "element": "DMG02"}])
    fb = raise_flag(db, b, "FAM-08", category="family", severity="warning",
                    message="Spouse is younger than 14")
    fc = raise_flag(db, c, "FIN-03", category="subsidy", message="APTC 900.00 is more than the premium 500.00")
    return {"files": (f1, f2), "members": (a, b, c), "flags": (fa, fb, fc)}
