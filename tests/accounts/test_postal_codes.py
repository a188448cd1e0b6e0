"""accounts.postal_codes: pure rules, no database."""

from __future__ import annotations

import pytest

from accounts.postal_codes import POSTAL_FORMATS, PostalCodeInvalid, postal_code_normalize


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("DE", "10115", "10115"),
        ("DE", " 80331 ", "80331"),
        ("FR", "75001", "75001"),
        ("GB", "SW1A 1AA", "SW1A 1AA"),
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("GB", "M1 1AE", "M1 1AE"),
        ("GB", "ec1a  1bb", "EC1A 1BB"),
        ("NL", "1012AB", "1012 AB"),
        ("NL", "1012 ab", "1012 AB"),
        ("US", "94103", "94103"),
        ("US", "94103-1234", "94103-1234"),
        ("CA", "k1a0b1", "K1A 0B1"),
        ("CA", "M5V 3L9", "M5V 3L9"),
        ("de", "10115", "10115"),  # the country code in any case
    ],
)
def test_valid_codes_are_stored_in_their_printed_form(country, typed, stored):
    assert postal_code_normalize(country=country, postal_code=typed) == stored


@pytest.mark.parametrize(
    ("country", "typed"),
    [
        ("DE", "1011"),
        ("DE", "101155"),
        ("DE", "1O115"),  # letter O
        ("DE", ""),
        ("FR", "7500"),
        ("GB", "SW1A"),
        ("GB", "12345"),
        ("GB", "SW1A 1AI"),  # I is never in the inward code
        ("NL", "0123 AB"),  # no leading zero
        ("NL", "1012 SA"),  # SA, SD and SS are not used
        ("NL", "1012"),
        ("US", "9410"),
        ("US", "94103-12"),
        ("US", "ABCDE"),
        ("CA", "D1A 0B1"),  # D is not a first letter
        ("CA", "K1A 0B"),
        ("CA", "123456"),
    ],
)
def test_malformed_codes_are_refused_with_an_example(country, typed):
    with pytest.raises(PostalCodeInvalid) as excinfo:
        postal_code_normalize(country=country, postal_code=typed)
    assert country in str(excinfo.value)
    assert POSTAL_FORMATS[country].example in str(excinfo.value)


@pytest.mark.parametrize(
    ("country", "typed", "stored"), [("JP", " 100-0001 ", "100-0001"), ("IE", "d02  x285", "D02 X285")]
)
def test_other_countries_take_the_code_as_typed_trimmed(country, typed, stored):
    assert country not in POSTAL_FORMATS
    assert postal_code_normalize(country=country, postal_code=typed) == stored


def test_the_well_known_formats_are_covered():
    assert {"DE", "FR", "GB", "NL", "US", "CA"} <= set(POSTAL_FORMATS)
