"""The store's schema, as versioned sqlite-utils migrations.

Append new migrations at the end; never edit one that has shipped. Dates are ISO strings
(YYYY-MM-DD) when the 834 value was a real date, otherwise the value exactly as received, so the
rules can still see and quote a bad date.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("enrollreview")


@migrations()
def m001_ingest(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            path TEXT,
            sha256 TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            received_at TEXT,              -- file modification time (UTC ISO)
            imported_at TEXT NOT NULL,     -- UTC ISO
            status TEXT NOT NULL CHECK (status IN ('imported', 'rejected')),
            reason TEXT,                   -- one line, for rejected files
            is_demo INTEGER NOT NULL DEFAULT 0,
            delims TEXT,                   -- element, component, repetition, segment separators
            isa_sender_qual TEXT, isa_sender TEXT, isa_receiver_qual TEXT, isa_receiver TEXT,
            isa_date TEXT, isa_time TEXT, isa_version TEXT, isa_control TEXT, usage TEXT,
            gs_sender TEXT, gs_receiver TEXT, gs_control TEXT, gs_version TEXT,
            segment_count INTEGER DEFAULT 0,
            transaction_count INTEGER DEFAULT 0,
            member_count INTEGER DEFAULT 0,
            finding_count INTEGER DEFAULT 0,
            envelope TEXT                  -- JSON [[ordinal, text, offset]] of ISA/GS/GE/IEA
        );
        CREATE TABLE transactions (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id),
            seq INTEGER NOT NULL,
            isa_control TEXT, gs_control TEXT, gs_version TEXT, gs_functional TEXT,
            st_id TEXT, st_control TEXT, st_version TEXT, se_count TEXT, se_control TEXT,
            bgn_purpose TEXT, bgn_ref TEXT, bgn_date TEXT, bgn_time TEXT, bgn_action TEXT,
            master_policy TEXT, file_effective TEXT,
            qty_to TEXT, qty_dt TEXT, qty_et TEXT,
            sponsor_name TEXT, sponsor_id TEXT, payer_name TEXT, payer_id TEXT,
            broker_name TEXT, broker_id TEXT, tpa_name TEXT, tpa_id TEXT,
            member_count INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT,             -- SHA-256 of the ST..SE text minus ST02/SE02
            first_ordinal INTEGER, last_ordinal INTEGER,
            raw TEXT, segs TEXT            -- header and trailer segments, as for members
        );
        CREATE INDEX idx_transactions_file ON transactions(file_id);
        CREATE INDEX idx_transactions_hash ON transactions(content_hash);
        CREATE TABLE members (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id),
            transaction_id INTEGER NOT NULL REFERENCES transactions(id),
            seq INTEGER NOT NULL,          -- order of the member in its file
            ins01 TEXT, ins02 TEXT, ins03 TEXT, ins04 TEXT, ins05 TEXT, ins08 TEXT, ins17 TEXT,
            subscriber_id TEXT, member_id TEXT, issuer_member_id TEXT, issuer_subscriber_id TEXT,
            payment_tx_id TEXT, group_policy_id TEXT, case_number TEXT,
            policy_id TEXT,                -- 2300 REF*1L, else 2000 REF*1L
            elig_begin TEXT, elig_end TEXT, maint_eff TEXT, amrc TEXT,
            last_name TEXT, first_name TEXT, middle_name TEXT, prefix TEXT, suffix TEXT,
            id_qual TEXT, ssn TEXT, other_id TEXT,
            phone TEXT, email TEXT, phones TEXT,               -- phones: JSON {qualifier: [numbers]}
            address1 TEXT, address2 TEXT, city TEXT, state TEXT, zip TEXT, county TEXT,
            dob TEXT, gender TEXT, marital TEXT, race TEXT, has_dmg INTEGER DEFAULT 0,
            tobacco TEXT, language TEXT,
            old TEXT, mailing TEXT, other_names TEXT, refs TEXT, dates TEXT,   -- JSON
            person_id INTEGER,             -- filled by rules.history
            first_ordinal INTEGER NOT NULL, last_ordinal INTEGER NOT NULL,
            raw TEXT NOT NULL,             -- the member's segments, one per line, no terminators
            segs TEXT NOT NULL             -- each line's ordinal, loop path, file offset (read with segpos.decode)
        );
        CREATE INDEX idx_members_file ON members(file_id);
        CREATE INDEX idx_members_txn ON members(transaction_id);
        CREATE INDEX idx_members_member_id ON members(member_id);
        CREATE INDEX idx_members_subscriber ON members(subscriber_id);
        CREATE INDEX idx_members_policy ON members(policy_id);
        CREATE INDEX idx_members_ssn ON members(ssn);
        CREATE INDEX idx_members_name ON members(last_name, first_name);
        CREATE INDEX idx_members_person ON members(person_id);
        CREATE TABLE coverages (
            id INTEGER PRIMARY KEY,
            member_id INTEGER NOT NULL REFERENCES members(id),
            file_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            hd01 TEXT, hd03 TEXT, hd04 TEXT, hd05 TEXT,
            begin TEXT, "end" TEXT, maint_eff TEXT, paid_through TEXT,
            plan_id TEXT, csr_variant TEXT, policy_id TEXT, issuer_policy_id TEXT,
            ordinal INTEGER
        );
        CREATE INDEX idx_coverages_member ON coverages(member_id);
        CREATE INDEX idx_coverages_policy ON coverages(policy_id);
        CREATE TABLE categories (
            id INTEGER PRIMARY KEY,
            member_id INTEGER NOT NULL REFERENCES members(id),
            file_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            name TEXT, ref_qual TEXT, value TEXT, amount REAL,
            date_qual TEXT, date_from TEXT, date_to TEXT,
            ordinal INTEGER, ref_ordinal INTEGER, dtp_ordinal INTEGER
        );
        CREATE INDEX idx_categories_member ON categories(member_id);
        CREATE TABLE findings (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id),
            transaction_id INTEGER,
            member_id INTEGER,
            ordinal INTEGER, seg_id TEXT, level TEXT, code TEXT, element TEXT,
            ele_pos INTEGER, sub_pos INTEGER,
            message TEXT NOT NULL
        );
        CREATE INDEX idx_findings_file ON findings(file_id);
        CREATE INDEX idx_findings_member ON findings(member_id);
        CREATE TABLE flags (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,   -- rule + subject: re-running never duplicates
            rule TEXT NOT NULL,
            category TEXT NOT NULL CHECK (category IN
                ('duplicate', 'maintenance', 'family', 'subsidy', 'data_quality', 'missing')),
            severity TEXT NOT NULL CHECK (severity IN ('error', 'warning', 'info')),
            member_id INTEGER,             -- members.id of the flagged member row (NULL: file level)
            person_id INTEGER,
            policy_id TEXT,
            file_id INTEGER,               -- the file the flagged data came from
            message TEXT NOT NULL,
            next_step TEXT,
            segments TEXT NOT NULL DEFAULT '[]',  -- JSON [{"ordinal": n, "element": "N301"|null}]
            related TEXT NOT NULL DEFAULT '[]',   -- JSON [members.id, ...]
            status TEXT NOT NULL DEFAULT 'new',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_at TEXT,
            resolved_by_file_id INTEGER
        );
        CREATE INDEX idx_flags_member ON flags(member_id);
        CREATE INDEX idx_flags_file ON flags(file_id);
        CREATE INDEX idx_flags_status ON flags(status);
        CREATE INDEX idx_flags_rule ON flags(rule);
        """
    )


# Feature migrations live in their own modules beside this file (so features can grow their
# tables independently) and are registered here, in this fixed order.
def _load_feature_migrations() -> None:
    import importlib

    for name in ("schema_rules", "schema_review", "schema_roster"):
        full = f"{__package__}.{name}"
        try:
            importlib.import_module(full)
        except ModuleNotFoundError as e:
            if e.name != full:
                raise


_load_feature_migrations()
