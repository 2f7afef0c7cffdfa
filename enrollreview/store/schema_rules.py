"""Migrations for the rules engine (issue 3): settings overrides, persons, enrollment-group columns on
members and the policy timeline view.

`members` gains columns the history fills once per import (member rows never change afterwards):
`head_row` (the subscriber row this member belongs to in its transaction), `group_key` (the
enrollment group across files: exchange policy id + subscriber id), `event` (what the row does to
the policy: enrolled, effectuated, changed, cancelled, terminated, reinstated, audit, other),
`eff_begin`/`eff_end` (the member's coverage dates, real ISO dates only) and `sent_at` (when the
sender says the transaction was made: REQUEST SUBMIT TIMESTAMP, else BGN03+BGN04, as 14 digits).
"""

from __future__ import annotations

from sqlite_utils import Database

from .schema import migrations


@migrations()
def m002_rules(db: Database) -> None:
    cols = {c.name for c in db["members"].columns}
    for name, kind in (("head_row", "INTEGER"), ("group_key", "TEXT"), ("event", "TEXT"), ("eff_begin", "TEXT"),
                       ("eff_end", "TEXT"), ("sent_at", "TEXT")):
        if name not in cols:
            db.execute(f"ALTER TABLE members ADD COLUMN {name} {kind}")
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS settings (
            sender TEXT NOT NULL DEFAULT '',   -- ISA06 or GS02 of the sending exchange; '' = every sender
            key TEXT NOT NULL,
            value TEXT NOT NULL,               -- JSON
            updated_at TEXT,
            PRIMARY KEY (sender, key)
        );
        CREATE TABLE IF NOT EXISTS persons (
            id INTEGER PRIMARY KEY,
            member_id TEXT,                    -- REF*17 once known (a person never has two)
            subscriber_id TEXT,
            last_name TEXT, first_name TEXT,
            nlast TEXT, nfirst TEXT,           -- names in upper case, letters only (for matching)
            dob TEXT, ssn TEXT, gender TEXT,   -- as first seen
            first_member_row INTEGER,          -- members.id where the person was first seen
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS rule_runs (  -- files whose history columns are filled
            file_id INTEGER PRIMARY KEY,
            prepared_at TEXT,
            ruled_at TEXT                      -- when the rules last ran for this file's import
        );
        CREATE INDEX IF NOT EXISTS idx_persons_member_id ON persons(member_id);
        CREATE INDEX IF NOT EXISTS idx_persons_sub_dob ON persons(subscriber_id, dob);
        CREATE INDEX IF NOT EXISTS idx_persons_ssn ON persons(ssn);
        CREATE INDEX IF NOT EXISTS idx_persons_name ON persons(nlast, nfirst, dob);
        CREATE INDEX IF NOT EXISTS idx_members_group_key ON members(group_key, transaction_id);
        CREATE INDEX IF NOT EXISTS idx_members_head ON members(head_row);
        CREATE INDEX IF NOT EXISTS idx_flags_person ON flags(person_id);
        CREATE INDEX IF NOT EXISTS idx_flags_policy ON flags(policy_id);
        CREATE VIEW IF NOT EXISTS policy_events AS
            SELECT m.id AS member_row, m.file_id, m.transaction_id, m.seq, m.person_id, m.group_key, m.policy_id,
                   m.subscriber_id, m.member_id, m.ins01 = 'Y' AS is_subscriber, m.ins03, m.ins04, m.amrc,
                   m.event, m.eff_begin, m.eff_end, m.sent_at
            FROM members m WHERE m.event IS NOT NULL;
        """
    )
