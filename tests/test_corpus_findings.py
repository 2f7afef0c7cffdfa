"""TR3 findings stored by an import agree with pyx12, file by file, on the shared corpus.

EXPECTED.md: every segment pyx12 flags is flagged; nothing on files pyx12 passes. Files pyx12 cannot
read at all (an ISA that lost its padding) are read leniently with an envelope finding instead.
"""

from __future__ import annotations

import pytest

from enrollreview.ingest import import_file
from enrollreview.x12.pyx12_ref import run_pyx12

from .conftest import corpus_files
from .test_ingest import REJECT

# Files whose envelope our reader repairs where pyx12 gives up or mis-reads; checked separately below.
LENIENT = {"x12-types__parse_834_4.txt", "impendjcs__data__valid-834.edi"}


@pytest.mark.parametrize("path", [p for p in corpus_files() if p.name not in REJECT.keys() | LENIENT], ids=lambda p: p.name[:60])
def test_stored_findings_match_pyx12(db, path):
    ref = run_pyx12(path.read_bytes())
    assert not ref.crashed, ref.crashed
    res = import_file(db, path)
    assert res.status == "imported"
    ours = {(o, c) for o, c in db.execute("SELECT ordinal, code FROM findings")}
    theirs = {(f.ordinal, f.code) for f in ref.findings}
    assert ours == theirs
    if not theirs:
        assert res.findings == 0


def test_a_file_pyx12_cannot_read_is_imported_with_an_envelope_finding(db, corpus):
    res = import_file(db, corpus / "x12-types__parse_834_4.txt")
    assert res.status == "imported" and res.members == 3
    msgs = [m for (m,) in db.execute("SELECT message FROM findings")]
    assert any("ISA" in m and "106" in m for m in msgs)


def test_missing_isa16_is_reported_and_composites_still_read(db, corpus):
    res = import_file(db, corpus / "impendjcs__data__valid-834.edi")
    assert res.status == "imported"
    msgs = [m for (m,) in db.execute("SELECT message FROM findings")]
    assert any("ISA16" in m for m in msgs)


def test_expected_findings_named_in_expected_md(db, corpus):
    import_file(db, corpus / "lfh-x12__enroll-employee-managed-care.834")
    assert db.execute("SELECT seg_id FROM findings WHERE ordinal = 10").fetchone()[0] == "DTP"
    import_file(db, corpus / "pyx12__testdata__834_eol_in_element.txt")
    row = db.execute("SELECT f.element, m.id FROM findings f JOIN files x ON x.id = f.file_id "
                     "LEFT JOIN members m ON m.id = f.member_id WHERE x.name LIKE '%eol%' AND f.element = 'N301'"
                     ).fetchone()
    assert row is not None and row[1] is not None, "the N301 finding is on the member, which is still stored"
    import_file(db, corpus / "pyx12__examples__example834_5010.txt")
    assert db.execute("SELECT COUNT(*) FROM findings f JOIN files x ON x.id = f.file_id "
                      "WHERE x.name LIKE 'pyx12__examples__example834%' AND f.element LIKE 'INS06%'").fetchone()[0]
