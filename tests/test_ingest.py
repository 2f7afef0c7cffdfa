"""Ingest: real 834 text in, stored rows out; all or nothing; bad input gets one clear line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from enrollreview import segpos
from enrollreview.ingest import import_file
from enrollreview.queries import get_member, member_categories, member_coverages
from enrollreview.store import open_db

from .conftest import CORPUS, ROOT, corpus_files

ENV = ("ISA*00*          *00*          *ZZ*CMSFFM         *ZZ*ISSUER1        *260101*0600*^*00501*"
       "{ctl}*0*P*:~\nGS*BE*CMSFFM*ISSUER1*20260101*0600*{ctl_gs}*X*005010X220A1~\n")


def member_block(n: int, *, rel: str = "18", sub: str = "Y") -> list[str]:
    return [
        f"INS*{sub}*{rel}*021*EC*A***AC~",
        f"REF*0F*SUB{n:07d}~",
        f"REF*17*MEM{n:07d}~",
        "DTP*356*D8*20260101~",
        f"NM1*IL*1*LAST{n}*FIRST{n}****34*{100000000 + n}~",
        "PER*IP**TE*3015550123~",
        "N3*1 MAIN ST~",
        "N4*ANYTOWN*MD*20850~",
        "DMG*D8*19800101*F~" if n == 1 else f"DMG*D8*{1950 + n % 50}{n % 12 + 1:02d}{n % 28 + 1:02d}*F~",
        "HD*021**HLT~",
        "DTP*348*D8*20260101~",
        "REF*CE*12345MD0010001~",
        f"REF*1L*POL{n:07d}~",
    ]


def make_834(n_members: int, ctl: int = 1) -> str:
    """An exchange-style file: one ST per member."""
    out = [ENV.format(ctl=f"{ctl:09d}", ctl_gs=ctl)]
    for n in range(1, n_members + 1):
        body = [f"BGN*00*REF{n}*20260101*0600****2~", "N1*P5*SPONSOR*FI*123456789~",
                "N1*IN*ISSUER*FI*987654321~", *member_block(n)]
        out.append(f"ST*834*{n:04d}*005010X220A1~\n")
        out.extend(s + "\n" for s in body)
        out.append(f"SE*{len(body) + 2}*{n:04d}~\n")
    out.append(f"GE*{n_members}*{ctl}~\nIEA*1*{ctl:09d}~\n")
    return "".join(out)


def counts(db) -> dict[str, int]:
    return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("files", "transactions", "members", "coverages", "categories", "findings")}


# --- the corpus ----------------------------------------------------------------------------------

REJECT = {
    "pyx12__testdata__834_lui_id.txt": "004010X095A1",
    "stupidedi__X307__enroll-individuals-in-qualified-health-plan-through-health-insurance-exchange.edi":
        "005010X307",
    "stupidedi__X307__shop-enrollment-in-qualified-health-plan-through-health-insurance-exchange.edi": "005010X307",
    "impendjcs__data__sample-834Dental.edi": "005010X318",
}


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name[:60])
def test_every_corpus_file_imports_or_is_rejected_with_a_reason(db, path):
    res = import_file(db, path)
    if path.name in REJECT:
        assert res.status == "rejected"
        assert REJECT[path.name] in res.reason and "005010X220A1" in res.reason
        assert "\n" not in res.reason
        row = db.execute("SELECT status, reason FROM files WHERE name = ?", [path.name]).fetchone()
        assert row == ("rejected", res.reason)
        assert counts(db)["members"] == 0
    else:
        assert res.status == "imported", res.reason
        stored = db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
        ins = path.read_bytes().decode("latin-1").count("INS*")
        assert stored == res.members == ins


def test_ls_le_reporting_categories_are_all_stored(db, corpus):
    import_file(db, corpus / "pyx12__testdata__834_ls_le_ls.txt")
    m = get_member(db, 1)
    cats = member_categories(db, m["id"])
    assert len(cats) == 13
    names = [c["name"] for c in cats]
    assert names[0] == "NEWBORN INDICATOR" and cats[0]["ref_qual"] == "ZZ" and cats[0]["value"] == "Y"
    assert all(c["ref_qual"] or c["date_qual"] for c in cats)
    by_name = {c["name"]: c for c in cats}
    assert by_name["PREVIOUS PMP END DATE"]["date_from"] == "2013-06-15"
    assert (by_name["BRANCH - WORKER"]["ref_qual"], by_name["BRANCH - WORKER"]["value"]) == ("3L", "1234567")
    assert by_name["TPL CODE"]["amount"] == 99.0
    # 2100B old demographics and 2100C mailing address
    assert json.loads(m["old"])["last_name"] == "INCORRECT"
    assert json.loads(m["mailing"])["city"] == "SALEM"
    assert m["ssn"] == "544001234" and m["dob"] == "1983-07-19" and m["state"] == "OR"
    cov = member_coverages(db, m["id"])
    assert cov[0]["hd03"] == "HMO" and cov[0]["begin"] == "2012-09-01"


def test_raw_segments_point_at_the_file_bytes(db, corpus):
    path = corpus / "x12-types__parse_834_2.txt"
    data = path.read_bytes().decode("latin-1")
    import_file(db, path)
    rows = db.execute("SELECT raw, segs FROM members ORDER BY id").fetchall()
    assert len(rows) == 7
    ordinals = []
    for raw, stored in rows:
        lines = raw.split("\n")
        segs = segpos.decode(stored, lines)
        assert len(lines) == len(segs)
        assert lines[0].startswith("INS")
        for line, (ordinal, loop, offset) in zip(lines, segs, strict=True):
            assert data[offset:offset + len(line)] == line
            assert loop.startswith("2000")
            ordinals.append(ordinal)
    assert ordinals == sorted(ordinals) and len(set(ordinals)) == len(ordinals)


def test_file_and_transaction_header_values(db, corpus):
    import_file(db, corpus / "x12-types__parse_834_2.txt")
    f = db.execute("SELECT isa_control, gs_version, usage, transaction_count, member_count, sha256, size "
                   "FROM files").fetchone()
    assert f[0] == "193290002" and f[1] == "005010X220A1" and f[3] == 7 and f[4] == 7
    assert len(f[5]) == 64 and f[6] == (corpus / "x12-types__parse_834_2.txt").stat().st_size
    t = db.execute("SELECT st_control, bgn_ref, bgn_date FROM transactions ORDER BY id").fetchone()
    assert t[0] and t[1] and t[2]


def test_the_same_bytes_twice_are_refused_and_change_nothing(db, write_file):
    p = write_file(make_834(3))
    assert import_file(db, p).status == "imported"
    before = counts(db)
    copy = write_file(p.read_bytes(), "renamed.834")
    res = import_file(db, copy)
    assert res.status == "duplicate"
    assert p.name in res.reason and "already imported" in res.reason
    assert counts(db) == before


def test_qty_and_envelope_parsed_from_generated_text(db, write_file):
    res = import_file(db, write_file(make_834(5)))
    assert res.members == 5 and res.transactions == 5
    m = get_member(db, "MEM0000003")
    assert m["last_name"] == "LAST3" and m["policy_id"] == "POL0000003" and m["phone"] == "3015550123"


# --- garbled input ---------------------------------------------------------------------------------

GOOD = make_834(2)


def _variants() -> dict[str, tuple[bytes, str]]:
    crlf = GOOD.replace("\n", "\r\n")
    one_line = GOOD.replace("\n", "")
    return {
        "bom": (b"\xef\xbb\xbf" + GOOD.encode(), "imported"),
        "crlf": (crlf.encode(), "imported"),
        "one line": (one_line.encode(), "imported"),
        "newline terminator": (GOOD.replace("~\n", "\n").encode(), "imported"),
        "truncated mid-segment": (GOOD[: GOOD.index("DMG", GOOD.index("ST*834*0002")) + 6].encode(), "imported"),
        "missing IEA": (GOOD[: GOOD.index("IEA")].encode(), "imported"),
        "truncated before the first member": (GOOD[: GOOD.index("INS")].encode(), "rejected"),
        "binary junk": (bytes(range(256)) * 4, "rejected"),
        "empty": (b"", "rejected"),
        "only whitespace": (b"  \r\n\t ", "rejected"),
        "not x12": (b"Name,DOB\nJane,1980-01-01\n", "rejected"),
        "wrong delimiters": (GOOD.replace("*", "|", 3).encode(), "rejected"),
        "an 837": (GOOD.replace("ST*834", "ST*837").replace("*005010X220A1", "*005010X222A1").encode(),
                   "rejected"),
        "a 4010": (GOOD.replace("005010X220A1", "004010X095A1").replace("*00501*", "*00401*").encode(),
                   "rejected"),
        "ISA lost its padding": (GOOD.replace("          *", "*").replace("CMSFFM         ", "CMSFFM")
                                 .encode(), "imported"),
        "non-ascii byte": (GOOD.replace("LAST1", "L\xc9ST1").encode("latin-1"), "imported"),
        "empty segment": (GOOD.replace("N3*1 MAIN ST~", "N3*1 MAIN ST~~", 1).encode(), "imported"),
    }


@pytest.mark.parametrize("name", list(_variants()))
def test_garbled_input_gets_a_clear_outcome(db, write_file, name):
    data, expected = _variants()[name]
    res = import_file(db, write_file(data))
    assert res.status == expected, res.reason
    if expected == "rejected":
        assert res.reason and "\n" not in res.reason and len(res.reason) < 300
        assert "Traceback" not in res.reason
        assert counts(db)["members"] == 0
    else:
        assert res.members >= 1


@pytest.mark.parametrize("name", ["bom", "ISA lost its padding", "truncated mid-segment", "empty segment"])
def test_lenient_reads_leave_an_envelope_finding(db, write_file, name):
    data, _ = _variants()[name]
    import_file(db, write_file(data))
    msgs = [r[0] for r in db.execute("SELECT message FROM findings")]
    assert msgs, "a lenient read must say what was wrong"


def test_cli_rejects_with_reason_on_stderr_and_nonzero_exit(tmp_path, corpus):
    dbp = tmp_path / "s.sqlite"
    r = subprocess.run([sys.executable, "-m", "enrollreview", "import", "--db", str(dbp),
                        str(corpus / "impendjcs__data__sample-834Dental.edi")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "005010X318" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_database_file_is_private(db_path, db):
    assert (db_path.stat().st_mode & 0o777) == 0o600


# --- all or nothing --------------------------------------------------------------------------------

def test_cancel_leaves_the_store_as_it_was(db, write_file):
    import_file(db, write_file(make_834(3, ctl=1)))
    before = counts(db)
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    res = import_file(db, write_file(make_834(2000, ctl=2)), cancel=cancel)
    assert res.status == "cancelled"
    assert counts(db) == before


def _assert_workers_exit(token: str) -> None:
    """The killed import's worker processes must not linger."""
    def orphans() -> list[str]:
        found = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/environ", "rb") as fh:
                        env = fh.read()
                    with open(f"/proc/{d}/cmdline", "rb") as fh:
                        cmd = fh.read()
                except OSError:
                    continue
                if b"multiprocessing" in cmd and f"ER_KILL_TEST={token}".encode() in env:
                    found.append(d)
        return found

    deadline = time.monotonic() + 10
    while orphans() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert orphans() == []


def test_a_killed_import_leaves_the_store_exactly_as_before(tmp_path, write_file):
    from enrollreview.store import open_db

    dbp = tmp_path / "kill.sqlite"
    db = open_db(dbp)
    import_file(db, write_file(make_834(5, ctl=1)))
    before = counts(db)
    db.close()
    big = write_file(make_834(30000, ctl=2), "big.834")
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "enrollreview", "import", "--db", str(dbp), str(big)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ER_KILL_TEST": token})
    # Kill it once it is writing: the WAL grows while the import transaction is open.
    wal = tmp_path / "kill.sqlite-wal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > 256 * 1024:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed; make the file bigger"
    proc.kill()
    proc.wait()
    _assert_workers_exit(token)
    db = open_db(dbp)
    assert counts(db) == before
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # and the store still works: the same file imports cleanly afterwards
    assert import_file(db, big, run_rules=False).status == "imported"
    db.close()


def test_corpus_is_not_copied_into_the_repository():
    names = {p.name for p in CORPUS.iterdir()}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not names & {t.rsplit("/", 1)[-1] for t in tracked} - {"EXPECTED.md"}


# --- what the import leaves behind ---------------------------------------------------------------

def test_person_id_is_set_as_rows_are_written(db, write_file):
    """A row's person is known the moment it is stored (no rules needed): a member id already on record
    gives that person; a new one makes the row its own person."""
    from enrollreview.rules.history import prepare

    import_file(db, write_file(make_834(3, ctl=1)), run_rules=False)
    prepare(db)  # records the persons of the first file
    first = dict(db.execute("SELECT member_id, person_id FROM members").fetchall())
    assert first == dict(db.execute("SELECT member_id, id FROM members").fetchall())
    text = make_834(4, ctl=2).replace("REF*17*MEM0000004~", "REF*17*NEW0000004~")
    import_file(db, write_file(text), run_rules=False)
    again = db.execute("SELECT member_id, person_id, id FROM members WHERE file_id = 2 ORDER BY id").fetchall()
    assert [(m, p) for m, p, _ in again[:3]] == [(m, first[m]) for m, _, _ in again[:3]]
    assert again[3][0] == "NEW0000004" and again[3][1] == again[3][2]


def test_the_tables_an_import_fills_have_no_triggers(db, db_path):
    """Any trigger on a table the import writes makes SQLite keep a statement journal for every row (the
    old person trigger on members cost 3 s of a 100,000-member import). A store that still has the old
    trigger loses it at the next open."""
    filled = ("members", "coverages", "categories", "findings", "transactions")
    found = db.execute(f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                       f"({','.join('?' * len(filled))})", filled).fetchall()
    assert found == []
    db.execute("CREATE TRIGGER members_person_ai AFTER INSERT ON members WHEN NEW.person_id IS NULL "
               "BEGIN SELECT 1; END")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm005_members_no_insert_trigger'")
    db.conn.commit()
    db.conn.close()
    reopened = open_db(db_path)
    assert reopened.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = 'members'").fetchall() == []


def test_absent_values_are_stored_as_null(db, write_file, corpus):
    """The bulk inserts bind NULL as a NaN (sqlnull.py: None is slow to bind); SQLite must store a real
    NULL for every absent value, never a number and never the text 'nan'."""
    from enrollreview.x12.generator import write_benchmark_file

    import_file(db, write_file(make_834(3)))
    import_file(db, corpus / "pyx12__examples__example834_5010.txt")
    exchange = write_file(b"", "exchange.834")
    write_benchmark_file(exchange, 30, style="exchange")
    import_file(db, exchange)
    tables = ("members", "coverages", "categories", "transactions", "findings", "persons", "member_facts")
    nulls = 0
    for t in tables:
        for (col, ctype) in [(r[1], r[2]) for r in db.execute(f"PRAGMA table_info({t})")]:
            kinds = dict(db.execute(f'SELECT typeof("{col}"), count(*) FROM {t} GROUP BY 1').fetchall())
            nulls += kinds.get("null", 0)
            if ctype.upper() != "REAL":
                assert "real" not in kinds, (t, col, kinds)
            assert db.execute(f"SELECT count(*) FROM {t} WHERE \"{col}\" = 'nan' OR \"{col}\" = 'NaN'").fetchone()[0] == 0
    assert nulls > 100
    # what the NULLs mean: no 2100B loop, no amount (a timestamp), no member id, no QTY*TO
    assert db.execute("SELECT count(*) FROM members WHERE old IS NULL").fetchone()[0] >= 33
    assert db.execute("SELECT count(*) FROM categories WHERE name = 'REQUEST SUBMIT TIMESTAMP' AND amount IS NULL "
                      "AND value != ''").fetchone()[0] >= 30
    assert db.execute("SELECT count(*) FROM persons WHERE member_id IS NULL").fetchone()[0] >= 1
    assert db.execute("SELECT count(*) FROM transactions WHERE qty_to IS NULL").fetchone()[0] >= 4


def test_store_connections_may_sort_on_every_core(db, db_path):
    """The rules after a large import are one SQLite connection on one core; large sorts (rebuilding an
    index after a bulk insert, GROUP BY over the file's members) may use helper threads on the others."""
    expected = min(4, os.cpu_count() or 1)   # every core, at most four
    other = open_db(db_path)                  # (the fixture created the store; this one only opens it)
    assert [c.execute("PRAGMA threads").fetchone()[0] for c in (db, other)] == [expected, expected]
    other.close()


def test_transaction_hash_is_the_st_to_se_text_without_control_numbers(db, write_file):
    """DUP-01 compares transactions.content_hash across files, including files imported by older
    versions (which hashed the stored text afterwards): the parser processes must give the same value,
    SHA-256 of the transaction's segments without ST and SE, a newline, then its members' segments."""
    import hashlib

    import_file(db, write_file(make_834(3, ctl=1)))
    for tid, traw, stored in db.execute("SELECT id, raw, content_hash FROM transactions").fetchall():
        own = "\n".join(ln for ln in traw.split("\n") if not ln.startswith(("ST", "SE")))
        members = "\n".join(r[0] for r in db.execute(
            "SELECT raw FROM members WHERE transaction_id = ? ORDER BY seq", [tid]))
        assert stored == hashlib.sha256((own + "\n" + members).encode("latin-1")).hexdigest()
    # the same transactions resent under new ST02/SE02 (and envelope) control numbers: the same hashes
    resent = re.sub(r"(ST\*834\*|SE\*\d+\*)0(\d{3})", r"\g<1>7\2", make_834(3, ctl=2))
    assert "ST*834*7001" in resent and "*0001~" not in resent
    import_file(db, write_file(resent))
    rows = db.execute("SELECT file_id, content_hash FROM transactions ORDER BY file_id, seq").fetchall()
    assert [h for f, h in rows if f == 1] == [h for f, h in rows if f == 2]
    assert len({h for _, h in rows}) == 3
    # what the clerk sees: each resent transaction flagged as received before
    dup = db.execute("SELECT message FROM flags WHERE rule = 'DUP-01' AND file_id = 2").fetchall()
    assert len(dup) == 3 and all("word-for-word copy of transaction ST02 000" in m for (m,) in dup), dup


def test_the_import_leaves_the_wal_checkpoint_to_its_caller(db, db_path, write_file):
    """The clerk gets the result before the write-ahead log is copied into the store file: the import
    commits to the log only, restores the connection's setting, and store.checkpoint does the copy."""
    from enrollreview.store import checkpoint

    db.execute("PRAGMA wal_autocheckpoint = 1")   # a checkpoint after every commit, unless switched off
    checkpoint(db)
    size = os.path.getsize(db_path)
    res = import_file(db, write_file(make_834(400)))
    assert res.ok and res.members == 400
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1
    assert os.path.getsize(db_path) == size          # everything is still in the log
    checkpoint(db)
    assert os.path.getsize(db_path) > size + 100_000  # now in the store file
    assert db.execute("SELECT count(*) FROM members").fetchone()[0] == 400


@pytest.mark.parametrize("enabled", [True, False])
def test_import_leaves_the_garbage_collector_as_it_found_it(db, write_file, enabled):
    import gc

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        res = import_file(db, write_file(make_834(2)))
        assert res.status == "imported"
        assert gc.isenabled() is enabled
        bad = import_file(db, write_file("not an 834 at all"))
        assert bad.status == "rejected"
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
