"""Migrations for the rules engine (issue 3): settings overrides, persons, the per-member history facts
and the policy timeline view.

* `member_facts` (one row per members row, filled by rules.history once per imported file; member rows
  never change afterwards): `head_row` (the subscriber row this member belongs to in its transaction),
  `group_key` (the enrollment group across files: exchange policy id + subscriber id), `event` (what the
  row does to the policy: enrolled, effectuated, changed, cancelled, terminated, reinstated, audit,
  other) and `eff_begin`/`eff_end` (the member's coverage dates, real ISO dates only). It is a narrow
  table of its own because members rows are wide (they carry the raw segments): updating 100,000 of
  them costs seconds, inserting 100,000 narrow rows a fraction of that.
* `members.person_id` is set by the import's INSERT itself (ingest._member_insert_sql): the person
  already on record with the same member id (REF*17), else a new person whose id is the row's own id.
  (Stores before m005 also had an insert trigger doing the same; m005 drops it. Any trigger on
  members makes SQLite open a statement journal for every single-row INSERT, which cost 3 s of a
  100,000-member import.) The history then only
  corrects the few rows another key (subscriber id + birth date, SSN, name + birth date) matches.
* `persons.id` is always the members.id of the person's first row.
"""

from __future__ import annotations

from sqlite_utils import Database

from .schema import migrations


def _ensure(db: Database) -> None:
    """Create or complete everything the rules need (safe to run again)."""
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
            id INTEGER PRIMARY KEY,            -- members.id of the person's first row
            member_id TEXT,                    -- REF*17 once known (a person never has two)
            subscriber_id TEXT,
            last_name TEXT, first_name TEXT,
            nlast TEXT, nfirst TEXT,           -- names in upper case, letters only (for matching)
            dob TEXT, ssn TEXT, gender TEXT,   -- as first seen
            first_member_row INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS rule_runs (  -- files whose history facts are filled
            file_id INTEGER PRIMARY KEY,
            prepared_at TEXT,
            ruled_at TEXT,                     -- when the rules last ran for this file's import
            hios_plans INTEGER,                -- the file has 16-character exchange plan ids (REF*CE)
            category_names TEXT                -- JSON: the 2750 names the file uses
        );
        CREATE TABLE IF NOT EXISTS person_links (   -- DUP-07: a new person sharing SSN or name + birth date
            person_id INTEGER NOT NULL,             -- with another person of another member id
            other_id INTEGER NOT NULL,
            how TEXT NOT NULL,                      -- 'ssn' or 'name'
            PRIMARY KEY (person_id, other_id, how)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS member_facts (
            id INTEGER PRIMARY KEY,            -- members.id
            file_id INTEGER NOT NULL,
            transaction_id INTEGER NOT NULL,
            head_row INTEGER,                  -- the subscriber row of this member's household in the transaction
            group_key TEXT,                    -- 'policy id|subscriber id'
            event TEXT,
            eff_begin TEXT,
            eff_end TEXT
        );
        """
    )
    runs = {c.name for c in db["rule_runs"].columns}
    for name, kind in (("hios_plans", "INTEGER"), ("category_names", "TEXT")):
        if name not in runs:
            db.execute(f"ALTER TABLE rule_runs ADD COLUMN {name} {kind}")
    cols = {c.name for c in db["persons"].columns}
    for name in ("nlast", "nfirst", "gender"):
        if name not in cols:
            db.execute(f"ALTER TABLE persons ADD COLUMN {name} TEXT")
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_persons_member_id ON persons(member_id);
        CREATE INDEX IF NOT EXISTS idx_persons_sub_dob ON persons(subscriber_id, dob);
        CREATE INDEX IF NOT EXISTS idx_persons_ssn ON persons(ssn);
        CREATE INDEX IF NOT EXISTS idx_persons_name ON persons(nlast, nfirst, dob);
        CREATE INDEX IF NOT EXISTS idx_facts_group ON member_facts(group_key, transaction_id);
        CREATE INDEX IF NOT EXISTS idx_facts_head ON member_facts(head_row);
        CREATE INDEX IF NOT EXISTS idx_flags_person ON flags(person_id);
        CREATE INDEX IF NOT EXISTS idx_flags_policy ON flags(policy_id);
        DROP VIEW IF EXISTS policy_events;
        CREATE VIEW policy_events AS
            SELECT m.id AS member_row, m.file_id, m.transaction_id, m.seq, m.person_id, x.group_key, m.policy_id,
                   m.subscriber_id, m.member_id, m.ins01 = 'Y' AS is_subscriber, m.ins03, m.ins04, m.amrc,
                   x.event, x.eff_begin, x.eff_end,
                   (SELECT c.value FROM categories c WHERE c.member_id = m.id AND c.name = 'REQUEST SUBMIT TIMESTAMP'
                    LIMIT 1) AS submitted
            FROM member_facts x JOIN members m ON m.id = x.id;
        """
    )


@migrations()
def m002_rules(db: Database) -> None:
    _ensure(db)


@migrations()
def m002b_rules_facts(db: Database) -> None:
    """Stores created while the rules were being written had history columns on members; this adds
    what the rules use now, and has files without facts prepared again at the next import (nothing
    happens on a store m002 just created)."""
    _ensure(db)
    db.execute("DELETE FROM rule_runs WHERE file_id NOT IN (SELECT DISTINCT file_id FROM member_facts)")


@migrations()
def m002c_rules_links(db: Database) -> None:
    """Adds person_links (DUP-07) to stores that had the two migrations above before it existed."""
    _ensure(db)


@migrations()
def m002d_rules_file_facts(db: Database) -> None:
    """Adds what a file is like (exchange plan ids, 2750 names) to rule_runs for stores that had the
    migrations above before it existed; their files get it at the next prepare."""
    _ensure(db)
    db.execute("DELETE FROM rule_runs WHERE category_names IS NULL")


@migrations()
def m005_members_no_insert_trigger(db: Database) -> None:
    """The import sets members.person_id in its INSERT; the old safety-net trigger only slowed it down."""
    db.execute("DROP TRIGGER IF EXISTS members_person_ai")
