"""The history's rows of a file being imported come from the parser (parse.history_row), not from the
store: they must be exactly what the history's SQL would read back (tests/rules/conftest.py compares them
on every import of the rule tests; these add the corpus and a file parsed in worker processes)."""

from __future__ import annotations

from enrollreview.ingest import PARALLEL_MIN_BYTES, import_file
from enrollreview.store import open_db
from enrollreview.x12 import generator as gen
from enrollreview.x12.reader import UnreadableFile, read_interchanges

from ..conftest import corpus_files
from .conftest import CHECKED


def test_corpus_files(tmp_path, corpus):
    db = open_db(tmp_path / "c.sqlite")
    imported = 0
    for path in corpus_files():
        try:
            read_interchanges(path.read_bytes())
        except UnreadableFile:
            continue
        before = len(CHECKED)
        res = import_file(db, path)
        if res.status == "imported":
            imported += 1
            assert len(CHECKED) == before + 1, path.name
    db.close()
    assert imported >= 30


def test_file_parsed_in_worker_processes(tmp_path):
    """Ids of later chunks are offset in the importing process: the rows must carry store ids."""
    path = tmp_path / "big.834"
    gen.write_benchmark_file(path, members=9000, style="employer", seed=5)
    assert path.stat().st_size > PARALLEL_MIN_BYTES
    db = open_db(tmp_path / "b.sqlite")
    before = len(CHECKED)
    assert import_file(db, path).status == "imported"
    assert len(CHECKED) == before + 1
    db.close()


def test_coverage_dates_and_events_of_every_shape(tmp_path):
    """Begin and end from several coverages (some without an end), a date that is not a real one, an end
    only on the member, cancellations and terminations: the parser's rows agree with the SQL's."""
    from ..test_ingest import make_834

    text = make_834(7)
    pol = "REF*1L*POL{:07d}~\n"
    edits = {
        1: pol + "HD*021**DEN~\nDTP*348*D8*20260201~\nDTP*349*D8*20261231~\n",     # one of two coverages ends
        2: pol + "HD*021**DEN~\nDTP*348*D8*20260301~\nDTP*349*D8*20261130~\n",     # (made to end below too)
        3: pol,
        5: pol + "HD*021**VIS~\nDTP*348*D8*20250601~\nDTP*349*D8*20270101~\n",       # the later end counts
    }
    for n, new in edits.items():
        text = text.replace(pol.format(n), new.format(n))
    text = text.replace("REF*1L*POL0000002~\n", "DTP*349*D8*20261231~\nREF*1L*POL0000002~\n")
    text = text.replace("REF*1L*POL0000005~\n", "DTP*349*D8*20261231~\nREF*1L*POL0000005~\n")   # both end
    text = text.replace("INS*Y*18*021*EC*A***AC~\nREF*0F*SUB0000003~", "INS*Y*18*024*14*A***AC~\nREF*0F*SUB0000003~")
    text = text.replace("REF*1L*POL0000003~\n", "DTP*349*D8*20251231~\nREF*1L*POL0000003~\n")   # a cancellation
    text = text.replace("INS*Y*18*021*EC*A***AC~\nREF*0F*SUB0000004~", "INS*Y*18*024*07*A***AC~\nREF*0F*SUB0000004~")
    text = text.replace("DTP*356*D8*20260101~\nNM1*IL*1*LAST4", "DTP*357*D8*20260630~\nNM1*IL*1*LAST4")
    text = text.replace("INS*Y*18*021*EC*A***AC~\nREF*0F*SUB0000006~", "INS*Y*18*025*41*A***AC~\nREF*0F*SUB0000006~")
    text = text.replace("REF*1L*POL0000006~\n", "DTP*349*D8*20260230~\nREF*1L*POL0000006~\n")   # not a real date
    text = text.replace("INS*Y*18*021*EC*A***AC~\nREF*0F*SUB0000007~", "INS*Y*18*024*14*A***AC~\nREF*0F*SUB0000007~")
    text = text.replace("DTP*348*D8*20260101~\nREF*CE*12345MD0010001~\nREF*1L*POL0000007",
                        "REF*CE*12345MD0010001~\nREF*1L*POL0000007")   # a termination without any date
    path = tmp_path / "shapes.834"
    path.write_text(text, encoding="latin-1")
    db = open_db(tmp_path / "s.sqlite")
    before = len(CHECKED)
    assert import_file(db, path).status == "imported"
    assert len(CHECKED) == before + 1
    events = [r[0] for r in db.execute("SELECT event FROM member_facts ORDER BY id")]
    assert events == ["enrolled", "enrolled", "cancelled", "terminated", "enrolled", "reinstated", "ended"]
    ends = [r[0] for r in db.execute("SELECT eff_end FROM member_facts ORDER BY id")]
    assert ends == [None, "2026-12-31", "2025-12-31", "2026-06-30", "2027-01-01", None, None]
    db.close()
