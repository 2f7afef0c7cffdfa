"""Which roster column holds which field: guessed from the header names, confirmed by the clerk,
saved per sender so next month's file needs no questions.

A mapping is a plain dict {field: column name as it appears in the file}. Header names are compared
after normalisation (case, spaces, hyphens, underscores and punctuation ignored), so
"Exchange-Assigned-Policy-ID", "exchange_assigned_policy_id" and "Exchange Assigned Policy ID" are the
same column name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from ..store import utcnow as _now


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool
    synonyms: tuple[str, ...]


def norm_header(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", (text or "").lower())


def _f(name: str, label: str, required: bool, *syn: str) -> Field:
    return Field(name, label, required, tuple(norm_header(s) for s in (name, label, *syn)))


#: every field a roster can carry, required first, in the order the mapping step shows them
FIELDS: tuple[Field, ...] = (
    _f("coverage_year", "Coverage year", True, "Coverage-Year", "CoverageYear", "Plan Year", "Benefit Year",
       "Policy Year", "Enrollment Year", "Year"),
    _f("policy_id", "Exchange policy id", True, "Exchange-Assigned-Policy-ID", "ExchangeAssignedPolicyId",
       "EAPID", "Exchange Policy ID", "Policy ID", "Policy Number", "Enrollment Group ID", "HIX Policy ID",
       "Marketplace Policy ID", "Enrollment ID"),
    _f("member_id", "Exchange member id", True, "Exchange-Assigned-Member-ID", "ExchangeAssignedMemberId",
       "EAMID", "Exchange Member ID", "Member ID", "HIX Member ID", "Marketplace Member ID", "Person ID"),
    _f("subscriber_ind", "Subscriber indicator", True, "Subscriber-Indicator", "SubscriberIndicator",
       "Subscriber Flag", "Is Subscriber", "Subscriber Ind", "Subscriber Y/N", "Primary Indicator"),
    _f("relationship", "Relationship to subscriber", True, "Relationship-to-Subscriber-Indicator",
       "Relationship to Subscriber", "Relationship", "Relationship Code", "Individual Relationship Code",
       "Member Relationship", "RelationshipCode", "Relationship-to-Subscriber"),
    _f("last_name", "Last name", True, "Member-Last-Name", "MemberLastName", "Last Name", "LastName",
       "Surname", "Family Name", "LName"),
    _f("first_name", "First name", True, "Member-First-Name", "MemberFirstName", "First Name", "FirstName",
       "Given Name", "FName"),
    _f("dob", "Date of birth", True, "DOB", "Date of Birth", "Birth Date", "BirthDate", "Member DOB",
       "Member-Birth-Date", "Member Date of Birth"),
    _f("benefit_start", "Benefit start", True, "Benefit-Start-Date", "BenefitStartDate", "PolicyStartDate",
       "MemberStartDate", "Coverage Start Date", "Coverage Start", "Effective Date", "Start Date",
       "Policy Start Date", "Member Start Date", "Coverage Effective Date"),
    _f("benefit_end", "Benefit end", True, "Benefit-End-Date", "BenefitEndDate", "PolicyEndDate",
       "MemberEndDate", "Coverage End Date", "Coverage End", "End Date", "Term Date", "Termination Date",
       "Policy End Date", "Member End Date"),
    _f("status", "Status", True, "Policy Status", "Enrollment Status", "Effectuation Status",
       "EffectuationIndicator", "Effectuation Indicator", "Policy-Status", "Coverage Status",
       "Member Status", "Initial-Premium-Paid-Status", "Effectuated"),
    _f("subscriber_id", "Exchange subscriber id", False, "Exchange-Assigned-Subscriber-ID",
       "ExchangeAssignedSubscriberId", "EASID", "Exchange Subscriber ID", "Subscriber ID",
       "HIX Subscriber ID"),
    _f("middle_name", "Middle name", False, "Member-Middle-Name", "MemberMiddleName", "Middle Name",
       "Middle Initial", "MiddleName"),
    _f("gender", "Gender", False, "Gender", "Sex", "Gender Code", "GenderCode", "Member Gender"),
    _f("ssn", "SSN", False, "SSN", "Social Security Number", "SocialSecurityNumber", "Member SSN",
       "Member-SSN"),
    _f("plan_id", "Plan id (QHP)", False, "QHPID-Identifier", "QHPID", "QHP ID", "QHPId", "Plan ID",
       "HIOS Plan ID", "HIOS ID", "QHP/QDP ID", "QHP Identifier", "Plan Identifier", "CMS Plan ID"),
    _f("aptc", "APTC amount", False, "Applied-APTC-Amount", "AppliedAPTCAmount", "APTC", "APTC Amount",
       "MonthlyAPTCAmount", "Monthly APTC Amount", "Applied APTC"),
    _f("total_premium", "Total premium", False, "Total-Premium-Amount", "TotalPremiumAmount",
       "MonthlyTotalPremiumAmount", "Total Premium", "Premium Total", "Monthly Total Premium"),
    _f("member_premium", "Member premium", False, "Member-Premium-Amount", "MemberPremiumAmount",
       "Member Premium", "Individual Premium", "Member Premium Amount"),
    _f("rating_area", "Rating area", False, "Rating-Area", "RatingArea", "Rating Area Code"),
    _f("paid_through", "Paid-through date", False, "Paid-Through-Date", "PaidThroughDate", "Paid Through",
       "Paid Through Date", "Premium Paid Through Date"),
    _f("issuer_policy_id", "Issuer policy id", False, "Issuer-Assigned-Policy-ID",
       "IssuerAssignedPolicyId", "Issuer Policy ID"),
    _f("issuer_member_id", "Issuer member id", False, "Issuer-Assigned-Member-ID",
       "Issuer-Assigned Member-ID", "IssuerAssignedMemberId", "Issuer Member ID"),
    _f("issuer_subscriber_id", "Issuer subscriber id", False, "Issuer-Assigned-Subscriber-ID",
       "IssuerAssignedSubscriberId", "Issuer Subscriber ID"),
    _f("address1", "Address", False, "Residential-Address-Line-1", "Residential-Street-Address-Line-1",
       "Address Line 1", "Address", "Street Address", "Residential Address"),
    _f("city", "City", False, "Residential-City-Name", "Residential-City", "City"),
    _f("state", "State", False, "Residential-State-Code", "Residential-State", "State"),
    _f("zip", "ZIP code", False, "Residential-Zip-Code", "Residential-ZIP-Code", "ZIP", "Zip Code",
       "PostalCode", "Postal Code"),
    _f("phone", "Phone", False, "Telephone-Number", "Telephone", "Phone", "Phone Number"),
)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
_LOOKUP: dict[str, str] = {}
for _fld in FIELDS:
    for _s in _fld.synonyms:
        _LOOKUP.setdefault(_s, _fld.name)

#: required fields where one of the pair is enough
EITHER = (("subscriber_ind", "relationship"),)


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """{field: column} for every column whose name is a known name of a field (first column wins)."""
    out: dict[str, str] = {}
    for h in headers:
        name = _LOOKUP.get(norm_header(h))
        if name and name not in out:
            out[name] = h
    return out


def label_in_text(name: str) -> str:
    """The field's label inside a sentence: 'date of birth', but 'APTC amount' and 'SSN'."""
    label = BY_NAME[name].label
    return label if len(label) > 1 and label[1].isupper() else label[0].lower() + label[1:]


def missing_required(mapping: dict[str, str]) -> list[str]:
    """Labels of required fields the mapping does not cover (a pair counts once, as 'A or B')."""
    either = {n: pair for pair in EITHER for n in pair}
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for f in FIELDS:
        if not f.required or mapping.get(f.name):
            continue
        pair = either.get(f.name)
        if pair:
            if any(mapping.get(n) for n in pair) or pair in seen:
                continue
            seen.add(pair)
            out.append(" or ".join(label_in_text(n) for n in pair))
        else:
            out.append(label_in_text(f.name))
    return out


def absent_columns(mapping: dict[str, str], headers: list[str]) -> list[str]:
    """Columns a (saved) mapping names that the file does not have."""
    have = {norm_header(h) for h in headers}
    return [c for c in mapping.values() if c and norm_header(c) not in have]


def fit_to_headers(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """A saved mapping with each column spelled as in this file (matching by normalised name)."""
    by_norm = {norm_header(h): h for h in headers}
    return {f: by_norm[norm_header(c)] for f, c in mapping.items() if c and norm_header(c) in by_norm}


def describe(mapping: dict[str, str]) -> list[tuple[str, str, str]]:
    """(field label, required mark, column) rows for printing, in FIELDS order."""
    return [(f.label, "required" if f.required else "", mapping.get(f.name, "")) for f in FIELDS]


# -- saved mappings ------------------------------------------------------------------------------

def save_mapping(db: Database, name: str, sender: str, mapping: dict[str, str],
                 headers: list[str] | None = None) -> None:
    """Create or replace the saved mapping `name` (one transaction)."""
    clean = {f: c for f, c in mapping.items() if c and f in BY_NAME}
    now = _now()
    with db.atomic():
        db.execute(
            "INSERT INTO roster_mappings (name, sender, mapping, headers, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET sender = excluded.sender, "
            "mapping = excluded.mapping, headers = excluded.headers, updated_at = excluded.updated_at",
            [name, sender or "", json.dumps(clean), json.dumps(headers or []), now, now])


def load_mapping(db: Database, name: str) -> dict[str, Any] | None:
    row = db.execute("SELECT name, sender, mapping, headers, updated_at, used_at FROM roster_mappings "
                     "WHERE name = ?", [name]).fetchone()
    if not row:
        return None
    return {"name": row[0], "sender": row[1], "mapping": json.loads(row[2]), "headers": json.loads(row[3]),
            "updated_at": row[4], "used_at": row[5]}


def list_mappings(db: Database) -> list[dict[str, Any]]:
    rows = db.execute("SELECT name FROM roster_mappings ORDER BY sender, name").fetchall()
    return [m for (n,) in rows if (m := load_mapping(db, n))]


def senders(db: Database) -> list[str]:
    rows = db.execute("SELECT sender FROM roster_mappings UNION SELECT sender FROM rosters "
                      "ORDER BY 1").fetchall()
    return [r[0] for r in rows if r[0]]


def mapping_for_sender(db: Database, sender: str, headers: list[str]) -> dict[str, Any] | None:
    """The sender's saved mapping that fits these headers (most recently used or saved first)."""
    rows = db.execute("SELECT name FROM roster_mappings WHERE sender = ? "
                      "ORDER BY COALESCE(used_at, updated_at) DESC, id DESC", [sender or ""]).fetchall()
    for (name,) in rows:
        m = load_mapping(db, name)
        if m and not absent_columns(m["mapping"], headers):
            fitted = fit_to_headers(m["mapping"], headers)
            if not missing_required(fitted):
                m["mapping"] = fitted
                return m
    return None


def mark_used(db: Database, name: str) -> None:
    db.execute("UPDATE roster_mappings SET used_at = ? WHERE name = ?", [_now(), name])
