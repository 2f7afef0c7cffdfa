"""Rule speed on a generated large file: the seconds the rules take after the import, on their own.

For each style it writes a file of --members members with the generator's `write_benchmark_file`,
imports it into a fresh store (rules inside the import, as always) and prints the import seconds, the
rule seconds and where the rule time went (history = persons/groups/events, scope = temporary
tables, the slowest rules, writing the flags). Then it imports a small follow-up file into the same
store, to show what a day-to-day import costs once the store is large.

    python -m benchmarks.rules_speed [--members 100000] [--style employer|exchange|both] [--dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def run(members: int, style: str, workdir: Path) -> dict[str, object]:
    from enrollreview.ingest import import_file
    from enrollreview.rules import engine
    from enrollreview.store import open_db
    from enrollreview.x12.generator import write_benchmark_file

    big = workdir / f"bench-{style}-{members}.834"
    if not big.exists():
        write_benchmark_file(big, members, seed=3, style=style)
    db_path = workdir / f"bench-{style}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    db = open_db(db_path)
    t0 = time.perf_counter()
    res = import_file(db, big)
    wall = time.perf_counter() - t0
    first = dict(engine.LAST_RUN)
    small = workdir / f"bench-{style}-small.834"
    write_benchmark_file(small, 200, seed=4, style=style)
    text = small.read_text("ascii").replace("*000000001*", "*000000002*")   # a new ISA13 from the same sender
    small.write_text(text, "ascii")
    res2 = import_file(db, small)
    second = dict(engine.LAST_RUN)
    db.close()
    return {"style": style, "members": res.members, "segments": res.segments, "import_seconds": wall,
            "rule_seconds": res.rule_seconds, "flags": res.flags, "breakdown": first,
            "small_rule_seconds": res2.rule_seconds, "small_breakdown": second, "small_status": res2.status}


def report(r: dict[str, object]) -> None:
    b = r["breakdown"]
    assert isinstance(b, dict)
    rules = sorted(b.get("rules", {}).items(), key=lambda kv: -kv[1])
    print(f"{r['style']}: {r['members']:,} members, {r['segments']:,} segments: import {r['import_seconds']:.1f} s "
          f"in all, of which rules {r['rule_seconds']:.2f} s ({r['flags']} open flags)")
    print(f"  history {b.get('history', 0):.2f} s, scope {b.get('scope', 0):.2f} s, rules "
          f"{sum(v for _, v in rules):.2f} s, writing {b.get('write', 0):.2f} s")
    print("  slowest: " + ", ".join(f"{k} {v:.2f}" for k, v in rules[:8]))
    print(f"  then a 200-member file into that store: rules {r['small_rule_seconds']:.2f} s ({r['small_status']})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--style", choices=("employer", "exchange", "both"), default="both")
    ap.add_argument("--dir", default="", help="keep the files and stores here (default: a temporary folder)")
    args = ap.parse_args(argv)
    styles = ["employer", "exchange"] if args.style == "both" else [args.style]
    if args.dir:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        for s in styles:
            report(run(args.members, s, Path(args.dir)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for s in styles:
                report(run(args.members, s, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
