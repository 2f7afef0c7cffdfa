"""The member view: the selected flag's segments and elements are exactly what is highlighted."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from enrollreview import queries
from enrollreview import ui_queries as uq
from enrollreview.phi import mask_ssn
from enrollreview.ui.models import SegmentModel


def _expected(db, flag_id: int, lines: list[uq.SegmentLine]) -> dict[int, list[tuple[int, int]]]:
    """Independent of the model: find each named segment's line and cut the element out of it."""
    segs = json.loads(db.execute("SELECT segments FROM flags WHERE id = ?", [flag_id]).fetchone()[0])
    out: dict[int, list[tuple[int, int]]] = {}
    for ref in segs:
        row = next(i for i, s in enumerate(lines) if s.ordinal == ref["ordinal"])
        text = lines[row].text
        el = ref["element"]
        if not el:
            span = (0, len(text))
        else:
            pos = int(el[-2:])
            parts = text.split("*")
            start = len("*".join(parts[:pos])) + 1
            span = (start, start + len(parts[pos]))
        out.setdefault(row, []).append(span)
    return out


def test_selecting_a_flag_highlights_exactly_its_segments(flagged_store, window, qtbot):
    db = flagged_store["db"]
    dob_flag = flagged_store["flags"]["dob"]
    assert window.open_member(flagged_store["spouse"], dob_flag)
    mv = window.member_view
    seg = mv.raw.seg_model
    hl = seg.highlights()
    assert hl == _expected(db, dob_flag, seg.lines)
    # By hand: DMG*D8*CCYYMMDD*F -> DMG02 is characters 7..15; INS*N*01*... -> INS02 is 6..8.
    dmg_row = next(r for r, s in enumerate(seg.lines) if s.text.startswith("DMG*"))
    ins_row = next(r for r, s in enumerate(seg.lines) if s.text.startswith("INS*"))
    assert hl == {ins_row: [(6, 8)], dmg_row: [(7, 15)]}
    assert seg.lines[dmg_row].text[7:15] == db.execute(
        "SELECT replace(dob, '-', '') FROM members WHERE id = ?", [flagged_store["spouse"]]).fetchone()[0]
    # The gutter says it in words and the other rows carry nothing.
    assert seg.data(seg.index(dmg_row, SegmentModel.MARK)) == "Error"
    assert seg.data(seg.index(dmg_row, SegmentModel.MARK), Qt.ItemDataRole.DecorationRole) is not None
    assert all(seg.data(seg.index(r, SegmentModel.MARK)) == "" for r in range(seg.rowCount()) if r not in hl)
    # The parsed side marks the date of birth and the role, nothing else.
    assert mv.sheet.sheet_model.marked_labels() == ["Role", "Date of birth"]
    # The panel on top says why and what to do.
    assert mv.flag_panel.reason.text() == "Spouse is 10 years old"
    assert "Call the subscriber" in mv.flag_panel.next_step.text()
    assert "Error" in mv.flag_panel.headline.text()


def test_choosing_another_flag_moves_the_highlight(flagged_store, window, qtbot):
    db = flagged_store["db"]
    f = flagged_store["flags"]
    window.open_member(flagged_store["sub"], f["phone"])
    mv = window.member_view
    seg = mv.raw.seg_model
    per_row = next(r for r, s in enumerate(seg.lines) if s.text.startswith("PER*"))
    assert seg.highlights() == {per_row: [uq.element_span(seg.lines[per_row].text, "PER04")]}
    assert seg.severity == "warning"
    assert mv.sheet.sheet_model.marked_labels() == ["Phones"]
    # Choose the NM1 flag in the member's flag list: whole segment highlighted, info colour.
    row = mv.flags_model.row_of_flag(f["name"])
    mv.flags_view.select_row(row)
    nm1_row = next(r for r, s in enumerate(seg.lines) if s.text.startswith("NM1*IL"))
    assert seg.highlights() == {nm1_row: [(0, len(seg.lines[nm1_row].text))]}
    assert seg.severity == "info"
    assert mv.flag is not None and mv.flag["id"] == f["name"]
    assert "Name" in mv.sheet.sheet_model.marked_labels()
    # The other flag's segment keeps a gutter icon (no highlight).
    assert seg.data(seg.index(per_row, SegmentModel.MARK), Qt.ItemDataRole.DecorationRole) is not None
    assert per_row not in seg.highlights()
    # And the highlighted row is scrolled into view.
    rect = mv.raw.visualRect(seg.index(nm1_row, SegmentModel.TEXT))
    assert mv.raw.viewport().rect().intersects(rect)
    assert db.execute("SELECT member_id FROM flags WHERE id = ?", [f["name"]]).fetchone()[0] == flagged_store["sub"]


def test_every_flag_of_the_store_highlights_what_it_names(flagged_store, window):
    """For every flag on a member (the rules engine's too, when present)."""
    db = flagged_store["db"]
    mv = window.member_view
    for fid, mid in db.execute("SELECT id, member_id FROM flags WHERE member_id IS NOT NULL ORDER BY id").fetchall():
        assert window.open_member(mid, fid)
        assert mv.flag["id"] == fid
        lines = mv.raw.seg_model.lines
        exp = _expected(db, fid, lines)
        got = mv.raw.seg_model.highlights()
        assert {r: sorted(v) for r, v in got.items()} == {r: sorted(set(v)) for r, v in exp.items()}, fid


def test_ssn_is_masked_in_both_halves(flagged_store, window):
    db = flagged_store["db"]
    ssn_row = db.execute("SELECT id, ssn FROM members WHERE ssn IS NOT NULL AND ssn <> '' LIMIT 1").fetchone()
    window.open_member(ssn_row[0])
    mv = window.member_view
    texts = [s.text for s in mv.raw.seg_model.lines]
    assert not any(ssn_row[1] in t for t in texts)
    assert any(ssn_row[1][-4:] in t for t in texts if t.startswith("NM1*IL"))
    sheet = {f.label: f.value for f in mv.sheet.sheet_model.items if not isinstance(f, str)}
    assert sheet["SSN"] == mask_ssn(ssn_row[1])


def test_family_duplicates_and_timeline_tabs(flagged_store, window, qtbot):
    f = flagged_store["flags"]
    window.open_member(flagged_store["sub"], f["name"])
    mv = window.member_view
    assert mv.tabs.tabText(1) == "Family (3)"
    mv.tabs.setCurrentIndex(1)
    assert mv.family_model.rowCount() == 3
    assert {r["ins02"] for r in mv.family_model.rows} == {"18", "01", "19"}
    # Duplicates: the NM1 flag names member 2 as the other copy; differing elements are marked.
    assert mv.tabs.tabText(2) == "Duplicates (1)"
    mv.tabs.setCurrentIndex(2)
    left, right = mv.dups.left.seg_model, mv.dups.right.seg_model
    assert left.rowCount() and right.rowCount()
    assert left.severity == "diff" and left.highlights()
    nm1 = next(r for r, s in enumerate(left.lines) if s.text.startswith("NM1*IL"))
    assert nm1 in left.highlights()   # a different person: the name differs
    # Timeline: oldest first, this row marked; selecting it shows it raw.
    mv.tabs.setCurrentIndex(3)
    assert mv.timeline_model.rowCount() >= 1
    assert any(r["this"] for r in mv.timeline_model.rows)
    assert mv.timeline_raw.seg_model.rowCount() > 0
    # Family: Enter on another member opens it.
    mv.tabs.setCurrentIndex(1)
    spouse_row = next(i for i, r in enumerate(mv.family_model.rows) if r["id"] == flagged_store["spouse"])
    mv.family_view.select_row(spouse_row)
    qtbot.keyClick(mv.family_view, Qt.Key.Key_Return)
    assert mv.member["id"] == flagged_store["spouse"]


def test_member_without_flags(db, gen_file, window):
    from enrollreview.ingest import import_file

    r = import_file(db, gen_file(n=2, seed=5))
    mid = db.execute("SELECT id FROM members WHERE file_id = ? AND id NOT IN "
                     "(SELECT member_id FROM flags WHERE member_id IS NOT NULL) LIMIT 1", [r.file_id]).fetchone()
    if mid is None:
        return
    window.open_member(mid[0])
    mv = window.member_view
    assert mv.flag is None
    assert mv.raw.seg_model.highlights() == {}
    assert "No open flags" in mv.flag_panel.headline.text()
    assert not queries.member_flags(db, mid[0])


def test_history_panel_slot(flagged_store, window):
    from PySide6.QtWidgets import QLabel

    class Panel(QLabel):
        def __init__(self):
            super().__init__("history")
            self.calls = []

        def show_member(self, member_row, flag_id):
            self.calls.append((member_row, flag_id))

    p = Panel()
    window.member_view.set_history_panel(p)
    window.open_member(flagged_store["sub"], flagged_store["flags"]["phone"])
    assert p.calls[-1] == (flagged_store["sub"], flagged_store["flags"]["phone"])
    assert window.member_view.history_slot.isVisible()
