"""Every model passes qtmodeltester, and the queue holds exactly the store's flags."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from enrollreview import ui_queries as uq
from enrollreview.ui.models import (
    FamilyModel,
    FilesModel,
    KeyRole,
    MemberFlagsModel,
    QueueModel,
    RateModel,
    RowRole,
    SearchModel,
    SegmentModel,
    SheetModel,
    SpansRole,
    TimelineModel,
)

from .conftest import open_flags


def test_queue_model_flags_mode(qtmodeltester, flagged_store):
    db = flagged_store["db"]
    m = QueueModel(db)
    m.reload()
    qtmodeltester.check(m)
    m.fetch_all()
    assert m.rowCount() == m.total() == open_flags(db)
    keys = {m.data(m.index(r, 0), KeyRole) for r in range(m.rowCount())}
    assert keys == {r[0] for r in db.execute("SELECT id FROM flags")}
    # Errors first by default, and every severity cell names the severity in words.
    words = [m.data(m.index(r, 0)) for r in range(m.rowCount())]
    order = {"Error": 0, "Warning": 1, "Info": 2}
    assert words == sorted(words, key=order.__getitem__)
    assert m.data(m.index(0, 0), Qt.ItemDataRole.DecorationRole) is not None


def test_queue_model_members_mode_and_filters(qtmodeltester, flagged_store):
    db = flagged_store["db"]
    m = QueueModel(db)
    m.set_filter(uq.QueueFilter(mode="members"))
    qtmodeltester.check(m)
    m.fetch_all()
    flagged_members = db.execute("SELECT COUNT(DISTINCT member_id) FROM flags WHERE member_id IS NOT NULL").fetchone()[0]
    assert m.rowCount() == flagged_members
    sub_row = next(r for r in range(m.rowCount()) if m.data(m.index(r, 0), KeyRole) == flagged_store["sub"])
    row = m.data(m.index(sub_row, 0), RowRole)
    assert row["flags"] == db.execute("SELECT COUNT(*) FROM flags WHERE member_id = ?", [flagged_store["sub"]]).fetchone()[0]

    m.set_filter(uq.QueueFilter(category="family"))
    m.fetch_all()
    assert m.rowCount() == db.execute("SELECT COUNT(*) FROM flags WHERE category = 'family'").fetchone()[0]
    m.set_filter(uq.QueueFilter(severity="warning", text="phone"))
    m.fetch_all()
    assert [m.data(m.index(r, 1)) for r in range(m.rowCount())] == ["TEST-PER"]
    m.set_filter(uq.QueueFilter(file_id=flagged_store["files"][1], text="TEST-"))
    assert m.total() == 0


def test_queue_model_sorts_in_sql(flagged_store):
    m = QueueModel(flagged_store["db"])
    m.reload()
    rule_col = next(i for i, c in enumerate(m.columns) if c.key == "rule")
    m.sort(rule_col, Qt.SortOrder.DescendingOrder)
    m.fetch_all()
    rules = [m.data(m.index(r, rule_col)) for r in range(m.rowCount())]
    assert rules == sorted(rules, reverse=True)


def test_queue_model_fetches_lazily(db, gen_file):
    from enrollreview.ingest import import_file

    from .conftest import add_flag

    r = import_file(db, gen_file(n=40, seed=3))
    rows = [x[0] for x in db.execute("SELECT id FROM members WHERE file_id = ?", [r.file_id])]
    existing = db.execute("SELECT COUNT(*) FROM flags").fetchone()[0]
    for mid in rows[:70]:
        for k in range(5):
            add_flag(db, mid, f"T-{k}", "data_quality", "info", [("INS", None, "INS0" + str(k + 1))], "x")
    m = QueueModel(db)
    m.BATCH = 100
    m.reload()
    assert m.rowCount() == 100 and m.canFetchMore(QModelIndex())
    m.fetchMore(QModelIndex())
    assert m.rowCount() == 200
    m.fetch_all()
    assert m.rowCount() == m.total() == existing + 350
    assert not m.canFetchMore(QModelIndex())


def test_small_models(qtmodeltester, flagged_store):
    db = flagged_store["db"]
    files = FilesModel()
    files.set_rows(uq.files_overview(db))
    qtmodeltester.check(files)
    assert files.rowCount() == 2
    rate = RateModel()
    rate.set_rows([{"label": f["name"], **f} for f in uq.files_overview(db)])
    qtmodeltester.check(rate)

    search = SearchModel()
    rows, _ = uq.search(db, db.execute("SELECT last_name FROM members LIMIT 1").fetchone()[0])
    search.set_rows(rows)
    qtmodeltester.check(search)
    assert search.rowCount() >= 1

    m = uq.get_member(db, flagged_store["sub"])
    flags = MemberFlagsModel()
    from enrollreview import queries

    flags.set_rows(queries.member_flags(db, m["id"]))
    qtmodeltester.check(flags)
    fam = FamilyModel()
    fam.set_rows(uq.family(db, m))
    qtmodeltester.check(fam)
    assert fam.rowCount() == 3      # subscriber, spouse, child
    tl = TimelineModel()
    tl.set_rows(uq.timeline(db, m))
    qtmodeltester.check(tl)
    assert tl.rowCount() >= 1


def test_sheet_and_segment_models(qtmodeltester, flagged_store):
    db = flagged_store["db"]
    m = uq.get_member(db, flagged_store["spouse"])
    from enrollreview import queries

    flags = queries.member_flags(db, m["id"])
    sheet = SheetModel()
    sheet.set_fields(uq.member_sheet(db, m))
    sheet.set_flags(flags[0], flags[1:])
    qtmodeltester.check(sheet)
    seg = SegmentModel()
    seg.set_lines(uq.member_segments(db, m), *uq.delimiters(m))
    seg.set_flag(flags[0], flags[1:])
    qtmodeltester.check(seg)
    assert any(seg.data(seg.index(r, SegmentModel.TEXT), SpansRole) for r in range(seg.rowCount()))
