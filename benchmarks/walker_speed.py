"""Segments per second of the walker (enrollreview.x12.walker) versus pyx12 4.0.0 on a generated 834.

    .venv/bin/python benchmarks/walker_speed.py [members] [--pyx12-members N] [--same-names]

Builds an 834 with `members` members of 22 segments each (INS, REF*0F, REF*1L, DTP*356, NM1, PER, N3,
N4, DMG, HD, DTP*348, LS, LX, N1*75, REF*17, LX, N1*75, REF*17, DTP*007, LE ...) whose ids, names,
addresses, phone numbers and dates all vary per member, so the walker's caches see realistic data.
Times the walker alone (segments already tokenized), the product path (reader + walker), and pyx12's
full validation on a smaller file of the same shape (pyx12 is ~30x slower; its speed does not depend on
the file size). The walker must report zero findings for the generated file (it is valid).
Times are CPU seconds of this process (time.process_time), so other load on the machine does not
count; caches are emptied before each timed walker run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enrollreview.x12.pyx12_ref import run_pyx12, split_like_pyx12  # noqa: E402
from enrollreview.x12.reader import read_interchanges  # noqa: E402
from enrollreview.x12.walker import Walker, clear_caches, compiled, walk_text  # noqa: E402

_LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "O'NEIL", "NGUYEN"]
_FIRST = ["JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA", "DAVID", "ANA"]
_STREETS = ["MAIN ST", "OAK AVE", "PINE RD", "MAPLE DR", "CEDAR LN", "ELM ST", "PARK BLVD"]
_CITIES = [("SPRINGFIELD", "IL", "62701"), ("ANYTOWN", "PA", "17111"), ("PORTLAND", "OR", "97201")]


def build_834(members: int, seed: int = 1, same_names: bool = False, dirty: bool = False) -> bytes:
    """A 005010X220A1 file with `members` subscribers; 22 segments per member.

    Valid unless `dirty`: then every member has a last name with trailing spaces (a finding each),
    one in ten an impossible birth date and one in twenty a DTP*358 where it is not allowed.
    """
    rng = random.Random(seed)
    segs = [
        "ST*834*0001*005010X220A1",
        "BGN*00*BENCH0001*20240115*1200****2",
        "N1*P5*ACME EMPLOYER*FI*123456789",
        "N1*IN*BENCH HEALTH PLAN*FI*987654321",
    ]
    for i in range(members):
        sub_id = f"{100000000 + i}"
        last = "SMITH" if same_names else rng.choice(_LAST) + ("" if rng.random() < 0.5 else f"-{i % 97}")
        first = "JOHN" if same_names else rng.choice(_FIRST)
        dob = (
            "19800101"
            if same_names
            else f"{rng.randint(1940, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        )
        city, state, zipc = _CITIES[i % len(_CITIES)]
        if dirty:
            last += "  "
            if i % 10 == 0:
                dob = dob[:4] + "0230"
        segs += [
            "INS*Y*18*021*20*A***FT",
            f"REF*0F*{sub_id}",
            f"REF*1L*GRP{i % 50:04d}",
            f"DTP*{358 if dirty and i % 20 == 0 else 356}*D8*2024{rng.randint(1, 12):02d}01",
            f"NM1*IL*1*{last}*{first}*{chr(65 + i % 26)}***34*{rng.randint(100000000, 899999999)}",
            f"PER*IP**HP*{rng.randint(2000000000, 9899999999)}",
            f"N3*{rng.randint(1, 9999)} {rng.choice(_STREETS)}",
            f"N4*{city}*{state}*{zipc}",
            f"DMG*D8*{dob}*{'MF'[i % 2]}",
            "HD*021**HLT*PLAN A*EMP",
            f"DTP*348*D8*2024{rng.randint(1, 12):02d}01",
            "LS*2700",
            "LX*1",
            "N1*75*CONTRACT CODE",
            f"REF*17*C{i % 7}",
            "LX*2",
            "N1*75*RATE CATEGORY",
            f"REF*17*{rng.randint(1, 9)}",
            "DTP*007*D8*20240101",
            "LX*3",
            "N1*75*REGION",
            "LE*2700",
        ]
    segs.append(f"SE*{len(segs) + 1}*0001")
    head = [
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240115*1200*^*00501*000000001*0*P*:",
        "GS*BE*SENDER*RECEIVER*20240115*1200*1*X*005010X220A1",
    ]
    tail = ["GE*1*1", "IEA*1*000000001"]
    return ("~\n".join(head + segs + tail) + "~\n").encode("ascii")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("members", nargs="?", type=int, default=20000)
    ap.add_argument("--pyx12-members", type=int, default=300)
    ap.add_argument("--same-names", action="store_true", help="every member identical but for its id")
    ap.add_argument("--dirty", action="store_true", help="findings in every member (slow paths)")
    args = ap.parse_args(argv)

    t0 = time.process_time()
    compiled()
    print(f"map compile: {time.process_time() - t0:.3f} s")

    data = build_834(args.members, same_names=args.same_names, dirty=args.dirty)
    split = split_like_pyx12(data)
    assert split is not None
    delims, segs = split
    print(f"file: {args.members} members, {len(segs)} segments, {len(data) / 1e6:.1f} MB")

    best = 1e9
    for _ in range(3):
        clear_caches()  # cold every time: a second pass over the same file would hit every cache
        w = Walker(delims)
        step = w.step
        t0 = time.process_time()
        for seg in segs:
            step(seg)
        w.finish()
        best = min(best, time.process_time() - t0)
        nfind = len(w.findings)
        assert args.dirty or not w.findings, w.findings[:5]
    print(
        f"walker (segments given):      {len(segs) / best:>10,.0f} segments/s  ({best:.2f} s, {nfind} findings)"
    )

    del segs
    rr = read_interchanges(data)
    t0 = time.process_time()
    n = sum(1 for _ in rr.segments())
    el = time.process_time() - t0
    print(f"product reader alone:         {n / el:>10,.0f} segments/s  ({el:.2f} s)")

    clear_caches()
    t0 = time.process_time()
    loops, findings = walk_text(data)
    el = time.process_time() - t0
    assert args.dirty or not findings, findings[:5]
    print(f"reader + walker (walk_text):  {len(loops) / el:>10,.0f} segments/s  ({el:.2f} s)")

    small = build_834(args.pyx12_members)
    t0 = time.process_time()
    res = run_pyx12(small)
    el = time.process_time() - t0
    assert res.crashed is None and not res.findings, (res.crashed, res.findings[:5])
    print(
        f"pyx12 x12n_document-style:    {len(res.loops) / el:>10,.0f} segments/s  ({len(res.loops)} segments)"
    )


if __name__ == "__main__":
    main()
