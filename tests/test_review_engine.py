"""With the real rules engine (issue 3): statuses and corrections survive re-running the rules and newer
files, and a flag a newer file resolves is marked "resolved by file NAME" in the audit trail."""

from __future__ import annotations

import csv
import io

import pytest

from enrollreview.cli import main
from enrollreview.export import Filters, export
from enrollreview.review import workflow as wf
from enrollreview.review.audit import list_rows, verify
from enrollreview.review.history import member_history
from tests.test_review_support import ALICE, BOB, import_text, make_834, member_row

engine = pytest.importorskip("enrollreview.rules.engine")


def _orphan_flag(db):
    rows = db.execute("SELECT id FROM flags WHERE rule = 'FAM-05'").fetchall()
    assert len(rows) == 1, db.execute("SELECT rule, message FROM flags").fetchall()
    return rows[0][0]


def test_review_state_survives_reruns_and_newer_files(db, db_path, tmp_path, capsys):
    # a dependant sent without its subscriber: FAM-05 (orphan dependant)
    f1 = import_text(db, tmp_path, make_834([BOB], control=1), "dependant-only.834", rules=True)
    fid = _orphan_flag(db)
    bob1 = member_row(db, "M0002", f1)
    wf.review(db, [fid], status="needs-call-back", assign="maria", due="2025-03-01", reason="awaiting-documents",
              note="Asked the exchange for the subscriber")
    wf.record_correction(db, flag_id=fid, field="subscriber_id", corrected_value="M0001",
                         source="exchange ticket 1234")
    before = db.execute("SELECT status, assigned_to, due_date, reason_code FROM flags WHERE id = ?", [fid]).fetchone()

    # re-running every rule changes nothing the clerk recorded
    with db.atomic():
        engine.run_all(db)
    assert db.execute("SELECT status, assigned_to, due_date, reason_code FROM flags WHERE id = ?",
                      [fid]).fetchone() == before
    assert _orphan_flag(db) == fid

    # the same file again is refused; a newer file with the subscriber resolves the flag
    from enrollreview.ingest import import_file

    assert import_file(db, tmp_path / "dependant-only.834").status == "duplicate"
    f2 = import_text(db, tmp_path, make_834([ALICE, BOB], control=2, bgn_ref="WITHSUB"), "with-subscriber.834",
                     rules=True)
    row = db.execute("SELECT status, assigned_to, resolved_at, resolved_by_file_id FROM flags WHERE id = ?",
                     [fid]).fetchone()
    assert row[:2] == ("needs-call-back", "maria") and row[2] and row[3] == f2
    resolved = list_rows(db, action="resolved_by_file")
    assert len(resolved) == 1
    assert resolved[0]["flag_id"] == fid and resolved[0]["member_id"] == bob1
    assert resolved[0]["detail"] == {"file": "with-subscriber.834", "file_id": f2, "rule": "FAM-05"}
    assert wf.sync_resolutions(db) == 0  # the engine announced it; nothing to catch up

    # the newer copy of Bob finds the older correction and note; his status no longer needs a call
    bob2 = member_row(db, "M0002", f2)
    h = member_history(db, bob2)
    assert h["rows"] == [bob1, bob2]
    assert [c["corrected_value"] for c in h["corrections"]] == ["M0001"]
    assert [n["text"] for n in h["notes"]] == ["Asked the exchange for the subscriber"]
    assert h["status"] != "needs-call-back"
    assert main(["history", "M0002", "--db", str(db_path)]) == 0
    assert "resolved by file with-subscriber.834" in capsys.readouterr().out

    # resolved flags leave the call-back list unless asked for
    out = tmp_path / "cb.csv"
    export(db, "callbacks", "csv", out)
    assert len(list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))) == 1
    export(db, "callbacks", "csv", out, filters=Filters(include_resolved=True))
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r[7] for r in rows[1:]] == ["M0002"]
    assert verify(db) is None
