"""No PHI in the log: a full demo run (import, review, corrections, history, reveals, every export,
audit) at DEBUG level, then the log is scanned for the imported members' names, SSNs, dates of
birth, addresses and phone numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from enrollreview.paths import demo_dir

SCRIPT = textwrap.dedent("""
    import logging, sys
    from pathlib import Path
    from enrollreview.logsetup import setup_logging
    from enrollreview.cli import main
    from enrollreview.store import open_db

    db_path, demo, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    setup_logging(logging.DEBUG)
    def run(*argv):
        code = main([*argv, "--db", db_path])
        print("exit", code, argv[0], file=sys.stderr)
        return code

    assert run("import", demo, "--demo") == 0
    db = open_db(db_path)
    if db.execute("SELECT COUNT(*) FROM flags").fetchone()[0] < 3:   # no rules engine yet: raise a few
        from tests.test_review_support import raise_flag
        for (mid,) in db.execute("SELECT id FROM members ORDER BY id LIMIT 4").fetchall():
            raise_flag(db, mid)
    ids = [str(r[0]) for r in db.execute("SELECT id FROM flags WHERE member_id IS NOT NULL ORDER BY id LIMIT 3")]
    member = str(db.execute("SELECT member_id FROM flags WHERE id = ?", [int(ids[0])]).fetchone()[0])
    db.close()
    run("review", *ids, "--status", "needs-call-back", "--assign", "--due", "+5", "--note", "called twice")
    run("review", ids[0], "--status", "bogus")
    run("review", ids[0], "--correct", "dob", "1980-01-01", "--source", "confirmed by phone")
    run("review", ids[1], "--correct", "ssn", "123456780", "--source", "card copy")
    run("review", ids[2], "--status", "waiting-on-exchange")
    run("undo")
    run("history", member)
    run("history", member, "--show-ssn")
    run("show", member, "--show-ssn")
    run("members", "--search", "a")
    for kind, fmts in (("callbacks", ("csv", "xlsx", "pdf")), ("followups", ("csv", "xlsx")),
                       ("summary", ("csv", "xlsx"))):
        for fmt in fmts:
            run("export", kind, "--out", str(out / f"{kind}.{fmt}"))
            run("export", kind, "--out", str(out / f"{kind}-ssn.{fmt}"), "--show-ssn", "--include-resolved",
                "--status", "needs-call-back", "--status", "waiting-on-exchange", "--status", "new")
    run("audit", "verify")
    run("audit", "list", "--limit", "1000")
""")


def _phi(db_path: Path) -> dict[str, set[str]]:
    import sqlite3

    con = sqlite3.connect(db_path)
    out: dict[str, set[str]] = {"name": set(), "ssn": set(), "dob": set(), "address": set(), "phone": set()}
    for last, first, ssn, dob, a1, phones, old in con.execute(
            "SELECT last_name, first_name, ssn, dob, address1, phones, old FROM members"):
        for n in (last, first):
            if n and len(n) >= 3:
                out["name"].add(n)
        for s in (ssn, json.loads(old).get("ssn") if old else None):
            if s and len(s) == 9:
                out["ssn"] |= {s, f"{s[:3]}-{s[3:5]}-{s[5:]}"}
        if dob and re.fullmatch(r"\d{4}-\d\d-\d\d", dob):
            out["dob"] |= {dob, dob.replace("-", "")}
        if a1:
            out["address"].add(a1)
        for nums in (json.loads(phones) if phones else {}).values():
            for p in nums:
                d = re.sub(r"\D", "", p)
                if len(d) >= 7:
                    out["phone"] |= {d, f"({d[:3]}) {d[3:6]}-{d[6:]}", f"{d[:3]}-{d[3:6]}-{d[6:]}"}
    con.close()
    return out


def test_no_phi_in_the_log_after_a_full_demo_run(tmp_path):
    home = tmp_path / "home"
    out = tmp_path / "exports"
    out.mkdir()
    db_path = tmp_path / "demo.sqlite"
    env = {"ENROLLREVIEW_HOME": str(home), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen",
           "HOME": str(tmp_path)}
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(db_path), str(demo_dir()), str(out)], cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    logs = sorted((home / "logs").glob("enrollreview.log*"))
    assert logs, "the run wrote no log file"
    text = "\n".join(p.read_text("utf-8") for p in logs)
    assert "export callbacks as pdf" in text and "review by batch" in text  # the run was really logged
    phi = _phi(db_path)
    assert all(phi.values()), {k: len(v) for k, v in phi.items()}
    leaks = []
    for kind, values in phi.items():
        for v in values:
            pattern = rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])"
            if re.search(pattern, text):
                leaks.append((kind, v))
    assert leaks == []
    # the exports with full SSNs really contained PHI, so the scan above is meaningful
    shown = (out / "callbacks-ssn.csv").read_text("utf-8-sig")
    assert any(s in shown for s in phi["ssn"])
