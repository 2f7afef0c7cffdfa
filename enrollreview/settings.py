"""Rule thresholds in one place: defaults, overridable for the whole store or per sending exchange.

A clerk's supervisor changes a value with `set_value(db, key, value, sender=...)` (the sender is the
file's ISA06 interchange sender id or its GS02 application sender code; '' means every sender). The
rules read the value that applies to a file with `for_file(db, file_id)`. Values are stored as JSON
in the `settings` table (created by the rules migration), so lists and mappings work too.

Resolution order, last wins: DEFAULTS, the store-wide override (sender ''), an override for the
file's ISA06, an override for the file's GS02.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlite_utils import Database

from .store import utcnow as _utcnow

#: 2750 names as the CMS FFE companion guide spells them; `category_names` maps these to a source's own
FFE_CATEGORIES = ("PRE AMT 1", "PRE AMT TOT", "APTC AMT", "TOT RES AMT", "RATING AREA", "CSR AMT",
                  "OTH PAY AMT 1", "OTH PAY AMT 2", "TOT EMP RES AMT", "ADDL MAINT REASON", "SEP REASON",
                  "SOURCE EXCHANGE ID", "REQUEST SUBMIT TIMESTAMP", "APPLICATION ID AND ORIGIN")

#: every 2750 name seen in public exchange and Medicaid files (834-domain.md section 1.10)
KNOWN_CATEGORIES = (
    *FFE_CATEGORIES,
    "AID CAT CODE", "CARRIER TO BILL", "ISFFM",
    "MONTHLY PRE AMT TOT", "MONTHLY APTC AMT", "MONTHLY STATE SUBSIDY AMT", "MONTHLY TOT RES AMT",
    "FAM IND", "COE CODE", "MONEY CODE", "FISCAL COUNTY", "BEN PKG CODE", "ORIGIN CODE", "COPAY EXEMPT IND",
    "MED RATE CODE", "NAMI", "EXCESS", "TPL CVRG", "NEWBORN INDICATOR", "PREVIOUS PMP END DATE", "FIPS CODE",
    "TPL CODE", "END REASON",
)

#: CDC race/ethnicity codes of CG Appendix B (plus the few more the generator and public files use)
RACE_CODES = ("1002-5", "2029-7", "2054-5", "2034-7", "2182-4", "2036-2", "2086-7", "2135-2", "2039-6", "2040-4",
              "2148-5", "2079-2", "2186-5", "2028-9", "2500-7", "2180-8", "2080-0", "2047-9", "2106-3", "2131-1",
              "2076-8")

DEFAULTS: dict[str, Any] = {
    # family
    "dependant_age_limit": 26,        # FAM-08: children this old at coverage start are over age
    "spouse_min_age": 14,             # FAM-07: a spouse younger than this is probably a child
    "max_age": 120,                   # DQ-05: older than this is not a real date of birth
    "our_issuer_ids": [],             # 5-digit HIOS issuer ids (REF*CE 1-5); empty: not checked
    "our_states": [],                 # states we sell in; empty: not checked (FAM-12)
    # money
    "money_tolerance": 0.01,          # FIN-03/04/05: amounts closer than this are equal
    "responsibility_subtracts": ["OTH PAY AMT 1", "OTH PAY AMT 2", "TOT EMP RES AMT"],  # FIN-04
    # the 2750 vocabulary of the source: canonical FFE name -> the name this source sends
    "category_names": {n: n for n in FFE_CATEGORIES},
    "extra_category_names": [],       # DQ-08: further names this source is known to send
    "race_codes": list(RACE_CODES),   # DQ-09
    # which companion-guide rules apply: 'auto' (when the file looks like an exchange file), 'yes', 'no'
    "exchange_rules": "auto",
    "earliest_coverage_year": 2014,   # DQ-05: exchange coverage cannot start before this
    # missing
    "miss07_grace_days": 30,          # MISS-07: initial with no effectuation after this many days
    "miss06_max_gap": 20,             # MISS-06: larger jumps in ISA13 are a renumbering, not lost files
    # engine
    "disabled_rules": [],             # rule ids not to run for this sender
    "severity": {},                   # rule id -> 'error' | 'warning' | 'info' for this sender
}

DESCRIPTIONS: dict[str, str] = {
    "dependant_age_limit": "A child this old or older at coverage start is flagged as over age (FAM-08).",
    "spouse_min_age": "A spouse younger than this is flagged as probably a child (FAM-07).",
    "max_age": "A date of birth making someone older than this is flagged (DQ-05).",
    "our_issuer_ids": "Our HIOS issuer ids; plan ids of other issuers are flagged (empty: not checked).",
    "our_states": "States we sell in; residences elsewhere are flagged (empty: not checked).",
    "money_tolerance": "Amounts that differ by no more than this are treated as equal.",
    "responsibility_subtracts": "Categories subtracted from PRE AMT TOT besides APTC to get TOT RES AMT.",
    "category_names": "The 2750 category names this source uses for the FFE names.",
    "extra_category_names": "More 2750 category names this source is known to send.",
    "race_codes": "Race and ethnicity codes accepted in DMG05.",
    "exchange_rules": "Apply the exchange companion-guide rules: auto, yes or no.",
    "earliest_coverage_year": "Exchange coverage starting before this year is flagged.",
    "miss07_grace_days": "Days after the coverage start before an initial with no effectuation is listed.",
    "miss06_max_gap": "Larger jumps in a sender's control numbers are taken as renumbering, not lost files.",
    "disabled_rules": "Rule ids not run for this sender.",
    "severity": "Severity overrides by rule id.",
}


class SettingsError(ValueError):
    """An unknown key or a value of the wrong kind; str() is one line for the user."""




def _has_table(db: Database) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'").fetchone() is not None


def coerce(key: str, value: Any) -> Any:
    """Check and convert a value (a CLI string is parsed as JSON when it is not of the default's type)."""
    if key not in DEFAULTS:
        raise SettingsError(f"unknown setting {key!r}; known: {', '.join(sorted(DEFAULTS))}")
    default = DEFAULTS[key]
    if isinstance(value, str) and not isinstance(default, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            if isinstance(default, list):
                value = [v.strip() for v in value.split(",") if v.strip()]
            else:
                raise SettingsError(f"{key} needs a value like {json.dumps(default)}") from None
    if isinstance(default, bool) or isinstance(default, str):
        ok = isinstance(value, type(default))
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise SettingsError(f"{key} needs a value like {json.dumps(default)}, not {json.dumps(value)}")
    return value


def set_value(db: Database, key: str, value: Any, sender: str = "") -> None:
    """Store an override (sender '' = every sender)."""
    value = coerce(key, value)
    db.execute("INSERT INTO settings (sender, key, value, updated_at) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (sender, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
               [sender.strip(), key, json.dumps(value), _utcnow()])


def clear_value(db: Database, key: str, sender: str = "") -> bool:
    cur = db.execute("DELETE FROM settings WHERE sender = ? AND key = ?", [sender.strip(), key])
    return cur.rowcount > 0


def overrides(db: Database) -> list[dict[str, Any]]:
    if not _has_table(db):
        return []
    return [{"sender": s, "key": k, "value": json.loads(v), "updated_at": u}
            for s, k, v, u in db.execute("SELECT sender, key, value, updated_at FROM settings ORDER BY sender, key")]


def effective(db: Database | None, senders: tuple[str, ...] = ()) -> dict[str, Any]:
    """The values that apply to a file from `senders` (ISA06, GS02), most specific last."""
    out = copy.deepcopy(DEFAULTS)
    if db is None or not _has_table(db):
        return out
    rows = db.execute("SELECT sender, key, value FROM settings").fetchall()
    by_sender: dict[str, dict[str, Any]] = {}
    for s, k, v in rows:
        if k in DEFAULTS:
            try:
                by_sender.setdefault(s, {})[k] = json.loads(v)
            except json.JSONDecodeError:
                continue
    for s in ("", *[x.strip() for x in senders if x and x.strip()]):
        for k, v in by_sender.get(s, {}).items():
            if k == "category_names" and isinstance(v, dict):
                out[k] = {**out[k], **v}
            else:
                out[k] = v
    return out


def for_file(db: Database, file_id: int) -> dict[str, Any]:
    row = db.execute("SELECT isa_sender, gs_sender FROM files WHERE id = ?", [file_id]).fetchone()
    return effective(db, tuple(x or "" for x in row) if row else ())
