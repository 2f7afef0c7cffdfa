"""The compiled parser (enrollreview/accel.py): in use when built, never stale, identical to plain Python.

The rest of the suite runs on whichever parser `./dev` left in place (the compiled one where a C compiler
exists). These tests pin the two promises that make compiling safe: the compiled modules are used only
for exactly the sources they were built from, and they store the same rows and findings as the plain
Python on every corpus file, on generated files with injected problems, and on damaged files.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from enrollreview import accel

from .conftest import CORPUS, ROOT, corpus_files
from .test_ingest import make_834

#: run in a child: parse every file named on stdin as one chunk; print the results, marshalled
_PARSE_ALL = r"""
import dataclasses, marshal, sys
from enrollreview import accel
from enrollreview.parse import ChunkJob, parse_chunk
from enrollreview.x12.reader import UnreadableFile, read_interchanges
out = [accel.describe()]
for path in sys.stdin.read().split("\n"):
    try:
        rr = read_interchanges(open(path, "rb").read())
    except UnreadableFile as exc:
        out.append(("unreadable", str(exc)))
        continue
    res = parse_chunk(ChunkJob(0, path, rr.start, len(rr.text), 1, rr.delims, True, text=rr.text))
    null = lambda rows: [tuple(None if v != v else v for v in r) for r in rows]  # NaN is the rows' NULL
    out.append((null(res.txn_rows), null(res.member_rows), null(res.cov_rows), null(res.cat_rows), res.finding_rows,
                sorted(res.envelope.items()), res.envelope_lines, [sorted(g.items()) for g in res.groups],
                res.segments, res.members, [dataclasses.astuple(f) for f in rr.findings]))
sys.stdout.buffer.write(marshal.dumps(out))
"""


def _parse_in_child(paths: list[Path], compiled: bool) -> list:
    env = {**os.environ, accel.ENV_SWITCH: "1" if compiled else "0"}
    out = subprocess.run([sys.executable, "-c", _PARSE_ALL], input="\n".join(map(str, paths)).encode(),
                         capture_output=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return marshal.loads(out.stdout)


def _damaged(seed: int, data: bytes) -> bytes:
    """A file with a few random deletions, insertions and duplications (as tests/test_reader_fuzz.py)."""
    rng = random.Random(seed)
    b = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(0, 40))
        op = rng.choice(["delete", "insert", "duplicate"])
        if op == "delete":
            del b[i:j]
        elif op == "insert":
            b[i:i] = rng.choice([b"~", b"*", b"~~", b"\r\n", b":", b"INS*Y*18~", b"SE*1*1~", b"DTP*348*D8*2026",
                                 bytes(rng.randrange(256) for _ in range(6))])
        else:
            b[j:j] = b[i:j]
    return bytes(b)


needs_compiler = pytest.mark.skipif(
    accel._compiler() is None or importlib.util.find_spec("mypyc") is None,
    reason="no C compiler or no mypyc (./dev installs it): the parser is plain Python")


@needs_compiler
def test_the_compiled_parser_is_in_use_for_exactly_these_sources():
    import importlib

    assert accel.up_to_date(), "the compiled parser is not built for the current sources: run ./dev test"
    build = accel.build_dir()
    assert {"enrollreview.x12.walker", "enrollreview.parse"} <= set(accel.MODULES)
    for name in accel.MODULES:
        mod = importlib.import_module(name)
        assert Path(mod.__file__).parent.is_relative_to(build), mod.__file__
    assert accel.describe() == "compiled (mypyc)"


def test_an_edited_source_is_never_shadowed_by_an_old_build(tmp_path):
    """The build directory is named by the sources' digest: any change to a compiled module's text
    names another directory, so an old build is simply not found and the edited file runs as written."""
    for m in accel.MODULES:
        dst = accel._source(m, tmp_path)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(accel._source(m).read_bytes())
    assert accel.digest(tmp_path) == accel.digest()
    model = accel._source("enrollreview.x12.model", tmp_path)
    model.write_bytes(model.read_bytes() + b"\n# an edit\n")
    edited = accel.digest(tmp_path)
    assert edited != accel.digest()
    assert not accel.build_dir(edited).exists()


def test_switched_off_by_the_environment():
    child = subprocess.run([sys.executable, "-c", "from enrollreview import accel; print(accel.describe())"],
                           capture_output=True, text=True, cwd=ROOT, timeout=60,
                           env={**os.environ, accel.ENV_SWITCH: "0"})
    assert child.stdout.strip() == accel.PLAIN, child.stderr


@needs_compiler
def test_compiled_and_plain_parsers_store_the_same_rows_and_findings(tmp_path):
    from enrollreview.x12.generator import build_quality_set, write_benchmark_file, write_set

    files = corpus_files()
    files += write_set(tmp_path / "quality", *build_quality_set(seed=11, clean=20))
    for style in ("employer", "exchange"):
        p = tmp_path / f"bench-{style}.834"
        write_benchmark_file(p, 300, style=style)
        files.append(p)
    seeds = [make_834(4).encode()] + [(CORPUS / n).read_bytes() for n in (
        "pyx12__testdata__834_ls_le_ls.txt", "x12-types__parse_834_4.txt", "pyx12__examples__example834_5010.txt")]
    for i in range(60):
        p = tmp_path / f"damaged-{i}.834"
        p.write_bytes(_damaged(i, seeds[i % len(seeds)]))
        files.append(p)

    plain = _parse_in_child(files, compiled=False)
    fast = _parse_in_child(files, compiled=True)
    assert plain[0] == accel.PLAIN and fast[0] == "compiled (mypyc)"
    findings = sum(len(r[4]) for r in plain[1:] if r[0] != "unreadable")
    assert findings > 100, "the damaged files should give the walker plenty to report"
    for path, a, b in zip(files, plain[1:], fast[1:], strict=True):
        assert a == b, f"compiled and plain parsers differ on {path.name}"


def test_without_a_c_compiler_the_build_says_why_and_the_parser_stays_plain(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(accel, "build_dir", lambda dig=None: tmp_path / "accel" / "not-built")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    assert accel.main(["build"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("the parser stays plain Python (imports of large files are slower): no C compiler "
                       "(install gcc: apt-get install gcc python3-dev)")
    assert not (tmp_path / "accel").exists()
