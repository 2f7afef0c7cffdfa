"""Import speed: generated 834 files of 1,000 / 10,000 / 100,000 members.

For each file it prints seconds, segments/s, MB/s and peak RSS of a full import (TR3 findings and
business rules; the rule time also on its own), the plain `str.split` tokenizing floor (measured just
before and just after the import, so a change of this VM's speed during it shows) and the ratio to it,
and at 10,000 members the time pyx12's own validator takes. Each import runs in a fresh process so its
peak RSS is its own (worker processes are reported separately).

    python -m benchmarks.ingest_bench [--sizes 1000,10000,100000] [--style employer|exchange] [--no-pyx12]
                                      [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _import_once(path: str, db: str) -> None:
    """Child mode: import one file and print figures as JSON."""
    from enrollreview.ingest import import_file
    from enrollreview.store import checkpoint, open_db

    store = open_db(db)

    def cpu() -> tuple[float, float]:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    c0 = cpu()
    t0 = time.perf_counter()
    res = import_file(store, path)
    wall = time.perf_counter() - t0
    c1 = cpu()
    t1 = time.perf_counter()
    checkpoint(store)   # after the result, as the CLI and the window do
    ckpt = time.perf_counter() - t1
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"status": res.status, "seconds": wall, "rows": res.parse_seconds, "rules": res.rule_seconds,
                      "members": res.members, "segments": res.segments, "findings": res.findings, "flags": res.flags,
                      "rss_mb": own, "worker_rss_mb": kids, "cpu_main": c1[0] - c0[0],
                      "cpu_workers": c1[1] - c0[1], "load": os.getloadavg()[0],
                      "checkpoint": ckpt}))


def split_floor(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    text = path.read_bytes().decode("latin-1")
    n = 0
    for seg in text.split("~"):
        seg = seg.lstrip("\r\n")
        if seg:
            seg.split("*")
            n += 1
    return time.perf_counter() - t0, n


def pyx12_seconds(path: Path) -> float:
    from enrollreview.x12.pyx12_ref import run_pyx12

    t0 = time.perf_counter()
    run_pyx12(path.read_bytes())
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="ingest_bench")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--style", default="employer", choices=["employer", "exchange"])
    ap.add_argument("--no-pyx12", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="import each file N times into a fresh store (this VM's speed drifts: see the spread)")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be 1 or more")
    from enrollreview import accel
    from enrollreview.x12.generator import write_benchmark_file

    print(f"ingest benchmark ({args.style} style), {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"parser: {accel.describe()}" + (" (ENROLLREVIEW_ACCEL=0 for plain Python)" if accel.active() else ""))
    print(f"{'members':>8} {'segments':>10} {'MB':>6} {'import s':>9} {'rows s':>7} {'rules s':>8} {'seg/s':>9} "
          f"{'MB/s':>6} {'RSS MB':>7} {'workers':>8} {'split s':>12} {'x floor':>8} {'pyx12 s':>8} {'CPU main+workers':>17} "
          f"{'load':>5} {'ckpt s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"bench{size}.834"
            write_benchmark_file(path, members=size, seed=7, style=args.style)
            mb = path.stat().st_size / 1e6
            times = []
            for run in range(args.repeat):
                db = str(Path(tmp) / f"bench{size}-{run}.sqlite")
                before, _ = split_floor(path)
                out = subprocess.run([sys.executable, "-m", "benchmarks.ingest_bench", "--child", str(path), db],
                                     capture_output=True, text=True, check=True)
                for suffix in ("", "-wal", "-shm"):
                    Path(db + suffix).unlink(missing_ok=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                times.append(r["seconds"])
                after, _ = split_floor(path)
                floor = min(before, after)
                pyx = ""
                if size == 10000 and not args.no_pyx12 and run == 0:
                    pyx = f"{pyx12_seconds(path):8.1f}"
                print(f"{r['members']:>8,} {r['segments']:>10,} {mb:>6.1f} {r['seconds']:>9.2f} {r['rows']:>7.2f} "
                      f"{r['rules']:>8.2f} {r['segments'] / r['seconds']:>9,.0f} {mb / r['seconds']:>6.2f} "
                      f"{r['rss_mb']:>7.0f} {r['worker_rss_mb']:>8.0f} {f'{before:.3f}/{after:.3f}':>12} "
                      f"{r['seconds'] / floor:>8.1f} {pyx:>8} "
                      f"{r['cpu_main']:>8.1f}+{r['cpu_workers']:<8.1f} {r['load']:>5.1f} {r['checkpoint']:>6.2f}",
                      flush=True)
            if len(times) > 1:
                print(f"{size:>8,} members, {len(times)} imports: median {statistics.median(times):.2f} s, "
                      f"fastest {min(times):.2f} s, slowest {max(times):.2f} s", flush=True)
    print("import s: from reading the file to the committed result (findings and flags included). rows s: until "
          "every row of the file was written (a large file is parsed in parser processes meanwhile); the rules "
          "and the commit follow. ckpt s: the WAL checkpoint after that, run once the result is shown "
          "(store.checkpoint).")
    print("split s: the str.split floor just before / just after the import (x floor: the import against the "
          "faster of the two); when they differ, this VM's speed changed during the import.")
    print("CPU: seconds of processor time of the importing process and of its parser processes; on 2 cores "
          "a wall time well above (main+workers)/2 means the import waited for a CPU (see the load average).")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _import_once(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
