"""The audit trail: append-only (triggers), hash chain, and verify() finding edits made behind the app."""

from __future__ import annotations

import sqlite3

import pytest

from enrollreview.cli import main
from enrollreview.review import workflow as wf
from enrollreview.review.audit import GENESIS, list_rows, record, verify, verify_all
from tests.test_review_support import standard_store


@pytest.fixture
def store(db, tmp_path):
    s = standard_store(db, tmp_path)
    fa, fb, fc = s["flags"]
    wf.review(db, [fa, fb], status="needs-call-back", assign="maria", user="clerk1")
    wf.record_correction(db, flag_id=fc, field="dob", corrected_value="1992-07-31", source="phone", user="clerk2")
    wf.add_note(db, "called twice", flag_id=fa, user="clerk1")
    return s


@pytest.mark.parametrize("table", ["audit", "notes", "corrections"])
def test_update_and_delete_are_refused(db, store, table):
    n = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    assert n > 0
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"UPDATE {table} SET id = id")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"DELETE FROM {table}")
    db.conn.rollback()
    assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == n


def test_triggers_also_hold_for_a_raw_connection(db, db_path, store):
    raw = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE audit SET os_user = 'someone else' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM audit WHERE id = 1")
    raw.close()


def test_chain_links_every_row(db, store):
    rows = db.execute("SELECT id, prev_hash, hash FROM audit ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0][1] == GENESIS
    for prev, cur in zip(rows, rows[1:], strict=False):
        assert cur[1] == prev[2]
    r = verify_all(db)
    assert r.ok and r.rows == len(rows)


def _tamper(db_path, sql, params=()):
    """An edit made behind the app's back: drop the trigger, change the row, as a raw sqlite3 user would."""
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute(sql, params)
    raw.commit()
    raw.close()


def test_verify_detects_an_edited_row(db, db_path, store):
    target = [r for r in list_rows(db, newest_first=False) if r["action"] == "correction"][0]
    _tamper(db_path, "UPDATE audit SET detail = replace(detail, '1992-07-31', '1992-07-30') WHERE id = ?",
            [target["id"]])
    p = verify(db)
    assert p is not None and p.id == target["id"]
    assert "changed after it was written" in p.reason


def test_verify_detects_a_changed_user_even_with_the_hash_recomputed_locally(db, db_path, store):
    # editing a row and recomputing only its own hash still breaks the link to the next row
    from enrollreview.review.audit import row_hash

    r = db.execute("SELECT id, at, action, flag_id, member_id, detail, prev_hash FROM audit WHERE id = 2").fetchone()
    h = row_hash(r[6], r[0], r[1], "intruder", r[2], r[3], r[4], r[5])
    _tamper(db_path, "UPDATE audit SET os_user = 'intruder', hash = ? WHERE id = 2", [h])
    p = verify(db)
    assert p is not None and p.id == 3
    assert "does not follow" in p.reason


def test_verify_detects_a_deleted_row(db, db_path, store):
    _tamper(db_path, "DELETE FROM audit WHERE id = 3")
    p = verify(db)
    assert p is not None and p.id == 4 and "row 3 is missing" in p.reason


def test_cli_audit_verify(db, db_path, store, capsys):
    assert main(["audit", "verify", "--db", str(db_path)]) == 0
    assert "audit trail intact" in capsys.readouterr().out
    _tamper(db_path, "UPDATE audit SET action = 'note' WHERE id = 2")
    assert main(["audit", "verify", "--db", str(db_path)]) == 1
    out = capsys.readouterr().out
    assert "ALTERED at row 2" in out


def test_cli_audit_list(db, db_path, store, capsys):
    assert main(["audit", "list", "--db", str(db_path), "--format", "csv", "--action", "assign"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "id,at,os_user,action,flag_id,member_id,what"
    assert len(out) == 3 and all(",clerk1,assign," in line and "assigned to maria" in line for line in out[1:])
    assert main(["audit", "list", "--db", str(db_path), "--member", "M0003", "--format", "json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert [r["action"] for r in rows] == ["correction"]
    assert rows[0]["what"] == "dob: 1992-07-30 -> 1992-07-31 (phone)"


def test_record_outside_a_transaction_commits(db, db_path, store):
    rid = record(db, "reveal_ssn", member_id=store["members"][0], detail={"where": "test"})
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT action FROM audit WHERE id = ?", [rid]).fetchone() == ("reveal_ssn",)
    raw.close()


def test_two_connections_keep_one_chain(db, db_path, store):
    from enrollreview.store import open_db

    other = open_db(db_path)
    for i in range(5):
        record(db, "note", detail={"i": i})
        record(other, "note", detail={"j": i})
    other.close()
    assert verify(db) is None
