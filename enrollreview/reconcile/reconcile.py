"""Reconcile one roster against every 834 in the store (MISS-01, MISS-02, MISS-03, MISS-07).

All the heavy lifting is set-based SQL over temporary tables; Python only compares the fields of
matched pairs (one pass over one query) and writes the flags.

**Store side.** A *subject* is one person on one policy: the newest `members` row per (policy id,
member id REF*17) — or per (policy id, subscriber id, DOB, name) when REF*17 is missing. Its state:

* benefit start: the newest non-empty 2300 DTP*348 of the subject's rows, else 2000 DTP*356;
* ended: the subject's newest row is a 024, or the policy's newest subscriber row is a 024 sent
  after it (the FFE cancels and terminates a whole group on the subscriber only); end date from
  DTP*357 / DTP*349; cancelled when the end is on or before the start, else terminated;
* effectuated: some row of the policy carries ADDL MAINT REASON CONFIRM or a 2300 DTP*543
  paid-through date (the issuer's effectuation 834); otherwise 'pending';
* amounts: the newest 2750 APTC AMT / PRE AMT TOT / PRE AMT 1 / RATING AREA of the subject's rows.

**Matching**, in four rounds; each round only pairs roster rows and subjects still unmatched:

1. policy id + member id;
2. subscriber id + DOB;
3. SSN (a real-looking one: no dummies);
4. normalised last + first name + DOB (case, accents, punctuation and Jr/Sr ignored; no fuzzy
   spelling, so JON never matches JOHN).

Rounds 2-4 accept a pair only when it is unambiguous (the roster row has exactly one candidate and
the subject is the candidate of exactly one roster person), and rounds 2 and 4 never pair two
different exchange member ids: twins share subscriber id, DOB and last name, and must not stand in
for each other. When the 834 carried no member id, round 2 also wants the same first name.
Unmatched people are flagged on both sides (MISS-01 and MISS-02), which a clerk sees; a false
match would hide a missing enrolment, which nobody sees.

**Flags** are ordinary flags in category `missing`, keyed by a fingerprint of rule, roster sender,
coverage year and person, so next month's roster updates the same flags; conditions that have gone
get `resolved_at` (the clerk's status is kept). A roster-only person has `member_id` NULL and
`roster_row_id` set; MISS-01 flags start in status needs-call-back ("exchange says enrolled, we have
no record" goes straight to the call-back list).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from .. import segpos
from ..phi import mask_ssn
from ..review.statuses import NEEDS_CALL_BACK, NEW
from ..store import rows as _rows
from ..store import utcnow as _now
from .normalize import (
    amount_cents,
    cents_to_text,
    name_key,
    plans_equal,
    rating_areas_equal,
    usable_ssn,
)

log = logging.getLogger("enrollreview.reconcile")

CATEGORY = "missing"
DEFAULT_GRACE_DAYS = 30
RULES = ("MISS-01", "MISS-02", "MISS-03", "MISS-07")
LEVELS = {1: "policy+member", 2: "subscriber+dob", 3: "ssn", 4: "name+dob"}

#: MISS-03 fields: (key, label, severity when they differ)
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("policy_id", "policy id", "error"),
    ("member_id", "member id", "error"),
    ("benefit_start", "benefit start", "error"),
    ("benefit_end", "benefit end", "error"),
    ("status", "status", "error"),
    ("plan_id", "plan id", "error"),
    ("aptc", "APTC", "error"),
    ("total_premium", "total premium", "error"),
    ("member_premium", "member premium", "error"),
    ("dob", "date of birth", "warning"),
    ("gender", "gender", "warning"),
    ("name", "name", "warning"),
    ("relationship", "relationship", "warning"),
    ("ssn", "SSN", "warning"),
    ("rating_area", "rating area", "warning"),
)
FIELD_LABELS = {k: label for k, label, _ in FIELDS}
SEVERITY = {k: sev for k, _, sev in FIELDS}
#: roster mapping field behind each MISS-03 field (for the exchange's column names)
ROSTER_FIELD = {"aptc": "aptc", "total_premium": "total_premium", "member_premium": "member_premium",
                "name": "last_name", "relationship": "relationship"}

STATUS_WORDS = {"pending": "enrolled, not effectuated", "effectuated": "effectuated",
                "cancelled": "cancelled", "terminated": "terminated"}

NEXT_STEP = {
    "MISS-01": "Call-back list: ask the exchange to resend this enrollment's 834 (or confirm it was "
               "cancelled) and set the member up so claims are not denied; do not wait for the member to call.",
    "MISS-02": "Ask the exchange whether this policy was cancelled, moved or sent to another issuer; "
               "end the coverage as the exchange shows it, or dispute the roster.",
    "MISS-03": "Check which value is right: correct our record, or dispute the exchange value in the "
               "monthly discrepancy file (`enrollreview reconcile discrepancies`).",
    "MISS-07": "Check whether the binder (first premium) was paid: if so, send the effectuation 834; "
               "if not, cancel for non-payment once the grace period rules allow.",
}


@dataclass
class ReconcileResult:
    roster_id: int
    reconciliation_id: int = 0
    coverage_years: list[int] = field(default_factory=list)
    store_scope: str = "all files"
    roster_rows: int = 0
    roster_persons: int = 0
    matched: int = 0
    missing_from_834: int = 0
    missing_from_roster: int = 0
    mismatched: int = 0
    not_effectuated: int = 0
    not_checked: int = 0
    by_field: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    flags_written: int = 0
    flags_resolved: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        years = ", ".join(str(y) for y in self.coverage_years)
        out = [
            f"Roster {self.roster_id} (coverage year {years}) against {self.store_scope}:",
            f"  roster people            {self.roster_persons:>9,}  ({self.roster_rows:,} rows)",
            f"  matched                  {self.matched:>9,}  "
            + ", ".join(f"{k} {v:,}" for k, v in self.by_level.items() if v),
            f"  missing from 834 (MISS-01, exchange says enrolled, we have no record) {self.missing_from_834:,}",
            f"  missing from roster (MISS-02)   {self.missing_from_roster:,}",
            f"  mismatched (MISS-03)            {self.mismatched:,}",
        ]
        for k, v in sorted(self.by_field.items(), key=lambda kv: -kv[1]):
            out.append(f"      {FIELD_LABELS.get(k, k):<16} {v:>9,}")
        out.append(f"  not effectuated (MISS-07)       {self.not_effectuated:,}")
        if self.not_checked:
            out.append(f"  not checked (their roster row could not be read) {self.not_checked:,}")
        out.append(f"  flags written {self.flags_written:,}, resolved {self.flags_resolved:,} "
                   f"({self.seconds:.1f} s)")
        return out


class ReconcileError(Exception):
    """Nothing to reconcile (no roster); str() is one line for the clerk."""


def latest_roster_id(db: Database) -> int | None:
    r = db.execute("SELECT MAX(id) FROM rosters").fetchone()
    return r[0] if r and r[0] is not None else None


# -- the store side ------------------------------------------------------------------------------

def _store_scope(db: Database, sender: str) -> tuple[str, list[Any], str]:
    """Files whose members can be missing from this roster: the sender's own files when the roster's
    sender names an 834 sender in the store, else every file."""
    if sender:
        n = db.execute("SELECT COUNT(*) FROM files WHERE status = 'imported' AND (TRIM(isa_sender) = ? "
                       "OR gs_sender = ?)", [sender, sender]).fetchone()[0]
        if n:
            return ("(TRIM(f.isa_sender) = ? OR f.gs_sender = ?)", [sender, sender],
                    f"the 834 files from {sender}")
    return "1", [], "every 834 file in the store"


# -- the match keys (also used by arrivals.py: MISS-01 resolved when the missing 834 is imported) -----

#: the keys of a members row `m` as the matching compares them (a subject's are those of its newest row)
MEMBER_KEYS = ("CAST(COALESCE(m.policy_id, '') AS TEXT) AS pol, CAST(COALESCE(m.member_id, '') AS TEXT) AS mem, "
               "CAST(COALESCE(m.subscriber_id, '') AS TEXT) AS sub, CAST(m.dob AS TEXT) AS dob, "
               "CAST(m.ssn AS TEXT) AS ssn")
#: a subject is one (policy id, GROUP_KEY): the member id, else subscriber id + DOB + normalised name
GROUP_KEY = ("CASE WHEN COALESCE(m.member_id, '') <> '' THEN 'M|' || m.member_id "
             "ELSE 'X|' || COALESCE(m.subscriber_id, '') || '|' || COALESCE(m.dob, '') || '|' "
             "|| er_name_key(m.last_name, m.first_name) END")
#: the normalised name ('LAST|FIRST') of `m`, compared with roster_rows.name_key
NAME_KEY = "CAST(er_name_key(m.last_name, m.first_name) AS TEXT)"

_SETUP = """
DROP TABLE IF EXISTS temp.rc_m;
DROP TABLE IF EXISTS temp.rc_cov;
DROP TABLE IF EXISTS temp.rc_amt;
DROP TABLE IF EXISTS temp.rc_eff;
DROP TABLE IF EXISTS temp.rc_pend;
DROP TABLE IF EXISTS temp.rc_sub;
DROP TABLE IF EXISTS temp.rc_match;
DROP TABLE IF EXISTS temp.rc_cur;
DROP TABLE IF EXISTS temp.rc_fp;
CREATE INDEX IF NOT EXISTS temp.rc_scope_id ON rc_scope(id);
CREATE TEMP TABLE rc_m AS
SELECT id, file_id, pol, mem, sub, dob, ssn, ins01, ins02, ins03, amrc, elig_begin, elig_end, last_name,
       first_name, gender, person_id, in_scope, CAST(MAX(id) OVER (PARTITION BY pol, gkey) AS INTEGER) AS sid
FROM (
    SELECT CAST(m.id AS INTEGER) AS id, m.file_id, """ + MEMBER_KEYS + """, m.ins01, m.ins02, m.ins03, m.amrc,
           m.elig_begin, m.elig_end, m.last_name, m.first_name, m.gender, m.person_id,
           (m.file_id IN (SELECT id FROM rc_scope)) AS in_scope, """ + GROUP_KEY + """ AS gkey
    FROM members m JOIN files f ON f.id = m.file_id AND f.status = 'imported'
);
CREATE INDEX temp.rc_m_id ON rc_m(id);
CREATE TEMP TABLE rc_cov AS
SELECT m.sid,
       substr(MAX(CASE WHEN COALESCE(c.begin, '') <> '' THEN printf('%012d', m.id) || c.begin END), 13)
           AS begin,
       NULLIF(substr(MAX(printf('%012d', m.id) || COALESCE(c."end", '')), 13), '') AS cend,
       substr(MAX(CASE WHEN COALESCE(c.plan_id, '') <> '' THEN printf('%012d', m.id) || c.plan_id END), 13)
           AS plan_id
FROM rc_m m JOIN coverages c ON c.member_id = m.id
GROUP BY m.sid;
CREATE UNIQUE INDEX temp.rc_cov_sid ON rc_cov(sid);
CREATE TEMP TABLE rc_amt AS
SELECT sid,
       MAX(CASE WHEN name = 'APTC AMT' THEN amount END) AS aptc,
       MAX(CASE WHEN name = 'PRE AMT TOT' THEN amount END) AS total_premium,
       MAX(CASE WHEN name = 'PRE AMT 1' THEN amount END) AS member_premium,
       MAX(CASE WHEN name = 'RATING AREA' THEN value END) AS rating_area
FROM (
    -- per subject and category, the value of the newest row, newest effective date, last sent: SQLite
    -- takes the bare columns from the row holding the single MAX() (rank = row id, DTP*007 date, seq)
    SELECT m.sid, k.name, k.amount, k.value,
           MAX((m.id * 134217728 + CAST(replace(COALESCE(k.date_from, ''), '-', '') AS INTEGER)) * 1024
               + MIN(k.seq, 1023)) AS rank
    FROM rc_m m JOIN categories k ON k.member_id = m.id
    WHERE k.name IN ('APTC AMT', 'PRE AMT TOT', 'PRE AMT 1', 'RATING AREA')
    GROUP BY m.sid, k.name
)
GROUP BY sid;
CREATE UNIQUE INDEX temp.rc_amt_sid ON rc_amt(sid);
CREATE TEMP TABLE rc_eff AS
SELECT DISTINCT pol FROM rc_m WHERE pol <> '' AND UPPER(TRIM(COALESCE(amrc, ''))) = 'CONFIRM'
UNION
SELECT DISTINCT m.pol FROM rc_m m JOIN coverages c ON c.member_id = m.id
WHERE m.pol <> '' AND COALESCE(c.paid_through, '') <> '';
CREATE UNIQUE INDEX temp.rc_eff_pol ON rc_eff(pol);
CREATE TEMP TABLE rc_pend AS
SELECT pol, id, elig_end FROM (
    SELECT pol, id, ins03, elig_end, ROW_NUMBER() OVER (PARTITION BY pol ORDER BY id DESC) AS rn
    FROM rc_m WHERE ins01 = 'Y' AND pol <> ''
) WHERE rn = 1 AND ins03 = '024';
CREATE UNIQUE INDEX temp.rc_pend_pol ON rc_pend(pol);
CREATE TEMP TABLE rc_sub AS
SELECT x.*,
       CASE WHEN x.ended THEN CASE WHEN x.bend IS NOT NULL AND x.bstart IS NOT NULL AND x.bend <= x.bstart
                                   THEN 'cancelled' ELSE 'terminated' END
            WHEN x.eff THEN 'effectuated' ELSE 'pending' END AS status
FROM (
    SELECT m.id AS sid, m.file_id, m.pol, m.mem, m.sub, m.dob, m.ssn, m.ins01, m.ins02, m.last_name,
           m.first_name, m.gender, m.person_id, """ + NAME_KEY + """ AS nk,
           m.in_scope,
           COALESCE(NULLIF(c.begin, ''), NULLIF(m.elig_begin, '')) AS bstart,
           CASE WHEN m.ins03 = '024' THEN COALESCE(NULLIF(m.elig_end, ''), c.cend)
                WHEN COALESCE(pe.id, 0) > m.id THEN COALESCE(NULLIF(pe.elig_end, ''), c.cend)
                ELSE c.cend END AS bend,
           (m.ins03 = '024' OR COALESCE(pe.id, 0) > m.id) AS ended,
           (ef.pol IS NOT NULL) AS eff,
           c.plan_id, a.aptc, a.total_premium, a.member_premium, a.rating_area
    FROM rc_m m
    LEFT JOIN rc_cov c ON c.sid = m.id
    LEFT JOIN rc_amt a ON a.sid = m.id
    LEFT JOIN rc_pend pe ON pe.pol = m.pol AND m.pol <> ''
    LEFT JOIN rc_eff ef ON ef.pol = m.pol AND m.pol <> ''
    WHERE m.id = m.sid
) x;
CREATE UNIQUE INDEX temp.rc_sub_sid ON rc_sub(sid);
CREATE INDEX temp.rc_sub_key ON rc_sub(pol, mem);
CREATE TEMP TABLE rc_match (rid INTEGER PRIMARY KEY, sid INTEGER NOT NULL, level INTEGER NOT NULL);
CREATE INDEX temp.rc_match_sid ON rc_match(sid);
"""

_FALLBACK = """
WITH cand AS MATERIALIZED (
    SELECT r.id AS rid, s.sid, r.policy_id || '|' || r.member_id AS rp
    FROM roster_rows r JOIN rc_un s ON {cond}
    WHERE r.roster_id = :roster AND r.id NOT IN (SELECT rid FROM rc_match)
      AND s.sid NOT IN (SELECT sid FROM rc_match)
),
one_r AS (SELECT rid FROM cand GROUP BY rid HAVING COUNT(*) = 1),
one_s AS (SELECT sid FROM cand GROUP BY sid HAVING COUNT(DISTINCT rp) = 1)
INSERT INTO rc_match (rid, sid, level)
SELECT c.rid, c.sid, :level FROM cand c JOIN one_r USING (rid) JOIN one_s USING (sid)
"""
_NO_OTHER_MEMBER_ID = "(s.mem = '' OR s.mem = r.member_id)"
_SAME_FIRST_NAME = ("substr(s.nk, instr(s.nk, '|') + 1) = substr(r.name_key, instr(r.name_key, '|') + 1) "
                    "AND r.name_key <> ''")
#: the condition pairing roster row r with subject s, per round (s has MEMBER_KEYS and nk = NAME_KEY)
MATCH_CONDITIONS = {
    1: "s.pol = r.policy_id AND s.mem = r.member_id",
    # twins share subscriber id and DOB: without a member id to compare, the first names must agree
    2: f"r.subscriber_id <> '' AND s.sub = r.subscriber_id AND s.dob = r.dob "
       f"AND (s.mem = r.member_id OR (s.mem = '' AND {_SAME_FIRST_NAME}))",
    3: "r.ssn IS NOT NULL AND s.ssn = r.ssn AND er_usable_ssn(r.ssn)",
    4: f"r.name_key <> '' AND s.nk = r.name_key AND s.dob = r.dob AND {_NO_OTHER_MEMBER_ID}",
}


def register_functions(db: Database) -> None:
    db.conn.create_function("er_name_key", 2, name_key, deterministic=True)
    db.conn.create_function("er_usable_ssn", 1, usable_ssn, deterministic=True)


# -- values as the clerk reads them ----------------------------------------------------------------

def _show(v: Any) -> str:
    return "(none)" if v in (None, "") else str(v)


def _money(c: int | None) -> str:
    return "(none)" if c is None else cents_to_text(c)


def _person(first: str | None, last: str | None) -> str:
    return " ".join(x for x in (first, last) if x) or "(no name)"


# -- reconciliation --------------------------------------------------------------------------------

def grace_days_for(db: Database, sender: str) -> int:
    """MISS-07's grace period: the `miss07_grace_days` setting for the roster's sender (settings.py)."""
    try:
        from .. import settings
    except ImportError:  # pragma: no cover - settings ship with the rules engine
        return DEFAULT_GRACE_DAYS
    return int(settings.effective(db, (sender,) if sender else ()).get("miss07_grace_days", DEFAULT_GRACE_DAYS))


def reconcile(db: Database, roster_id: int | None = None, *, as_of: _dt.date | None = None,
              grace_days: int | None = None) -> ReconcileResult:
    """Reconcile a roster (default: the newest) against the store, in one transaction.

    `grace_days` (MISS-07) defaults to the `miss07_grace_days` setting for the roster's sender."""
    started = time.perf_counter()
    if roster_id is None:
        roster_id = latest_roster_id(db)
        if roster_id is None:
            raise ReconcileError("no roster has been imported yet (enrollreview roster import FILE)")
    ro = db.execute("SELECT id, name, sender, coverage_years, mapping FROM rosters WHERE id = ?",
                    [roster_id]).fetchone()
    if ro is None:
        raise ReconcileError(f"there is no roster {roster_id} (enrollreview roster list)")
    _, roster_name, sender, years_json, _mapping = ro
    years: list[int] = json.loads(years_json)
    as_of = as_of or _dt.date.today()
    if grace_days is None:
        grace_days = grace_days_for(db, sender)
    res = ReconcileResult(roster_id, coverage_years=years)
    register_functions(db)
    scope_sql, scope_params, res.store_scope = _store_scope(db, sender)
    now = _now()
    with _working_memory(db), db.atomic():
        conn = db.conn
        conn.execute("DROP TABLE IF EXISTS temp.rc_scope")
        conn.execute(f"CREATE TEMP TABLE rc_scope AS SELECT f.id FROM files f WHERE {scope_sql}", scope_params)
        for stmt in _SETUP.split(";\n"):
            if stmt.strip():
                conn.execute(stmt)
        conn.execute("INSERT INTO rc_match (rid, sid, level) SELECT r.id, s.sid, 1 FROM roster_rows r "
                     f"JOIN rc_sub s ON {MATCH_CONDITIONS[1]} WHERE r.roster_id = ?", [roster_id])
        # the fallback keys only need the subjects round 1 left over (usually few): index just those
        conn.execute("DROP TABLE IF EXISTS temp.rc_un")
        conn.execute("CREATE TEMP TABLE rc_un AS SELECT * FROM rc_sub WHERE sid NOT IN (SELECT sid FROM rc_match)")
        for ddl in ("CREATE INDEX temp.rc_un_subdob ON rc_un(sub, dob)", "CREATE INDEX temp.rc_un_ssn ON rc_un(ssn)",
                    "CREATE INDEX temp.rc_un_name ON rc_un(nk, dob)"):
            conn.execute(ddl)
        for level in (2, 3, 4):
            conn.execute(_FALLBACK.format(cond=MATCH_CONDITIONS[level]), {"roster": roster_id, "level": level})
        # the row that speaks for each roster person: newest coverage year, then newest benefit start
        # (grouped in the order of the roster_rows index; the bare r.id comes from the row with the MAX)
        conn.execute("""
            CREATE TEMP TABLE rc_cur AS
            SELECT r.id, r.policy_id, r.member_id, r.coverage_year, COUNT(*) AS n_rows,
                   SUM(mt.sid IS NOT NULL) > 0 AS any_match,
                   MAX((r.coverage_year - 2000) * 100000000
                       + CAST(replace(r.benefit_start, '-', '') AS INTEGER)) AS rank
            FROM roster_rows r LEFT JOIN rc_match mt ON mt.rid = r.id
            WHERE r.roster_id = ?
            GROUP BY r.policy_id, r.member_id""", [roster_id])
        conn.execute("CREATE UNIQUE INDEX temp.rc_cur_id ON rc_cur(id)")
        res.roster_rows = db.execute("SELECT COALESCE(SUM(n_rows), 0) FROM rc_cur").fetchone()[0]
        res.roster_persons = db.execute("SELECT COUNT(*) FROM rc_cur").fetchone()[0]

        flags: list[tuple[Any, ...]] = []
        disc: list[tuple[Any, ...]] = []
        ctx = _Ctx(roster_id, roster_name, sender, now, flags, disc)

        res.matched = db.execute("SELECT COUNT(*) FROM rc_cur WHERE any_match").fetchone()[0]
        levels = Counter(dict(db.execute("""
            SELECT mt.level, COUNT(DISTINCT r.policy_id || '|' || r.member_id)
            FROM rc_match mt JOIN roster_rows r ON r.id = mt.rid GROUP BY mt.level""").fetchall()))
        res.by_level = {LEVELS[k]: levels.get(k, 0) for k in LEVELS}

        conn.execute("DELETE FROM reconcile_discrepancies WHERE roster_id = ?", [roster_id])
        begin_flags(db)
        res.missing_from_834 = _miss01(db, ctx)
        res.missing_from_roster, res.not_checked = _miss02(db, ctx, years)
        res.mismatched, res.by_field = _miss03(db, ctx)
        res.not_effectuated = _miss07(db, ctx, years, as_of, grace_days)

        conn.execute("DELETE FROM reconcile_matches WHERE roster_id = ?", [roster_id])
        conn.execute("INSERT INTO reconcile_matches (roster_id, roster_row_id, member_row_id, level) "
                     "SELECT ?, mt.rid, mt.sid, CASE mt.level " +
                     " ".join(f"WHEN {k} THEN '{v}'" for k, v in LEVELS.items()) +
                     " END FROM rc_match mt", [roster_id])
        conn.executemany("INSERT INTO reconcile_discrepancies (roster_id, rule, roster_row_id, member_row_id, "
                         "field, exchange_value, issuer_value, fingerprint) VALUES (?,?,?,?,?,?,?,?)", disc)
        prefixes = [f"{rule}|{sender}|{y}|" for rule in RULES for y in years]
        upsert_flags(db, flags)
        res.flags_written = ctx.sql_flags + len(flags)
        res.flags_resolved = resolve_flags(db, prefixes, now)
        res.seconds = time.perf_counter() - started
        res.reconciliation_id = db["reconciliations"].insert({
            "roster_id": roster_id, "run_at": now, "as_of": as_of.isoformat(), "grace_days": grace_days,
            "coverage_years": json.dumps(years), "store_scope": res.store_scope,
            "roster_rows": res.roster_rows, "roster_persons": res.roster_persons, "matched": res.matched,
            "missing_from_834": res.missing_from_834, "missing_from_roster": res.missing_from_roster,
            "mismatched": res.mismatched, "not_effectuated": res.not_effectuated,
            "not_checked": res.not_checked, "by_field": json.dumps(res.by_field),
            "by_level": json.dumps(res.by_level), "seconds": round(res.seconds, 3),
        }).last_pk
        for t in ("rc_scope", "rc_m", "rc_cov", "rc_amt", "rc_eff", "rc_pend", "rc_sub", "rc_match", "rc_cur",
                  "rc_m01", "rc_fp", "rc_un"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{t}")
    res.seconds = time.perf_counter() - started
    log.info("roster %s reconciled: %d persons, %d matched, %d MISS-01, %d MISS-02, %d MISS-03, %d MISS-07 "
             "in %.2f s", roster_id, res.roster_persons, res.matched, res.missing_from_834,
             res.missing_from_roster, res.mismatched, res.not_effectuated, res.seconds)
    return res


@contextlib.contextmanager
def _working_memory(db: Database, mb: int = 128) -> Iterator[None]:
    """Let the working tables and sorts stay in memory (up to `mb` each) instead of spilling to temp
    files; the connection's own settings are restored afterwards."""
    conn = db.conn
    old = (conn.execute("PRAGMA cache_size").fetchone()[0], conn.execute("PRAGMA temp.cache_size").fetchone()[0])
    conn.execute(f"PRAGMA cache_size = {-1024 * mb}")
    conn.execute(f"PRAGMA temp.cache_size = {-1024 * mb}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {old[0]}")
        conn.execute(f"PRAGMA temp.cache_size = {old[1]}")


@dataclass
class _Ctx:
    roster_id: int
    roster_name: str
    sender: str
    now: str
    flags: list[tuple[Any, ...]]
    disc: list[tuple[Any, ...]]
    sql_flags: int = 0

    def fp(self, rule: str, year: int, *key: Any) -> str:
        return "|".join([rule, self.sender, str(year), *(str(k) for k in key)])

    def flag(self, fp: str, rule: str, severity: str, *, member_id: int | None, person_id: int | None,
             policy_id: str | None, file_id: int | None, message: str, segments: list[dict[str, Any]],
             roster_row_id: int | None, status: str = NEW) -> None:
        """Queue one flag; `status` applies only when the flag is new (a clerk's status is kept)."""
        self.flags.append((fp, rule, CATEGORY, severity, member_id, person_id, policy_id, file_id, message,
                           NEXT_STEP[rule], json.dumps(segments), "[]", status, self.now, self.now,
                           roster_row_id))


def _miss01(db: Database, ctx: _Ctx) -> int:
    """Roster people matched to no 834 at any key level (cancelled roster policies are left alone).

    Written in SQL from start to end: in a bad month this is tens of thousands of flags."""
    conn = db.conn
    status = "CASE r.status " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in STATUS_WORDS.items()) + " END"
    conn.execute("DROP TABLE IF EXISTS temp.rc_m01")
    conn.execute(f"""
        CREATE TEMP TABLE rc_m01 AS
        SELECT r.id AS rid, r.policy_id AS pol,
               'MISS-01|' || :sender || '|' || r.coverage_year || '|' || r.policy_id || '|' || r.member_id AS fp,
               'Exchange says enrolled, we have no record: '
               || COALESCE(NULLIF(TRIM(COALESCE(r.first_name, '') || ' ' || COALESCE(r.last_name, '')), ''),
                           '(no name)')
               || ' (born ' || r.dob || ', member id ' || r.member_id || ', policy ' || r.policy_id
               || ') is on the exchange roster ' || :name || ' (row ' || r.row_number || ', ' || {status}
               || ', benefit start ' || r.benefit_start || '), but no 834 for this person was ever received.'
                   AS msg
        FROM rc_cur c JOIN roster_rows r ON r.id = c.id
        WHERE NOT c.any_match AND r.status <> 'cancelled'""", {"sender": ctx.sender, "name": ctx.roster_name})
    conn.execute(_FLAG_UPSERT_HEAD + """
        SELECT fp, 'MISS-01', :cat, 'error', NULL, NULL, pol, NULL, msg, :next, '[]', '[]', :status, :now, :now, rid
        FROM rc_m01 WHERE 1 ORDER BY fp""" + _FLAG_UPSERT_TAIL,
                 {"cat": CATEGORY, "next": NEXT_STEP["MISS-01"], "status": NEEDS_CALL_BACK, "now": ctx.now})
    conn.execute("INSERT OR IGNORE INTO rc_fp SELECT fp FROM rc_m01")
    conn.execute("INSERT INTO reconcile_discrepancies (roster_id, rule, roster_row_id, member_row_id, field, "
                 "exchange_value, issuer_value, fingerprint) SELECT ?, 'MISS-01', rid, NULL, NULL, 'enrolled', "
                 "'no 834 received', fp FROM rc_m01", [ctx.roster_id])
    n = conn.execute("SELECT COUNT(*) FROM rc_m01").fetchone()[0]
    ctx.sql_flags += n
    return n


def _miss02(db: Database, ctx: _Ctx, years: list[int]) -> tuple[int, int]:
    """Active store subjects (in scope) that no roster row of that coverage year matched."""
    total = not_checked = 0
    bad = {(p or "", m or "") for p, m in db.execute(
        "SELECT policy_id, member_id FROM roster_row_errors WHERE roster_id = ? AND severity = 'error'",
        [ctx.roster_id]).fetchall()}
    for year in years:
        rows = db.execute("""
            SELECT s.sid, s.file_id, s.person_id, s.pol, s.mem, s.first_name, s.last_name, s.bstart, s.bend,
                   s.status, s.dob, s.sub,
                   (SELECT first_ordinal FROM members WHERE id = s.sid) AS ins_ordinal
            FROM rc_sub s
            WHERE s.in_scope AND s.status IN ('pending', 'effectuated') AND s.bstart IS NOT NULL
              AND s.bstart <= ? AND (s.bend IS NULL OR s.bend >= ?)
              AND NOT EXISTS (SELECT 1 FROM rc_match mt JOIN roster_rows r ON r.id = mt.rid
                              WHERE mt.sid = s.sid AND r.coverage_year = ?)
            ORDER BY s.sid""", [f"{year}-12-31", f"{year}-01-01", year]).fetchall()
        for sid, fid, person, pol, mem, first, last, start, end, status, dob, sub, ins_ord in rows:
            if (pol, mem) in bad:
                not_checked += 1
                continue
            key = mem or f"{sub}|{dob}|{name_key(last, first)}"
            fp = ctx.fp("MISS-02", year, pol, key)
            msg = (f"Not on the exchange roster for {year}: {_person(first, last)} (member id {mem or '-'}, "
                   f"policy {pol or '-'}) is {STATUS_WORDS[status]} with us from {start}"
                   f"{' to ' + end if end else ''}, but the exchange roster {ctx.roster_name} does not list "
                   "this person (cancelled at the exchange, or enrolled with another issuer?).")
            ctx.flag(fp, "MISS-02", "warning", member_id=sid, person_id=person, policy_id=pol or None,
                     file_id=fid, message=msg, segments=[{"ordinal": ins_ord, "element": None}],
                     roster_row_id=None)
            ctx.disc.append((ctx.roster_id, "MISS-02", None, sid, None, "not on roster",
                             f"{STATUS_WORDS[status]} from {start}", fp))
            total += 1
    return total, not_checked


#: a superset of `compare()` in SQL (equal raw values are equal after normalising; amounts within 0.4
#: cent round to the same cent), so Python only looks at the pairs that may differ
_MAY_DIFFER = """
NOT (r.status = 'cancelled' AND s.status = 'cancelled') AND (
    (mt.level <> 1 AND ((s.pol <> '' AND r.policy_id <> s.pol) OR (s.mem <> '' AND r.member_id <> s.mem)))
    OR r.benefit_start IS NOT s.bstart
    OR COALESCE(r.benefit_end, r.coverage_year || '-12-31') IS NOT COALESCE(s.bend, r.coverage_year || '-12-31')
    OR (CASE WHEN r.status IN ('pending', 'effectuated') THEN 'active' ELSE r.status END)
       IS NOT (CASE WHEN s.status IN ('pending', 'effectuated') THEN 'active' ELSE s.status END)
    OR (s.status = 'effectuated' AND r.status = 'pending')
    OR (r.plan_id IS NOT NULL AND r.plan_id IS NOT s.plan_id)
    OR (r.subscriber_ind = 'Y' AND r.aptc_cents IS NOT NULL AND abs(r.aptc_cents - COALESCE(s.aptc, 0) * 100) > 0.4)
    OR (r.subscriber_ind = 'Y' AND r.total_premium_cents IS NOT NULL
        AND (s.total_premium IS NULL OR abs(r.total_premium_cents - s.total_premium * 100) > 0.4))
    OR (r.member_premium_cents IS NOT NULL
        AND (s.member_premium IS NULL OR abs(r.member_premium_cents - s.member_premium * 100) > 0.4))
    OR r.dob IS NOT s.dob
    OR (r.gender IS NOT NULL AND COALESCE(s.gender, '') <> '' AND r.gender <> s.gender)
    OR r.name_key IS NOT COALESCE(s.nk, '')
    OR (r.relationship IS NOT NULL AND COALESCE(s.ins02, '') <> '' AND r.relationship <> s.ins02)
    OR (COALESCE(r.subscriber_ind, '') <> '' AND COALESCE(s.ins01, '') <> '' AND r.subscriber_ind <> s.ins01)
    OR (r.ssn IS NOT NULL AND COALESCE(s.ssn, '') <> '' AND r.ssn <> s.ssn)
    OR (r.subscriber_ind = 'Y' AND r.rating_area IS NOT NULL AND COALESCE(s.rating_area, '') <> ''
        AND r.rating_area <> s.rating_area)
)"""


def _miss03(db: Database, ctx: _Ctx) -> tuple[int, dict[str, int]]:
    """Field-by-field comparison of each matched roster person's current row with the subject."""
    pairs = _rows(db, """
        SELECT r.id AS rid, r.row_number, r.coverage_year AS year, r.policy_id AS r_pol, r.member_id AS r_mem,
               r.subscriber_ind AS r_si, r.relationship AS r_rel, r.last_name AS r_last,
               r.first_name AS r_first, r.name_key AS r_nk, r.dob AS r_dob, r.gender AS r_gender,
               r.ssn AS r_ssn, r.plan_id AS r_plan, r.benefit_start AS r_start, r.benefit_end AS r_end,
               r.status AS r_status, r.aptc_cents AS r_aptc, r.total_premium_cents AS r_tot,
               r.member_premium_cents AS r_prem, r.rating_area AS r_area,
               mt.level, s.sid, s.file_id, s.person_id, s.pol, s.mem, s.ins01, s.ins02, s.last_name,
               s.first_name, s.nk, s.dob, s.gender, s.ssn, s.plan_id, s.bstart, s.bend, s.status,
               s.aptc, s.total_premium, s.member_premium, s.rating_area
        FROM rc_cur c JOIN rc_match mt ON mt.rid = c.id JOIN roster_rows r ON r.id = c.id
        JOIN rc_sub s ON s.sid = mt.sid
        WHERE """ + _MAY_DIFFER + """
        ORDER BY r.row_number""")
    by_field: Counter[str] = Counter()
    mismatched: list[tuple[dict[str, Any], list[tuple[str, str, str]]]] = []
    for p in pairs:
        diffs = compare(p)
        if diffs:
            mismatched.append((p, diffs))
            by_field.update(k for k, _, _ in diffs)
    locs = _locate_fields(db, [p["sid"] for p, _ in mismatched])
    for p, diffs in mismatched:
        fp = ctx.fp("MISS-03", p["year"], p["r_pol"], p["r_mem"])
        sev = "error" if any(SEVERITY[k] == "error" for k, _, _ in diffs) else "warning"
        shown = "; ".join(f"{FIELD_LABELS[k]} {ex} / {ours}" for k, ex, ours in diffs)
        how = "" if p["level"] == 1 else f" (matched on {LEVELS[p['level']]})"
        msg = (f"Exchange roster differs from our 834 data for {_person(p['first_name'], p['last_name'])} "
               f"(member id {p['r_mem']}, policy {p['r_pol']}){how}: {shown} (exchange value / our value; "
               f"roster {ctx.roster_name} row {p['row_number']}).")
        loc = locs.get(p["sid"], {})
        segs = [loc[k] for k, _, _ in diffs if k in loc]
        ctx.flag(fp, "MISS-03", sev, member_id=p["sid"], person_id=p["person_id"], policy_id=p["pol"] or None,
                 file_id=p["file_id"], message=msg, segments=segs, roster_row_id=p["rid"])
        for k, ex, ours in diffs:
            if k == "ssn":  # kept in full in the store; masked wherever it is shown
                ex, ours = p["r_ssn"], p["ssn"]
            ctx.disc.append((ctx.roster_id, "MISS-03", p["rid"], p["sid"], k, ex, ours, fp))
    return len(mismatched), dict(by_field)


def compare(p: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, exchange value, our value) for every field that differs. SSNs are masked."""
    out: list[tuple[str, str, str]] = []
    year = p["year"]
    both_cancelled = p["r_status"] == "cancelled" and p["status"] == "cancelled"
    if both_cancelled:
        return out

    def add(k: str, ex: Any, ours: Any) -> None:
        out.append((k, _show(ex), _show(ours)))

    if p["level"] != 1:  # an id the 834 did not carry at all is not a difference
        if p["pol"] and p["r_pol"] != p["pol"]:
            add("policy_id", p["r_pol"], p["pol"])
        if p["mem"] and p["r_mem"] != p["mem"]:
            add("member_id", p["r_mem"], p["mem"])
    if p["r_start"] != p["bstart"]:
        add("benefit_start", p["r_start"], p["bstart"])
    open_end = f"{year}-12-31"  # the FFE sends no end date: coverage runs to the end of the year
    if (p["r_end"] or open_end) != (p["bend"] or open_end):
        add("benefit_end", p["r_end"] or f"(open) {open_end}", p["bend"] or f"(open) {open_end}")
    rs, ss = p["r_status"], p["status"]
    # 'effectuated' on the roster but not with us only means we hold no effectuation 834: not a difference
    state = {"pending": "active", "effectuated": "active"}
    if state.get(rs, rs) != state.get(ss, ss) or (ss == "effectuated" and rs == "pending"):
        add("status", STATUS_WORDS.get(rs, rs), STATUS_WORDS.get(ss, ss))
    if p["r_plan"] and not plans_equal(p["r_plan"], p["plan_id"]):
        add("plan_id", p["r_plan"], p["plan_id"])
    subscriber = p["r_si"] == "Y"
    if subscriber and p["r_aptc"] is not None:
        ours = amount_cents(p["aptc"])
        if p["r_aptc"] != (ours or 0):  # the FFE sends APTC 0 when not eligible; absent counts as 0
            out.append(("aptc", _money(p["r_aptc"]), _money(ours)))
    if subscriber and p["r_tot"] is not None:
        ours = amount_cents(p["total_premium"])
        if p["r_tot"] != ours:
            out.append(("total_premium", _money(p["r_tot"]), _money(ours)))
    if p["r_prem"] is not None:
        ours = amount_cents(p["member_premium"])
        if p["r_prem"] != ours:
            out.append(("member_premium", _money(p["r_prem"]), _money(ours)))
    if p["r_dob"] != p["dob"]:
        add("dob", p["r_dob"], p["dob"])
    if p["r_gender"] and p["gender"] and p["r_gender"] != p["gender"]:
        add("gender", p["r_gender"], p["gender"])
    if p["r_nk"] != (p["nk"] or ""):
        add("name", f"{p['r_last']}, {p['r_first']}", f"{p['last_name'] or ''}, {p['first_name'] or ''}")
    if p["r_rel"] and p["ins02"] and p["r_rel"] != p["ins02"]:
        add("relationship", p["r_rel"], p["ins02"])
    elif (p["r_si"] or "") and p["ins01"] and p["r_si"] != p["ins01"]:
        add("relationship", "subscriber" if p["r_si"] == "Y" else "dependant",
            "subscriber" if p["ins01"] == "Y" else "dependant")
    if p["r_ssn"] and p["ssn"] and p["r_ssn"] != p["ssn"]:
        a, b = mask_ssn(p["r_ssn"]), mask_ssn(p["ssn"])
        if a == b:
            a, b = a + " (first five digits differ)", b
        out.append(("ssn", a, b))
    if subscriber and p["r_area"] and p["rating_area"] and not rating_areas_equal(p["r_area"], p["rating_area"]):
        add("rating_area", p["r_area"], p["rating_area"])
    return out


#: where each MISS-03 field lives in the member's segments: (segment id, qualifier test, element)
def _locate_fields(db: Database, sids: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """{members.id: {field: {"ordinal": n, "element": "DTP03"}}} from the members' raw segments."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for i in range(0, len(sids), 900):
        chunk = sids[i:i + 900]
        rows = db.execute(f"SELECT m.id, m.raw, m.segs, f.delims FROM members m JOIN files f ON f.id = m.file_id "
                          f"WHERE m.id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        for mid, raw, segs_json, delims in rows:
            out[mid] = _locate(raw, segpos.decode(segs_json, raw.split("\n")), (delims or "*")[0])
    return out


_CAT_FIELDS = {"APTC AMT": "aptc", "PRE AMT TOT": "total_premium", "PRE AMT 1": "member_premium",
               "RATING AREA": "rating_area"}


def _locate(raw: str, segs: list[list[Any]], sep: str) -> dict[str, dict[str, Any]]:
    loc: dict[str, dict[str, Any]] = {}

    def put(k: str, ordinal: int, element: str) -> None:
        loc.setdefault(k, {"ordinal": ordinal, "element": element})

    cat = ""
    in_2300 = False
    for line, seg in zip(raw.split("\n"), segs, strict=False):
        f = line.split(sep)
        sid, q = f[0], (f[1] if len(f) > 1 else "")
        o = seg[0]
        if sid == "INS":
            put("status", o, "INS03")
            put("relationship", o, "INS02")
        elif sid == "HD":
            in_2300 = True
        elif sid == "LS":
            in_2300 = False
        elif sid == "REF" and q == "17" and not cat:
            put("member_id", o, "REF02")
        elif sid == "REF" and q == "1L":
            put("policy_id", o, "REF02")
        elif sid == "REF" and q == "CE":
            put("plan_id", o, "REF02")
        elif sid == "DTP" and q == "348":
            put("benefit_start", o, "DTP03")
        elif sid == "DTP" and q in ("349", "357"):
            put("benefit_end", o, "DTP03")
        elif sid == "DTP" and q == "356" and not in_2300:
            loc.setdefault("benefit_start_356", {"ordinal": o, "element": "DTP03"})
        elif sid == "NM1" and q in ("IL", "74"):
            put("name", o, "NM103")
            put("ssn", o, "NM109")
        elif sid == "DMG":
            put("dob", o, "DMG02")
            put("gender", o, "DMG03")
        elif sid == "N1" and q == "75":
            cat = f[2] if len(f) > 2 else ""
        elif sid == "REF" and cat in _CAT_FIELDS:
            put(_CAT_FIELDS[cat], o, "REF02")
            cat = ""
    if "benefit_start" not in loc and "benefit_start_356" in loc:
        loc["benefit_start"] = loc["benefit_start_356"]
    loc.pop("benefit_start_356", None)
    return loc


def _miss07(db: Database, ctx: _Ctx, years: list[int], as_of: _dt.date, grace_days: int) -> int:
    """Subscribers of policies enrolled but never effectuated, past the grace period (one per policy).

    Quiet when the roster shows the policy effectuated (we just hold no effectuation 834)."""
    if not years:
        return 0
    cutoff = (as_of - _dt.timedelta(days=grace_days)).isoformat()
    rows = db.execute(f"""
        SELECT s.sid, s.file_id, s.person_id, s.pol, s.first_name, s.last_name, s.bstart,
               EXISTS (SELECT 1 FROM rc_match mt WHERE mt.sid = s.sid) AS matched,
               EXISTS (SELECT 1 FROM rc_match mt JOIN rc_cur c ON c.id = mt.rid JOIN roster_rows r ON r.id = c.id
                       WHERE mt.sid = s.sid AND r.status = 'pending') AS roster_pending,
               (SELECT first_ordinal FROM members WHERE id = s.sid) AS ins_ordinal
        FROM rc_sub s
        WHERE s.in_scope AND s.ins01 = 'Y' AND s.status = 'pending' AND s.bstart IS NOT NULL
          AND s.bstart < ? AND CAST(substr(s.bstart, 1, 4) AS INTEGER) IN ({','.join('?' * len(years))})
        ORDER BY s.sid""", [cutoff, *years]).fetchall()
    n = 0
    seen: set[str] = set()
    for sid, fid, person, pol, first, last, start, matched, roster_pending, ins_ord in rows:
        if matched and not roster_pending:
            continue  # the exchange shows it effectuated, cancelled or terminated
        key = pol or f"member-row-{sid}"
        if key in seen:
            continue
        seen.add(key)
        days = (as_of - _dt.date.fromisoformat(start)).days
        year = int(start[:4])
        fp = ctx.fp("MISS-07", year, key)
        also = " (the exchange roster also shows it as not effectuated)" if matched else ""
        msg = (f"Enrolled but not effectuated: policy {pol or '-'} ({_person(first, last)}) began {start}, "
               f"{days} days before {as_of.isoformat()}, past the {grace_days}-day grace period, and no "
               f"effectuation (confirmation 834 or paid-through date) is on record{also}.")
        ctx.flag(fp, "MISS-07", "info", member_id=sid, person_id=person, policy_id=pol or None, file_id=fid,
                 message=msg, segments=[{"ordinal": ins_ord, "element": None}], roster_row_id=None)
        ctx.disc.append((ctx.roster_id, "MISS-07", None, sid, "status", "-", f"not effectuated after {days} days",
                         fp))
        n += 1
    return n


# -- flags -----------------------------------------------------------------------------------------

_FLAG_COLUMNS = ("fingerprint, rule, category, severity, member_id, person_id, policy_id, file_id, message, "
                 "next_step, segments, related, status, created_at, updated_at, roster_row_id")
_FLAG_UPSERT_HEAD = f"INSERT INTO flags ({_FLAG_COLUMNS}) "
_FLAG_UPSERT_TAIL = """
ON CONFLICT(fingerprint) DO UPDATE SET
    severity = excluded.severity, member_id = excluded.member_id, person_id = excluded.person_id,
    policy_id = excluded.policy_id, file_id = excluded.file_id, message = excluded.message,
    next_step = excluded.next_step, segments = excluded.segments, roster_row_id = excluded.roster_row_id,
    updated_at = CASE WHEN flags.message IS NOT excluded.message OR flags.severity IS NOT excluded.severity
                           OR flags.resolved_at IS NOT NULL THEN excluded.updated_at ELSE flags.updated_at END,
    resolved_at = NULL, resolved_by_file_id = NULL
"""
_FLAG_UPSERT = _FLAG_UPSERT_HEAD + "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" + _FLAG_UPSERT_TAIL

# The flag writing is kept in these three small functions on purpose: the rules engine writes its flags
# through its own private writer (bound to its rule context); if it grows a public one, switch here.


def begin_flags(db: Database) -> None:
    """Start collecting the fingerprints this run produces (temp table rc_fp)."""
    db.conn.execute("DROP TABLE IF EXISTS temp.rc_fp")
    db.conn.execute("CREATE TEMP TABLE rc_fp (fp TEXT PRIMARY KEY)")


def upsert_flags(db: Database, flags: Iterable[tuple[Any, ...]]) -> int:
    """Insert or update flags by fingerprint: a clerk's status, assignment and notes are kept; a flag
    that had been resolved is open again."""
    rows = sorted(flags, key=lambda f: f[0])
    db.conn.executemany(_FLAG_UPSERT, rows)
    db.conn.executemany("INSERT OR IGNORE INTO rc_fp VALUES (?)", ((f[0],) for f in rows))
    return len(rows)


def resolve_flags(db: Database, scope_prefixes: list[str], now: str) -> int:
    """Set `resolved_at` on open flags whose fingerprint starts with one of `scope_prefixes` and that
    this run did not produce (never deleted; the clerk's status is kept). Returns how many."""
    resolved = 0
    for prefix in scope_prefixes:
        cur = db.conn.execute(
            "UPDATE flags SET resolved_at = ?, updated_at = ? WHERE category = ? AND resolved_at IS NULL "
            "AND substr(fingerprint, 1, ?) = ? AND fingerprint NOT IN (SELECT fp FROM rc_fp)",
            [now, now, CATEGORY, len(prefix), prefix])
        resolved += cur.rowcount
    return resolved
