"""Masking of protected health information for display and export."""

from __future__ import annotations


def mask_ssn(ssn: str | None) -> str:
    """'123456789' -> '***-**-6789'. Anything shorter than 4 characters is fully masked."""
    if not ssn:
        return ""
    digits = "".join(c for c in ssn if c.isalnum())
    if len(digits) < 4:
        return "***-**-****"
    return "***-**-" + digits[-4:]


def format_ssn(ssn: str | None) -> str:
    """Full SSN for an explicit, audited reveal: '123456789' -> '123-45-6789'."""
    if not ssn:
        return ""
    return f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}" if len(ssn) == 9 and ssn.isdigit() else ssn
