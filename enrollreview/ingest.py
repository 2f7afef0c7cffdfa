"""Import one 834 file into the store: all or nothing.

`import_file` reads the bytes, refuses a repeat by SHA-256, rejects unusable files with a one-line
reason (recorded in `files` so the clerk sees them), and otherwise streams the segments through
the walker (loop ids, TR3 findings) and the member builder into one `db.atomic()` block. The rules
engine re-runs inside the same block, so a crash, kill or cancel at any point leaves the store
exactly as it was. Progress and cancellation go through two optional callables, which is all the
GUI's worker needs.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .x12.model import MemberBuilder, MemberRecord, TransactionRecord
from .x12.reader import UnreadableFile, read_interchanges
from .x12.types import Delimiters, Finding
try:
    from .x12.walker import Walker
except ImportError:  # TEMPORARY until the walker lands
    class Walker:  # type: ignore[no-redef]
        def __init__(self, d: Delimiters) -> None:
            self.findings: list[Finding] = []

        def step(self, seg: Any) -> str:
            return ""

        def finish(self) -> None:
            pass

log = logging.getLogger("enrollreview.ingest")

GUIDE = "005010X220A1"
BATCH = 2000
PROGRESS_EVERY = 5000  # segments


class Cancelled(Exception):
    """The user cancelled the import; nothing was written."""


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


def _utcnow() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def import_file(
    db: Database,
    path: str | os.PathLike[str],
    *,
    is_demo: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    run_rules: bool = True,
) -> ImportResult:
    """Import one file. Never raises for bad input: the result says what happened."""
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
    try:
        with db.atomic():
            result = _load(db, data, base, progress, cancel, run_rules, started)
    except Cancelled:
        return ImportResult(p.name, "cancelled", seconds=time.perf_counter() - started)
    except (Rejected, UnreadableFile) as e:
        reason = str(e)
        with db.atomic():
            fid = db["files"].insert({**base, "status": "rejected", "reason": reason}).last_pk
        log.info("file %s rejected: %s", fid, reason)
        return ImportResult(p.name, "rejected", reason, file_id=fid, seconds=time.perf_counter() - started)
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
          cancel: CancelFn | None, run_rules: bool, started: float) -> ImportResult:
    rr = read_interchanges(data)
    d: Delimiters = rr.delims
    seg_iter = rr.segments()
    head: list[Any] = []
    for seg in seg_iter:  # enough of the start to see GS and ST
        head.append(seg)
        if seg.fields[0].strip() == "INS" or len(head) >= 60:
            break
    _check_guide(head)

    conn = db.conn
    # Members are written before their transaction's row (it is complete only at SE).
    conn.execute("PRAGMA defer_foreign_keys = ON")
    file_id = db["files"].insert({**base, "status": "imported",
                                  "delims": d.element + d.component + d.repetition + d.segment}).last_pk
    walker = Walker(d)
    member_rows: list[tuple[Any, ...]] = []
    cov_rows: list[tuple[Any, ...]] = []
    cat_rows: list[tuple[Any, ...]] = []
    ranges: list[tuple[int, int, int]] = []      # (first_ordinal, last_ordinal, member rowid)
    txn_ranges: list[tuple[int, int, int]] = []  # (first_ordinal, last_ordinal, transaction rowid)
    counts = {"members": 0, "txns": 0}
    next_member_id = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM members").fetchone()[0]) + 1
    next_txn_id = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM transactions").fetchone()[0]) + 1
    txn_ids: dict[int, int] = {}

    def txn_id_for(t: TransactionRecord) -> int:
        nonlocal next_txn_id
        if t.seq not in txn_ids:
            txn_ids[t.seq] = next_txn_id
            next_txn_id += 1
        return txn_ids[t.seq]

    def on_member(m: MemberRecord, t: TransactionRecord) -> None:
        nonlocal next_member_id
        mid = next_member_id
        next_member_id += 1
        member_rows.append(_member_row(mid, file_id, txn_id_for(t), m))
        for c in m.coverages:
            cov_rows.append((mid, file_id, c["seq"], c["hd01"], c["hd03"], c["hd04"], c["hd05"], c["begin"],
                             c["end"], c["maint_eff"], c["paid_through"], c["plan_id"], c["csr_variant"],
                             c["policy_id"], c["issuer_policy_id"], c["ordinal"]))
        for c in m.categories:
            cat_rows.append((mid, file_id, c["seq"], c["name"], c["ref_qual"], c["value"], c["amount"],
                             c["date_qual"], c["date_from"], c["date_to"], c["ordinal"], c.get("ref_ordinal"),
                             c.get("dtp_ordinal")))
        ranges.append((m.first_ordinal, m.last_ordinal, mid))
        counts["members"] += 1
        if len(member_rows) >= BATCH:
            flush()

    def on_txn(t: TransactionRecord) -> None:
        tid = txn_id_for(t)
        f = t.fields
        row = {"id": tid, "file_id": file_id, "seq": t.seq, "member_count": t.member_count,
               "first_ordinal": t.first_ordinal, "last_ordinal": t.last_ordinal,
               "raw": "\n".join(t.lines), "segs": json.dumps(t.segs, separators=(",", ":")),
               **{k: v for k, v in f.items() if k in _TXN_COLS}}
        flush()  # members reference the transaction; keep insert order simple
        db["transactions"].insert(row)
        txn_ranges.append((t.first_ordinal, t.last_ordinal, tid))
        counts["txns"] += 1

    def flush() -> None:
        if member_rows:
            conn.executemany(_MEMBER_INSERT, member_rows)
            member_rows.clear()
        if cov_rows:
            conn.executemany(_COV_INSERT, cov_rows)
            cov_rows.clear()
        if cat_rows:
            conn.executemany(_CAT_INSERT, cat_rows)
            cat_rows.clear()

    builder = MemberBuilder(d, on_member, on_txn)
    total = len(data)
    nseg = 0
    step, add = walker.step, builder.add
    for seg in itertools.chain(head, seg_iter):
        add(seg, step(seg))
        nseg += 1
        if nseg % PROGRESS_EVERY == 0:
            if cancel is not None and cancel():
                raise Cancelled()
            if progress is not None:
                progress(Progress(seg.offset, total, nseg, counts["members"], time.perf_counter() - started))
    walker.finish()
    builder.finish()
    flush()
    if cancel is not None and cancel():
        raise Cancelled()
    if counts["members"] == 0:
        raise Rejected("the file has no members (no INS segment): it is empty or was cut off before the "
                       "first member")

    findings = rr.findings + walker.findings
    _store_findings(db, file_id, findings, ranges, txn_ranges)
    # Content hash per transaction (DUP-01): the ST..SE text without its control numbers.
    _hash_transactions(db, file_id)
    env = builder.envelope
    db["files"].update(file_id, {
        **{k: v for k, v in env.items() if k in _FILE_ENV_COLS},
        **({"gs_sender": builder.groups[0]["gs_sender"], "gs_receiver": builder.groups[0]["gs_receiver"],
            "gs_control": builder.groups[0]["gs_control"], "gs_version": builder.groups[0]["gs_version"]}
           if builder.groups else {}),
        "segment_count": nseg, "transaction_count": counts["txns"], "member_count": counts["members"],
        "finding_count": len(findings),
        "envelope": json.dumps(builder.envelope_lines, separators=(",", ":")),
    })
    result = ImportResult(base["name"], "imported", file_id=file_id, members=counts["members"],
                          segments=nseg, transactions=counts["txns"], findings=len(findings))
    if progress is not None:
        progress(Progress(total, total, nseg, counts["members"], time.perf_counter() - started))
    if run_rules:
        t0 = time.perf_counter()
        result.flags = run_rules_after_import(db, file_id)
        result.rule_seconds = time.perf_counter() - t0
    return result


def run_rules_after_import(db: Database, file_id: int) -> int:
    """Re-run the rules for what this file touched; returns the number of open flags on the file."""
    try:
        from .rules.engine import run_for_file
    except ImportError:  # rules not built yet
        return 0
    return run_for_file(db, file_id)


def _store_findings(db: Database, file_id: int, findings: list[Finding],
                    ranges: list[tuple[int, int, int]], txn_ranges: list[tuple[int, int, int]]) -> None:
    starts = [r[0] for r in ranges]
    tstarts = [r[0] for r in txn_ranges]
    rows = []
    for f in findings:
        mid = tid = None
        i = bisect.bisect_right(starts, f.ordinal) - 1
        if i >= 0 and ranges[i][0] <= f.ordinal <= ranges[i][1]:
            mid = ranges[i][2]
        j = bisect.bisect_right(tstarts, f.ordinal) - 1
        if j >= 0 and txn_ranges[j][0] <= f.ordinal <= txn_ranges[j][1]:
            tid = txn_ranges[j][2]
        rows.append((file_id, tid, mid, f.ordinal, f.seg_id, f.level, f.code, f.element, f.ele_pos, f.sub_pos,
                     f.message))
    if rows:
        db.conn.executemany(
            "INSERT INTO findings (file_id, transaction_id, member_id, ordinal, seg_id, level, code, element, "
            "ele_pos, sub_pos, message) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)


def _hash_transactions(db: Database, file_id: int) -> None:
    rows = db.execute("SELECT t.id, t.raw, (SELECT group_concat(raw, char(10)) FROM "
                      "(SELECT raw FROM members WHERE transaction_id = t.id ORDER BY seq)) "
                      "FROM transactions t WHERE t.file_id = ?", [file_id]).fetchall()
    updates = []
    for tid, traw, mraw in rows:
        lines = [ln for ln in (traw or "").split("\n") if not ln.startswith(("ST", "SE"))]
        h = hashlib.sha256(("\n".join(lines) + "\n" + (mraw or "")).encode("latin-1", "replace")).hexdigest()
        updates.append((h, tid))
    db.conn.executemany("UPDATE transactions SET content_hash = ? WHERE id = ?", updates)


_TXN_COLS = {"isa_control", "gs_control", "gs_version", "gs_functional", "st_id", "st_control", "st_version",
             "se_count", "se_control", "bgn_purpose", "bgn_ref", "bgn_date", "bgn_time", "bgn_action",
             "master_policy", "file_effective", "qty_to", "qty_dt", "qty_et", "sponsor_name", "sponsor_id",
             "payer_name", "payer_id", "broker_name", "broker_id", "tpa_name", "tpa_id"}
_FILE_ENV_COLS = {"isa_sender_qual", "isa_sender", "isa_receiver_qual", "isa_receiver", "isa_date", "isa_time",
                  "isa_version", "isa_control", "usage"}
_MEMBER_COLS = ("ins01", "ins02", "ins03", "ins04", "ins05", "ins08", "ins17", "subscriber_id", "member_id",
                "issuer_member_id", "issuer_subscriber_id", "payment_tx_id", "group_policy_id", "case_number",
                "policy_id", "elig_begin", "elig_end", "maint_eff", "amrc", "last_name", "first_name",
                "middle_name", "prefix", "suffix", "id_qual", "ssn", "other_id", "phone", "email", "address1",
                "address2", "city", "state", "zip", "county", "dob", "gender", "marital", "race", "has_dmg",
                "tobacco", "language")
_MEMBER_JSON = ("phones", "old", "mailing", "other_names", "refs", "dates")
_MEMBER_INSERT = (
    "INSERT INTO members (id, file_id, transaction_id, seq, " + ", ".join(_MEMBER_COLS + _MEMBER_JSON)
    + ", first_ordinal, last_ordinal, raw, segs) VALUES ("
    + ",".join("?" * (4 + len(_MEMBER_COLS) + len(_MEMBER_JSON) + 4)) + ")"
)
_COV_INSERT = ('INSERT INTO coverages (member_id, file_id, seq, hd01, hd03, hd04, hd05, begin, "end", maint_eff, '
               "paid_through, plan_id, csr_variant, policy_id, issuer_policy_id, ordinal) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_CAT_INSERT = ("INSERT INTO categories (member_id, file_id, seq, name, ref_qual, value, amount, date_qual, "
               "date_from, date_to, ordinal, ref_ordinal, dtp_ordinal) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")


def _member_row(mid: int, file_id: int, txn_id: int, m: MemberRecord) -> tuple[Any, ...]:
    f = m.fields
    vals: list[Any] = [mid, file_id, txn_id, m.seq]
    vals.extend(f.get(c) for c in _MEMBER_COLS)
    vals.extend(json.dumps(f[c], separators=(",", ":")) if c in f else None for c in _MEMBER_JSON)
    vals.extend((m.first_ordinal, m.last_ordinal, "\n".join(m.lines),
                 json.dumps(m.segs, separators=(",", ":"))))
    return tuple(vals)
