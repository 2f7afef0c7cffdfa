"""Instructions the parser spends per segment, counted by valgrind (repeatable, unlike seconds).

The machine this project is measured on changes speed by up to 1.5x within a day, so a 3% change in the
parser cannot be seen in timings. callgrind counts the instructions a run executes: the same code on
the same input gives the same count whatever else the machine is doing. This benchmark generates a file,
then counts, in a child process under callgrind, what `parse.parse_chunk` and packing its rows for the
importing process cost (start-up, reading the file and compiling the map are counted separately and
subtracted), for the plain-Python parser and, when `./dev` has built it, the compiled one
(enrollreview/accel.py). With --parts it repeats the plain count with parts of the work left out, which
splits the cost between the reader, the walker and its element checks, the member builder and the rows.

    ./dev bench parse_instructions [--members N] [--style employer|exchange] [--parts]

Needs valgrind (Debian package `valgrind`). About 50 s per count at the default 3,000 members: 4 counts
without --parts (2 with no compiled build), 8 with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: what each count leaves out (cumulative, in this order), and the name of the part that makes the difference
MODES = [
    ("full", "element checks of the walker"),
    ("no-checks", "walker (loop placement, counters)"),
    ("no-walker", "member builder (values of each segment)"),
    ("no-builder", "rows for the store (JSON, raw text, packing)"),
    ("no-rows", "reader and segment bookkeeping"),
]


def _child(path: str, mode: str) -> None:
    """Under callgrind: parse the whole file as one chunk, leaving out what `mode` says."""
    import gc

    from enrollreview.ingest import plan_chunks
    from enrollreview.parse import parse_chunk
    from enrollreview.x12 import model, walker
    from enrollreview.x12.reader import read_interchanges

    gc.disable()
    rr = read_interchanges(Path(path).read_bytes())
    job = plan_chunks(rr.text, rr.start, rr.delims, path, 1)[0]
    job.text = rr.text
    walker.compiled()
    if mode == "startup":
        return
    order = [m for m, _ in MODES]
    left_out = order[1:order.index(mode) + 1]
    if "no-checks" in left_out:
        walker.Walker._apply_segment_errors = lambda self, *a: None  # type: ignore[method-assign]
    if "no-walker" in left_out:
        walker.Walker.step = lambda self, seg: "2000"  # type: ignore[method-assign]
    if "no-builder" in left_out:
        model.MemberBuilder._member_segment = lambda self, *a: None  # type: ignore[method-assign]
    if "no-rows" in left_out:
        model.MemberBuilder._close_member = lambda self: setattr(self, "member", None)  # type: ignore[method-assign]
    res = parse_chunk(job)
    res.pack()
    print(res.members, res.segments)


def _count(path: Path, mode: str, compiled: bool = False) -> tuple[int, str]:
    """(instructions, the child's output) of one run under callgrind, on the plain-Python parser unless
    `compiled` (the parts are split on the plain one: a compiled class cannot have a method replaced)."""
    env = {**os.environ, "ENROLLREVIEW_ACCEL": "1" if compiled else "0"}
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
         "benchmarks.parse_instructions", "--child", str(path), mode],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1], env=env)
    for line in out.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[1].strip().replace(",", "")), out.stdout.strip()
    raise RuntimeError(f"valgrind printed no instruction count: {out.stderr[-300:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="parse_instructions", description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=3000)
    ap.add_argument("--style", default="employer", choices=["employer", "exchange"])
    ap.add_argument("--parts", action="store_true", help="also split the cost between the parser's parts")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("parse_instructions needs valgrind, which is not installed here (Debian: apt-get install valgrind).",
              file=sys.stderr)
        return 1
    from enrollreview.x12.generator import write_benchmark_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "parse.834"
        write_benchmark_file(path, members=args.members, seed=7, style=args.style)
        base, _ = _count(path, "startup")
        full, out = _count(path, "full")
        members, segments = (int(x) for x in out.split())
        work = full - base
        print(f"parser instructions ({args.style} style, {members:,} members, {segments:,} segments):")
        print(f"  plain Python      {work / 1e9:.3f} G = {work / segments:,.0f} a segment, "
              f"{work / members:,.0f} a member")
        from enrollreview import accel

        if accel.up_to_date():
            cbase, _ = _count(path, "startup", compiled=True)
            cfull, _ = _count(path, "full", compiled=True)
            cwork = cfull - cbase
            print(f"  compiled (mypyc)  {cwork / 1e9:.3f} G = {cwork / segments:,.0f} a segment, "
                  f"{cwork / members:,.0f} a member ({100 * (1 - cwork / work):.0f}% fewer)")
        else:
            print("  compiled (mypyc)  not built for these sources (./dev builds it)")
        if args.parts:
            print("  plain Python, by part:")
            counts = [work] + [_count(path, m)[0] - base for m, _ in MODES[1:]] + [0]
            for (_, part), a, b in zip(MODES, counts, counts[1:], strict=False):
                print(f"    {part:<43} {(a - b) / segments:>8,.0f} a segment  {100 * (a - b) / work:5.1f}%")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main(sys.argv[1:]))
