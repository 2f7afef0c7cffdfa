"""Roster tables (issue 6): exchange rosters, their rows, row errors, saved column mappings and the
results of reconciling a roster against the 834s in the store.

A roster-only person (MISS-01) has no `members` row, so flags get a `roster_row_id` column: the
member view shows that roster row instead of raw 834 segments.
"""

from __future__ import annotations

from sqlite_utils import Database

from .schema import migrations


@migrations()
def m004_roster(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE rosters (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            path TEXT,
            sha256 TEXT NOT NULL UNIQUE,     -- a repeat of the same file is refused
            size INTEGER NOT NULL,
            format TEXT NOT NULL,            -- 'csv', 'pipe', 'tab', 'semicolon', 'xlsx'
            sender TEXT NOT NULL DEFAULT '',
            coverage_year INTEGER,           -- the year most rows carry
            coverage_years TEXT NOT NULL DEFAULT '[]',   -- JSON list of every year in the rows
            imported_at TEXT NOT NULL,       -- UTC ISO
            header_row INTEGER NOT NULL,     -- 1-based line (or sheet row) of the header
            headers TEXT NOT NULL,           -- JSON list of the file's column names
            mapping TEXT NOT NULL,           -- JSON {field: column name} used for this import
            mapping_name TEXT,               -- the saved mapping it came from, if any
            rows_total INTEGER NOT NULL,     -- data rows in the file (blank lines not counted)
            rows_loaded INTEGER NOT NULL,
            rows_rejected INTEGER NOT NULL,
            warnings INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE roster_rows (
            id INTEGER PRIMARY KEY,
            roster_id INTEGER NOT NULL REFERENCES rosters(id),
            row_number INTEGER NOT NULL,     -- 1-based line (or sheet row) in the file
            coverage_year INTEGER NOT NULL,
            policy_id TEXT NOT NULL,         -- exchange-assigned policy id (EAPID)
            member_id TEXT NOT NULL,         -- exchange-assigned member id (EAMID)
            subscriber_id TEXT,              -- exchange-assigned subscriber id (EASID)
            subscriber_ind TEXT,             -- 'Y' / 'N'
            relationship TEXT,               -- X12 INS02 code ('18' self, '01' spouse, '19' child ...)
            last_name TEXT, first_name TEXT, middle_name TEXT,
            name_key TEXT,                   -- normalised 'LAST|FIRST' for matching
            dob TEXT, gender TEXT, ssn TEXT,
            plan_id TEXT,                    -- QHP id (14 or 16 characters)
            benefit_start TEXT, benefit_end TEXT,
            status TEXT,                     -- 'pending', 'effectuated', 'cancelled', 'terminated'
            status_raw TEXT,
            aptc_cents INTEGER, total_premium_cents INTEGER, member_premium_cents INTEGER,
            rating_area TEXT, paid_through TEXT,
            issuer_policy_id TEXT, issuer_member_id TEXT, issuer_subscriber_id TEXT,
            address1 TEXT, city TEXT, state TEXT, zip TEXT, phone TEXT,
            raw TEXT NOT NULL                -- JSON {column name: value}: the row exactly as read
        );
        -- one index: reconciliation reads a roster's rows in this order and probes the 834 side's keys
        CREATE INDEX idx_roster_rows_key ON roster_rows(roster_id, policy_id, member_id);
        CREATE TABLE roster_row_errors (
            id INTEGER PRIMARY KEY,
            roster_id INTEGER NOT NULL REFERENCES rosters(id),
            row_number INTEGER NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),  -- error: row not loaded
            field TEXT, column_name TEXT, value TEXT,
            message TEXT NOT NULL,
            policy_id TEXT, member_id TEXT   -- as read, so reconciliation can tell 'not checked'
        );
        CREATE INDEX idx_roster_row_errors_roster ON roster_row_errors(roster_id);
        CREATE TABLE roster_mappings (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            sender TEXT NOT NULL DEFAULT '',
            mapping TEXT NOT NULL,           -- JSON {field: column name}
            headers TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            used_at TEXT
        );
        CREATE INDEX idx_roster_mappings_sender ON roster_mappings(sender);
        CREATE TABLE reconciliations (
            id INTEGER PRIMARY KEY,
            roster_id INTEGER NOT NULL REFERENCES rosters(id),
            run_at TEXT NOT NULL,
            as_of TEXT NOT NULL,
            grace_days INTEGER NOT NULL,
            coverage_years TEXT NOT NULL,    -- JSON list
            store_scope TEXT,                -- which 834s were compared (all, or one sender's)
            roster_rows INTEGER NOT NULL,
            roster_persons INTEGER NOT NULL,
            matched INTEGER NOT NULL,
            missing_from_834 INTEGER NOT NULL,
            missing_from_roster INTEGER NOT NULL,
            mismatched INTEGER NOT NULL,
            not_effectuated INTEGER NOT NULL,
            not_checked INTEGER NOT NULL,    -- store members whose roster row could not be read
            by_field TEXT NOT NULL,          -- JSON {field: persons}
            by_level TEXT NOT NULL,          -- JSON {match key: persons}
            seconds REAL
        );
        CREATE INDEX idx_reconciliations_roster ON reconciliations(roster_id);
        CREATE TABLE reconcile_matches (    -- the latest reconciliation of each roster
            roster_id INTEGER NOT NULL,
            roster_row_id INTEGER NOT NULL,
            member_row_id INTEGER NOT NULL,  -- members.id (the person's newest row for the policy)
            level TEXT NOT NULL              -- 'policy+member', 'subscriber+dob', 'ssn', 'name+dob'
        );
        CREATE INDEX idx_reconcile_matches_roster ON reconcile_matches(roster_id);
        CREATE INDEX idx_reconcile_matches_row ON reconcile_matches(roster_row_id);
        CREATE INDEX idx_reconcile_matches_member ON reconcile_matches(member_row_id);
        CREATE TABLE reconcile_discrepancies (   -- the latest reconciliation of each roster
            id INTEGER PRIMARY KEY,
            roster_id INTEGER NOT NULL,
            rule TEXT NOT NULL,              -- 'MISS-01', 'MISS-02', 'MISS-03', 'MISS-07'
            roster_row_id INTEGER,
            member_row_id INTEGER,
            field TEXT,                      -- MISS-03: which field differs
            exchange_value TEXT,
            issuer_value TEXT,
            fingerprint TEXT                 -- the flag it belongs to
        );
        CREATE INDEX idx_reconcile_discrepancies_roster ON reconcile_discrepancies(roster_id);
        ALTER TABLE flags ADD COLUMN roster_row_id INTEGER;   -- roster_rows.id (MISS-01/03)
        CREATE INDEX idx_flags_roster_row ON flags(roster_row_id);
        """
    )


@migrations()
def m004b_roster_match_keys(db: Database) -> None:
    """Indexes on the fallback match keys of roster rows: an 834 import looks up the roster rows its own
    members match (MISS-01 resolved on arrival, `reconcile.arrivals`) by date of birth (subscriber id + DOB,
    name + DOB) and by SSN, a few probes per imported member instead of a pass over every open flag."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_roster_rows_dob ON roster_rows(dob);
        CREATE INDEX IF NOT EXISTS idx_roster_rows_ssn ON roster_rows(ssn);
        """
    )
