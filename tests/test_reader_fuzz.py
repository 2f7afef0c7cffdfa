"""No input, however broken, produces a traceback: Hypothesis mutates real 834 text."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enrollreview.ingest import import_file
from enrollreview.store import open_db

from .conftest import CORPUS
from .test_ingest import make_834

SEEDS = [make_834(3).encode()] + [
    (CORPUS / n).read_bytes() for n in ("pyx12__testdata__834_ls_le_ls.txt", "x12-types__parse_834_4.txt",
                                        "pyx12__examples__example834_5010.txt")
]


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        j = min(len(data), i + draw(st.integers(0, 40)))
        if op == "delete":
            del data[i:j]
        elif op == "insert":
            data[i:i] = draw(st.binary(max_size=12) | st.sampled_from([b"~", b"*", b"~~", b"\r\n", b":", b"ISA",
                                                                     b"INS*Y*18~", b"SE*1*1~", b"\x00"]))
        elif op == "replace" and j > i:
            data[i:j] = draw(st.binary(min_size=j - i, max_size=j - i))
        elif op == "duplicate":
            data[j:j] = data[i:j]
        else:
            del data[j:]
    return bytes(data)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_any_mutation_is_imported_or_rejected_with_one_line(data):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "fuzz.834"
        p.write_bytes(data)
        db = open_db(memory=True)
        res = import_file(db, p, workers=1)
        assert res.status in ("imported", "rejected")
        if res.status == "rejected":
            assert res.reason and "\n" not in res.reason
            assert db.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 0
        else:
            n = db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
            assert n == res.members >= 1
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        db.close()
