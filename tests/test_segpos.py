"""The stored segment positions (members.segs, transactions.segs): the run form gives back exactly the
ordinals, loop paths and offsets the parser saw, the list form is kept where runs cannot say it, and
stores written before the run form read as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from enrollreview import segpos
from enrollreview.ingest import import_file
from enrollreview.parse import segs_text
from enrollreview.x12.model import MemberBuilder
from enrollreview.x12.reader import UnreadableFile, read_interchanges
from enrollreview.x12.walker import Walker

from .conftest import corpus_files
from .test_ingest import make_834


def _parsed_rows(data: bytes) -> list[tuple[list[tuple[int, str, int]], list[str]]]:
    """(segs, lines) of every member and transaction, as the parser hands them to the row writer."""
    rr = read_interchanges(data)
    walker = Walker(rr.delims)
    out: list[tuple[list[tuple[int, str, int]], list[str]]] = []
    builder = MemberBuilder(rr.delims, lambda m, t: out.append((list(m.segs), list(m.lines))),
                            lambda t: out.append((list(t.segs), list(t.lines))))
    for seg in rr.segments():
        builder.add(seg, walker.step(seg))
    builder.finish()
    return out


def _round_trip(data: bytes) -> tuple[int, int]:
    runs = lists = 0
    for segs, lines in _parsed_rows(data):
        stored = segs_text(segs, lines)
        assert segpos.decode(stored, lines) == [list(s) for s in segs]
        if stored.startswith("{"):
            runs += 1
        else:
            lists += 1
    return runs, lists


def test_every_corpus_row_reads_back_exactly(corpus):
    members = in_runs = 0
    for path in corpus_files():
        try:
            rows = _parsed_rows(path.read_bytes())
        except UnreadableFile:
            continue   # not X12 at all: nothing is stored
        for segs, lines in rows:
            stored = segs_text(segs, lines)
            assert segpos.decode(stored, lines) == [list(s) for s in segs], path.name
            if lines and lines[0].startswith("INS"):
                members += 1
                in_runs += stored.startswith("{")
    assert members >= 50 and in_runs == members, "every corpus member is evenly spaced: all in the run form"


@pytest.mark.parametrize("layout", ["one line", "LF", "CRLF", "mixed breaks", "empty segment"])
def test_layouts_read_back_exactly(layout):
    text = make_834(6)
    if layout == "one line":
        text = text.replace("~\n", "~")
    elif layout == "CRLF":
        text = text.replace("~\n", "~\r\n")
    elif layout == "mixed breaks":   # a gap that changes inside members: the list form must be used
        parts = text.split("~\n")
        text = "".join(p + ("~\n" if i % 3 else "~") for i, p in enumerate(parts[:-1])) + parts[-1]
    elif layout == "empty segment":
        text = text.replace("DMG*", "~DMG*")
    runs, lists = _round_trip(text.encode("latin-1"))
    if layout in ("mixed breaks", "empty segment"):
        assert lists >= 6, "members whose segments are spaced unevenly keep the list form"
    else:
        assert runs >= 6, "every member of an evenly spaced file is stored in the run form"


def test_stored_offsets_point_at_the_file(tmp_path, write_file, db):
    text = make_834(3).replace("~\n", "~\r\n")
    path = write_file(text)
    assert import_file(db, path).status == "imported"
    data = path.read_bytes().decode("latin-1")
    for raw, segs, first, last in db.execute("SELECT raw, segs, first_ordinal, last_ordinal FROM members"):
        assert segs.startswith("{")
        lines = raw.split("\n")
        decoded = segpos.decode(segs, lines)
        assert [d[0] for d in decoded] == list(range(first, last + 1))
        for (_o, loop, offset), line in zip(decoded, lines, strict=True):
            assert data[offset:offset + len(line)] == line
            assert loop.startswith("2000")


def test_list_form_of_older_stores_reads_as_before():
    lines = ["INS*Y*18*021*28*A***FT", "REF*0F*123"]
    old = json.dumps([[12, "2000", 400], [13, "2000", 431]])
    assert segpos.decode(old, lines) == [[12, "2000", 400], [13, "2000", 431]]
    assert segpos.decode(None, lines) == [] and segpos.decode("not json", lines) == []


@pytest.mark.parametrize("style", ["employer", "exchange"])
def test_run_form_is_what_benchmark_files_store(tmp_path, style):
    """The point of the run form: a member's positions in a fraction of the list form's bytes."""
    from enrollreview.x12 import generator as g

    path = Path(tmp_path) / "gen.834"
    g.write_benchmark_file(path, members=300, style=style)
    members = [(s, ln) for s, ln in _parsed_rows(path.read_bytes()) if ln and ln[0].startswith("INS")]
    assert len(members) == 300
    stored = [segs_text(s, ln) for s, ln in members]
    listed = [json.dumps([list(x) for x in s], separators=(",", ":")) for s, _ln in members]
    assert all(t.startswith("{") for t in stored)
    assert sum(map(len, stored)) * 3 < sum(map(len, listed))
