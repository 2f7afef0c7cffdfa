"""Value normalisation shared by the roster import and the reconciliation (both sides of a match
must be normalised the same way)."""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

_NOT_LETTER = re.compile(r"[^A-Z]")
_SUFFIXES = {"JR", "SR", "II", "III", "IV", "V"}


@functools.lru_cache(maxsize=200_000)
def name_part(text: str | None) -> str:
    """Upper case, accents and punctuation removed, a trailing generational suffix dropped.

    "O'Brien" == "OBRIEN", "Mary-Ann" == "MARY ANN", "Smith Jr." == "SMITH"; but "JON" != "JOHN":
    spelling variants are different names here (a false match would hide a missing enrolment).
    """
    if not text:
        return ""
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()
    words = [w for w in re.split(r"[\s,]+", t.replace(".", " ")) if w]
    if len(words) > 1 and _NOT_LETTER.sub("", words[-1]) in _SUFFIXES:
        words = words[:-1]
    return _NOT_LETTER.sub("", "".join(words))


def name_key(last: str | None, first: str | None) -> str:
    """'LAST|FIRST' for matching on name + date of birth; '' when either part is empty."""
    a, b = name_part(last), name_part(first)
    return f"{a}|{b}" if a and b else ""


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m-%d-%Y", "%Y/%m/%d", "%m/%d/%y", "%d-%b-%Y",
                 "%d %b %Y", "%b %d, %Y")


def parse_date(text: str) -> str | None:
    """ISO date from the formats rosters use (and Excel's 'YYYY-MM-DD 00:00:00'); None if unreadable."""
    t = text.strip()
    if not t:
        return None
    if len(t) >= 19 and t[10] in " T" and t[11:19] == "00:00:00":
        t = t[:10]
    for fmt in _DATE_FORMATS:
        try:
            return _dt.datetime.strptime(t, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def parse_cents(text: str) -> int | None:
    """'$1,234.5' -> 123450; '(12.00)' -> -1200. Raises ValueError when it is not an amount."""
    t = text.strip().replace(",", "").replace("$", "").replace(" ", "")
    if not t:
        return None
    neg = t.startswith("(") and t.endswith(")")
    if neg:
        t = t[1:-1]
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise ValueError(text) from None
    if not d.is_finite():
        raise ValueError(text)
    cents = int((d * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    return -cents if neg else cents


def cents_to_text(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    c = abs(cents)
    return f"{sign}{c // 100}.{c % 100:02d}"


def amount_cents(amount: float | None) -> int | None:
    """The store keeps 2750 amounts as REAL: round to the cent."""
    if amount is None:
        return None
    return int(Decimal(repr(float(amount))).scaleb(2).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def plan_key(plan: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", (plan or "").upper())


def plans_equal(exchange: str | None, ours: str | None) -> bool:
    """16-character QHP ids compare whole; a 14-character one compares with the first 14 of the other."""
    a, b = plan_key(exchange), plan_key(ours)
    if not a or not b:
        return a == b
    if len(a) == 14 or len(b) == 14:
        return a[:14] == b[:14]
    return a == b


def rating_area_key(value: str | None) -> str:
    """'R-VA010', 'VA010', 'Rating Area 10' and '10' all compare by their number (and state if both have one)."""
    t = re.sub(r"^RATING\s*AREA\s*", "", (value or "").strip().upper())
    t = re.sub(r"[^0-9A-Z]", "", re.sub(r"^R-", "", t))
    m = re.fullmatch(r"([A-Z]*)0*(\d+)", t)
    return f"{m.group(1)}{int(m.group(2))}" if m else t


def rating_areas_equal(exchange: str | None, ours: str | None) -> bool:
    a, b = rating_area_key(exchange), rating_area_key(ours)
    if not a or not b:
        return True  # nothing to compare
    if a == b:
        return True
    na, nb = re.sub(r"^[A-Z]+", "", a), re.sub(r"^[A-Z]+", "", b)
    if a.isdigit() or b.isdigit():  # one side carries no state
        return na == nb
    return False


def ssn_digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def usable_ssn(ssn: str | None) -> bool:
    """A 9-digit SSN that is not a dummy (all one digit, 123456789, area 000/666/9xx, group 00, serial 0000)."""
    s = ssn_digits(ssn)
    if len(s) != 9 or len(set(s)) == 1 or s in ("123456789", "987654321"):
        return False
    return not (s[:3] in ("000", "666") or s[0] == "9" or s[3:5] == "00" or s[5:] == "0000")


GENDERS = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "U": "U", "UNKNOWN": "U", "X": "U"}

RELATIONSHIP_WORDS = {
    "SELF": "18", "SUBSCRIBER": "18", "PRIMARY": "18", "POLICYHOLDER": "18", "S": "18",
    "SPOUSE": "01", "HUSBAND": "01", "WIFE": "01", "SP": "01",
    "CHILD": "19", "SON": "19", "DAUGHTER": "19", "C": "19", "CH": "19",
    "LIFEPARTNER": "53", "DOMESTICPARTNER": "53", "PARTNER": "53",
    "STEPCHILD": "17", "STEPSON": "17", "STEPDAUGHTER": "17",
    "ADOPTEDCHILD": "09", "FOSTERCHILD": "10", "WARD": "15", "GRANDCHILD": "05",
    "NEPHEW": "07", "NIECE": "07", "SPONSOREDDEPENDENT": "23", "EXSPOUSE": "25",
    "PARENT": "03", "FATHER": "03", "MOTHER": "03", "GRANDPARENT": "04",
    "GUARDIAN": "26", "COLLATERALDEPENDENT": "38", "OTHERRELATIONSHIP": "G8", "OTHER": "G8",
    "OTHERRELATIVE": "G9",
}
RELATIONSHIP_CODES = {"01", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
                      "16", "17", "18", "19", "23", "24", "25", "26", "31", "38", "53", "60", "D2", "G8", "G9"}


def relationship_code(text: str) -> str | None:
    t = text.strip().upper()
    if t.isdigit() and len(t) <= 2:
        t = t.zfill(2)
    if t in RELATIONSHIP_CODES:
        return t
    return RELATIONSHIP_WORDS.get(re.sub(r"[^A-Z]", "", t))


YES = {"Y", "YES", "TRUE", "T", "1", "SUBSCRIBER", "S"}
NO = {"N", "NO", "FALSE", "F", "0", "DEPENDENT", "DEPENDANT", "D", "MEMBER"}

#: roster status words -> 'pending' (enrolled, not effectuated), 'effectuated', 'cancelled', 'terminated'
STATUS_WORDS = {
    "PENDING": "pending", "INITIAL": "pending", "ENROLLED": "pending", "NOTEFFECTUATED": "pending",
    "PENDINGEFFECTUATION": "pending", "I": "pending", "N": "pending", "NO": "pending", "1": "pending",
    "INITIALENROLLMENT": "pending", "SUBMITTED": "pending",
    "EFFECTUATED": "effectuated", "ACTIVE": "effectuated", "E": "effectuated", "Y": "effectuated",
    "YES": "effectuated", "2": "effectuated", "CONFIRMED": "effectuated", "PAID": "effectuated",
    "CANCELLED": "cancelled", "CANCELED": "cancelled", "CANCEL": "cancelled", "C": "cancelled",
    "3": "cancelled", "CANCELLATION": "cancelled",
    "TERMINATED": "terminated", "TERM": "terminated", "TERMED": "terminated", "T": "terminated",
    "4": "terminated", "TERMINATION": "terminated", "INACTIVE": "terminated",
}


def status_word(text: str) -> str | None:
    return STATUS_WORDS.get(re.sub(r"[^A-Z0-9]", "", text.strip().upper()))
