"""Import one 834 file into the store: all or nothing.

`import_file` reads the bytes, refuses a repeat by SHA-256, rejects unusable files with a one-line
reason (recorded in `files` so the clerk sees them), and otherwise streams the segments through
the walker (loop ids, TR3 findings) and the member builder into one `db.atomic()` block. The rules
engine re-runs inside the same block, so a crash, kill or cancel at any point leaves the store
exactly as it was. Progress and cancellation go through two optional callables, which is all the
GUI's worker needs.
"""

from __future__ import annotations

import datetime as _dt
import gc
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .parse import (
    MEMBER_COLS,
    MEMBER_JSON,
    TXN_COLS,
    ChunkCancelled,
    ChunkJob,
    ChunkResult,
    parse_chunk,
    parse_chunk_packed,
    worker_init,
    worker_warm_up,
)
from .store import utcnow as _utcnow
from .x12.reader import UnreadableFile, read_interchanges
from .x12.types import Delimiters, Segment

log = logging.getLogger("enrollreview.ingest")

GUIDE = "005010X220A1"
IMPORT_CACHE_KIB = -65536
BATCH = 2000


class Cancelled(Exception):
    """The user cancelled the import; nothing was written."""


class _PoolFailed(Exception):
    """The worker processes died or could not start."""


class Rejected(Exception):
    """The file cannot be imported; str(exc) is the one-line reason."""


@dataclass
class Progress:
    bytes_done: int
    bytes_total: int
    segments: int
    members: int
    elapsed: float

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 1.0


@dataclass
class ImportResult:
    name: str
    status: str               # 'imported', 'rejected', 'duplicate', 'cancelled'
    reason: str = ""
    file_id: int | None = None
    members: int = 0
    segments: int = 0
    transactions: int = 0
    findings: int = 0
    flags: int = 0
    seconds: float = 0.0
    parse_seconds: float = 0.0
    rule_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "imported"

    def summary(self) -> str:
        if self.status == "imported":
            return (f"{self.name}: imported {self.members:,} members in {self.transactions:,} transactions, "
                    f"{self.findings:,} syntax findings, {self.flags:,} flags ({self.seconds:.1f} s)")
        if self.status == "duplicate":
            return f"{self.name}: not imported: {self.reason}"
        if self.status == "cancelled":
            return f"{self.name}: cancelled; nothing was changed"
        return f"{self.name}: rejected: {self.reason}"


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]

_GUIDE_NAMES = {
    "005010X307": "the exchange-to-issuer enrollment guide X307 (HIX 834)",
    "005010X318": "the dental/vision X318 guide",
    "004010X095A1": "the older 4010 version of the 834",
    "004010X095": "the older 4010 version of the 834",
}
_TXN_NAMES = {"837": "an 837 health care claim", "835": "an 835 payment/remittance", "270": "a 270 eligibility inquiry",
              "271": "a 271 eligibility response", "820": "an 820 premium payment", "999": "a 999 acknowledgement",
              "997": "a 997 acknowledgement", "276": "a 276 claim status inquiry", "277": "a 277 claim status"}


def one_line(text: str) -> str:
    """A reason shown to a clerk: control characters from the file made visible, on one line."""
    shown = "".join(c if c >= " " or c == " " else "?" for c in text.replace("\n", " "))
    return " ".join(shown.split())




def import_file(
    db: Database,
    path: str | os.PathLike[str],
    *,
    is_demo: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    run_rules: bool = True,
    workers: int | None = None,
) -> ImportResult:
    """Import one file. Never raises for bad input: the result says what happened.

    The write-ahead log is not checkpointed at the commit: call `store.checkpoint(db)` after the
    result has been shown (SQLite otherwise does it at a later commit or when the store is closed).
    """
    p = Path(path)
    started = time.perf_counter()
    try:
        data = p.read_bytes()
    except OSError as e:
        return ImportResult(p.name, "rejected", f"cannot read the file ({e.strerror or e})")
    digest = hashlib.sha256(data).hexdigest()
    prior = db.execute("SELECT name, imported_at, status FROM files WHERE sha256 = ?", [digest]).fetchone()
    if prior:
        when = prior[1][:16].replace("T", " ")
        what = "imported" if prior[2] == "imported" else "received and rejected"
        return ImportResult(p.name, "duplicate", f"the same file was already {what} on {when} UTC as {prior[0]}")
    try:
        mtime = _dt.datetime.fromtimestamp(p.stat().st_mtime, _dt.UTC).replace(microsecond=0).isoformat()
    except OSError:
        mtime = None
    base = {"name": p.name, "path": str(p.resolve()), "sha256": digest, "size": len(data),
            "received_at": mtime, "imported_at": _utcnow(), "is_demo": int(is_demo)}
    # A 64 MB page cache while importing: index pages of a large store otherwise thrash the default
    # 2 MB cache (100,000 members: 40 s -> 28 s). Restored afterwards.
    old_cache = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {IMPORT_CACHE_KIB}")
    # No automatic WAL checkpoint at this commit: the caller runs store.checkpoint once the clerk has
    # the result (about 1 s of copying for 100,000 members). Restored afterwards.
    old_autocheckpoint = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    db.execute("PRAGMA wal_autocheckpoint = 0")
    # The cyclic garbage collector is paused for the import: it builds and drops millions of small
    # objects (rows) and no cycles worth collecting, and each full collection walks them all.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            with db.atomic():
                result = _load(db, data, base, progress, cancel, run_rules, started, str(p), workers)
        except _PoolFailed as e:
            # Worker processes could not run here (e.g. a frozen or embedded interpreter): the
            # transaction was rolled back, so parse in this process instead.
            log.warning("parallel parse unavailable (%s); importing in one process", e)
            with db.atomic():
                result = _load(db, data, base, progress, cancel, run_rules, started, str(p), 1)
    except Cancelled:
        return ImportResult(p.name, "cancelled", seconds=time.perf_counter() - started)
    except (Rejected, UnreadableFile) as e:
        reason = one_line(str(e))
        with db.atomic():
            fid = db["files"].insert({**base, "status": "rejected", "reason": reason}).last_pk
        log.info("file %s rejected: %s", fid, reason)
        return ImportResult(p.name, "rejected", reason, file_id=fid, seconds=time.perf_counter() - started)
    finally:
        db.execute(f"PRAGMA cache_size = {int(old_cache)}")
        db.execute(f"PRAGMA wal_autocheckpoint = {int(old_autocheckpoint)}")
        if gc_was_enabled:
            gc.enable()
    result.seconds = time.perf_counter() - started
    log.info("file %s imported: %d members, %d segments, %d findings, %d flags in %.2f s", result.file_id,
             result.members, result.segments, result.findings, result.flags, result.seconds)
    return result


def _check_guide(rr_segments: list[Any]) -> None:
    """Reject files that are not 834 X220A1 before any work is done."""
    gs = next((s for s in rr_segments if s.fields[0].strip() == "GS"), None)
    st = next((s for s in rr_segments if s.fields[0].strip() == "ST"), None)
    if gs is None and st is None:
        raise Rejected("the file has an ISA but no functional group (GS) or transaction (ST): it is incomplete")
    st_id = st.get(1) if st is not None else ""
    if st_id and st_id != "834":
        raise Rejected(f"this is {_TXN_NAMES.get(st_id, 'an X12 ' + st_id + ' transaction')}, not an 834 "
                       "enrollment file")
    version = (gs.get(8) if gs is not None else "") or (st.get(3) if st is not None else "")
    if version != GUIDE:
        named = _GUIDE_NAMES.get(version, "")
        detail = f" ({named})" if named else ""
        raise Rejected(f"the file uses guide version {version or '(none)'}{detail}, not {GUIDE}; "
                       "ask the sender for a 005010X220A1 834")


def _load(db: Database, data: bytes, base: dict[str, Any], progress: ProgressFn | None,
          cancel: CancelFn | None, run_rules: bool, started: float, path: str, workers: int | None
          ) -> ImportResult:
    total = len(data)
    n_workers = _worker_count(total) if workers is None else workers
    # The parser processes start now, so that their start-up overlaps the reading and planning below.
    try:
        pool = _start_pool(n_workers) if n_workers > 1 else None
    except OSError as e:   # no process can be started here
        raise _PoolFailed(str(e)) from e
    try:
        return _load_with(db, data, base, progress, cancel, run_rules, started, path, n_workers, pool)
    except BaseException:
        if pool is not None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
        raise


def _load_with(db: Database, data: bytes, base: dict[str, Any], progress: ProgressFn | None,
               cancel: CancelFn | None, run_rules: bool, started: float, path: str, n_workers: int,
               pool: Any) -> ImportResult:
    rr = read_interchanges(data)
    d: Delimiters = rr.delims
    head: list[Any] = []
    for seg in rr.segments():  # enough of the start to see GS and ST
        head.append(seg)
        if seg.fields[0].strip() == "INS" or len(head) >= 60:
            break
    _check_guide(head)

    conn = db.conn
    # Members are written before their transaction's row within a batch; check keys at commit.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    file_id = db["files"].insert({**base, "status": "imported",
                                  "delims": d.element + d.component + d.repetition + d.segment}).last_pk
    total = len(data)
    edges = chunk_edges(rr.text, rr.start, d, n_workers * 4 if n_workers > 1 else 1)
    jobs = iter_chunks(rr.text, rr.start, d, path, edges)
    member_base = conn.execute("SELECT COALESCE(MAX(id), 0) FROM members").fetchone()[0] + 1
    txn_base = conn.execute("SELECT COALESCE(MAX(id), 0) FROM transactions").fetchone()[0] + 1
    tally = {"members": 0, "txns": 0, "segments": 0, "findings": 0}
    envelope: dict[str, Any] = {}
    envelope_lines: list[list[Any]] = []
    groups: list[dict[str, str]] = []
    # the members' rows for the history (rules.history), kept so that it need not read them back
    history_rows: list[tuple[Any, ...]] = []

    def write(res: ChunkResult) -> None:
        m_off, t_off = member_base + tally["members"], txn_base + tally["txns"]
        _write_chunk(conn, file_id, res, m_off, t_off, tally["members"], tally["txns"])
        history_rows.extend([(r[0] + m_off, r[1] + t_off, *r[2:]) for r in res.hist_rows])
        tally["members"] += res.members
        tally["txns"] += res.transactions
        tally["segments"] += res.segments
        tally["findings"] += len(res.finding_rows)
        envelope.update(res.envelope if not envelope else {})
        envelope_lines.extend(res.envelope_lines)
        groups.extend(res.groups)

    if len(edges) <= 2:
        job = next(jobs)
        job.text = rr.text

        def chunk_progress(offset: int, segs: int, members: int) -> None:
            if progress is not None:
                progress(Progress(offset, total, segs, members, time.perf_counter() - started))

        try:
            res = parse_chunk(job, cancel, chunk_progress)
        except ChunkCancelled:
            raise Cancelled() from None
        write(res)
    else:
        _run_parallel(pool, jobs, n_workers, write, progress, cancel, total, tally, started)
    if pool is not None:
        pool.shutdown(wait=True)
    if cancel is not None and cancel():
        raise Cancelled()
    if rr.findings:  # envelope findings of the reader (BOM, lost ISA padding, ...)
        conn.executemany(
            "INSERT INTO findings (file_id, ordinal, seg_id, level, code, element, ele_pos, sub_pos, message) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [(file_id, f.ordinal, f.seg_id, f.level, f.code, f.element, f.ele_pos, f.sub_pos, f.message)
             for f in rr.findings])
    if tally["members"] == 0:
        raise Rejected("the file has no members (no INS segment): it is empty or was cut off before the "
                       "first member")
    nfind = tally["findings"] + len(rr.findings)
    db["files"].update(file_id, {
        **{k: v for k, v in envelope.items() if k in _FILE_ENV_COLS},
        **({k: groups[0][k] for k in ("gs_sender", "gs_receiver", "gs_control", "gs_version")} if groups else {}),
        "segment_count": tally["segments"], "transaction_count": tally["txns"], "member_count": tally["members"],
        "finding_count": nfind,
        "envelope": json.dumps(envelope_lines, separators=(",", ":")),
    })
    result = ImportResult(base["name"], "imported", file_id=file_id, members=tally["members"],
                          segments=tally["segments"], transactions=tally["txns"], findings=nfind)
    if progress is not None:
        progress(Progress(total, total, tally["segments"], tally["members"], time.perf_counter() - started))
    result.parse_seconds = time.perf_counter() - started
    if run_rules:
        t0 = time.perf_counter()
        result.flags = run_rules_after_import(db, file_id, history_rows)
        result.rule_seconds = time.perf_counter() - t0
    return result


PARALLEL_MIN_BYTES = 3_000_000


def _worker_count(size: int) -> int:
    if size < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def _start_pool(n_workers: int) -> Any:
    """n parser processes, each told to load the compiled map at once (spawn, not fork: the GUI calls
    this from a thread, and forking a threaded Qt process is unsafe)."""
    import concurrent.futures as cf
    import multiprocessing

    ex = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=multiprocessing.get_context("spawn"),
                                initializer=worker_init, initargs=(os.getpid(),))
    for _ in range(n_workers):
        ex.submit(worker_warm_up)
    return ex


def _run_parallel(ex: Any, jobs: Iterator[ChunkJob], n_workers: int, write: Callable[[ChunkResult], None],
                  progress: ProgressFn | None, cancel: CancelFn | None, total: int, tally: dict[str, int],
                  started: float) -> None:
    """Parse chunks in the pool's processes; write their rows here, in file order, as they arrive. The
    caller shuts the pool down (terminating its processes if anything here raises)."""
    import concurrent.futures as cf

    try:
        # Keep only a few chunks in flight so finished rows do not pile up in memory.
        futures: list[cf.Future[ChunkResult]] = []
        for job in jobs:   # planned one at a time: the first ones are parsed while the rest are planned
            futures.append(ex.submit(parse_chunk_packed, job))
            if len(futures) >= n_workers + 1:
                break
        while futures:
            fut = futures.pop(0)
            while True:
                try:
                    res = fut.result(timeout=0.05)
                    break
                except cf.TimeoutError:
                    if cancel is not None and cancel():
                        raise Cancelled() from None
            job = next(jobs, None)
            if job is not None:
                futures.append(ex.submit(parse_chunk_packed, job))
            write(res)
            res_end = res.end_offset
            del res
            if progress is not None:
                progress(Progress(res_end, total, tally["segments"], tally["members"],
                                  time.perf_counter() - started))
    except cf.process.BrokenProcessPool as e:
        raise _PoolFailed(str(e)) from e


CHUNK_BYTES = 1_000_000  # small chunks keep each result quick to hand over (no long GUI stalls)


def plan_chunks(text: str, start: int, d: Delimiters, path: str, n: int) -> list[ChunkJob]:
    """Split the file at ST boundaries into at least `n` chunks of about CHUNK_BYTES each."""
    return list(iter_chunks(text, start, d, path, chunk_edges(text, start, d, n)))


def chunk_edges(text: str, start: int, d: Delimiters, n: int) -> list[int]:
    """Where the chunks of `plan_chunks` begin and end: [start, ST, ST, ..., len(text)] (quick: one
    search per cut)."""
    size = len(text) - start
    if n <= 1 or size <= 0:
        return [start, len(text)]
    n = max(n, -(-size // CHUNK_BYTES))
    t, e = re.escape(d.segment), re.escape(d.element)
    st_re = re.compile(t + r"[\r\n]*(?=ST" + e + ")")
    bounds: list[int] = []
    for k in range(1, n):
        m = st_re.search(text, max(start + size * k // n, bounds[-1] if bounds else 0))
        if m is None:
            break
        if not bounds or m.end() > bounds[-1]:
            bounds.append(m.end())
    return [start, *bounds, len(text)]


def iter_chunks(text: str, start: int, d: Delimiters, path: str, edges: list[int]) -> Iterator[ChunkJob]:
    """The jobs of the chunks between `edges`, one at a time: each needs a pass over the chunks before
    it (what a single walker would know at its start: the first segment's ordinal, the ISA and GS in
    force, the control numbers seen before), so the first ones can be parsed while the rest are planned.
    Every scan is bounded to one chunk, so no single C call holds the GIL for long.
    """
    if len(edges) <= 2:
        yield ChunkJob(0, path, start, len(text), 1, d, final=True)
        return
    t, e = re.escape(d.segment), re.escape(d.element)
    empty_re = re.compile(t + r"(?=[\r\n]*" + t + ")")
    env_re = re.compile(t + r"[\r\n]*(?=(ISA|GS|ST)" + e + ")")

    def count_segments(lo: int, hi: int) -> int:
        return text.count(d.segment, lo, hi) - sum(1 for _ in empty_re.finditer(text, lo, hi))

    def segment_at(pos: int, ordinal: int) -> Segment:
        stop = text.find(d.segment, pos)
        body = text[pos:stop if stop >= 0 else len(text)]
        return Segment(ordinal, pos, body, body.split(d.element))

    isa = segment_at(start, 1)
    gs: Segment | None = None
    isa_ids: list[str] = []
    gs_ids: list[str] = []
    st_ids: list[str] = []
    ordinal = 1
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        job = ChunkJob(i, path, lo, hi, ordinal, d, final=(i == len(edges) - 2))
        if i:
            job.prefix = [isa] + ([gs] if gs is not None else [])
            job.isa_ids, job.gs_ids, job.st_ids = list(isa_ids), list(gs_ids), list(st_ids)
        yield job
        if i:  # every chunk after the first starts with an ST, which the scan below cannot see
            st_ids.append(segment_at(lo, ordinal).get(2))
        # Walk this chunk's envelope segments to know the state at the next chunk's start.
        seen = lo
        seen_ordinal = ordinal
        for m in env_re.finditer(text, lo, hi):
            pos = m.end()
            seen_ordinal += count_segments(seen, pos)
            seen = pos
            seg = segment_at(pos, seen_ordinal)
            kind = m.group(1)
            if kind == "ISA":
                isa_ids.append(isa.get(13))
                isa, gs, gs_ids, st_ids = seg, None, [], []
            elif kind == "GS":
                if gs is not None:
                    gs_ids.append(gs.get(6))
                gs, st_ids = seg, []
            else:
                st_ids.append(seg.get(2))
        ordinal = seen_ordinal + count_segments(seen, hi)


def _write_chunk(conn: Any, file_id: int, res: ChunkResult, m_off: int, t_off: int, m_seq: int,
                 t_seq: int) -> None:
    """Insert a chunk's rows, turning its local ids into store ids inside the SQL (no Python copies)."""
    fid = int(file_id)
    res.unpack()
    if res.txn_rows:
        conn.executemany(
            f"INSERT INTO transactions (id, file_id, seq, member_count, first_ordinal, last_ordinal, raw, segs, "
            f"content_hash, {', '.join(TXN_COLS)}) VALUES (? + {t_off}, {fid}, ? + {t_seq}, ?, ?, ?, ?, ?, ?, "
            f"{','.join('?' * len(TXN_COLS))})", res.txn_rows)
    if res.member_rows:
        conn.executemany(_member_insert_sql(m_off, t_off, m_seq, fid), res.member_rows)
    if res.cov_rows:
        conn.executemany(
            f'INSERT INTO coverages (member_id, file_id, seq, hd01, hd03, hd04, hd05, begin, "end", maint_eff, '
            f"paid_through, plan_id, csr_variant, policy_id, issuer_policy_id, ordinal) "
            f"VALUES (? + {m_off}, {fid}, ?,?,?,?,?,?,?,?,?,?,?,?,?,?)", res.cov_rows)
    if res.cat_rows:
        conn.executemany(
            f"INSERT INTO categories (member_id, file_id, seq, name, ref_qual, value, amount, date_qual, "
            f"date_from, date_to, ordinal, ref_ordinal, dtp_ordinal) "
            f"VALUES (? + {m_off}, {fid}, ?,?,?,?,?,?,?,?,?,?,?)", res.cat_rows)
    if res.finding_rows:
        conn.executemany(
            f"INSERT INTO findings (file_id, transaction_id, member_id, ordinal, seg_id, level, code, element, "
            f"ele_pos, sub_pos, message) VALUES ({fid}, ? + {t_off}, ? + {m_off}, ?,?,?,?,?,?,?,?)",
            res.finding_rows)


def _member_insert_sql(m_off: int, t_off: int, m_seq: int, fid: int) -> str:
    """INSERT for member rows with person_id filled in the same statement.

    person_id is the person on record with this member id (REF*17), else a new person whose id is the
    row's own id; rules.history corrects the few rows another key matches. Numbered parameters let the
    statement use the row's id and member id twice. (No trigger on members may do this instead: any
    trigger makes SQLite keep a statement journal for each row, 3 s of a 100,000-member import.)
    """
    cols = MEMBER_COLS + MEMBER_JSON
    n = len(cols)
    mid = f"?{4 + MEMBER_COLS.index('member_id')}"
    values = ", ".join(f"?{4 + i}" for i in range(n))
    tail = ", ".join(f"?{4 + n + i}" for i in range(4))
    return (
        f"INSERT INTO members (id, transaction_id, seq, {', '.join(cols)}, first_ordinal, last_ordinal, raw, "
        f"segs, file_id, person_id) VALUES (?1 + {m_off}, ?2 + {t_off}, ?3 + {m_seq}, {values}, {tail}, {fid}, "
        f"COALESCE((SELECT p.id FROM persons p WHERE p.member_id = {mid} AND COALESCE({mid}, '') != '' "
        f"ORDER BY p.id LIMIT 1), ?1 + {m_off}))"
    )


def run_rules_after_import(db: Database, file_id: int, history_rows: list[Any] | None = None) -> int:
    """Re-run the rules for what this file touched; returns the number of open flags on the file."""
    from .rules.engine import run_for_file

    return run_for_file(db, file_id, history_rows)


_FILE_ENV_COLS = {"isa_sender_qual", "isa_sender", "isa_receiver_qual", "isa_receiver", "isa_date", "isa_time",
                  "isa_version", "isa_control", "usage"}
