"""The roster column-mapping step (pytest-qt, offscreen) and the background import + reconcile."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget

from enrollreview.reconcile import mapping as mp
from enrollreview.reconcile.roster import import_roster, inspect_roster
from enrollreview.store import open_db
from enrollreview.ui import roster_dialog as rd

from ..test_reconcile_support import factory, family, load, rows_for, write_roster

RENAME = {"Policy-Status": "Eff Ind", "Member-Last-Name": "Surname of member"}


@pytest.fixture
def roster(tmp_path):
    f = factory(71)
    groups = [family(f, ["spouse"]), family(f)]
    rows = rows_for(groups)
    rows[0]["SSN"] = "212345678"
    return groups, write_roster(tmp_path, rows, "state.csv", rename=RENAME)


def _dialog(qtbot, preview, db=None, **kw):
    dlg = rd.RosterMappingDialog(preview, db=db, senders=kw.pop("senders", ["CMSFFM"]), **kw)
    qtbot.addWidget(dlg)
    return dlg


def _pick(dlg, field, column):
    box = dlg.combo(field)
    box.setCurrentIndex(box.findText(column))  # what choosing in the drop-down does


def test_shows_the_guess_and_blocks_import_until_required_fields_are_mapped(qtbot, roster):
    _, path = roster
    dlg = _dialog(qtbot, inspect_roster(path))
    assert dlg.table.rowCount() == len(mp.FIELDS)
    assert dlg.combo("policy_id").currentText() == "Exchange-Assigned-Policy-ID"
    assert dlg.combo("aptc").currentText() == "Applied-APTC-Amount"
    assert dlg.combo("status").currentText() == rd.NOT_IN_FILE
    assert dlg.table.item(0, 0).text() == "Coverage year *"
    assert not dlg.import_button.isEnabled()
    assert "status" in dlg.status.text() and "last name" in dlg.status.text()
    _pick(dlg, "status", "Eff Ind")
    assert not dlg.import_button.isEnabled()
    _pick(dlg, "last_name", "Surname of member")
    assert dlg.import_button.isEnabled()
    assert dlg.status.text() == "All required fields have a column."
    # samples help the clerk check; SSNs are masked even there
    row = [f.name for f in mp.FIELDS].index("ssn")
    assert "***-**-5678" in dlg.table.item(row, 2).text() and "212345678" not in dlg.table.item(row, 2).text()
    # a field can also be unmapped again
    _pick(dlg, "status", rd.NOT_IN_FILE)
    assert not dlg.import_button.isEnabled()


def test_choice_and_saving_per_sender(qtbot, db, roster):
    _, path = roster
    dlg = _dialog(qtbot, inspect_roster(path), db=db)
    dlg.sender_box.setCurrentText("STATEHIX")
    _pick(dlg, "status", "Eff Ind")
    _pick(dlg, "last_name", "Surname of member")
    choice = dlg.choice()
    assert choice.sender == "STATEHIX" and choice.save_as == "STATEHIX"
    assert choice.mapping["status"] == "Eff Ind" and choice.mapping["policy_id"] == "Exchange-Assigned-Policy-ID"
    res = import_roster(db, path, mapping=choice.mapping, sender=choice.sender, save_as=choice.save_as)
    assert res.ok
    # next month's file from the same sender: the saved mapping is applied, nothing to fix
    nxt = path.with_name("state-feb.csv")
    nxt.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    dlg2 = _dialog(qtbot, inspect_roster(nxt), db=db, senders=mp.senders(db))
    assert not dlg2.import_button.isEnabled()
    dlg2.sender_box.setCurrentText("STATEHIX")
    assert dlg2.combo("status").currentText() == "Eff Ind"
    assert dlg2.import_button.isEnabled()
    assert "saved for STATEHIX" in dlg2.source_label.text()
    # unticking "remember" means no save
    dlg2.save_box.setChecked(False)
    assert dlg2.choice().save_as is None


def test_open_roster_dialog_imports_and_reconciles_in_the_background(qtbot, tmp_path, roster, monkeypatch):
    groups, path = roster
    db_path = tmp_path / "gui.sqlite"
    db = open_db(db_path)
    load(db, tmp_path, groups[:1])  # the second family's 834 never arrived
    window = QWidget()
    qtbot.addWidget(window)
    window.db, window.db_path = db, db_path
    refreshed = []
    window.refresh_all = lambda: refreshed.append(True)
    reports = []
    monkeypatch.setattr(rd, "show_report", lambda parent, title, text, ok=True: reports.append((ok, text)))

    def confirm(parent, dbx, preview):
        dlg = _dialog(qtbot, preview, db=dbx)
        _pick(dlg, "status", "Eff Ind")
        _pick(dlg, "last_name", "Surname of member")
        dlg.sender_box.setCurrentText("STATEHIX")
        return dlg.choice()

    monkeypatch.setattr(rd, "ask_mapping", confirm)
    runner = rd.open_roster_dialog(window, str(path))
    assert runner is not None
    with qtbot.waitSignal(runner.finished, timeout=30_000) as blocker:
        pass
    res, rec = blocker.args[0]
    assert res.ok and rec.missing_from_834 == 1
    assert refreshed == [True]
    ok, text = reports[0]
    assert ok and "Missing from 834: 1" in text
    n = db.execute("SELECT COUNT(*) FROM flags WHERE rule = 'MISS-01' AND member_id IS NULL").fetchone()[0]
    assert n == 1
    assert mp.load_mapping(db, "STATEHIX") is not None
    db.close()


def test_cancel_and_unreadable_files(qtbot, db, tmp_path, roster, monkeypatch):
    _, path = roster
    window = QWidget()
    qtbot.addWidget(window)
    window.db = db
    reports = []
    monkeypatch.setattr(rd, "show_report", lambda parent, title, text, ok=True: reports.append((ok, text)))
    monkeypatch.setattr(rd, "ask_mapping", lambda parent, dbx, preview: None)
    assert rd.open_roster_dialog(window, str(path)) is None
    assert db.execute("SELECT COUNT(*) FROM rosters").fetchone()[0] == 0
    monkeypatch.setattr(rd, "ask_roster_file", lambda parent, folder="": "")
    assert rd.open_roster_dialog(window) is None
    bad = tmp_path / "empty.csv"
    bad.write_text("", encoding="utf-8")
    assert rd.open_roster_dialog(window, str(bad)) is None
    assert reports and reports[-1][0] is False and "cannot be read" in reports[-1][1]


def test_roster_only_person_is_shown_from_the_roster_row(qtbot, db, tmp_path, roster, monkeypatch):
    from enrollreview.reconcile.reconcile import reconcile

    groups, path = roster
    load(db, tmp_path, groups[:1])
    m = dict(mp.guess_mapping(inspect_roster(path).headers), status="Eff Ind", last_name="Surname of member")
    res = import_roster(db, path, mapping=m)
    reconcile(db, res.roster_id)
    miss01 = db.execute("SELECT id FROM flags WHERE rule = 'MISS-01' ORDER BY id").fetchone()[0]
    other = db.execute("SELECT id FROM flags WHERE member_id IS NOT NULL").fetchone()
    window = QWidget()
    qtbot.addWidget(window)
    window.db = db
    shown = []
    monkeypatch.setattr(rd, "show_roster_row", lambda parent, detail: shown.append(detail))
    assert rd.open_roster_row(window, miss01)
    d = shown[0]
    dlg = rd.RosterRowDialog(d)
    qtbot.addWidget(dlg)
    assert dlg.note.text().startswith("No 834 was received for this person")
    values = {dlg.fields.item(i, 0).text(): dlg.fields.item(i, 1).text() for i in range(dlg.fields.rowCount())}
    assert values["Exchange member id"] == groups[1].members[0].member_id
    cols = [dlg.original.item(i, 0).text() for i in range(dlg.original.rowCount())]
    assert "Eff Ind" in cols and "Surname of member" in cols
    if other:  # a flag on a member row is not a roster-only person
        assert not rd.open_roster_row(window, other[0])
