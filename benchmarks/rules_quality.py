"""Rule quality on an independent exchange-style set: recall and false-flag rate per category.

Builds the generator's quality set (about 130 clean enrollment groups, the legitimate cases that must
stay quiet, and one instance of every catalogued problem, spread over six FFE files plus a resend, an
employer file and an issuer's inbound file), imports it file by file in delivery order into a
temporary store and compares the open flags with the ground truth:

* recall: share of injected problems with a flag of the right category on the problem's member (or
  policy, or file when the problem belongs to no member);
* false-flag rate: share of clean groups (every policy that is not part of an injected problem,
  quiet cases included) carrying an error or warning flag.

    python -m benchmarks.rules_quality [--seed 7] [--seeds 7,8,9] [--verbose]

Targets: recall >= 95% and false-flag rate <= 2% in every category.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

CATEGORIES = ("duplicate", "maintenance", "family", "subsidy", "data_quality", "missing")


def run(seed: int, *, verbose: bool = False) -> dict[str, Any]:
    from enrollreview.ingest import import_file
    from enrollreview.rules.query import list_flags
    from enrollreview.store import open_db
    from enrollreview.x12.generator import build_quality_set

    files, truth = build_quality_set(seed)
    rule_seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "quality.sqlite")
        for name, text in files:
            p = Path(tmp) / name
            p.write_bytes(text.encode("ascii"))
            res = import_file(db, p)
            if not res.ok:
                raise SystemExit(f"{name}: {res.summary()}")
            rule_seconds += res.rule_seconds
        flags = list_flags(db)
        member_policy = {r[0]: r[1] for r in db.execute("SELECT id, policy_id FROM members")}
        member_file = {r[0]: r[1] for r in db.execute("SELECT m.id, f.name FROM members m JOIN files f ON f.id = m.file_id")}
        policy_members: dict[str, set[str]] = defaultdict(set)
        for pol, mid in db.execute("SELECT policy_id, member_id FROM members"):
            if pol and mid:
                policy_members[pol].add(mid)
        all_policies = {p for p in member_policy.values() if p}
        db.close()

    def flag_policies(f: dict[str, Any]) -> set[str]:
        pols = {f["policy_id"]} if f["policy_id"] else set()
        if f["member_row"] is not None and member_policy.get(f["member_row"]):
            pols.add(member_policy[f["member_row"]])
        return pols

    # -- recall ------------------------------------------------------------------------------------
    found: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for e in truth["expected"]:
        cands = [f for f in flags if f["category"] == e["category"]]
        hit = False
        for f in cands:
            if e["member_id"] and f["member_id"] == e["member_id"] and (
                    not e["file"] or f["file"] == e["file"] or (e["policy_id"] and e["policy_id"] in flag_policies(f))):
                hit = True
            elif e["policy_id"] and e["policy_id"] in flag_policies(f) and (not e["file"] or f["file"] == e["file"]):
                hit = True
            elif not e["member_id"] and not e["policy_id"] and f["file"] == e["file"]:
                hit = True
            if hit:
                break
        found[e["category"]].append(hit)
        if not hit:
            misses.append(e)

    # -- false flags on clean groups ---------------------------------------------------------------
    involved: set[str] = set()
    involved_members: set[str] = set()
    for e in truth["expected"]:
        if e["policy_id"]:
            involved.add(e["policy_id"])
        if e["member_id"]:
            involved_members.add(e["member_id"])
        involved.update(re.findall(r"\b\d{9}\b", e["note"]))
        involved_members.update(re.findall(r"\b\d{10}\b", e["note"]))
    for pol, mids in policy_members.items():
        if mids & involved_members:
            involved.add(pol)
    dup02_files = {e["file"] for e in truth["expected"] if e["rule"] == "DUP-02"}
    for pol in all_policies:   # groups of the resend file that reused a control number
        rows = [r for r, p in member_policy.items() if p == pol]
        if rows and all(member_file[r] in dup02_files for r in rows):
            involved.add(pol)
    clean = sorted(all_policies - involved)
    bad: dict[str, set[str]] = defaultdict(set)
    false_flags = []
    for f in flags:
        if f["severity"] not in ("error", "warning"):
            continue
        for pol in flag_policies(f):
            if pol in clean:
                bad[f["category"]].add(pol)
                false_flags.append(f)
    any_bad = set().union(*bad.values()) if bad else set()

    out = {"seed": seed, "files": len(files), "expected": len(truth["expected"]), "clean_groups": len(clean),
           "rule_seconds": rule_seconds, "categories": {}, "misses": misses, "false_flags": false_flags,
           "any_false": len(any_bad)}
    for c in CATEGORIES:
        hits = found.get(c, [])
        out["categories"][c] = {"problems": len(hits), "flagged": sum(hits),
                                "recall": (sum(hits) / len(hits)) if hits else None,
                                "false_groups": len(bad.get(c, ())),
                                "false_rate": len(bad.get(c, ())) / len(clean) if clean else 0.0}
    return out


def report(res: dict[str, Any], verbose: bool) -> bool:
    print(f"seed {res['seed']}: {res['files']} files, {res['expected']} injected problems, "
          f"{res['clean_groups']} clean groups (quiet cases included); rules took {res['rule_seconds']:.2f} s")
    print(f"  {'category':13} {'problems':>8} {'flagged':>8} {'recall':>7} {'false groups':>13} {'false rate':>10}")
    ok = True
    for c, v in res["categories"].items():
        recall = "-" if v["recall"] is None else f"{v['recall']:.0%}"
        print(f"  {c:13} {v['problems']:8} {v['flagged']:8} {recall:>7} {v['false_groups']:13} {v['false_rate']:10.1%}")
        if (v["recall"] is not None and v["recall"] < 0.95) or v["false_rate"] > 0.02:
            ok = False
    total = sum(v["problems"] for v in res["categories"].values())
    hit = sum(v["flagged"] for v in res["categories"].values())
    print(f"  {'all':13} {total:8} {hit:8} {hit / total:7.0%} {res['any_false']:13} "
          f"{res['any_false'] / max(1, res['clean_groups']):10.1%}")
    if verbose or not ok:
        for e in res["misses"]:
            print(f"  MISSED {e['rule']} ({e['injection']}): {e['note']} [policy {e['policy_id']}, member "
                  f"{e['member_id']}, file {e['file']}]")
        for f in res["false_flags"]:
            print(f"  FALSE {f['severity']} {f['rule']} policy {f['policy_id']} member {f['member_id']}: {f['message']}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seeds", default="", help="comma-separated seeds (overrides --seed)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s] or [args.seed]
    ok = True
    for s in seeds:
        t0 = time.perf_counter()
        res = run(s, verbose=args.verbose)
        ok = report(res, args.verbose) and ok
        print(f"  ({time.perf_counter() - t0:.1f} s in all)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
