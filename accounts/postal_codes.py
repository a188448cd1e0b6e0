"""Postal code rules per country: pure functions, no models, no database.

Only countries whose format is well known and stable are checked; any other
country's postal code is accepted as typed (trimmed), since a wrong guess
would refuse real addresses. Codes are normalised to the form the post office
prints: upper case, single spaces, and the space where the format has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PostalFormat:
    """A country's postal code: ``pattern`` on the compacted code (no spaces), how it reads, an example."""

    pattern: str
    example: str
    space_at: int | None = None  # insert a space before this position of the compacted code

    def normalize(self, compact: str) -> str | None:
        if not re.fullmatch(self.pattern, compact):
            return None
        if self.space_at is None:
            return compact
        cut = len(compact) + self.space_at if self.space_at < 0 else self.space_at
        return f"{compact[:cut]} {compact[cut:]}"


# UK postcodes: outward code (area, district) then the inward code (digit, two letters).
_GB = r"(GIR0AA|[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{2})"

POSTAL_FORMATS: dict[str, PostalFormat] = {
    "DE": PostalFormat(r"[0-9]{5}", "10115"),
    "FR": PostalFormat(r"[0-9]{5}", "75001"),
    "IT": PostalFormat(r"[0-9]{5}", "00118"),
    "ES": PostalFormat(r"(0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}", "28001"),
    "AT": PostalFormat(r"[1-9][0-9]{3}", "1010"),
    "BE": PostalFormat(r"[1-9][0-9]{3}", "1000"),
    "CH": PostalFormat(r"[1-9][0-9]{3}", "8001"),
    "DK": PostalFormat(r"[0-9]{4}", "1050"),
    "NL": PostalFormat(r"[1-9][0-9]{3}(?!SA|SD|SS)[A-Z]{2}", "1012 AB", space_at=4),
    "GB": PostalFormat(_GB, "SW1A 1AA", space_at=-3),
    "US": PostalFormat(r"[0-9]{5}(-[0-9]{4})?", "94103 or 94103-1234"),
    "CA": PostalFormat(r"[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z][0-9][ABCEGHJ-NPRSTV-Z][0-9]", "K1A 0B1", space_at=3),
}


class PostalCodeInvalid(ValueError):
    """The postal code does not have its country's format; the message says what it should look like."""


def postal_code_normalize(*, country: str, postal_code: str) -> str:
    """The postal code in its country's printed form, or ``PostalCodeInvalid``.

    Countries without a known format: the code trimmed, inner whitespace
    collapsed. An empty code is refused everywhere a format is known.
    """
    text = " ".join((postal_code or "").split()).upper()
    rule = POSTAL_FORMATS.get((country or "").upper())
    if rule is None:
        return text
    normalized = rule.normalize(text.replace(" ", ""))
    if normalized is None:
        raise PostalCodeInvalid(f"Enter a valid postal code for {country.upper()} (for example {rule.example}).")
    return normalized
