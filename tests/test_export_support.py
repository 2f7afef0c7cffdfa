"""A store with a known review state for the export tests, its expected rows, and a minimal PDF reader."""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
import zlib
from pathlib import Path
from typing import Any

from enrollreview.review import workflow as wf
from enrollreview.review.audit import os_user
from tests.test_review_support import (
    STANDARD_PEOPLE,
    P,
    import_text,
    make_834,
    member_row,
    raise_flag,
    segment_ordinal,
    standard_store,
)

TODAY = _dt.date.today()
DANA = P("DANA", "WEXLER", "111223333", "19650101", "M0004", "M0004", policy="POL3003", plan="12345VA003000101",
         phones=[("WP", "2025550177"), ("EX", "12")])
SSNS = tuple(p.ssn for p in (*STANDARD_PEOPLE, DANA))   # every full SSN in the scene


def days_ago(n: int) -> str:
    return (_dt.datetime.now(_dt.UTC) - _dt.timedelta(days=n)).replace(microsecond=0).isoformat()


def build_scene(db: Any, tmp_path: Path) -> dict[str, Any]:
    s = standard_store(db, tmp_path)
    fa, fb, fc = s["flags"]
    a, b, c = s["members"]
    fa2 = raise_flag(db, a, "FAM-09", category="family", severity="warning",
                     message="Subscriber aged 45 has a dependant coded as a parent")
    fb2 = raise_flag(db, b, "DQ-06", severity="info", message="Date of birth format looks unusual",
                     segments=[{"ordinal": segment_ordinal(db, b, "DMG"), "element": "DMG02"}])
    f3 = import_text(db, tmp_path, make_834([DANA], control=13), "wexler.834")
    d = member_row(db, "M0004")
    wf.review(db, [fa, fa2], status="needs-call-back", assign="maria", due="2025-03-01", user="maria")
    wf.review(db, [fa2], due=None, user="maria")
    wf.review(db, [fb], status="needs-call-back", assign="joe", due="2025-02-01", user="joe")
    wf.review(db, [fb2], status="waiting-on-exchange", user="joe")
    wf.review(db, [fc], status="waiting-on-exchange", assign="maria", user="maria")
    wf.record_correction(db, flag_id=fc, field="aptc", corrected_value="400.00", value_834="900.00",
                         source="exchange ticket 1234", user="maria")
    for fid, n in ((fa, 10), (fa2, 10), (fb, 3), (fb2, 3), (fc, 40)):
        db.execute("UPDATE flags SET created_at = ? WHERE id = ?", [days_ago(n), fid])
    db.conn.commit()
    s.update(fa2=fa2, fb2=fb2, dana=d, files=(*s["files"], f3), dmg_b=segment_ordinal(db, b, "DMG"))
    return s


def expected_callbacks(s: dict[str, Any]) -> list[list[str]]:
    return [
        ["2025-02-01", "3", "Needs call-back", "joe", "QUINTERO, ROBERTO", "(804) 555-0102", "", "M0002",
         "POL1001", "12345VA001000101", "***-**-4321", "Spouse is younger than 14"],
        ["2025-03-01", "10", "Needs call-back", "maria", "QUINTERO, ALICE", "(804) 555-0101; cell (804) 555-0109",
         "alice.q@example.com", "M0001", "POL1001", "12345VA001000101", "***-**-6789",
         "Date of birth 2080-02-14 is in the future; Subscriber aged 45 has a dependant coded as a parent"],
    ]


def expected_followups(s: dict[str, Any]) -> list[list[str]]:
    _, _, fc = s["flags"]
    today = TODAY.isoformat()
    return [
        ["POL2002", "M0003", "M0003", "OSTERHAGEN", "CARALYNN", "***-**-3333", "APTC amount (2750 APTC AMT)",
         "900.00", "400.00", "exchange ticket 1234", "FIN-03", "APTC 900.00 is more than the premium 500.00",
         "Waiting on exchange", "osterhagen.834", today, "", str(fc), "maria", today],
        ["POL1001", "M0002", "M0001", "QUINTERO", "ROBERTO", "***-**-4321", "DMG02", "19790505", "", "", "DQ-06",
         "Date of birth format looks unusual", "Waiting on exchange", "quintero.834", today,
         f"#{s['dmg_b']}", str(s["fb2"]), "", today],
    ]


SUMMARY_HEADER = ["File", "Received", "Members", "Flagged members", "Error rate", "Members with errors", "Flags",
                  "Duplicates", "Maintenance", "Family", "Subsidy", "Data quality", "Missing", "Error", "Warning",
                  "Info", "New", "In review", "Needs call-back", "Waiting on exchange", "Corrected",
                  "Closed (no action needed)", "Closed (false positive)", "Resolved by a later file"]


def expected_summary() -> list[list[str]]:
    t = TODAY.isoformat()
    return [
        ["quintero.834", t, "2", "2", "100.0%", "1", "4", "0", "0", "2", "0", "2", "0", "1", "2", "1",
         "0", "0", "3", "1", "0", "0", "0", "0"],
        ["osterhagen.834", t, "1", "1", "100.0%", "1", "1", "0", "0", "0", "1", "0", "0", "1", "0", "0",
         "0", "0", "0", "1", "0", "0", "0", "0"],
        ["wexler.834", t, "1", "0", "0.0%", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
         "0", "0", "0", "0", "0", "0", "0", "0"],
        ["All files", "", "4", "3", "75.0%", "2", "5", "0", "0", "2", "1", "2", "0", "2", "2", "1",
         "0", "0", "3", "2", "0", "0", "0", "0"],
    ]


def me() -> str:
    return os_user()


# ------------------------------------------------------------------------------- minimal PDF reader


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(n): body for n, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}


def _stream(body: bytes, objs: dict[int, bytes]) -> bytes:
    head, _, rest = body.partition(b"stream")
    rest = rest[2:] if rest.startswith(b"\r\n") else rest[1:]
    m = re.search(rb"/Length\s+(\d+)(\s+0\s+R)?", head)
    assert m, head[:200]
    length = int(objs[int(m.group(1))].strip()) if m.group(2) else int(m.group(1))
    raw = rest[:length]
    return zlib.decompress(raw) if b"/FlateDecode" in head else raw


def _cmap(text: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst, arr in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(?:<([0-9A-Fa-f]+)>|\[(.*?)\])", block, re.S):
            codes = range(int(lo, 16), int(hi, 16) + 1)
            if arr:
                for code, d in zip(codes, re.findall(rb"<([0-9A-Fa-f]+)>", arr), strict=False):
                    out[code] = bytes.fromhex(d.decode()).decode("utf-16-be")
            else:
                start = int(dst, 16)
                for i, code in enumerate(codes):
                    out[code] = chr(start + i)
    return out


def _ref(body: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+) 0 R", body)
    return int(m.group(1)) if m else None


def pdf_pages(path: Path) -> list[str]:
    """The text of each page, in page order (enough for Qt's QPdfWriter output: Type0 fonts + ToUnicode)."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    objs = _objects(data)
    catalog = next(b for b in objs.values() if re.search(rb"/Type\s*/Catalog", b))
    pages_obj = objs[_ref(catalog, b"Pages")]  # type: ignore[index]
    kids = [int(k) for k in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\s*\[(.*?)\]", pages_obj, re.S).group(1))]
    cmaps: dict[int, dict[int, str]] = {}
    texts = []
    for kid in kids:
        page = objs[kid]
        res = objs[_ref(page, b"Resources")]  # type: ignore[index]
        fonts: dict[bytes, dict[int, str]] = {}
        fm = re.search(rb"/Font\s*<<(.*?)>>", res, re.S)
        for name, num in re.findall(rb"/(\w+)\s+(\d+) 0 R", fm.group(1) if fm else b""):
            n = int(num)
            if n not in cmaps:
                tu = _ref(objs[n], b"ToUnicode")
                cmaps[n] = _cmap(_stream(objs[tu], objs)) if tu else {}
            fonts[name] = cmaps[n]
        content = _stream(objs[_ref(page, b"Contents")], objs)  # type: ignore[index]
        out: list[str] = []
        cur: dict[int, str] = {}
        for tok in re.finditer(rb"/(\w+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>\s*Tj|\[(.*?)\]\s*TJ|(ET)", content, re.S):
            if tok.group(1):
                cur = fonts.get(tok.group(1), {})
            elif tok.group(4):
                out.append("\n")
            else:
                hexes = [tok.group(2)] if tok.group(2) is not None else re.findall(rb"<([0-9A-Fa-f]*)>", tok.group(3))
                for h in hexes:
                    for i in range(0, len(h), 4):
                        out.append(cur.get(int(h[i:i + 4], 16), "?"))
        # ligatures (ﬁ) back to letters; Qt maps the space glyph to a tab
        texts.append(unicodedata.normalize("NFKC", "".join(out)).replace("\t", " "))
    return texts
