"""The roster and reconcile commands, as a supervisor scripts them."""

from __future__ import annotations

import csv
import json

from enrollreview.cli import main
from enrollreview.store import open_db

from .test_reconcile_support import factory, family, load, rows_for, write_roster


def _store(tmp_path):
    path = tmp_path / "s.sqlite"
    db = open_db(path)
    f = factory(61)
    known, lost = family(f, ["child"]), family(f)
    load(db, tmp_path, [known])
    db.close()
    rows = rows_for([known, lost], status="Initial")
    rows[0]["Applied-APTC-Amount"] = "10.00"
    rows[1]["DOB"] = "not a date"
    return str(path), write_roster(tmp_path, rows), (known, lost)


def test_import_prints_mapping_and_row_report(tmp_path, capsys):
    db, roster, _ = _store(tmp_path)
    assert main(["roster", "import", str(roster), "--sender", "CMSFFM", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Column mapping (guessed from the column names):" in out
    assert "Exchange policy id" in out and "Exchange-Assigned-Policy-ID" in out
    assert "row 3: date of birth 'not a date' is not a date (column DOB)" in out
    assert "roster 1 imported: 2 of 3 rows loaded" in out
    assert "Mapping saved as 'CMSFFM'" in out
    # the same file again is refused, exit status 1
    assert main(["roster", "import", str(roster), "--db", db]) == 1
    assert "already imported" in capsys.readouterr().err


def test_import_refuses_missing_columns_and_accepts_a_hand_mapping(tmp_path, capsys):
    db, roster, _ = _store(tmp_path)
    text = roster.read_text(encoding="utf-8").replace("Policy-Status", "Eff Ind", 1)
    odd = tmp_path / "odd.csv"
    odd.write_text(text, encoding="utf-8")
    assert main(["roster", "import", str(odd), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "nothing was changed" in err and "required columns are missing: status" in err
    assert main(["roster", "import", str(odd), "--map", "status=Eff Ind", "--sender", "X", "--db", db]) == 0
    assert "Eff Ind" in capsys.readouterr().out
    assert main(["roster", "mappings", "--format", "json", "--db", db]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved[0]["name"] == "X" and saved[0]["mapping"]["status"] == "Eff Ind"


def test_reconcile_summary_list_row_and_discrepancies(tmp_path, capsys):
    db, roster, (known, lost) = _store(tmp_path)
    assert main(["roster", "import", str(roster), "--db", db]) == 0
    capsys.readouterr()
    assert main(["reconcile", "--as-of", "2026-01-10", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "missing from 834" in out and "APTC" in out
    assert main(["reconcile", "--roster", "1", "--format", "json", "--as-of", "2026-01-10", "--db", db]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["matched"], s["missing_from_834"], s["mismatched"], s["not_checked"]) == (1, 1, 1, 1)
    assert main(["roster", "list", "--format", "json", "--db", db]) == 0
    (r,) = json.loads(capsys.readouterr().out)
    assert r["loaded"] == 2 and r["rejected"] == 1 and r["reconciled"]
    assert main(["roster", "errors", "1", "--db", db]) == 0
    assert "row 3: date of birth" in capsys.readouterr().out
    con = open_db(db)
    row_id = con.execute("SELECT roster_row_id FROM flags WHERE rule = 'MISS-01'").fetchone()[0]
    con.close()
    assert main(["roster", "row", str(row_id), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "No 834 was received for this person" in out and lost.members[0].member_id in out
    out_csv = tmp_path / "disc.csv"
    assert main(["reconcile", "discrepancies", "--roster", "1", "--out", str(out_csv), "--db", db]) == 0
    assert "2 discrepancies written" in capsys.readouterr().out
    with open(out_csv, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["Discrepancy Reason Code"] for r in rows} == {"MISSING-ISSUER", "FIELD-MISMATCH"}
    assert main(["reconcile", "summary", "--format", "csv", "--db", db]) == 0
    assert "missing_from_834" in capsys.readouterr().out


def test_reconcile_errors_are_one_line(tmp_path, capsys):
    db = str(tmp_path / "empty.sqlite")
    assert main(["reconcile", "--db", db]) == 2
    assert "no roster has been imported yet" in capsys.readouterr().err
    assert main(["reconcile", "discrepancies", "--roster", "9", "--out", str(tmp_path / "x.csv"), "--db", db]) == 2
    assert "there is no roster 9" in capsys.readouterr().err
    assert main(["roster", "import", str(tmp_path / "nope.csv"), "--db", db]) == 2


def test_db_option_before_or_after_the_command(tmp_path, capsys):
    db, roster, _ = _store(tmp_path)
    assert main(["--db", db, "roster", "import", str(roster)]) == 0
    assert main(["roster", "--db", db, "list", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("["):])[0]["name"] == "roster.csv"
    assert main(["--db", db, "files", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "imported"
