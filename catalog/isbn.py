"""ISBN rules: parse, validate and convert ISBN-10 and ISBN-13.

Pure functions without Django imports. The store keeps every ISBN in its
13-digit form; ``to_isbn13`` turns any accepted spelling into that form:

- ISBN-10 or ISBN-13, digits optionally grouped by hyphens or spaces
  (``0-441-01359-7``, ``978 0 441 01359 3``);
- the ISBN-10 check digit may be ``X`` (or ``x``), standing for 10;
- an ISBN-13 starts with the EAN "Bookland" prefix 978 or 979.

Only 978-prefixed ISBN-13s have an ISBN-10 equivalent; converting a 979
ISBN-13 raises ``InvalidIsbn``.
"""

from __future__ import annotations

import re

__all__ = [
    "InvalidIsbn",
    "clean",
    "is_isbn10",
    "is_isbn13",
    "isbn10_check_digit",
    "isbn10_to_isbn13",
    "isbn13_check_digit",
    "isbn13_to_isbn10",
    "parse_isbn",
    "to_isbn13",
]

BOOKLAND_PREFIXES = ("978", "979")

# Starts with a digit and ends with a digit or X; hyphens and spaces only in between.
_SPELLING = re.compile(r"[0-9](?:[0-9 -]*[0-9Xx])?")
_ISBN10 = re.compile(r"[0-9]{9}[0-9X]")
_ISBN13 = re.compile(r"97[89][0-9]{10}")


class InvalidIsbn(ValueError):
    """The text is not a valid ISBN-10 or ISBN-13."""


def clean(raw: str) -> str:
    """Strip grouping hyphens and spaces and upper-case ``x``; no validation."""
    return raw.strip().replace("-", "").replace(" ", "").upper()


def isbn10_check_digit(first9: str) -> str:
    """Check digit (``0``-``9`` or ``X``) for the first nine digits of an ISBN-10."""
    if len(first9) != 9 or not first9.isascii() or not first9.isdigit():
        raise InvalidIsbn("An ISBN-10 check digit needs exactly nine digits.")
    total = sum((10 - i) * int(d) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn13_check_digit(first12: str) -> str:
    """Check digit for the first twelve digits of an ISBN-13 (EAN-13 weights 1, 3)."""
    if len(first12) != 12 or not first12.isascii() or not first12.isdigit():
        raise InvalidIsbn("An ISBN-13 check digit needs exactly twelve digits.")
    # Digits 1, 3, 5 ... weigh 1, digits 2, 4, 6 ... weigh 3 (one pass each: imports check a million of these).
    total = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return str((10 - total % 10) % 10)


def is_isbn10(value: str) -> bool:
    """Whether ``value`` (already cleaned) is a valid ISBN-10."""
    return bool(_ISBN10.fullmatch(value)) and isbn10_check_digit(value[:9]) == value[9]


def is_isbn13(value: str) -> bool:
    """Whether ``value`` (already cleaned) is a valid ISBN-13 with a Bookland prefix."""
    return bool(_ISBN13.fullmatch(value)) and isbn13_check_digit(value[:12]) == value[12]


def isbn10_to_isbn13(isbn10: str) -> str:
    """The 978-prefixed ISBN-13 of a valid ISBN-10 (any accepted spelling)."""
    if len(clean(isbn10)) != 10:
        raise InvalidIsbn(f"{isbn10!r} is not an ISBN-10.")
    return to_isbn13(isbn10)


def isbn13_to_isbn10(isbn13: str) -> str:
    """The ISBN-10 of a valid 978-prefixed ISBN-13; 979 numbers have none."""
    if len(clean(isbn13)) != 13:
        raise InvalidIsbn(f"{isbn13!r} is not an ISBN-13.")
    value = to_isbn13(isbn13)
    if not value.startswith("978"):
        raise InvalidIsbn("Only ISBN-13s starting with 978 have an ISBN-10 form.")
    body = value[3:12]
    return body + isbn10_check_digit(body)


def to_isbn13(raw: str) -> str:
    """The ISBN-13 form of ``raw``, an ISBN-10 or ISBN-13 in any accepted spelling.

    Raises ``InvalidIsbn`` with a message fit for the user otherwise.
    """
    stripped = raw.strip()
    if not _SPELLING.fullmatch(stripped):
        raise InvalidIsbn(
            "An ISBN contains only digits, with hyphens or spaces between them (and X as the last character of an ISBN-10)."
        )
    value = clean(stripped)
    if len(value) == 10:
        if not _ISBN10.fullmatch(value):
            raise InvalidIsbn("X may only be the check digit of an ISBN-10.")
        if not is_isbn10(value):
            raise InvalidIsbn("The ISBN-10 check digit is wrong.")
        body = "978" + value[:9]
        return body + isbn13_check_digit(body)
    if len(value) == 13:
        if not value.isdigit():
            raise InvalidIsbn("An ISBN-13 contains only digits.")
        if not value.startswith(BOOKLAND_PREFIXES):
            raise InvalidIsbn("An ISBN-13 starts with 978 or 979.")
        if not is_isbn13(value):
            raise InvalidIsbn("The ISBN-13 check digit is wrong.")
        return value
    raise InvalidIsbn("An ISBN has 10 or 13 digits.")


def parse_isbn(raw: str) -> str | None:
    """Like ``to_isbn13`` but ``None`` instead of an exception, for lookups such as search."""
    try:
        return to_isbn13(raw)
    except InvalidIsbn:
        return None
