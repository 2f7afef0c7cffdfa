"""Migrations for the clerk workflow (issue 5): review columns on flags, notes, corrections, undo
batches and the append-only, hash-chained audit trail.

Statuses, assignment, due date and reason code are columns on `flags`: the rules engine keys a flag
by its fingerprint and updates it in place, so they survive re-running the rules and importing newer
files. Notes and corrections name the flag and also the member (row, member id REF*17 and person), so
a member's history can be found across files. Notes, corrections and audit rows are never changed or
deleted; triggers refuse it.
"""

from __future__ import annotations

from sqlite_utils import Database

from .schema import migrations

_APPEND_ONLY = """
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be changed'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be deleted'); END;
"""


@migrations()
def m003_review(db: Database) -> None:
    cols = {c.name for c in db["flags"].columns}
    for name in ("assigned_to", "due_date", "reason_code", "status_changed_at"):
        if name not in cols:
            db.execute(f"ALTER TABLE flags ADD COLUMN {name} TEXT")
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_flags_assigned ON flags(assigned_to);
        CREATE INDEX IF NOT EXISTS idx_flags_due ON flags(due_date);
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            flag_id INTEGER,               -- flags.id (NULL: a note on the member only)
            member_id INTEGER,             -- members.id of the member row the clerk was looking at
            member_key TEXT,               -- REF*17 member id (else subscriber id): finds it across files
            person_id INTEGER,
            created_at TEXT NOT NULL,      -- UTC ISO
            author TEXT NOT NULL,          -- OS account
            text TEXT NOT NULL
        );
        CREATE INDEX idx_notes_flag ON notes(flag_id);
        CREATE INDEX idx_notes_member ON notes(member_id);
        CREATE INDEX idx_notes_key ON notes(member_key);
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            flag_id INTEGER,
            member_id INTEGER,
            member_key TEXT,
            person_id INTEGER,
            policy_id TEXT,
            file_id INTEGER,               -- the file the 834 value came from
            field TEXT NOT NULL,           -- e.g. 'dob' or 'DMG02'
            value_834 TEXT,                -- the value as received
            corrected_value TEXT,
            source TEXT NOT NULL,          -- 'confirmed by phone with the member', 'exchange ticket 1234'
            created_at TEXT NOT NULL,
            author TEXT NOT NULL
        );
        CREATE INDEX idx_corrections_flag ON corrections(flag_id);
        CREATE INDEX idx_corrections_member ON corrections(member_id);
        CREATE INDEX idx_corrections_key ON corrections(member_key);
        CREATE TABLE review_batches (      -- one row per bulk action, so it can be undone in one step
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            author TEXT NOT NULL,
            action TEXT NOT NULL,
            before TEXT NOT NULL,          -- JSON {flag_id: {column: value}} as it was
            after TEXT NOT NULL,           -- JSON {column: value} applied to every flag
            undone_at TEXT,
            undone_by TEXT
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,              -- UTC ISO with microseconds
            os_user TEXT NOT NULL,
            action TEXT NOT NULL,
            flag_id INTEGER,
            member_id INTEGER,             -- members.id
            detail TEXT NOT NULL DEFAULT '{}',  -- JSON: what changed
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX idx_audit_flag ON audit(flag_id);
        CREATE INDEX idx_audit_member ON audit(member_id);
        CREATE INDEX idx_audit_action ON audit(action);
        """
        + "".join(_APPEND_ONLY.format(table=t) for t in ("audit", "notes", "corrections"))
    )
