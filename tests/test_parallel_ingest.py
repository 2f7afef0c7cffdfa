"""A file parsed in worker processes must give exactly what one process gives."""

from __future__ import annotations

import pytest

from enrollreview.ingest import import_file, plan_chunks
from enrollreview.store import open_db
from enrollreview.x12.reader import read_interchanges

from .test_ingest import make_834

MEMBER_VIEW = ("SELECT seq, member_id, last_name, policy_id, first_ordinal, last_ordinal, raw, segs "
               "FROM members ORDER BY seq")
FINDING_VIEW = ("SELECT f.ordinal, f.level, f.code, f.element, f.message, m.seq, t.seq FROM findings f "
                "LEFT JOIN members m ON m.id = f.member_id LEFT JOIN transactions t ON t.id = f.transaction_id "
                "ORDER BY f.ordinal, f.code")


def _import(tmp_path, path, workers, name):
    db = open_db(tmp_path / f"{name}.sqlite")
    res = import_file(db, path, workers=workers, run_rules=False)
    assert res.status == "imported", res.reason
    out = (db.execute(MEMBER_VIEW).fetchall(), db.execute(FINDING_VIEW).fetchall(),
           db.execute("SELECT seq, st_control, member_count, raw FROM transactions ORDER BY seq").fetchall())
    db.close()
    return out


@pytest.mark.parametrize("defect", ["clean", "repeated ST02 across chunks", "wrong GE01", "bad segment"])
def test_parallel_parse_equals_serial(tmp_path, write_file, defect):
    text = make_834(400)
    if defect == "repeated ST02 across chunks":
        text = text.replace("ST*834*0350*", "ST*834*0003*").replace("SE*18*0350~", "SE*18*0003~")
    elif defect == "wrong GE01":
        text = text.replace("GE*400*", "GE*399*")
    elif defect == "bad segment":
        text = text.replace("DMG*D8*19800101*F~", "DMG*D8*19800230*F~", 1)
    path = write_file(text)
    d = read_interchanges(path.read_bytes())
    assert len(plan_chunks(d.text, d.start, d.delims, str(path), 8)) == 8
    serial = _import(tmp_path, path, 1, "serial")
    parallel = _import(tmp_path, path, 2, "parallel")
    assert parallel == serial
    if defect != "clean":
        assert serial[1], "the defect must be found"


def test_parallel_parse_of_multi_group_and_multi_interchange_files(tmp_path, write_file):
    """Two GS per interchange (medical and dental) and two interchanges in one file."""
    from enrollreview.paths import demo_dir

    demo = sorted(p for p in demo_dir().iterdir() if p.suffix != ".md")
    text = demo[0].read_bytes().decode("latin-1")
    assert text.count("GS*") >= 2
    second = demo[1].read_bytes().decode("latin-1")
    path = write_file(text + second)
    serial = _import(tmp_path, path, 1, "serial")
    parallel = _import(tmp_path, path, 2, "parallel")
    assert parallel == serial
    assert serial[1] == [], "two clean interchanges back to back have no findings"
