"""History across files: who is the same person, which rows form one enrollment group, and what
each row does to its policy over time.

`prepare(db)` runs once per imported file, before the rules:

* `members.person_id`: the same person across files, matched in this order: member id (REF*17);
  subscriber id (REF*0F) + date of birth + first name; SSN; normalised last name + first name + date of
  birth. Twins (same last name and birth date, different first names) stay two people. A match is
  refused when both sides carry different member ids: that is "one person under two member ids"
  (DUP-07, recorded in `person_links`), which must stay visible rather than be merged away. The
  import's INSERT already set the person of a known member id (or a new person with the row's own
  id); this only corrects the rows another key matches.
* `member_facts` (a narrow table, one row per member row):
  - `head_row`: the subscriber row a dependant belongs to inside its transaction: the subscriber with
    the same REF*0F, else the subscriber it follows (when its own REF*0F is nobody's: FAM-03), else none
    (a dependant-only transaction, or a dependant of a subscriber on record from another file);
  - `group_key`: the enrollment group across files, "policy id|subscriber id" (exchange policy id =
    2300 REF*1L, else 2000 REF*1L on a subscriber-only cancel). The subscriber id is part of the key so
    that employer-style files, where one group number covers many unrelated subscribers in one
    transaction, fall apart into households;
  - `event`, `eff_begin`, `eff_end`: what the row does (enrolled, effectuated, changed, cancelled = end
    on or before begin, terminated = end after begin, reinstated, audit, other) and its coverage dates.

`policy_timeline()` and `person_timeline()` read the result for the GUI and the CLI.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from ..sqlnull import NULL
from ..store import rows as _rows
from ..store import utcnow as _utcnow
from .base import HIOS_GLOB, ISO_GLOB

log = logging.getLogger("enrollreview.rules")

_NONALPHA = re.compile(r"[^A-Z0-9]")
#: a key (SSN, name + birth date) shared by this many people is a placeholder, not an identity
LINK_CAP = 5


def _null(v: Any) -> Any:
    """None as the bulk inserts' NULL (sqlnull.py: binding None costs 3,300 instructions a value)."""
    return NULL if v is None else v


def norm_name(s: str | None) -> str:
    u = (s or "").upper()
    return u if u.isalnum() or not u else _NONALPHA.sub("", u)


def valid_ssn(s: str | None) -> bool:
    """An SSN that can identify someone: 9 digits, not one digit repeated, not 123456789, and a number the
    SSA issues (area not 000, 666 or 9xx; group not 00; serial not 0000). Placeholders identify nobody."""
    if not s or len(s) != 9 or not s.isdigit() or s == s[0] * 9 or s == "123456789":
        return False
    return s[:3] not in ("000", "666") and s[0] != "9" and s[3:5] != "00" and s[5:] != "0000"


def sent_stamp(ts: str | None, bgn_date: str | None, bgn_time: str | None) -> str | None:
    """When the sender made a transaction, as 14 digits: the REQUEST SUBMIT TIMESTAMP, else BGN03 + BGN04."""
    digits = "".join(c for c in (ts or "") if c.isdigit())
    if len(digits) >= 12:
        return (digits + "00")[:14]
    d = (bgn_date or "").replace("-", "")
    if len(d) == 8 and d.isdigit():
        t = "".join(c for c in (bgn_time or "") if c.isdigit())
        return d + (t + "000000")[:6]
    return None




def unprepared_files(db: Database) -> list[int]:
    return [r[0] for r in db.execute(
        "SELECT f.id FROM files f WHERE f.status = 'imported' AND f.member_count > 0 "
        "AND NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.file_id = f.id) ORDER BY f.id")]


def prepare(db: Database, rows: dict[int, list[Any]] | None = None) -> list[int]:
    """Fill the history facts for every imported file not prepared yet (oldest first).

    `rows`: the history rows of a file just imported (parse.history_row, with store ids), so that they
    need not be read back. Other files' rows come from the store (_ROWS_SQL), through the temporary table
    mw, a narrow copy of their members' columns that the rules run reuses (the engine drops it). Measured
    at 100k: with the parser's rows, building mw cost more (0.16 s) than the rules save by reading it."""
    db.conn.execute("DROP TABLE IF EXISTS temp.mw")
    done = []
    for fid in unprepared_files(db):
        prepare_file(db, fid, (rows or {}).get(fid))
        done.append(fid)
    return done


#: members columns the history and the rules read (members rows are wide: they carry the raw segments;
#: one pass copies these into the temporary table mw, everything after reads the narrow copy)
MEMBER_COLUMNS = ("id", "file_id", "transaction_id", "seq", "ins01", "ins02", "ins03", "ins04", "ins08", "ins17",
                  "amrc", "subscriber_id", "member_id", "policy_id", "person_id", "maint_eff", "elig_begin", "elig_end",
                  "last_name", "first_name", "dob", "gender", "has_dmg", "ssn", "id_qual", "state", "zip", "phone",
                  "email", "race", "phones", "mailing")

_EVENT_SQL = """CASE
    WHEN m.ins03 = '021' THEN CASE WHEN upper(COALESCE(m.amrc, '')) = 'CONFIRM' THEN 'effectuated' ELSE 'enrolled' END
    WHEN m.ins03 = '024' THEN CASE
        WHEN b IS NOT NULL AND e IS NOT NULL THEN CASE WHEN e <= b THEN 'cancelled' ELSE 'terminated' END
        WHEN upper(COALESCE(m.amrc, '')) LIKE 'CANCEL%' THEN 'cancelled'
        WHEN upper(COALESCE(m.amrc, '')) LIKE 'TERM%' OR e IS NOT NULL THEN 'terminated'
        ELSE 'ended' END
    WHEN m.ins03 = '025' THEN 'reinstated' WHEN m.ins03 = '001' THEN 'changed' WHEN m.ins03 = '030' THEN 'audit'
    ELSE 'other' END"""

# One row per member of a file with what the history needs; dates and the event are worked out here
# (the same rules as parse.event_kind, in SQL, because this runs over every member of a file).
_ROWS_SQL = f"""
WITH cov AS (SELECT member_id,
                    min(CASE WHEN begin GLOB '{ISO_GLOB}' THEN begin END) AS cb,
                    max(CASE WHEN "end" GLOB '{ISO_GLOB}' THEN "end" END) AS ce,
                    count(*) AS n, count(CASE WHEN "end" GLOB '{ISO_GLOB}' THEN 1 END) AS ne
             FROM coverages WHERE member_id BETWEEN :lo AND :hi GROUP BY member_id),
base AS (
    SELECT m.id, m.transaction_id, m.ins01, m.ins03, m.amrc, m.subscriber_id, m.member_id, m.policy_id, m.dob, m.ssn,
           m.last_name, m.first_name, m.gender, m.person_id,
           COALESCE(cov.cb, CASE WHEN m.elig_begin GLOB '{ISO_GLOB}' THEN m.elig_begin END) AS b,
           CASE WHEN m.elig_end GLOB '{ISO_GLOB}' THEN m.elig_end
                WHEN cov.n > 0 AND cov.ne = cov.n THEN cov.ce END AS e
    FROM temp.mw m LEFT JOIN cov ON cov.member_id = m.id
    WHERE m.file_id = :file)
SELECT m.id, m.transaction_id, m.ins01, m.subscriber_id, m.member_id, m.policy_id, m.dob, m.ssn, m.last_name,
       m.first_name, m.gender, b, e, m.person_id, {_EVENT_SQL} AS event
FROM base m ORDER BY m.id
"""
# row: 0 id, 1 transaction, 2 ins01, 3 subscriber id, 4 member id, 5 policy, 6 dob, 7 ssn, 8 last, 9 first,
#      10 gender, 11 begin, 12 end, 13 person_id as the import's INSERT stored it, 14 event;
#      parse.history_row builds the same rows for a file being imported


def prepare_file(db: Database, file_id: int, given: list[Any] | None = None) -> None:
    conn = db.conn
    lo, hi = conn.execute("SELECT min(id), max(id) FROM members WHERE file_id = ?", [file_id]).fetchone()
    if lo is None:
        conn.execute("INSERT OR REPLACE INTO rule_runs (file_id, prepared_at, hios_plans, category_names) "
                     "VALUES (?, ?, 0, '[]')", [file_id, _utcnow()])
        return
    rows: list[Any] = given if given is not None else file_rows(db, file_id, lo, hi)
    heads = _heads(db, rows)
    persons, on_record = _persons(db, rows)
    by_id = {r[0]: r for r in rows}
    facts = []
    for r in rows:
        mid = r[0]
        head = heads.get(mid)
        if head is not None and head != mid:
            h = by_id[head]
            key = f"{h[5] or r[5] or ''}|{h[3] or ''}"
        else:
            key = f"{r[5] or ''}|{r[3] or ''}"
        facts.append((mid, file_id, r[1], _null(head), key, r[14], _null(r[11]), _null(r[12])))
    # rows whose person differs from the one the import's INSERT stored: read back with rows from the
    # store (column 13); for the parser's rows, the INSERT's own rule: the person on record with the
    # row's member id (the lowest id), else the row's own id (persons do not change during an import)
    if given is None:
        moved = [(pid, mid) for mid, pid in persons.items() if by_id[mid][13] != pid]
    else:
        moved = [(pid, mid) for mid, pid in persons.items() if on_record.get(by_id[mid][4] or "", mid) != pid]
    if moved:   # rows the import's INSERT could not place (another key matched, or a person new in this file)
        conn.executemany("UPDATE members SET person_id = ? WHERE id = ?", moved)
        if given is None:
            conn.executemany("UPDATE temp.mw SET person_id = ? WHERE id = ?", moved)
    conn.execute("DELETE FROM member_facts WHERE id BETWEEN ? AND ?", [lo, hi])
    bulk_insert(db, "member_facts", "INSERT INTO member_facts (id, file_id, transaction_id, head_row, group_key, event, "
                "eff_begin, eff_end) VALUES (?,?,?,?,?,?,?,?)", facts)
    # what the file is like, for the rules' settings of each file (kept: old files are in many later scopes)
    hios = conn.execute(f"SELECT 1 FROM coverages WHERE member_id BETWEEN ? AND ? AND plan_id GLOB '{HIOS_GLOB}' "
                        "LIMIT 1", [lo, hi]).fetchone() is not None
    names = sorted(r[0] for r in conn.execute("SELECT DISTINCT name FROM categories WHERE member_id BETWEEN ? AND ?",
                                              [lo, hi]))
    conn.execute("INSERT OR REPLACE INTO rule_runs (file_id, prepared_at, hios_plans, category_names) "
                 "VALUES (?, ?, ?, ?)", [file_id, _utcnow(), int(hios), json.dumps(names)])


def file_rows(db: Database, file_id: int, lo: int, hi: int) -> list[Any]:
    """The history rows of a file's members (ids lo..hi), read from the store: its members are copied
    once into the narrow temp.mw, which the rules run then reads instead of the wide rows."""
    conn = db.conn
    cols = ", ".join(MEMBER_COLUMNS)
    if not conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = 'mw'").fetchone():
        conn.execute(f"CREATE TEMP TABLE mw AS SELECT {cols} FROM members WHERE 0")
        conn.execute("CREATE UNIQUE INDEX temp.idx_mw_id ON mw(id)")
    conn.execute(f"INSERT OR IGNORE INTO mw SELECT {cols} FROM members WHERE id BETWEEN ? AND ?", [lo, hi])
    return conn.execute(_ROWS_SQL, {"lo": lo, "hi": hi, "file": file_id}).fetchall()


def bulk_insert(db: Database, table: str, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows; when they outnumber the rows already there, drop the table's indexes first and
    build them again afterwards (one sort instead of a random B-tree insert per row and index)."""
    conn = db.conn
    indexes: list[tuple[str, str]] = []
    if len(rows) > 5000:
        have = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?)", [len(rows)]).fetchone()[0]
        if have < len(rows):
            indexes = [(n, ddl) for n, ddl in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [table])]
    for name, _ddl in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    try:
        conn.executemany(sql, rows)
    finally:
        for _name, ddl in indexes:
            conn.execute(ddl)


def _heads(db: Database, rows: list[Any]) -> dict[int, int | None]:
    """members.id -> the subscriber row it belongs to in its transaction (itself for a subscriber)."""
    subs_by_txn: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r[2] == "Y":
            subs_by_txn[r[1]][r[3] or ""].append(r[0])
    out: dict[int, int | None] = {}
    pending: list[tuple[int, int, str]] = []   # (row, positional head, own REF*0F) to check on record
    last_sub: dict[int, int] = {}
    for r in rows:
        mid, tid, ins01, sub_id = r[0], r[1], r[2], r[3] or ""
        if ins01 == "Y":
            out[mid] = mid
            last_sub[tid] = mid
            continue
        same = subs_by_txn[tid].get(sub_id) if sub_id and tid in subs_by_txn else None
        if same:
            before = [s for s in same if s < mid]
            out[mid] = before[-1] if before else same[0]
        elif tid in last_sub:
            pending.append((mid, last_sub[tid], sub_id))
            out[mid] = last_sub[tid]
        else:
            out[mid] = None
    ids = sorted({p[2] for p in pending if p[2]})
    on_record: set[str] = set()
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        marks = ",".join("?" * len(part))
        on_record.update(x[0] for x in db.execute(
            f"SELECT DISTINCT subscriber_id FROM members WHERE ins01 = 'Y' AND subscriber_id IN ({marks})", part))
    for mid, _head, sub_id in pending:
        if sub_id and sub_id in on_record:
            out[mid] = None   # a dependant of another household, whose subscriber is on record
    return out


def _persons(db: Database, rows: list[Any]) -> tuple[dict[int, int], dict[str, int]]:
    """members.id -> persons.id for the rows of one file (creating persons as needed), and the lowest
    person id on record before this file for each of its member ids.

    Candidates on record come from the persons table (narrow, indexed on each key); within the file,
    later rows also match earlier ones."""
    conn = db.conn
    keyed = [(r[0], r[4] or "", r[3] or "", r[6] if r[6] and len(r[6]) == 10 and r[6][4] == "-" else "", r[7] or "",
              norm_name(r[8]), norm_name(r[9]), r) for r in rows]
    by_member: dict[str, int] = {}
    by_s: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    by_ssn: dict[str, list[int]] = defaultdict(list)
    by_n: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    pmid: dict[int, str] = {}   # person -> member id (REF*17) once known
    # for DUP-07: every person (on record or new) by SSN and by name + birth date, with member id and gender
    same_ssn: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    same_name: dict[tuple[str, str, str], list[tuple[int, str, str]]] = defaultdict(list)
    links: list[tuple[int, int, str]] = []
    on_record: dict[str, int] = {}   # member id -> the lowest person id with it, before this file

    def learn_keys(pid: int, sub: str, dob: str, ssn: str, nl: str, nf: str) -> None:
        # a key shared by more than LINK_CAP people is a placeholder: stop collecting (and scanning) it
        if sub and dob:
            lst = by_s[(sub, dob)]
            if len(lst) < LINK_CAP and (pid, nf) not in lst:
                lst.append((pid, nf))
        if valid_ssn(ssn):
            lst2 = by_ssn[ssn]
            if len(lst2) < LINK_CAP and pid not in lst2:
                lst2.append(pid)
        if nl and nf and dob:
            lst3 = by_n[(nl, nf, dob)]
            if len(lst3) < LINK_CAP and pid not in lst3:
                lst3.append(pid)

    if conn.execute("SELECT 1 FROM persons LIMIT 1").fetchone():
        conn.execute("DROP TABLE IF EXISTS temp._pk")
        conn.execute("CREATE TEMP TABLE _pk (member_id TEXT, sub TEXT, dob TEXT, ssn TEXT, nlast TEXT, nfirst TEXT)")
        conn.executemany("INSERT INTO _pk VALUES (?,?,?,?,?,?)", [k[1:7] for k in keyed])
        cands = conn.execute("""
            SELECT p.id, p.member_id, p.subscriber_id, p.dob, p.ssn, p.nlast, p.nfirst, p.gender FROM persons p
            WHERE p.member_id IN (SELECT member_id FROM _pk WHERE member_id != '')
            UNION SELECT p.id, p.member_id, p.subscriber_id, p.dob, p.ssn, p.nlast, p.nfirst, p.gender
            FROM (SELECT DISTINCT sub, dob FROM _pk WHERE sub != '' AND dob != '') k
            JOIN persons p ON p.subscriber_id = k.sub AND p.dob = k.dob
            UNION SELECT p.id, p.member_id, p.subscriber_id, p.dob, p.ssn, p.nlast, p.nfirst, p.gender
            FROM (SELECT DISTINCT ssn FROM _pk WHERE ssn != '') k JOIN persons p ON p.ssn = k.ssn
            UNION SELECT p.id, p.member_id, p.subscriber_id, p.dob, p.ssn, p.nlast, p.nfirst, p.gender
            FROM (SELECT DISTINCT nlast, nfirst, dob FROM _pk WHERE dob != '' AND nlast != '') k
            JOIN persons p ON p.nlast = k.nlast AND p.nfirst = k.nfirst AND p.dob = k.dob""").fetchall()
        conn.execute("DROP TABLE temp._pk")
        for pid, member_id, sub, dob, ssn, nl, nf, gender in cands:
            if member_id:
                by_member.setdefault(member_id, pid)
                pmid[pid] = member_id
                if pid < on_record.get(member_id, pid + 1):
                    on_record[member_id] = pid
            learn_keys(pid, sub or "", dob or "", ssn or "", nl or "", nf or "")
            same_ssn[ssn or ""].append((pid, member_id or "", gender or ""))
            same_name[(nl or "", nf or "", dob or "")].append((pid, member_id or "", gender or ""))
    # rows without a member id can match earlier rows of this file by the other keys
    in_file_keys = any(not k[1] for k in keyed)

    new_persons: dict[int, list[Any]] = {}   # person id -> its row, written at the end
    out: dict[int, int] = {}
    now = _utcnow()

    def compatible(pid: int, member_id: str) -> bool:
        other = pmid.get(pid)
        return not (member_id and other and other != member_id)

    for mid, member_id, sub, dob, ssn, nl, nf, r in keyed:
        pid = by_member.get(member_id) if member_id else None
        if pid is None and (by_s or by_ssn or by_n):
            if sub and dob:
                for p, pf in by_s.get((sub, dob), ()):
                    if (not nf or not pf or nf == pf) and compatible(p, member_id):
                        pid = p
                        break
            if pid is None and valid_ssn(ssn):
                pid = next((p for p in by_ssn.get(ssn, ()) if compatible(p, member_id)), None)
            if pid is None and nf and dob:
                pid = next((p for p in by_n.get((nl, nf, dob), ()) if compatible(p, member_id)), None)
        if pid is None:
            pid = mid   # a person's id is the members.id of its first row (what the import's INSERT assumed)
            gender = r[10] or ""
            new_persons[pid] = [pid, member_id or NULL, sub or NULL, _null(r[8]), _null(r[9]), nl, nf, dob or NULL,
                                ssn or NULL, gender or NULL, mid, now]
            if member_id:   # the same person under another member id? (DUP-07)
                if valid_ssn(ssn):
                    others = same_ssn[ssn]
                    if len(others) < LINK_CAP:
                        links += [(pid, o, "ssn") for o, om, _g in others if om and om != member_id]
                        others.append((pid, member_id, gender))
                if nl and nf and dob:
                    others = same_name[(nl, nf, dob)]
                    if len(others) < LINK_CAP:
                        links += [(pid, o, "name") for o, om, og in others
                                  if om and om != member_id and (not og or not gender or og == gender)]
                        others.append((pid, member_id, gender))
        elif member_id and not pmid.get(pid):
            # a person known without a member id learns it: on record, or first seen earlier in this file
            if pid in new_persons:
                new_persons[pid][1] = member_id
            else:
                conn.execute("UPDATE persons SET member_id = ? WHERE id = ? AND member_id IS NULL", [member_id, pid])
        if member_id:
            by_member.setdefault(member_id, pid)
            pmid.setdefault(pid, member_id)
        if in_file_keys:
            learn_keys(pid, sub, dob, ssn, nl, nf)
        out[mid] = pid
    if links:
        conn.executemany("INSERT OR IGNORE INTO person_links VALUES (?, ?, ?)", links)
    if new_persons:
        bulk_insert(db, "persons", "INSERT INTO persons (id, member_id, subscriber_id, last_name, first_name, nlast, "
                    "nfirst, dob, ssn, gender, first_member_row, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [tuple(v) for v in new_persons.values()])
    return out, on_record


# ------------------------------------------------------------------------------------------- reading




STATUS_AFTER = {"enrolled": "enrolled", "effectuated": "effectuated", "cancelled": "cancelled",
                "terminated": "terminated", "reinstated": "reinstated"}


def policy_timeline(db: Database, policy: str) -> list[dict[str, Any]]:
    """The events of one policy (exchange policy id or group key), in the order received, each with the
    policy's status after it: enrolled, effectuated, cancelled, terminated, reinstated."""
    cond = "e.group_key = ?" if "|" in policy else "e.policy_id = ?"
    events = _rows(db, f"""
        SELECT e.*, f.name AS file, m.last_name, m.first_name, m.ins02
        FROM policy_events e JOIN files f ON f.id = e.file_id JOIN members m ON m.id = e.member_row
        WHERE {cond} ORDER BY e.file_id, e.transaction_id, e.seq""", [policy])
    status: dict[str, str] = {}
    for e in events:
        key = e["group_key"]
        if e["is_subscriber"] and e["event"] in STATUS_AFTER:
            status[key] = STATUS_AFTER[e["event"]]
        elif e["event"] in STATUS_AFTER and key not in status:
            status[key] = STATUS_AFTER[e["event"]]
        e["status"] = status.get(key, "")
    return events


def policy_status(db: Database, policy: str) -> str | None:
    t = policy_timeline(db, policy)
    return t[-1]["status"] if t else None


def person_timeline(db: Database, person_id: int) -> list[dict[str, Any]]:
    """Every row of one person across files, oldest first, with its policy and event."""
    return _rows(db, """
        SELECT e.*, f.name AS file FROM policy_events e JOIN files f ON f.id = e.file_id
        WHERE e.person_id = ? ORDER BY e.file_id, e.transaction_id, e.seq""", [person_id])


# ------------------------------------------------------------------------------------------- periods


@dataclass
class GroupPeriod:
    """How long one enrollment group covered someone (a person, or the whole group for a subscriber)."""

    group_key: str
    policy_id: str
    line: str                 # HD03 of the group (HLT, DEN, ...), '' when unknown
    begin: str
    end: str                  # the end date, or 12/31 of the begin year when open
    open_end: bool
    covered: bool             # False: cancelled (never took effect) or no begin date
    passive: bool             # a passive (auto) re-enrollment
    cic: bool                 # the group's enrollment says CIC (plan change)
    first_row: int
    subscriber_row: int | None
    person_rows: dict[int, int] = field(default_factory=dict)   # person -> first row in the group


_REOPEN = ("reinstated",)
_STARTS = ("enrolled", "effectuated", "changed", "audit", "reinstated")
_ENDS = ("cancelled", "terminated", "ended")


def _fold(rows: list[Any]) -> tuple[str | None, str | None, bool]:
    """(begin, end, cancelled) after applying rows (in the order received)."""
    begin = end = None
    cancelled = False
    for r in rows:
        ev = r["event"]
        if ev in _STARTS:
            if r["eff_begin"] and (begin is None or r["eff_begin"] < begin):
                begin = r["eff_begin"]
            if ev in _REOPEN:
                end, cancelled = None, False
        elif ev in _ENDS:
            if begin is None:
                begin = r["eff_begin"]
            end = r["eff_end"] or r["eff_begin"]
            cancelled = ev == "cancelled"
    return begin, end, cancelled


def group_periods(ctx: Any, key_sql: str, keys: list[Any]) -> dict[Any, list[GroupPeriod]]:
    """For each key (a person id with key_sql 'm.person_id', or a subscriber id with 'm.subscriber_id'),
    the coverage period of every enrollment group it appears in, from all the group's rows."""
    per_person = "person_id" in key_sql
    rows: list[Any] = []
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        okey = key_sql.replace("m.", "o.")
        rows += ctx.q(f"""
            SELECT m.id, m.person_id, x.group_key, m.policy_id, m.subscriber_id, m.ins01, m.ins04, m.amrc, x.event,
                   x.eff_begin, x.eff_end, m.file_id, m.transaction_id, m.seq,
                   (SELECT c.hd03 FROM coverages c WHERE c.member_id = m.id ORDER BY c.seq LIMIT 1) AS line
            FROM member_facts x JOIN members m ON m.id = x.id
            WHERE x.group_key IN (SELECT DISTINCT f.group_key FROM members o JOIN member_facts f ON f.id = o.id
                 WHERE {okey} IN ({','.join('?' * len(part))}))""", list(part))
    uniq = {r["id"]: r for r in rows}
    rows = sorted(uniq.values(), key=lambda r: (r["file_id"], r["transaction_id"], r["seq"]))
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        groups[r["group_key"]].append(r)
    wanted = set(keys)
    out: dict[Any, list[GroupPeriod]] = defaultdict(list)
    for gk, grows in groups.items():
        subs = [r for r in grows if r["ins01"] == "Y"]
        g_begin, g_end, g_cancel = _fold(subs or grows)
        line = next((r["line"] for r in grows if r["line"]), "")
        policy = next((r["policy_id"] for r in grows if r["policy_id"]), "")
        passive = any((r["amrc"] or "").upper().startswith("PASSIVE") or r["ins04"] == "41" for r in grows)
        cic = any((r["amrc"] or "").upper() == "CIC" for r in grows)
        person_rows: dict[int, int] = {}
        for r in grows:
            person_rows.setdefault(r["person_id"], r["id"])
        sub_row = subs[0]["id"] if subs else None
        # keys: person ids (per_person) or subscriber ids (text): typed Any, or compiled code rejects one
        items: list[tuple[Any, tuple[str | None, str | None, bool]]]
        if per_person:
            by_person: dict[int, list[Any]] = defaultdict(list)
            for r in grows:
                by_person[r["person_id"]].append(r)
            items = [(p, _fold(prow)) for p, prow in by_person.items() if p in wanted]
        else:
            items = [(k, (g_begin, g_end, g_cancel)) for k in {r["subscriber_id"] for r in subs} if k in wanted]
        for k, (b, e, c) in items:
            begin = b or g_begin
            ends = [x for x in (e, g_end) if x]
            end = min(ends) if ends else None
            cancelled = c or g_cancel or bool(begin and end and end < begin)
            if not begin:
                continue
            out[k].append(GroupPeriod(gk, policy, line, begin, end or f"{begin[:4]}-12-31", end is None,
                                      not cancelled, passive, cic, person_rows.get(k, grows[0]["id"]) if per_person
                                      else grows[0]["id"], sub_row, person_rows))
    return out
