"""The review, undo, history and export commands, driven through enrollreview.cli.main."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import pytest

from enrollreview.cli import main
from enrollreview.review.audit import list_rows
from tests.test_review_support import standard_store


@pytest.fixture
def store(db, tmp_path):
    return standard_store(db, tmp_path)


def run(db_path, *argv):
    return main([*argv, "--db", str(db_path)])


def _flag(db, fid):
    cur = db.execute("SELECT status, assigned_to, due_date, reason_code FROM flags WHERE id = ?", [fid])
    return cur.fetchone()


def test_review_command(db, db_path, store, capsys):
    fa, fb, _ = store["flags"]
    assert run(db_path, "review", str(fa), f"#{fb}", "--status", "needs-call-back", "--assign", "maria",
               "--due", "2025-03-01", "--reason", "exchange-data-error", "--note", "voicemail") == 0
    out = capsys.readouterr().out
    assert out.startswith("2 of 2 flags changed; 2 notes added (batch ")
    assert _flag(db, fa) == ("needs-call-back", "maria", "2025-03-01", "exchange-data-error")
    assert _flag(db, fb) == ("needs-call-back", "maria", "2025-03-01", "exchange-data-error")
    # --assign with no name means the OS account
    from enrollreview.review.audit import os_user

    assert run(db_path, "review", str(fa), "--assign") == 0
    assert _flag(db, fa)[1] == os_user()
    assert run(db_path, "review", str(fa), "--unassign", "--due", "none", "--reason", "none") == 0
    assert _flag(db, fa) == ("needs-call-back", None, None, None)


def test_review_errors_are_one_line(db, db_path, store, capsys):
    fa = store["flags"][0]
    assert run(db_path, "review", str(fa), "--status", "done") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown status 'done'" in err
    assert run(db_path, "review", "4711", "--status", "in-review") == 2
    assert "no flag with id 4711" in capsys.readouterr().err
    assert run(db_path, "review", str(fa), "--status", "corrected") == 0
    assert run(db_path, "review", str(fa), "--status", "needs-call-back") == 2
    assert "cannot become needs-call-back" in capsys.readouterr().err
    assert run(db_path, "review", str(fa)) == 2
    assert "nothing to do" in capsys.readouterr().err
    assert run(db_path, "review", str(fa), "--correct", "dob", "1980-01-01") == 2
    assert "--correct needs --source" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(db_path, "review", "abc", "--status", "new")


def test_review_with_a_correction_is_one_transaction(db, db_path, store, capsys):
    fa = store["flags"][0]
    assert run(db_path, "review", str(fa), "--status", "corrected", "--correct", "dob", "1980-02-15",
               "--source", "confirmed by phone with the member") == 0
    assert "1 correction recorded" in capsys.readouterr().out
    row = db.execute("SELECT field, value_834, corrected_value, source FROM corrections").fetchone()
    assert row == ("dob", "1980-02-14", "1980-02-15", "confirmed by phone with the member")
    # a failing status rolls back the correction too
    assert run(db_path, "review", str(fa), "--status", "needs-call-back", "--correct", "dob", "1980-02-16",
               "--source", "x") == 2
    assert db.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 1


def test_undo_command(db, db_path, store, capsys):
    fa, fb, fc = store["flags"]
    assert run(db_path, "review", str(fa), str(fb), str(fc), "--status", "in-review") == 0
    capsys.readouterr()
    assert run(db_path, "undo") == 0
    assert "3 flags restored" in capsys.readouterr().out
    assert {_flag(db, f)[0] for f in (fa, fb, fc)} == {"new"}
    assert run(db_path, "undo") == 2
    assert "nothing to undo" in capsys.readouterr().err


def test_history_command(db, db_path, store, capsys):
    fa = store["flags"][0]
    run(db_path, "review", str(fa), "--status", "needs-call-back", "--note", "asked for a copy of the card")
    run(db_path, "review", str(fa), "--correct", "ssn", "123456780", "--source", "card copy")
    capsys.readouterr()
    assert run(db_path, "history", "M0001") == 0
    out = capsys.readouterr().out
    assert "status: Needs call-back" in out
    assert "DQ-05" in out and "asked for a copy of the card" in out
    assert "SSN (NM109): ***-**-6789 -> ***-**-6780 (card copy)" in out
    assert "123456780" not in out
    assert run(db_path, "history", str(store["members"][0]), "--format", "json", "--show-ssn") == 0
    data = json.loads(capsys.readouterr().out)[0]
    assert data["corrections"][0]["corrected_value"] == "123456780"
    assert data["flags"][0]["status"] == "needs-call-back"
    assert list_rows(db, action="reveal_ssn")[0]["detail"] == {"where": "cli history"}
    assert run(db_path, "history", "NOBODY") == 2


def test_export_command(db, db_path, store, tmp_path, capsys):
    fa, fb, fc = store["flags"]
    run(db_path, "review", str(fa), str(fc), "--status", "needs-call-back", "--assign", "maria")
    run(db_path, "review", str(fb), "--status", "needs-call-back", "--assign", "joe")
    capsys.readouterr()
    out = tmp_path / "cb.csv"
    assert run(db_path, "export", "callbacks", "--out", str(out), "--clerk", "maria", "--severity", "error",
               "--file", "quintero.834") == 0
    assert "1 row written" in capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r[7] for r in rows[1:]] == ["M0001"]
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    x = tmp_path / "sum.xlsx"
    assert run(db_path, "export", "summary", "--format", "xlsx", "--out", str(x), "--category", "family") == 0
    detail = list_rows(db, action="export")[0]["detail"]
    assert detail["filters"] == {"categories": ["family"]} and detail["format"] == "xlsx"
    assert run(db_path, "export", "summary", "--out", str(tmp_path / "s.pdf")) == 2
    assert "call-back list only" in capsys.readouterr().err
    assert run(db_path, "export", "summary", "--out", str(tmp_path / "s.txt")) == 2
    assert run(db_path, "export", "callbacks", "--out", str(out), "--file", "nope.834") == 2
    assert run(db_path, "export", "callbacks", "--out", str(out), "--from", "someday") == 2
    assert run(db_path, "export", "callbacks", "--out", str(out), "--status", "later") == 2
    err = capsys.readouterr().err
    assert "no file named 'nope.834'" in err and "cannot read the date" in err and "unknown status" in err
