"""The walker (enrollreview.x12.walker) against pyx12 4.0.0 itself (enrollreview.x12.pyx12_ref).

Three kinds of evidence:

* corpus agreement: every public 834 in ../shared/corpus that pyx12 reads with the X220A1 map gives
  the same findings, compared as a multiset of (ordinal, level, code, element), and the same loop path
  for every segment;
* hand-written clean files (every loop of the guide, several delimiter sets and line endings) give no
  findings from either;
* a differential test: seeded random mutations of corpus and hand-written files (dropped, swapped,
  repeated and moved segments; corrupted, blanked, lengthened, composite-ized elements; bad codes,
  dates and times; control characters; leading spaces and trailing separators; wrong SE01/GE01/IEA01
  and control numbers; duplicated transactions; cut-off files; extra interchanges) compared the same
  way. When pyx12 itself crashes on a case, there is nothing to compare; the walker must still finish.

Walker and pyx12 are both fed the segments exactly as pyx12 splits them (pyx12_ref.split_like_pyx12),
so that a difference is the walker's fault, not the reader's; walk_text (product reader + walker) is
checked separately on the corpus files where the reader splits like pyx12.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from enrollreview.x12.pyx12_ref import Pyx12Result, run_pyx12, split_like_pyx12
from enrollreview.x12.types import Finding
from enrollreview.x12.walker import Walker, _Compiled, walk_text

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.suffix not in (".997", ".md"))


def _is_x220a1(data: bytes) -> bool:
    """Files EXPECTED.md lists as rejected (4010, X307, X318) name another guide in GS08."""
    return b"005010X220A1" in data and b"*00501*" in data[:120]


Key = tuple[int, str, str, str | None]


def _keys(findings: list[Finding]) -> Counter[Key]:
    return Counter((f.ordinal, f.level, f.code, f.element) for f in findings)


def _walk(data: bytes) -> tuple[dict[int, str], list[Finding]] | None:
    split = split_like_pyx12(data)
    if split is None:
        return None
    delims, segs = split
    walker = Walker(delims)
    loops = {seg.ordinal: walker.step(seg) for seg in segs}
    walker.finish()
    return loops, walker.findings


def _diff(res: Pyx12Result, loops: dict[int, str], findings: list[Finding]) -> str:
    """Empty when walker and pyx12 agree, else a readable account of the differences."""
    want, got = _keys(res.findings), _keys(findings)
    lines = []
    for k in sorted((want - got).elements(), key=str):
        msg = next(f.message for f in res.findings if (f.ordinal, f.level, f.code, f.element) == k)
        lines.append(f"  pyx12 only:  {k} {msg}")
    for k in sorted((got - want).elements(), key=str):
        msg = next(f.message for f in findings if (f.ordinal, f.level, f.code, f.element) == k)
        lines.append(f"  walker only: {k} {msg}")
    bad = {n: (p, loops.get(n)) for n, p in res.loops.items() if loops.get(n) != p}
    for n, (p, w) in list(bad.items())[:10]:
        lines.append(f"  loop of segment {n}: pyx12 {p!r}, walker {w!r}")
    if set(loops) != set(res.loops):
        lines.append(f"  segments: pyx12 {len(res.loops)}, walker {len(loops)}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# Hand-written clean files
# ----------------------------------------------------------------------------------------------------
def _wrap(
    body: list[str], icn: str = "000000101", gcn: str = "101", st: str = "0001", sep: str = "~\n"
) -> str:
    segs = [f"ST*834*{st}*005010X220A1", *body]
    segs.append(f"SE*{len(segs) + 1}*{st}")
    head = [
        f"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240115*1200*^*00501*{icn}*0*P*:",
        f"GS*BE*SENDER*RECEIVER*20240115*1200*{gcn}*X*005010X220A1",
    ]
    return sep.join([*head, *segs, f"GE*1*{gcn}", f"IEA*1*{icn}"]) + sep


# Every loop of the guide: 1000A-C, 1100C, 2000, 2100A-H, 2200, 2300, 2310, 2320, 2330, LS/2700/2750/LE.
_FULL = """BGN*00*REF001*20240115*1200****2
REF*38*POLICY123
DTP*007*D8*20240201
QTY*TO*2
N1*P5*EMPLOYER INC*FI*123456789
N1*IN*HEALTH PLAN*FI*987654321
N1*BO*BROKER CO*94*BRK001
ACT*ACCT001
INS*Y*18*021*28*A*E**FT
REF*0F*111223333
REF*1L*GRP01
DTP*336*D8*20200101
NM1*IL*1*DOE*JOHN*Q***34*111223333
PER*IP**HP*5551234567*WP*5559876543
N3*123 MAIN ST*APT 4
N4*SPRINGFIELD*IL*62701
DMG*D8*19800115*M*M
ICM*1*1500*40
AMT*C1*150
HLH*N*70*180
LUI*LE*ENG**7
NM1*31*1
N3*PO BOX 1
N4*SPRINGFIELD*IL*62702
NM1*QD*1*DOE*MARY
N3*9 ELM ST
N4*SPRINGFIELD*IL*62703
HD*021**HLT*PLAN A*FAM
DTP*348*D8*20240201
AMT*P3*100
REF*17*ABC
IDC*PLAN A CARD*H
LX*1
NM1*P3*1*SMITH*JANE****XX*1234567893*25
N3*1 DOCTOR WAY
N4*SPRINGFIELD*IL*62701
PER*IC**TE*5551112222
COB*P*POL999*1
REF*6P*GRP9
DTP*344*D8*20230101
NM1*IN*2*OTHER INSURER*****NI*12345
N3*2 INSURER RD
N4*CHICAGO*IL*60601
LS*2700
LX*1
N1*75*PREMIUM
REF*9V*123
DTP*007*D8*20240101
LX*2
N1*75*REGION
LE*2700
INS*N*19*021*28*A
REF*0F*111223333
NM1*IL*1*DOE*JANE
DMG*D8*20100505*F
DSB*1******DX*123
HD*021**HLT*PLAN A*FAM
DTP*348*D8*20240201""".split("\n")

_MORE_LOOPS = """BGN*00*REF002*20240115*1200****4
N1*P5*EMPLOYER INC*FI*123456789
N1*IN*HEALTH PLAN*FI*987654321
N1*TV*TPA CORP*FI*555443333
ACT*ACCT9
INS*Y*18*001*AI*A*C**AC**N
REF*0F*222334444
REF*17*MBR01
DTP*356*D8*20240101
NM1*IL*1*ROE*RICHARD****34*222334444
PER*IP**TE*5554443333
N3*5 OAK AVE
N4*ANYTOWN*PA*171110000
DMG*D8*19700614*M
NM1*70*1*ROW*RICHARD
DMG*D8*19700614*M
NM1*S3*1*ROE*ANNE
N3*5 OAK AVE
N4*ANYTOWN*PA*171110000
NM1*E1*1*ROE*ANNE
NM1*GD*1*GUARD*IAN
NM1*J6*1*PARENT*CUSTODIAL
N3*7 PINE RD
N4*ANYTOWN*PA*171110000
NM1*45*1*DROP*OFF
N3*8 MAPLE DR
N4*ANYTOWN*PA*171110000
DSB*2******DX*4011
DTP*360*D8*20230601
HD*030**DEN*DENTAL A*IND
DTP*348*D8*20240101
DTP*349*D8*20241231
REF*QQ*ABC
LX*1
NM1*P3*1*DENT*IST****XX*1234567893*72
PLA*2*1P*20240101**AI
INS*Y*18*024*07*A***TE
REF*0F*333445555
NM1*IL*1*LAST*FIRST
HD*024**HLT
DTP*349*D8*20240131""".split("\n")

_SMALL = """BGN*00*REF003*20240115*1200****2
N1*P5*EMPLOYER INC*FI*123456789
N1*IN*HEALTH PLAN*FI*987654321
INS*Y*18*021*XN*A***FT
REF*0F*444556666
NM1*IL*1*NEW*PERSON
DMG*D8*19991231*F
HD*021**VIS
DTP*348*D8*20240301""".split("\n")


def _redelimit(text: str, ele: str, sub: str, term: str, eol: str) -> str:
    """Same file with other delimiters (the texts above use none of '|', '>', '!', '{')."""
    out = []
    for seg in text.split("~\n"):
        if seg:
            out.append(seg.replace("*", ele).replace(":", sub))
    isa = out[0]
    out[0] = isa[:-1] + sub  # ISA16
    return (term + eol).join(out) + term + eol


def _hand_written() -> dict[str, str]:
    two_st = _wrap(_FULL).replace("GE*1*101", "GE*2*101")
    second = _wrap(_SMALL, st="0002").split("~\n")
    st_block = second[2:-3]
    lines = two_st.split("~\n")
    lines[-3:-3] = st_block
    return {
        "full": _wrap(_FULL),
        "more_loops": _wrap(_MORE_LOOPS, icn="000000102", gcn="102"),
        "small_crlf": _wrap(_SMALL, sep="~\r\n"),
        "small_one_line": _wrap(_SMALL, sep="~"),
        "two_st": "~\n".join(lines),
        "full_pipes": _redelimit(_wrap(_FULL), "|", ">", "!", "\n"),
        "more_loops_newline_term": _redelimit(_wrap(_MORE_LOOPS), "*", ":", "\n", ""),
        "two_interchanges": _wrap(_SMALL) + _wrap(_MORE_LOOPS, icn="000000102", gcn="102"),
    }


HAND_WRITTEN = _hand_written()


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_clean_files(name: str) -> None:
    data = HAND_WRITTEN[name].encode("latin-1")
    res = run_pyx12(data)
    assert res.crashed is None
    assert res.findings == [], [f.message for f in res.findings]
    walked = _walk(data)
    assert walked is not None
    loops, findings = walked
    assert findings == [], [f.message for f in findings]
    assert loops == res.loops


# ----------------------------------------------------------------------------------------------------
# Corpus agreement
# ----------------------------------------------------------------------------------------------------
CORPUS_FILES = _corpus_files()
needs_corpus = pytest.mark.skipif(not CORPUS_FILES, reason=f"corpus not found at {CORPUS}")


@cache
def _pyx12_of(path: Path) -> Pyx12Result:
    return run_pyx12(path.read_bytes())


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_agreement(path: Path) -> None:
    data = path.read_bytes()
    if not _is_x220a1(data):
        pytest.skip("EXPECTED.md: rejected (not guide 005010X220A1)")
    res = _pyx12_of(path)
    walked = _walk(data)
    if walked is None or res.crashed:
        # x12-types__parse_834_4: the ISA lost its padding; pyx12 cannot read it at all. The product
        # reader is lenient there; the walker must at least get through it.
        assert res.crashed
        loops, findings = walk_text(data)
        assert loops
        return
    loops, findings = walked
    assert not _diff(res, loops, findings), "\n" + _diff(res, loops, findings)
    if not res.findings:
        assert findings == []


@needs_corpus
def test_corpus_expectations() -> None:
    """The findings EXPECTED.md names, in the walker's words."""
    by_name = {p.name: p for p in CORPUS_FILES}

    def found(name: str) -> list[Finding]:
        walked = _walk(by_name[name].read_bytes())
        assert walked is not None
        return walked[1]

    f = found("lfh-x12__enroll-employee-managed-care.834")
    assert [(x.ordinal, x.code, x.message) for x in f] == [
        (10, "1", "Segment DTP*358 is not allowed here (loop 2000)")
    ]
    f = found("pyx12__testdata__834_eol_in_element.txt")
    assert [(x.element, x.message) for x in f] == [("N301", "N301 contains a control character (line feed)")]
    f = found("pyx12__examples__example834_5010.txt")
    assert {(x.ordinal, x.element, x.code) for x in f if x.element} == {
        (8, "INS06-01", "5"),
        (8, "INS06-01", "6"),
        (8, "INS06-01", "7"),
    }
    f = found("impendjcs__src__test__resources__valid-834.edi")
    assert any(x.message == "SE01 says 32 segments but the transaction has 26" for x in f)


@needs_corpus
@pytest.mark.parametrize(
    "path", [p for p in CORPUS_FILES if _is_x220a1(p.read_bytes())], ids=lambda p: p.name
)
def test_walk_text_with_product_reader(path: Path) -> None:
    """Through the product reader: same loops and findings wherever it splits the file like pyx12."""
    from enrollreview.x12.reader import read_interchanges

    data = path.read_bytes()
    split = split_like_pyx12(data)
    rr = read_interchanges(data)
    segs = list(rr.segments())
    loops, findings = walk_text(data)
    assert set(loops) == {s.ordinal for s in segs}
    if split is None or [s.text for s in segs] != [s.text for s in split[1]]:
        pytest.skip("the product reader splits this file differently from pyx12 (by design)")
    res = _pyx12_of(path)
    walker_only = list((Counter(findings) - Counter(rr.findings)).elements())
    assert loops == res.loops
    assert _keys(walker_only) == _keys(res.findings)


# ----------------------------------------------------------------------------------------------------
# Differential test: random mutations
# ----------------------------------------------------------------------------------------------------
_GARBAGE = [
    "ZZ", "X", "", " ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 3, "20230230", "20231301", "2023", "19000229",
    "17991231", "20000229", "D8", "RD8", "DT", "TM", "20200101-20191231", "20200101-20201231", "1260",
    "2561", "12", "A\nB", "A\tB", "X\x01", "X\x1d", "abc", "\xe9", "12.5", "-3", "1.", ".5", "-", "A ",
    "C   ", "00", "99", "Y", "N", "021", "1L", "0F", "17", "QQ", "IL", "74", "348", "356", "357", "303",
    "FI", "34", "ZZZZZ", "~", "^", "`", "|", "0000000000000000000000000",
]  # fmt: skip
_SEG_IDS = [
    "QQQ", "nm1", "N1", "REF", "DTP", "LX", "LS", "LE", "HD", "INS", "NM1", "ST", "SE", "GE", "GS",
    "IEA", "HL", "X", "ABCD", "N3", "N4", "AMT", "TA1", "COB", "DSB", "PLA", "ACT", "BGN", "QTY", "PER",
]  # fmt: skip


def _mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    split = split_like_pyx12(data)
    assert split is not None
    d, segs = split
    texts = [s.text for s in segs]
    ele, sub, term = d.element, d.component, d.segment
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
        if len(texts) < 2:
            break
        i = rng.randrange(1, len(texts))
        t = texts[i]
        f = t.split(ele)
        op = rng.choice(
            ["drop", "swap", "repeat", "many", "block", "elem", "elem", "elem", "elem", "elem", "addel",
             "trail", "lead", "segid", "cut", "move", "sub", "dropel", "envnum", "dupst", "bare", "isa",
             "concat", "ctrl"]
        )  # fmt: skip
        if op == "drop":
            del texts[i]
        elif op == "swap" and i + 1 < len(texts):
            texts[i], texts[i + 1] = texts[i + 1], texts[i]
        elif op == "repeat":
            texts.insert(i, t)
        elif op == "many":  # past max_use / loop repeat limits
            texts[i:i] = [t] * rng.randrange(2, 32)
        elif op == "block":
            k = min(len(texts) - 1, i + rng.randrange(1, 8))
            texts[i:i] = texts[i:k] * rng.randrange(1, 4)
        elif op == "elem" and len(f) > 1 and f[0] != "ISA":
            j = rng.randrange(1, len(f))
            r = rng.random()
            if r < 0.5:
                f[j] = rng.choice(_GARBAGE)
            elif r < 0.7:
                f[j] = f[j] + rng.choice(["X", "9", " ", "ABCDEFGHIJ0123456789" * 4])
            elif r < 0.85:
                f[j] = ""
            else:
                f[j] = f[j][:-1]
            texts[i] = ele.join(f)
        elif op == "addel":
            texts[i] = t + ele + rng.choice(["X", "", "1"])
        elif op == "trail":
            texts[i] = t + ele
        elif op == "lead":
            texts[i] = rng.choice([" ", "  ", " \n", "\t "]) + t if rng.random() < 0.8 else " " + t
        elif op == "segid" and f[0] != "ISA":
            f[0] = rng.choice(_SEG_IDS)
            texts[i] = ele.join(f)
        elif op == "cut":
            texts = texts[:i]
        elif op == "move" and len(texts) > 3:
            j = rng.randrange(1, len(texts))
            k = min(len(texts), j + rng.randrange(1, 6))
            block = texts[j:k]
            del texts[j:k]
            p = rng.randrange(1, len(texts) + 1)
            texts[p:p] = block
        elif op == "sub" and len(f) > 1 and f[0] != "ISA":
            j = rng.randrange(1, len(f))
            f[j] += sub + rng.choice(["", "X", "A" + sub + "B", sub, "1" + sub + "2" + sub + "3" + sub + "4"])
            texts[i] = ele.join(f)
        elif op == "dropel" and len(f) > 2:
            texts[i] = ele.join(f[: rng.randrange(1, len(f))])
        elif op == "envnum":
            cand = [k for k, x in enumerate(texts) if x.split(ele)[0] in ("SE", "GE", "IEA", "ST", "GS")]
            if cand:
                k = rng.choice(cand)
                g = texts[k].split(ele)
                if len(g) > 1:
                    j = rng.randrange(1, len(g) if g[0] == "GS" else min(len(g), 3))
                    g[j] = rng.choice(["1", "2", "99", "0001", "X", "", g[j] + "1", " 2"])
                    texts[k] = ele.join(g)
        elif op == "dupst":
            sts = [k for k, x in enumerate(texts) if x.startswith("ST" + ele)]
            ses = [k for k, x in enumerate(texts) if x.startswith("SE" + ele)]
            if sts and ses and ses[0] > sts[0]:
                texts[ses[0] + 1 : ses[0] + 1] = texts[sts[0] : ses[0] + 1]
        elif op == "bare":
            texts[i] = f[0]
        elif op == "isa":  # same width, so pyx12 still reads it
            isa = texts[0]
            pos = rng.choice([(90, 99), (69, 75), (76, 80), (100, 101), (102, 103)])
            width = pos[1] - pos[0]
            val = rng.choice(
                ["0" * width, "9" * width, "X" * width, str(rng.randrange(10**width)).zfill(width)]
            )
            texts[0] = isa[: pos[0]] + val + isa[pos[1] :]
        elif op == "concat":
            other = split_like_pyx12(rng.choice(others))
            if other is not None and other[0] == d:
                texts += [s.text for s in other[1]]
        elif op == "ctrl" and len(f) > 1 and f[0] != "ISA":
            j = rng.randrange(1, len(f))
            c = rng.choice(
                ["\n", "\r", "\t", "\x07", "\x0b", "\x0c", "\x1c", "\x1f", "\x01", "\x16", "\x00", "\x08"]
            )
            f[j] = f[j][:1] + c + f[j][1:]
            texts[i] = ele.join(f)
    return (term.join(texts) + term).encode("latin-1")


def _mutation_bases() -> list[bytes]:
    bases = [v.encode("latin-1") for v in HAND_WRITTEN.values()]
    for p in CORPUS_FILES:
        data = p.read_bytes()
        if _is_x220a1(data) and split_like_pyx12(data) is not None and len(data) < 20000:
            bases.append(data)
    return bases


_BASES = _mutation_bases()
_BATCHES = 8
_PER_BATCH = 30  # 240 cases in all; pyx12 is the slow side (~50-100 ms a case)


@pytest.mark.parametrize("batch", range(_BATCHES))
def test_differential_mutations(batch: int) -> None:
    rng = random.Random(8340 + batch)
    failures = []
    compared = 0
    for case in range(_PER_BATCH):
        base = rng.randrange(len(_BASES))
        data = _mutate(_BASES[base], rng, _BASES)
        walked = _walk(data)  # must never raise, whatever pyx12 does
        res = run_pyx12(data)
        if walked is None or res.crashed:
            # Only where pyx12 crashes (IndexError on a doubled trailer, EngineError on an unknown
            # GS08, ...) or cannot read the ISA: nothing to compare, the walker got through.
            continue
        compared += 1
        diff = _diff(res, *walked)
        if diff:
            failures.append(f"seed {8340 + batch} case {case} (base {base}):\n{diff}")
    assert not failures, "\n".join(failures[:5])
    assert compared >= _PER_BATCH // 2


def test_targeted_mutations() -> None:
    """Hand-picked mistakes with the walker's wording, each also checked against pyx12."""
    clean = _wrap(_SMALL)
    cases = {
        "wrong SE01": (clean.replace("SE*11*0001", "SE*9*0001"), "SE01 says 9 segments but the transaction has 11"),
        "missing IEA": (clean.replace("IEA*1*000000101~\n", ""), "Interchange 000000101 has no IEA trailer"),
        "missing SE/GE/IEA": (clean.split("SE*")[0], "Transaction 0001 has no SE trailer"),
        "bad date": (clean.replace("DMG*D8*19991231", "DMG*D8*19990230"), "DMG02 '19990230' is not a valid date"),
        "bad code": (clean.replace("HD*021**VIS", "HD*021**VISION"), "HD03 'VISION' is not a valid code"),
        "too long": (clean.replace("HD*021**VIS", "HD*021**VISION"), "HD03 'VISION' is too long (max 3)"),
        "trailing sep": (clean.replace("HD*021**VIS", "HD*021**VIS*"), "Segment HD ends with an empty element (a trailing '*')"),
        "leading space": (clean.replace("~\nREF*0F", "~\n REF*0F"), "Segment starts with a space"),
        "not allowed": (clean.replace("DTP*348", "DTP*358"), "Segment DTP*358 is not allowed here (loop 2000/2300)"),
        "missing NM1": (clean.replace("NM1*IL*1*NEW*PERSON~\n", ""), "Required loop 2100A (Member Name) is missing"),
        "syntax": (clean.replace("NM1*IL*1*NEW*PERSON", "NM1*IL*1*NEW*PERSON****34"), "NM108 and NM109 must be given together (some are missing)"),
    }  # fmt: skip
    for name, (text, message) in cases.items():
        data = text.encode("latin-1")
        walked = _walk(data)
        assert walked is not None
        res = run_pyx12(data)
        assert res.crashed is None, name
        assert not _diff(res, *walked), f"{name}:\n{_diff(res, *walked)}"
        assert message in [f.message for f in walked[1]], (name, [f.message for f in walked[1]])


def test_walker_survives_what_crashes_pyx12() -> None:
    clean = _wrap(_SMALL)
    crashers = [
        clean.replace("DMG*D8*19991231*F", "DMG*D8*19991231*F**C:RET:2135-2^C:RET:2106-3"),  # IndexError
        clean.replace("GE*1*101~\n", "GE*1*101~\nGE*1*101~\n"),  # IndexError in X12Reader
        clean.replace("005010X220A1~\nST", "005010X220~\nST"),  # EngineError: map not found
        clean.replace("GE*1*101", "GE*X*101"),  # ValueError in err_gs.close
    ]
    for text in crashers:
        data = text.encode("latin-1")
        assert run_pyx12(data).crashed
        walked = _walk(data)
        assert walked is not None and walked[1]


def test_pyx12_ref_reports_crashes_and_rejections() -> None:
    assert run_pyx12(b"NOT AN X12 FILE").crashed
    res = run_pyx12(_wrap(_SMALL).replace("005010X220A1", "005010X307").encode())
    assert res.crashed and res.crashed.startswith("EngineError")


def test_compile_is_fast() -> None:
    t0 = time.perf_counter()
    _Compiled()
    assert time.perf_counter() - t0 < 1.0


def _chunked(data: bytes) -> tuple[dict[int, str], list[Finding]]:
    """Walk a file the way parse.py does: a fresh walker per ST, primed with the ISA and GS in force
    and resumed with the control numbers seen before it; findings of the priming are dropped."""
    split = split_like_pyx12(data)
    assert split is not None
    delims, segs = split
    starts = [i for i, s in enumerate(segs) if s.seg_id == "ST"]
    bounds = [0, *starts[1:], len(segs)]
    loops: dict[int, str] = {}
    findings: list[Finding] = []
    isa_ids: list[str] = []
    gs_ids: list[str] = []
    st_ids: list[str] = []
    isa = gs = None
    for k in range(len(bounds) - 1):
        walker = Walker(delims)
        if k:
            assert isa is not None and gs is not None
            walker.step(isa)
            walker.step(gs)
            walker.resume(isa_ids=isa_ids[:-1], gs_ids=gs_ids[:-1], st_ids=st_ids)
            walker.findings.clear()
        for seg in segs[bounds[k] : bounds[k + 1]]:
            loops[seg.ordinal] = walker.step(seg)
            if seg.seg_id == "ISA":
                isa, gs_ids, st_ids = seg, [], []
                isa_ids.append(seg.fields[13])
            elif seg.seg_id == "GS":
                gs, st_ids = seg, []
                gs_ids.append(seg.get(6))
            elif seg.seg_id == "ST":
                st_ids.append(seg.get(2))
        if k == len(bounds) - 2:
            walker.finish()
        findings += walker.findings
    return loops, findings


@pytest.mark.parametrize("variant", ["clean", "dup_st02", "ge01", "iea01", "no_trailers"])
def test_chunked_walk_equals_whole_file(variant: str) -> None:
    text = HAND_WRITTEN["two_st"] + HAND_WRITTEN["two_st"].replace("000000101", "000000102")
    if variant == "dup_st02":
        text = text.replace("ST*834*0002*", "ST*834*0001*").replace("SE*11*0002", "SE*11*0001")
    elif variant == "ge01":
        text = text.replace("GE*2*101", "GE*3*101")
    elif variant == "iea01":
        text = text.replace("IEA*1*000000102", "IEA*2*000000102")
    elif variant == "no_trailers":
        text = text[: text.rindex("SE*")]
    data = text.encode()
    whole = _walk(data)
    assert whole is not None
    loops, findings = _chunked(data)
    assert loops == whole[0]
    assert _keys(findings) == _keys(whole[1])
    assert variant == "clean" or findings
    res = run_pyx12(data)
    assert res.crashed or not _diff(res, *whole)


def test_transaction_and_loop_paths() -> None:
    data = HAND_WRITTEN["full"].encode()
    split = split_like_pyx12(data)
    assert split is not None
    walker = Walker(split[0])
    paths = [walker.step(s) for s in split[1]]
    walker.finish()
    assert walker.transaction == "0001"
    assert {"", "1000A", "1000C/1100C", "2000/2100A", "2000/2300/2320/2330", "2000/2700/2750"} <= set(paths)


def test_the_walkers_date_check_answers_as_pyx12_for_every_8_digit_date():
    """walker.valid_data_type answers 8-digit DT/D8 values itself (a call into pyx12 is slow from the
    compiled parser): it must agree with pyx12 on every such value, impossible dates included."""
    from pyx12.validation import IsValidDataType

    from enrollreview.x12.walker import valid_data_type

    checked = disagree = 0
    for year in [*range(1790, 1810), *range(1896, 1904), *range(1996, 2004), *range(2096, 2110)]:
        for month in range(0, 14):
            for day in range(0, 33):
                v = f"{year:04d}{month:02d}{day:02d}"
                for t in ("DT", "D8"):
                    checked += 1
                    disagree += valid_data_type(v, t, "E", "00501") != IsValidDataType(v, t, "E", "00501")
    for v in ("2024021", "202402290", "2024-2-1", "２０２４０１０１", "20240230", "20240229", "19000229", "20000229"):
        for t in ("DT", "D8", "D6", "TM", "AN", "N0", "R", "ID"):
            checked += 1
            disagree += valid_data_type(v, t, "E", "00501") != IsValidDataType(v, t, "E", "00501")
    assert checked > 46_000 and disagree == 0
