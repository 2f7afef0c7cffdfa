"""Turn (part of) an 834 file into the rows the store keeps: the CPU-heavy half of an import.

A `ChunkJob` names a byte range that starts at an ST (or the ISA) and ends after an SE, so it can run
in a worker process beside other chunks of the same file. Ids in the rows are local to the chunk
(0-based member and transaction numbers); `ingest` adds the store's id offsets in SQL when it writes
them, in chunk order. The walker of a later chunk is primed with the envelope (ISA, GS) and the ST
control numbers already seen in its group, so it reports exactly what one walker over the whole file
would.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import json
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Final

from .sqlnull import NULL
from .x12.model import MemberBuilder, MemberRecord, TransactionRecord
from .x12.reader import iter_segments
from .x12.types import Delimiters, Finding, Segment
from .x12.walker import Walker

CANCEL_EVERY: Final = 5000  # segments
#: absent values in the rows: SQL NULL, bound as fast as a number (see sqlnull.py)
_NULL: Final = NULL


class ChunkCancelled(Exception):
    pass


@dataclass
class ChunkJob:
    index: int
    path: str
    begin: int
    end: int
    first_ordinal: int
    delims: Delimiters
    final: bool
    prefix: list[Segment] = field(default_factory=list)   # ISA and GS in force at `begin`
    st_ids: list[str] = field(default_factory=list)       # ST02s seen earlier in the same group
    gs_ids: list[str] = field(default_factory=list)       # GS06s seen earlier in the same interchange
    isa_ids: list[str] = field(default_factory=list)      # ISA13s of earlier interchanges in the file
    text: str | None = None                               # in-process: the decoded file


@dataclass
class ChunkResult:
    index: int
    txn_rows: list[tuple[Any, ...]]
    member_rows: list[tuple[Any, ...]]
    cov_rows: list[tuple[Any, ...]]
    cat_rows: list[tuple[Any, ...]]
    finding_rows: list[tuple[Any, ...]]
    hist_rows: list[tuple[Any, ...]]     # what the history needs of each member (history_row)
    envelope: dict[str, Any]
    envelope_lines: list[list[Any]]
    groups: list[dict[str, str]]
    segments: int
    members: int
    transactions: int
    end_offset: int
    packed: bytes | None = None   # the six row lists, marshalled (between processes)

    _ROWS = ("txn_rows", "member_rows", "cov_rows", "cat_rows", "finding_rows", "hist_rows")

    def pack(self) -> ChunkResult:
        """Marshal the rows into one bytes value for the trip to the importing process: about twice as
        fast as pickling the tuples (the rows hold only str, int, float and None)."""
        self.packed = marshal.dumps(tuple(getattr(self, n) for n in self._ROWS))
        for n in self._ROWS:
            setattr(self, n, [])
        return self

    def unpack(self) -> ChunkResult:
        if self.packed is not None:
            for n, rows in zip(self._ROWS, marshal.loads(self.packed), strict=True):
                setattr(self, n, rows)
            self.packed = None
        return self


def segs_json(segs: list[tuple[int, str, int]]) -> str:
    """json.dumps for [(ordinal, loop_path, offset), ...], 4x faster (loop paths never need escaping)."""
    return "[" + ",".join([f'[{o},"{lp}",{off}]' for o, lp, off in segs]) + "]"


def segs_text(segs: list[tuple[int, str, int]], lines: list[str]) -> str:
    """The stored `segs` of a row whose raw text is `lines` (segpos.py reads it): the run form when it
    gives back exactly these positions (consecutive ordinals, the same gap between segments), else the
    list form."""
    n = len(segs)
    if n == 0 or len(lines) != n:
        return segs_json(segs)
    first = segs[0][0]
    offset = segs[0][2]
    gap = segs[1][2] - offset - len(lines[0]) if n > 1 else 1
    if gap < 0:
        return segs_json(segs)
    runs: list[str] = []
    loop = segs[0][1]
    count = 0
    for i in range(n):
        o, lp, off = segs[i]
        if o != first + i or off != offset:
            return segs_json(segs)
        offset = off + len(lines[i]) + gap
        if lp == loop:
            count += 1
        else:
            runs.append(f'["{loop}",{count}]')
            loop = lp
            count = 1
    runs.append(f'["{loop}",{count}]')
    return f'{{"o":{first},"f":{segs[0][2]},"g":{gap},"r":[{",".join(runs)}]}}'


def iso_or_none(v: Any) -> str | None:
    """v when it is a date in the stored ISO form (what SQL's GLOB '[0-9]...-[0-9][0-9]-[0-9][0-9]' passes)."""
    if isinstance(v, str) and len(v) == 10 and v.isascii() and v[4] == "-" and v[7] == "-" \
            and v[:4].isdigit() and v[5:7].isdigit() and v[8:].isdigit():
        return v
    return None


def event_kind(ins03: str | None, amrc: str | None, begin: str | None, end: str | None) -> str:
    """MNT-01: what a row does to its policy; a 024 is a cancellation when it ends on or before its begin
    (with only an end date it counts as a termination, with no date at all as 'ended'). The history's SQL
    (rules/history.py, _EVENT_SQL) says the same for rows of older files."""
    a = (amrc or "").upper()
    if ins03 == "021":
        # INS04 28 alone is "initial enrollment" in the TR3; the exchange's effectuation is 021/28/CONFIRM
        return "effectuated" if a == "CONFIRM" else "enrolled"
    if ins03 == "024":
        if begin and end:
            return "cancelled" if end <= begin else "terminated"
        if a.startswith("CANCEL"):
            return "cancelled"
        if a.startswith("TERM") or end:
            return "terminated"
        return "ended"
    return {"025": "reinstated", "001": "changed", "030": "audit"}.get(ins03 or "", "other")


def history_row(mid: int, tid: int, f: dict[str, Any], coverages: list[dict[str, Any]]) -> tuple[Any, ...]:
    """The row rules.history reads for one member (the layout of its _ROWS_SQL), computed here, where the
    values are at hand, instead of read back from the store after the import: 0 id, 1 transaction,
    2 ins01, 3 subscriber id, 4 member id, 5 policy, 6 dob, 7 ssn, 8 last, 9 first, 10 gender,
    11 coverage begin, 12 coverage end, 13 (unused here), 14 event. Absent values are None."""
    cb: str | None = None
    ce: str | None = None
    n = 0
    ne = 0
    for c in coverages:
        n += 1
        b = iso_or_none(c["begin"])
        if b is not None and (cb is None or b < cb):
            cb = b
        e = iso_or_none(c["end"])
        if e is not None:
            ne += 1
            if ce is None or e > ce:
                ce = e
    begin = cb if cb is not None else iso_or_none(f.get("elig_begin"))
    end = iso_or_none(f.get("elig_end"))
    if end is None and n > 0 and ne == n:
        end = ce
    return (mid, tid, f.get("ins01"), f.get("subscriber_id"), f.get("member_id"), f.get("policy_id"), f.get("dob"),
            f.get("ssn"), f.get("last_name"), f.get("first_name"), f.get("gender"), begin, end, None,
            event_kind(f.get("ins03"), f.get("amrc"), begin, end))


TXN_COLS: Final = ("isa_control", "gs_control", "gs_version", "gs_functional", "st_id", "st_control", "st_version",
                   "se_count", "se_control", "bgn_purpose", "bgn_ref", "bgn_date", "bgn_time", "bgn_action",
                   "master_policy", "file_effective", "qty_to", "qty_dt", "qty_et", "sponsor_name", "sponsor_id",
                   "payer_name", "payer_id", "broker_name", "broker_id", "tpa_name", "tpa_id")
MEMBER_COLS: Final = ("ins01", "ins02", "ins03", "ins04", "ins05", "ins08", "ins17", "subscriber_id", "member_id",
                      "issuer_member_id", "issuer_subscriber_id", "payment_tx_id", "group_policy_id", "case_number",
                      "policy_id", "elig_begin", "elig_end", "maint_eff", "amrc", "last_name", "first_name",
                      "middle_name", "prefix", "suffix", "id_qual", "ssn", "other_id", "phone", "email", "address1",
                      "address2", "city", "state", "zip", "county", "dob", "gender", "marital", "race", "has_dmg",
                      "tobacco", "language")
MEMBER_JSON: Final = ("phones", "old", "mailing", "other_names", "refs", "dates")


def content_hash(txn_lines: list[str], member_raws: list[str]) -> str:
    """transactions.content_hash (DUP-01, the same transaction received twice): SHA-256 of the
    transaction's own segments without ST and SE (whose control numbers differ between resends),
    a newline, then its members' segments in order."""
    own = "\n".join(ln for ln in txn_lines if not ln.startswith(("ST", "SE")))
    return hashlib.sha256((own + "\n" + "\n".join(member_raws)).encode("latin-1", "replace")).hexdigest()


def _compact_json() -> Callable[[Any], str]:
    """json.dumps(v, separators=(",", ":")) for parsed values (dicts, lists, str, numbers), calling C's
    encoder directly: JSONEncoder.encode builds a new one for every value (2.3 us each, 0.6 CPU-s at 100k)."""
    enc = json.JSONEncoder(separators=(",", ":"))
    if c_make_encoder is None:  # a Python without the _json accelerator
        return enc.encode
    it = c_make_encoder(None, enc.default, encode_basestring_ascii, None, ":", ",", False, False, True)
    return lambda v: "".join(it(v, 0))


_json: Final = _compact_json()


def worker_init(parent_pid: int) -> None:
    """Runs in each worker process: exit when the importing process dies (e.g. it was killed).

    Without this, a killed import would leave its workers waiting forever on their task queue.
    """
    import os
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def worker_warm_up() -> None:
    """The first task of each parser process: load the compiled map while the importing process is
    still reading the file."""
    from .x12.walker import compiled

    compiled()


def parse_chunk_packed(job: ChunkJob) -> ChunkResult:
    """parse_chunk for a worker process: the rows come back marshalled (ChunkResult.unpack)."""
    return parse_chunk(job).pack()


def parse_chunk(job: ChunkJob, cancel: Callable[[], bool] | None = None,
                progress: Callable[[int, int, int], None] | None = None) -> ChunkResult:
    """Parse one chunk. `progress(offset, segments, members)` is called every CANCEL_EVERY segments.

    The cyclic garbage collector is paused meanwhile: parsing builds millions of small objects and no
    cycles, and the collector's repeated passes over them cost 10-15% of the parse (3x on the reader).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_chunk(job, cancel, progress)
    finally:
        if was_enabled:
            gc.enable()


def _parse_chunk(job: ChunkJob, cancel: Callable[[], bool] | None,
                 progress: Callable[[int, int, int], None] | None) -> ChunkResult:
    if job.text is not None:
        text, lo, hi, base = job.text, job.begin, job.end, 0
    else:  # a worker reads only its own slice of the file
        with open(job.path, "rb") as fh:
            fh.seek(job.begin)
            text = fh.read(job.end - job.begin).decode("latin-1")
        lo, hi, base = 0, len(text), job.begin
    d = job.delims
    txn_rows: list[tuple[Any, ...]] = []
    member_rows: list[tuple[Any, ...]] = []
    cov_rows: list[tuple[Any, ...]] = []
    cat_rows: list[tuple[Any, ...]] = []
    hist_rows: list[tuple[Any, ...]] = []
    m_ranges: list[tuple[int, int, int]] = []
    t_ranges: list[tuple[int, int, int]] = []
    txn_local: dict[int, int] = {}
    txn_member_raws: dict[int, list[str]] = {}   # the raw text of each open transaction's members

    def tid(t: TransactionRecord) -> int:
        return txn_local.setdefault(t.seq, len(txn_local))

    def on_member(m: MemberRecord, t: TransactionRecord) -> None:
        mid = len(member_rows)
        f = m.fields
        raw = "\n".join(m.lines)
        txn_member_raws.setdefault(t.seq, []).append(raw)
        row: list[Any] = [mid, tid(t), m.seq]
        row += [f.get(c, _NULL) for c in MEMBER_COLS]
        row += [_json(f[c]) if c in f else _NULL for c in MEMBER_JSON]
        row += [m.first_ordinal, m.last_ordinal, raw, segs_text(m.segs, m.lines)]
        member_rows.append(tuple(row))
        hist_rows.append(history_row(mid, row[1], f, m.coverages))
        for c in m.coverages:
            cov_rows.append((mid, c["seq"], c["hd01"], c["hd03"], c["hd04"], c["hd05"], c["begin"], c["end"],
                             c["maint_eff"], c["paid_through"], c["plan_id"], c["csr_variant"], c["policy_id"],
                             c["issuer_policy_id"], c["ordinal"]))
        for c in m.categories:
            amount = c["amount"]
            cat_rows.append((mid, c["seq"], c["name"], c["ref_qual"], c["value"],
                             _NULL if amount is None else amount, c["date_qual"], c["date_from"], c["date_to"],
                             c["ordinal"], c.get("ref_ordinal", _NULL), c.get("dtp_ordinal", _NULL)))
        m_ranges.append((m.first_ordinal, m.last_ordinal, mid))

    def on_txn(t: TransactionRecord) -> None:
        f = t.fields
        local = tid(t)
        raw = "\n".join(t.lines)
        txn_rows.append((local, t.seq, t.member_count, t.first_ordinal, t.last_ordinal, raw,
                         segs_text(t.segs, t.lines), content_hash(t.lines, txn_member_raws.pop(t.seq, [])),
                         *(f.get(c, _NULL) for c in TXN_COLS)))
        t_ranges.append((t.first_ordinal, t.last_ordinal, local))

    walker = Walker(d)
    builder = MemberBuilder(d, on_member, on_txn)
    if job.prefix:
        for seg in job.prefix:
            builder.add(seg, walker.step(seg))
        # What one walker over the whole file would have counted before this chunk.
        walker.resume(isa_ids=job.isa_ids, gs_ids=job.gs_ids, st_ids=job.st_ids)
        walker.findings.clear()
        builder.envelope_lines.clear()
        primed_groups = len(builder.groups)
    else:
        primed_groups = 0
    reader_findings: list[Finding] = []
    nseg = 0
    last = job.begin
    for seg in iter_segments(text, lo, hi, d, job.first_ordinal, reader_findings, final=job.final, base=base):
        builder.add(seg, walker.step(seg))  # (no bound-method locals: compiled, these are direct calls)
        nseg += 1
        if nseg % CANCEL_EVERY == 0:
            if cancel is not None and cancel():
                raise ChunkCancelled()
            if progress is not None:
                progress(seg.offset, nseg, len(member_rows))
        last = seg.offset
    if job.final:
        walker.finish()
    builder.finish()

    starts = [r[0] for r in m_ranges]
    tstarts = [r[0] for r in t_ranges]
    finding_rows = []
    for f in reader_findings + walker.findings:
        mid = tloc = None
        i = bisect.bisect_right(starts, f.ordinal) - 1
        if i >= 0 and m_ranges[i][0] <= f.ordinal <= m_ranges[i][1]:
            mid = m_ranges[i][2]
        j = bisect.bisect_right(tstarts, f.ordinal) - 1
        if j >= 0 and t_ranges[j][0] <= f.ordinal <= t_ranges[j][1]:
            tloc = t_ranges[j][2]
        finding_rows.append((tloc, mid, f.ordinal, f.seg_id, f.level, f.code, f.element, f.ele_pos, f.sub_pos,
                             f.message))
    return ChunkResult(
        index=job.index, txn_rows=txn_rows, member_rows=member_rows, cov_rows=cov_rows, cat_rows=cat_rows,
        finding_rows=finding_rows, hist_rows=hist_rows, envelope=builder.envelope if not job.prefix else {},
        envelope_lines=builder.envelope_lines, groups=builder.groups[primed_groups:], segments=nseg,
        members=len(member_rows), transactions=len(txn_rows), end_offset=last,
    )
