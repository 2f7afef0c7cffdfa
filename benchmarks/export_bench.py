"""Benchmark: export a 100,000-row call-back list to XLSX and CSV; print time and peak RSS.

    .venv/bin/python benchmarks/export_bench.py [--rows 100000] [--keep DIR]

The store is built directly in SQLite (synthetic members with names, SSN, date of birth, PER phones
and e-mail, a coverage with a plan id, and one or two needs-call-back flags each, assigned and due),
because this measures the export, not the importer. Each export runs in its own child process so its
peak RSS (ru_maxrss) is its own. Targets (issue 5): XLSX under 20 s and under 100 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST = ["JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA", "DAVID", "ELIZABETH",
         "CARLOS", "MARIA", "WEI", "FATIMA", "OLGA", "JOSE", "ANH", "PRIYA", "DEREK", "NAOMI"]
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ",
        "NGUYEN", "PATEL", "KOWALSKI", "OKAFOR", "MUELLER", "HERNANDEZ", "LOPEZ", "WILSON", "ANDERSON", "TAYLOR"]
REASONS = [("DQ-05", "data_quality", "error", "Date of birth {d} is in the future"),
           ("FAM-08", "family", "warning", "Child is {n} years old, over the dependant age limit 26"),
           ("FIN-03", "subsidy", "error", "APTC {a} is more than the total premium {p}"),
           ("DQ-06", "data_quality", "warning", "Phone number {ph} has 9 digits")]
CLERKS = ["maria", "joe", "tamika", "luis", None]


def build_store(db_path: Path, rows: int, seed: int = 5) -> float:
    from enrollreview.store import open_db

    t0 = time.perf_counter()
    rnd = random.Random(seed)
    db = open_db(db_path)
    conn = db.conn
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with db.atomic():
        conn.execute("INSERT INTO files (id, name, sha256, size, imported_at, received_at, status, delims, "
                     "member_count) VALUES (1, 'CMSFFM.BENCH.I834.P', 'bench', 1, ?, ?, 'imported', '*:^~', ?)",
                     [now.isoformat(), now.isoformat(), rows])
        conn.execute("INSERT INTO transactions (id, file_id, seq) VALUES (1, 1, 1)")
        members, covs, flags = [], [], []
        for i in range(1, rows + 1):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            ssn = f"{rnd.randint(100, 899)}{rnd.randint(10, 99)}{rnd.randint(1000, 9999)}"
            dob = dt.date(1940, 1, 1) + dt.timedelta(days=rnd.randint(0, 30000))
            phone = f"{rnd.randint(201, 989)}555{rnd.randint(100, 199):04d}"
            phones = {"TE": [phone]}
            if i % 3 == 0:
                phones["CP"] = [f"{rnd.randint(201, 989)}555{rnd.randint(100, 199):04d}"]
            email = f"{first.lower()}.{last.lower()}{i}@example.com" if i % 2 else None
            if email:
                phones["EM"] = [email]
            mid = f"{1000000000 + i}"
            raw = (f"INS*Y*18*021*EC*A***AC\nREF*0F*{mid}\nREF*17*{mid}\nNM1*IL*1*{last}*{first}****34*{ssn}\n"
                   f"PER*IP**TE*{phone}\nDMG*D8*{dob:%Y%m%d}*F")
            segs = json.dumps([[10 * i + k, "2000", 0] for k in range(6)])
            members.append((i, 1, 1, i, "Y", "18", "021", mid, mid, f"POL{i:07d}", last, first, ssn, dob.isoformat(),
                            phone, email, json.dumps(phones), 10 * i, 10 * i + 5, raw, segs))
            covs.append((i, 1, 1, "021", "HLT", f"12345VA00{i % 90 + 10:02d}0001", f"POL{i:07d}"))
            for k in range(2 if i % 5 == 0 else 1):
                rule, cat, sev, text = REASONS[(i + k) % len(REASONS)]
                msg = text.format(d="2080-02-14", n=rnd.randint(27, 30), a="1,386.59", p="1,261.59", ph=phone[:9])
                due = (now.date() + dt.timedelta(days=rnd.randint(-10, 30))).isoformat() if i % 7 else None
                created = (now - dt.timedelta(days=rnd.randint(0, 60))).isoformat()
                flags.append((f"{rule}:{mid}:{k}", rule, cat, sev, i, f"POL{i:07d}", 1, msg, "Call the member",
                              "needs-call-back", created, created, CLERKS[i % len(CLERKS)], due))
            if len(members) >= 10_000:
                _flush(conn, members, covs, flags)
        _flush(conn, members, covs, flags)
    db.close()
    return time.perf_counter() - t0


def _flush(conn, members, covs, flags) -> None:
    conn.executemany("INSERT INTO members (id, file_id, transaction_id, seq, ins01, ins02, ins03, subscriber_id, "
                     "member_id, policy_id, last_name, first_name, ssn, dob, phone, email, phones, first_ordinal, "
                     "last_ordinal, raw, segs) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", members)
    conn.executemany("INSERT INTO coverages (member_id, file_id, seq, hd01, hd03, plan_id, policy_id) "
                     "VALUES (?,?,?,?,?,?,?)", covs)
    conn.executemany("INSERT INTO flags (fingerprint, rule, category, severity, member_id, policy_id, file_id, "
                     "message, next_step, status, created_at, updated_at, assigned_to, due_date) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", flags)
    members.clear()
    covs.clear()
    flags.clear()


def child(db_path: str, fmt: str, out: str) -> None:
    from enrollreview.export import export
    from enrollreview.store import open_db

    db = open_db(db_path)
    t0, c0 = time.perf_counter(), time.process_time()
    r = export(db, "callbacks", fmt, out)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": r.rows, "seconds": seconds, "cpu": cpu, "rss_mb": rss_kb / 1024,
                      "bytes": os.path.getsize(out)}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--keep", metavar="DIR", help="write the store and the exports here (kept)")
    ap.add_argument("--child", nargs=3, metavar=("DB", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="export-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ENROLLREVIEW_HOME", str(work / "home"))
    db_path = work / "bench.sqlite"
    if db_path.exists():
        db_path.unlink()
    build = build_store(db_path, args.rows)
    print(f"store: {args.rows:,} members needing a call-back, built in {build:.1f} s ({db_path})")
    ok = True
    for fmt in ("xlsx", "csv"):
        out = work / f"callbacks.{fmt}"
        r = subprocess.run([sys.executable, __file__, "--child", str(db_path), fmt, str(out)],
                           capture_output=True, text=True, env=os.environ.copy(), check=False)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        res = json.loads(r.stdout.strip().splitlines()[-1])
        target = ""
        if fmt == "xlsx":
            met = res["seconds"] < 20 and res["rss_mb"] < 100
            ok &= met
            target = f"   target < 20 s and < 100 MB: {'met' if met else 'MISSED'}"
        print(f"{fmt.upper():>4}: {res['rows']:,} rows in {res['seconds']:.1f} s (CPU {res['cpu']:.1f} s), "
              f"peak RSS {res['rss_mb']:.0f} MB, file {res['bytes'] / 1e6:.1f} MB{target}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > (os.cpu_count() or 1):
        print(f"note: the machine was busy (load {load:.1f} on {os.cpu_count()} CPUs); wall times are inflated, "
              "CPU times are the fairer figure")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
