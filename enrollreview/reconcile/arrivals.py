"""MISS-01 resolved by the import that brings the missing person's 834.

A MISS-01 flag says "on the exchange roster, never in any loaded 834". When a later 834 carries that
person, the import resolves the flag at once, inside the import's transaction (all or nothing), the way
the rules engine resolves its flags: `resolved_at`, `resolved_by_file_id` = the new file and a
"resolved by file NAME" row in the audit trail (`review.workflow.on_flags_resolved`); never deleted, the
clerk's status, assignment and notes untouched. MISS-02, -03 and -07 need the roster compared field by
field and are left to `reconcile`.

The matching is the reconciliation's own: the imported file's subjects (its newest row per policy id and
member, `reconcile.MEMBER_KEYS` / `GROUP_KEY`) against the flagged roster row under
`reconcile.MATCH_CONDITIONS`. A flag is resolved only when the next reconciliation of its roster is sure
to pair the two, so it never reopens the flag:

* policy id + member id (round 1): always;
* subscriber id + DOB, SSN, name + DOB (rounds 2-4, which want an unambiguous pair): only when no other
  person on that roster matches the subject on that key or an earlier one, and no other stored 834 person
  is a candidate for the roster row on that key. Anything in doubt stays open until `reconcile` decides.

Cost: set-based SQL driven by the imported file's members. A small file probes roster_rows (policy id +
member id, DOB, SSN indexes) and flags (roster_row_id) for its own members only, so 100,000 open MISS-01
flags cost it milliseconds; a file of more than _PROBE_SUBJECTS subjects is compared with the open flags'
roster rows in one pass instead (about a second for 100,000 members against 100,000 flags).
"""

from __future__ import annotations

import logging
import sqlite3
import time

from sqlite_utils import Database

from ..store import utcnow
from .reconcile import GROUP_KEY, MATCH_CONDITIONS, MEMBER_KEYS, NAME_KEY, register_functions

log = logging.getLogger("enrollreview.reconcile")

RULE = "MISS-01"
_TEMP = ("ar_s", "ar_p", "ar_o", "ar_c", "ar_y")


def resolve_arrived(db: Database, file_id: int) -> list[int]:
    """Resolve the open MISS-01 flags whose roster person is a member of `file_id` (just imported).

    Runs inside the caller's transaction (a savepoint of it); returns the ids of the flags resolved."""
    started = time.perf_counter()
    conn = db.conn
    if conn.execute("SELECT 1 FROM flags WHERE rule = 'MISS-01' AND resolved_at IS NULL LIMIT 1").fetchone() is None:
        return []   # no roster person is waiting for an 834 (the usual case): nothing to read
    register_functions(db)
    with db.atomic():
        try:
            ids = _resolve(db, file_id)
        finally:
            for t in _TEMP:
                conn.execute(f"DROP TABLE IF EXISTS temp.{t}")
    if ids:
        log.info("file %s resolved %d MISS-01 flags (the roster person's 834 arrived) in %.3f s", file_id,
                 len(ids), time.perf_counter() - started)
    return ids


def _resolve(db: Database, file_id: int) -> list[int]:
    conn = db.conn
    for t in _TEMP:
        conn.execute(f"DROP TABLE IF EXISTS temp.{t}")
    # the file's subjects: its newest row per (policy id, member), unless a later file has a newer one
    conn.execute(f"""
        CREATE TEMP TABLE ar_s AS
        SELECT id AS sid, pol, mem, sub, dob, ssn, nk, gkey FROM (
            SELECT *, MAX(id) OVER (PARTITION BY pol, gkey) AS top FROM (
                SELECT CAST(m.id AS INTEGER) AS id, {MEMBER_KEYS}, {NAME_KEY} AS nk, {GROUP_KEY} AS gkey
                FROM members m JOIN files f ON f.id = m.file_id AND f.status = 'imported'
                WHERE m.file_id = ?))
        WHERE id = top""", [file_id])
    last, newest = conn.execute("SELECT (SELECT MAX(sid) FROM ar_s), (SELECT MAX(id) FROM members)").fetchone()
    if last is None:
        return []
    if newest > last:  # not the newest file (a re-run for an older one): drop the subjects a later file updated
        conn.execute(f"""
            DELETE FROM ar_s WHERE (pol, gkey) IN (
                SELECT pol, gkey FROM (SELECT {MEMBER_KEYS}, {GROUP_KEY} AS gkey FROM members m
                JOIN files f ON f.id = m.file_id AND f.status = 'imported' WHERE m.id > ?))""", [last])
    conn.execute("CREATE UNIQUE INDEX temp.ar_s_sid ON ar_s(sid)")
    # the open MISS-01 flags whose roster row a subject matches, with the earliest round that pairs them
    conn.execute("CREATE TEMP TABLE ar_p (flag INTEGER, rid INTEGER, roster_id INTEGER, rp TEXT, sid INTEGER, "
                 "level INTEGER)")
    if conn.execute("SELECT COUNT(*) FROM ar_s").fetchone()[0] <= _PROBE_SUBJECTS:
        _pairs_from_subjects(conn)
    else:
        _pairs_from_flags(conn)
    conn.execute("""
        CREATE TEMP TABLE ar_c AS
        SELECT p.flag, p.rid, p.roster_id, p.rp, p.sid, s.pol, s.gkey, MIN(p.level) AS level
        FROM ar_p p JOIN ar_s s ON s.sid = p.sid GROUP BY p.flag, p.sid""")
    if not conn.execute("SELECT 1 FROM ar_c LIMIT 1").fetchone():
        return []
    # rounds 2-4 pair only unambiguously. The subject must not be another roster person's on this key or an
    # earlier one (that person would take it first, or share it): probed for each such pair's subject ...
    for level, cond in sorted(MATCH_CONDITIONS.items()):
        roster = "r.roster_id" if level == 1 else "+r.roster_id"  # rounds 2-4: by the DOB / SSN index
        conn.execute(f"""
            DELETE FROM ar_c WHERE level > 1 AND level >= {level} AND EXISTS (
                SELECT 1 FROM ar_s s CROSS JOIN roster_rows r
                WHERE s.sid = ar_c.sid AND {roster} = ar_c.roster_id AND {cond}
                  AND r.policy_id || '|' || r.member_id <> ar_c.rp)""")
    if conn.execute("SELECT 1 FROM ar_c WHERE level > 1 LIMIT 1").fetchone():
        _drop_ambiguous(conn)
    ids = [r[0] for r in conn.execute("SELECT DISTINCT flag FROM ar_c ORDER BY flag")]
    if not ids:
        return []
    now = utcnow()
    conn.execute("UPDATE flags SET resolved_at = ?, resolved_by_file_id = ?, updated_at = ? "
                 "WHERE id IN (SELECT flag FROM ar_c) AND resolved_at IS NULL", [now, file_id, now])
    from ..review import workflow

    workflow.on_flags_resolved(db, ids, file_id)
    return ids


#: up to this many subjects, their roster rows are probed through the roster_rows indexes (a small import:
#: milliseconds); a larger file is compared with the open MISS-01 flags' roster rows in one pass instead
_PROBE_SUBJECTS = 2_000


def _pairs_from_subjects(conn: sqlite3.Connection) -> None:
    """ar_p from the subjects' side: each round's condition probes roster_rows by its indexes (policy id +
    member id, date of birth, SSN), then flags by roster_row_id; never a pass over either table."""
    for level, cond in sorted(MATCH_CONDITIONS.items()):
        rosters = "CROSS JOIN rosters ro" if level == 1 else ""
        on_roster = "r.roster_id = ro.id AND " if level == 1 else ""
        conn.execute(f"""
            INSERT INTO ar_p SELECT g.id, r.id, r.roster_id, r.policy_id || '|' || r.member_id, s.sid, {level}
            FROM ar_s s {rosters} CROSS JOIN roster_rows r CROSS JOIN flags g
            WHERE {on_roster}{cond} AND g.roster_row_id = r.id AND +g.rule = '{RULE}' AND g.resolved_at IS NULL""")


def _pairs_from_flags(conn: sqlite3.Connection) -> None:
    """ar_p from the flags' side: the open MISS-01 flags' roster rows against the (indexed) subjects."""
    conn.execute(f"""
        CREATE TEMP TABLE ar_o AS
        SELECT g.id AS flag, r.id, r.roster_id, r.policy_id, r.member_id, r.subscriber_id, r.name_key, r.dob, r.ssn
        FROM flags g CROSS JOIN roster_rows r
        WHERE g.rule = '{RULE}' AND g.resolved_at IS NULL AND r.id = g.roster_row_id""")
    for ddl in ("CREATE INDEX temp.ar_s_key ON ar_s(pol, mem)", "CREATE INDEX temp.ar_s_subdob ON ar_s(sub, dob)",
                "CREATE INDEX temp.ar_s_ssn ON ar_s(ssn)", "CREATE INDEX temp.ar_s_name ON ar_s(nk, dob)"):
        conn.execute(ddl)
    for level, cond in sorted(MATCH_CONDITIONS.items()):
        conn.execute(f"""
            INSERT INTO ar_p SELECT r.flag, r.id, r.roster_id, r.policy_id || '|' || r.member_id, s.sid, {level}
            FROM ar_o r CROSS JOIN ar_s s WHERE {cond}""")


#: more stored rows without a member id than this: find name + DOB candidates through one pass over the
#: narrow name index instead of reading each of those rows
_MEMBERLESS_ROWS = 20_000


def _drop_ambiguous(conn: sqlite3.Connection) -> None:
    """... and the flagged roster row must have no other candidate in the store on its key (one_r of the
    reconciliation): every stored row it could match is found through the members indexes, then tested
    with the round's own condition."""
    name_keys = [r[0] for r in conn.execute(
        "SELECT DISTINCT r.name_key FROM ar_c c JOIN roster_rows r ON r.id = c.rid "
        "WHERE c.level = 4 AND r.name_key <> ''")]
    memberless = ""
    if name_keys:  # name + DOB also pairs a subject that has no member id
        marks = ",".join("?" * len(name_keys))
        few = conn.execute("SELECT COUNT(*) < ? FROM (SELECT 1 FROM members WHERE member_id IS NULL "
                           "OR member_id = '' LIMIT ?)", [_MEMBERLESS_ROWS, _MEMBERLESS_ROWS]).fetchone()[0]
        if few:
            memberless = f"""
                UNION SELECT m.id FROM members m WHERE (m.member_id IS NULL OR m.member_id = '')
                AND er_name_key(m.last_name, m.first_name) IN ({marks})"""
        else:
            memberless = f"""
                UNION SELECT m.id FROM members m WHERE COALESCE(m.member_id, '') = '' AND m.id IN (
                    SELECT id FROM members INDEXED BY idx_members_name
                    WHERE er_name_key(last_name, first_name) IN ({marks}))"""
    conn.execute(f"""
        CREATE TEMP TABLE ar_y AS
        SELECT CAST(m.id AS INTEGER) AS id, {MEMBER_KEYS}, {NAME_KEY} AS nk, {GROUP_KEY} AS gkey
        FROM members m JOIN files f ON f.id = m.file_id AND f.status = 'imported'
        WHERE m.id IN (
            SELECT m.id FROM ar_c c JOIN roster_rows r ON r.id = c.rid CROSS JOIN members m
            WHERE c.level = 2 AND r.subscriber_id <> '' AND m.subscriber_id = r.subscriber_id
            UNION SELECT m.id FROM ar_c c JOIN roster_rows r ON r.id = c.rid CROSS JOIN members m
            WHERE c.level = 3 AND m.ssn = r.ssn
            UNION SELECT m.id FROM ar_c c JOIN roster_rows r ON r.id = c.rid CROSS JOIN members m
            WHERE c.level = 4 AND m.member_id = r.member_id{memberless})""", name_keys)
    for ddl in ("CREATE INDEX temp.ar_y_subdob ON ar_y(sub, dob)", "CREATE INDEX temp.ar_y_ssn ON ar_y(ssn)",
                "CREATE INDEX temp.ar_y_name ON ar_y(nk, dob)"):
        conn.execute(ddl)
    # a candidate that is not the subject itself (another policy, or another person) makes it ambiguous
    for level in (2, 3, 4):
        conn.execute(f"""
            DELETE FROM ar_c WHERE level = {level} AND EXISTS (
                SELECT 1 FROM roster_rows r CROSS JOIN ar_y s
                WHERE r.id = ar_c.rid AND {MATCH_CONDITIONS[level]}
                  AND NOT (s.pol = ar_c.pol AND s.gkey = ar_c.gkey))""")
