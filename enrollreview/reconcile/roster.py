"""Read an exchange roster (CSV, pipe- or tab-separated text, or Excel .xlsx) and import it.

`inspect_roster` reads the header and a few rows and guesses the column mapping (the mapping step
shows it). `import_roster` loads the good rows in one transaction and reports every bad row with
the reason; a roster that cannot be imported at all (unreadable, required columns missing, no good
row, the same file again) leaves the store untouched.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import hashlib
import io
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..store import utcnow as _now
from . import mapping as mp
from .normalize import (
    GENDERS,
    NO,
    YES,
    name_part,
    parse_cents,
    relationship_code,
    ssn_digits,
    status_word,
)
from .normalize import parse_date as _parse_date

log = logging.getLogger("enrollreview.reconcile")

HEADER_SCAN_ROWS = 20
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
BATCH = 5000

parse_date = functools.lru_cache(maxsize=100_000)(_parse_date)


class RosterUnreadable(Exception):
    """The file cannot be read as a roster; str(exc) is one line for the clerk."""


# -- reading ---------------------------------------------------------------------------------------

@dataclass
class RosterTable:
    """A roster file opened for reading: its header and a stream of (row number, cells)."""

    name: str
    format: str
    header_row: int
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


_DELIMS = {"|": "pipe", "\t": "tab", ",": "csv", ";": "semicolon"}


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text[:65536].splitlines() if ln.strip()][:HEADER_SCAN_ROWS]
    if not lines:
        raise RosterUnreadable("the file is empty")
    best, best_score = ",", -1
    for d in _DELIMS:
        counts = [ln.count(d) for ln in lines]
        # a delimiter that appears in most lines and most often wins
        score = sum(1 for c in counts if c) * 1000 + max(counts)
        if max(counts) and score > best_score:
            best, best_score = d, score
    return best


def _excel_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat(sep=" ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


def _excel_rows(data: bytes) -> Iterator[list[str]]:
    try:
        import openpyxl
    except ImportError as e:  # pragma: no cover - a runtime dependency
        raise RosterUnreadable("reading Excel files needs the openpyxl package") from e
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a damaged file
        raise RosterUnreadable(f"the Excel file cannot be opened ({type(e).__name__})") from e

    def gen() -> Iterator[list[str]]:
        try:
            ws = wb.worksheets[0]
            for row in ws.iter_rows(values_only=True):
                yield [_excel_cell(v) for v in row]
        finally:
            wb.close()

    return gen()


def _header_names(cells: list[str]) -> list[str]:
    out: list[str] = []
    seen: Counter[str] = Counter()
    for i, c in enumerate(cells):
        h = c.strip().strip("\ufeff") or f"Column {i + 1}"
        seen[h] += 1
        out.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
    while out and out[-1].startswith("Column ") and not cells[len(out) - 1].strip():
        out.pop()
    return out


def open_table(data: bytes, name: str, *, prefer: dict[str, str] | None = None) -> RosterTable:
    """Find the header row (the first of the top rows naming the most known fields) and stream rows."""
    if name.lower().endswith(EXCEL_SUFFIXES) or data[:4] == b"PK\x03\x04":
        fmt = "xlsx"
        it: Iterator[list[str]] = _excel_rows(data)
    else:
        if b"\x00" in data[:4096]:
            raise RosterUnreadable("this is not a text roster (it contains binary data); save it as CSV "
                                   "or .xlsx")
        text = _decode(data)
        delim = _sniff_delimiter(text)
        fmt = _DELIMS[delim]
        it = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    head: list[list[str]] = []
    for row in it:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    wanted = {mp.norm_header(c) for c in (prefer or {}).values()}
    best_i, best_score = -1, 0
    for i, row in enumerate(head):
        score = len(mp.guess_mapping(row)) + sum(1 for c in row if wanted and mp.norm_header(c) in wanted)
        if score > best_score:
            best_i, best_score = i, score
    if best_i < 0 or best_score < 3:
        best_i = next((i for i, r in enumerate(head) if any(c.strip() for c in r)), -1)
    if best_i < 0:
        raise RosterUnreadable("the file has no rows")
    headers = _header_names(head[best_i])

    def rows() -> Iterator[tuple[int, list[str]]]:
        n = best_i + 1
        for r in head[best_i + 1:]:
            n += 1
            yield n, r
        for r in it:
            n += 1
            yield n, r

    return RosterTable(name, fmt, best_i + 1, headers, rows())


@dataclass
class RosterPreview:
    name: str
    format: str
    header_row: int
    headers: list[str]
    samples: list[list[str]]
    guessed: dict[str, str]

    def sample_values(self, column: str, n: int = 3) -> list[str]:
        if column not in self.headers:
            return []
        i = self.headers.index(column)
        return [r[i] for r in self.samples if i < len(r) and r[i].strip()][:n]


def inspect_roster(path: str | os.PathLike[str], *, samples: int = 5) -> RosterPreview:
    """Header, a few rows and the guessed mapping: what the mapping step shows. Raises RosterUnreadable."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise RosterUnreadable(f"cannot read the file ({e.strerror or e})") from e
    t = open_table(data, p.name)
    rows: list[list[str]] = []
    for _n, r in t.rows:
        if any(c.strip() for c in r):
            rows.append(r)
        if len(rows) >= samples:
            break
    return RosterPreview(p.name, t.format, t.header_row, t.headers, rows, mp.guess_mapping(t.headers))


# -- row validation --------------------------------------------------------------------------------

@dataclass
class RowError:
    row: int
    severity: str            # 'error': the row was not loaded; 'warning': loaded, the value was ignored
    field: str | None
    column: str | None
    value: str
    message: str
    policy_id: str = ""
    member_id: str = ""

    def line(self) -> str:
        where = f" (column {self.column})" if self.column else ""
        what = "" if self.severity == "error" else "warning: "
        return f"row {self.row}: {what}{self.message}{where}"


ROW_COLUMNS = ("roster_id", "row_number", "coverage_year", "policy_id", "member_id", "subscriber_id",
               "subscriber_ind", "relationship", "last_name", "first_name", "middle_name", "name_key", "dob",
               "gender", "ssn", "plan_id", "benefit_start", "benefit_end", "status", "status_raw",
               "aptc_cents", "total_premium_cents", "member_premium_cents", "rating_area", "paid_through",
               "issuer_policy_id", "issuer_member_id", "issuer_subscriber_id", "address1", "city", "state",
               "zip", "phone", "raw")
_ROW_INSERT = (f"INSERT INTO roster_rows ({', '.join(ROW_COLUMNS)}) VALUES ({','.join('?' * len(ROW_COLUMNS))})")



_NAMES_READ = ("coverage_year", "policy_id", "member_id", "subscriber_id", "subscriber_ind", "relationship",
               "last_name", "first_name", "middle_name", "dob", "gender", "ssn", "plan_id", "benefit_start",
               "benefit_end", "status", "aptc", "total_premium", "member_premium", "rating_area", "paid_through",
               "issuer_policy_id", "issuer_member_id", "issuer_subscriber_id", "address1", "city", "state", "zip",
               "phone")
_BAD = object()


@functools.lru_cache(maxsize=100_000)
def _cents(raw: str) -> Any:
    try:
        return parse_cents(raw)
    except ValueError:
        return _BAD


_status = functools.lru_cache(maxsize=1024)(status_word)
_relationship = functools.lru_cache(maxsize=1024)(relationship_code)


class _RowReader:
    """Validates one row into the values of ROW_COLUMNS[2:-1] (hot path: 200,000 rows in a few seconds)."""

    def __init__(self, headers: list[str], mapping: dict[str, str]) -> None:
        self.mapping = mapping
        self.width = len(headers)
        # every field reads some cell; an unmapped field reads the extra empty cell at index `width`
        self.index = [headers.index(mapping[f]) if mapping.get(f) in headers else self.width for f in _NAMES_READ]
        self.pad = [""] * (self.width + 1)

    def read(self, n: int, cells: list[str]) -> tuple[tuple[Any, ...] | None, list[RowError]]:
        if len(cells) != self.width + 1:
            cells = (cells + self.pad)[: self.width] + [""]
        v = dict(zip(_NAMES_READ, [cells[i].strip() for i in self.index], strict=True))
        errs: list[RowError] = []
        pol, mem, last, first = v["policy_id"], v["member_id"], v["last_name"], v["first_name"]

        def err(f: str, msg: str, sev: str = "error") -> None:
            errs.append(RowError(n, sev, f, self.mapping.get(f), v.get(f, ""), msg, pol, mem))

        if not (pol and mem and last and first):
            for f in ("policy_id", "member_id", "last_name", "first_name"):
                if not v[f]:
                    err(f, f"{mp.label_in_text(f)} is empty")
        dates = []
        for f, required in (("dob", True), ("benefit_start", True), ("benefit_end", False),
                            ("paid_through", False)):
            raw = v[f]
            d = parse_date(raw) if raw else None
            if raw and d is None:
                err(f, f"{mp.label_in_text(f)} '{raw}' is not a date")
            elif required and not raw:
                err(f, f"{mp.label_in_text(f)} is empty")
            dates.append(d)
        dob, start, end, paid = dates
        if start and end and end < start:
            d0 = _dt.date.fromisoformat(start) - _dt.timedelta(days=1)
            if end < d0.isoformat():
                err("benefit_end", f"benefit end {end} is before benefit start {start}", "warning")
        year_raw = v["coverage_year"]
        year: int | None = None
        if year_raw:
            y = year_raw[:-2] if year_raw.endswith(".0") else year_raw
            if len(y) == 4 and y.isdigit() and 2000 <= int(y) <= 2100:
                year = int(y)
            else:
                err("coverage_year", f"coverage year '{year_raw}' is not a year")
        elif start:
            year = int(start[:4])  # one roster row = one coverage year
        else:
            err("coverage_year", "coverage year is empty")
        raw_status = v["status"]
        st = _status(raw_status) if raw_status else None
        if not raw_status:
            err("status", "status is empty")
        elif st is None:
            err("status", f"status '{raw_status}' is not one of: initial/pending, effectuated, cancelled, "
                "terminated (or Y/N)")
        # subscriber indicator and relationship: one of them is enough
        si_raw, rel_raw = v["subscriber_ind"], v["relationship"]
        up = si_raw.upper()
        si = "Y" if up in YES else "N" if up in NO else None
        rel = _relationship(rel_raw) if rel_raw else None
        if si_raw and si is None:
            err("subscriber_ind", f"subscriber indicator '{si_raw}' is not Y or N", "warning" if rel else "error")
        if rel_raw and rel is None:
            err("relationship", f"relationship '{rel_raw}' is not a relationship code or word",
                "warning" if si else "error")
        if not si_raw and not rel_raw:
            err("subscriber_ind", "subscriber indicator and relationship are both empty")
        if si is None and rel:
            si = "Y" if rel == "18" else "N"
        if rel is None and si == "Y":
            rel = "18"
        if si == "Y" and rel and rel != "18":
            err("relationship", f"marked as the subscriber but the relationship is '{rel_raw}'", "warning")
        g = v["gender"]
        gender = GENDERS.get(g.upper()) if g else None
        if g and gender is None:
            err("gender", f"gender '{g}' is not M or F", "warning")
        s = v["ssn"]
        ssn = None
        if s:
            digits = s if (len(s) == 9 and s.isdigit()) else ssn_digits(s)
            if len(digits) in (7, 8) and digits == s.replace("-", ""):
                digits = digits.zfill(9)  # a spreadsheet dropped the leading zeros
            ssn = digits if len(digits) == 9 else None
            if ssn is None:
                err("ssn", f"SSN is not 9 digits (value '{'*' * max(len(s) - 4, 0) + s[-4:]}')", "warning")
        money = []
        for f in ("aptc", "total_premium", "member_premium"):
            raw = v[f]
            c = _cents(raw) if raw else None
            if c is _BAD:
                err(f, f"{mp.label_in_text(f)} '{raw}' is not an amount")
                c = None
            money.append(c)
        if errs and any(e.severity == "error" for e in errs):
            return None, errs
        a, b = name_part(last), name_part(first)
        nk = f"{a}|{b}" if a and b else ""
        o = v.get
        return (year, pol, mem, o("subscriber_id") or None, si, rel, last, first, o("middle_name") or None, nk,
                dob, gender, ssn, v["plan_id"].upper() or None, start, end, st, raw_status, money[0], money[1],
                money[2], o("rating_area") or None, paid, o("issuer_policy_id") or None,
                o("issuer_member_id") or None, o("issuer_subscriber_id") or None, o("address1") or None,
                o("city") or None, o("state") or None, o("zip") or None, o("phone") or None), errs


# -- import ----------------------------------------------------------------------------------------

@dataclass
class RosterImportResult:
    name: str
    status: str                  # 'imported', 'rejected', 'duplicate'
    reason: str = ""
    roster_id: int | None = None
    format: str = ""
    header_row: int = 0
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_source: str = ""     # 'given', 'saved mapping NAME', 'guessed from the column names'
    saved_as: str | None = None
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    errors: list[RowError] = field(default_factory=list)
    coverage_years: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "imported"

    def summary(self) -> str:
        if self.status == "imported":
            years = ", ".join(str(y) for y in self.coverage_years)
            s = (f"{self.name}: roster {self.roster_id} imported: {self.rows_loaded:,} of {self.rows_total:,} "
                 f"rows loaded (coverage year {years})")
            if self.rows_rejected:
                s += f"; {self.rows_rejected:,} rows not loaded"
            if self.warnings:
                s += f"; {self.warnings:,} warnings"
            return s + f" ({self.seconds:.1f} s)"
        if self.status == "duplicate":
            return f"{self.name}: not imported: {self.reason}"
        return f"{self.name}: not imported, nothing was changed: {self.reason}"

    def report(self, limit: int = 50) -> list[str]:
        """Which rows were not loaded (or loaded with a warning) and why, rows in file order."""
        errs = sorted(self.errors, key=lambda e: (e.row, e.severity != "error"))
        lines = [e.line() for e in errs[:limit]]
        if len(errs) > limit:
            kinds = Counter(e.message.split(" '")[0] if " '" in e.message else e.message for e in errs[limit:])
            lines.append(f"... and {len(errs) - limit:,} more: " +
                         "; ".join(f"{k} ({n:,})" for k, n in kinds.most_common(5)))
        return lines


def resolve_mapping(db: Database, headers: list[str], *, mapping: dict[str, str] | None = None,
                    mapping_name: str | None = None, sender: str = "") -> tuple[dict[str, str], str, str | None]:
    """(mapping fitted to the headers, where it came from, saved name) — or RosterUnreadable."""
    if mapping is not None:
        absent = mp.absent_columns(mapping, headers)
        if absent:
            raise RosterUnreadable("the mapping names columns the file does not have: " + ", ".join(absent))
        return mp.fit_to_headers(mapping, headers), "given", None
    if mapping_name:
        saved = mp.load_mapping(db, mapping_name)
        if saved is None:
            known = ", ".join(m["name"] for m in mp.list_mappings(db)) or "none saved yet"
            raise RosterUnreadable(f"there is no saved mapping named {mapping_name!r} ({known})")
        absent = mp.absent_columns(saved["mapping"], headers)
        if absent:
            raise RosterUnreadable(f"the saved mapping {mapping_name!r} expects columns this file does not "
                                   f"have: {', '.join(absent)}")
        return mp.fit_to_headers(saved["mapping"], headers), f"saved mapping {mapping_name!r}", mapping_name
    saved = mp.mapping_for_sender(db, sender, headers)
    if saved:
        return saved["mapping"], f"saved mapping {saved['name']!r}", saved["name"]
    return mp.guess_mapping(headers), "guessed from the column names", None


def import_roster(
    db: Database,
    path: str | os.PathLike[str],
    *,
    mapping: dict[str, str] | None = None,
    mapping_name: str | None = None,
    sender: str = "",
    save_as: str | None = None,
    save: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RosterImportResult:
    """Import one roster. Never raises for bad input: the result says what happened.

    The mapping is, in order: `mapping` as given, the saved mapping `mapping_name`, the sender's saved
    mapping that fits the file, or a guess from the column names. After a successful import the
    mapping is saved as `save_as` (default: the sender's name, or 'default') unless `save` is False
    or it came from a saved mapping unchanged.
    """
    p = Path(path)
    started = time.perf_counter()
    res = RosterImportResult(p.name, "rejected")
    try:
        data = p.read_bytes()
    except OSError as e:
        res.reason = f"cannot read the file ({e.strerror or e})"
        return res
    digest = hashlib.sha256(data).hexdigest()
    prior = db.execute("SELECT id, name, imported_at FROM rosters WHERE sha256 = ?", [digest]).fetchone()
    if prior:
        res.status = "duplicate"
        res.roster_id = prior[0]
        res.reason = (f"the same roster was already imported on {prior[2][:16].replace('T', ' ')} UTC as "
                      f"{prior[1]} (roster {prior[0]})")
        return res
    try:
        prefer = mapping
        if prefer is None and mapping_name:
            saved = mp.load_mapping(db, mapping_name)
            prefer = saved["mapping"] if saved else None
        table = open_table(data, p.name, prefer=prefer)
        res.format, res.header_row, res.headers = table.format, table.header_row, table.headers
        used, res.mapping_source, used_name = resolve_mapping(db, table.headers, mapping=mapping,
                                                              mapping_name=mapping_name, sender=sender)
    except RosterUnreadable as e:
        res.reason = str(e)
        res.seconds = time.perf_counter() - started
        return res
    res.mapping = used
    missing = mp.missing_required(used)
    if missing:
        res.reason = ("required columns are missing: " + ", ".join(missing) + ". The file's columns are: "
                      + ", ".join(table.headers[:40]) + ("..." if len(table.headers) > 40 else "")
                      + ". Map them in the mapping step or with --mapping.")
        res.seconds = time.perf_counter() - started
        return res

    try:
        with db.atomic():  # rows are written as they are read; any failure rolls everything back
            _load_rows(db, p, data, digest, table, used, used_name, sender, res, progress)
            name = save_as or (None if used_name else (sender or "default"))
            if save and name:
                mp.save_mapping(db, name, sender, used, table.headers)
                res.saved_as = name
            if used_name:
                mp.mark_used(db, used_name)
    except _NotLoaded as e:
        res.roster_id, res.rows_loaded = None, 0
        res.reason = str(e)
        res.seconds = time.perf_counter() - started
        return res
    res.status = "imported"
    res.seconds = time.perf_counter() - started
    log.info("roster %s imported: %d rows loaded, %d rejected, %d warnings in %.2f s", res.roster_id,
             res.rows_loaded, res.rows_rejected, res.warnings, res.seconds)
    return res


class _NotLoaded(Exception):
    """Raised inside the import transaction to roll it back; str() is the reason for the clerk."""


def _load_rows(db: Database, p: Path, data: bytes, digest: str, table: RosterTable, used: dict[str, str],
               used_name: str | None, sender: str, res: RosterImportResult,
               progress: Callable[[int], None] | None) -> None:
    conn = db.conn
    rid = db["rosters"].insert({
        "name": p.name, "path": str(p.resolve()), "sha256": digest, "size": len(data), "format": table.format,
        "sender": sender or "", "imported_at": _now(), "header_row": table.header_row,
        "headers": json.dumps(table.headers, ensure_ascii=False), "mapping": json.dumps(used),
        "mapping_name": used_name, "rows_total": 0, "rows_loaded": 0, "rows_rejected": 0,
    }).last_pk
    res.roster_id = rid
    reader = _RowReader(table.headers, used)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    width = len(table.headers)
    batch: list[tuple[Any, ...]] = []
    seen: dict[str, int] = {}
    years: Counter[int] = Counter()
    loaded = 0
    try:
        for n, cells in table.rows:
            if not any(c.strip() for c in cells):
                continue
            res.rows_total += 1
            row, errs = reader.read(n, cells)
            if row is not None:
                key = f"{row[0]}|{row[1]}|{row[2]}|{row[14]}"  # year, policy, member, benefit start
                first = seen.setdefault(key, n)
                if first != n:
                    errs.append(RowError(n, "warning", None, None, "", f"the same person, policy and benefit "
                                         f"start as row {first}", row[1], row[2]))
                years[row[0]] += 1
                batch.append((rid, n, *row, encode(cells[:width])))
                if len(batch) >= BATCH:
                    conn.executemany(_ROW_INSERT, batch)
                    loaded += len(batch)
                    batch.clear()
            if errs:
                res.errors.extend(errs)
            if progress is not None and res.rows_total % 10_000 == 0:
                progress(res.rows_total)
    except (csv.Error, RosterUnreadable) as e:
        raise _NotLoaded(f"the file cannot be read past row {res.rows_total + table.header_row} ({e})") from e
    except Exception as e:  # a damaged Excel file fails while streaming
        if table.format != "xlsx":
            raise
        raise _NotLoaded(f"the Excel file is damaged ({type(e).__name__})") from e
    if batch:
        conn.executemany(_ROW_INSERT, batch)
        loaded += len(batch)
    res.rows_loaded = loaded
    res.rows_rejected = res.rows_total - loaded
    res.warnings = sum(1 for e in res.errors if e.severity == "warning")
    res.coverage_years = sorted(years)
    if not loaded:
        raise _NotLoaded("no row could be loaded" if res.rows_total else "the file has a header but no rows")
    if res.errors:
        conn.executemany(
            "INSERT INTO roster_row_errors (roster_id, row_number, severity, field, column_name, value, "
            "message, policy_id, member_id) VALUES (?,?,?,?,?,?,?,?,?)",
            [(rid, e.row, e.severity, e.field, e.column, e.value if e.field != "ssn" else "", e.message,
              e.policy_id, e.member_id) for e in res.errors])
    db["rosters"].update(rid, {
        "coverage_year": years.most_common(1)[0][0], "coverage_years": json.dumps(res.coverage_years),
        "rows_total": res.rows_total, "rows_loaded": loaded, "rows_rejected": res.rows_rejected,
        "warnings": res.warnings})


# -- reading back ----------------------------------------------------------------------------------

def list_rosters(db: Database) -> list[dict[str, Any]]:
    cur = db.execute("""
        SELECT r.id, r.name, r.sender, r.coverage_year AS year, substr(r.imported_at, 1, 16) AS imported,
               r.rows_total AS rows, r.rows_loaded AS loaded, r.rows_rejected AS rejected,
               r.warnings, r.format,
               (SELECT substr(MAX(c.run_at), 1, 16) FROM reconciliations c WHERE c.roster_id = r.id)
                   AS reconciled
        FROM rosters r ORDER BY r.id""")
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def row_errors(db: Database, roster_id: int) -> list[RowError]:
    rows = db.execute("SELECT row_number, severity, field, column_name, value, message, policy_id, member_id "
                      "FROM roster_row_errors WHERE roster_id = ? ORDER BY row_number, id",
                      [roster_id]).fetchall()
    return [RowError(*r) for r in rows]
