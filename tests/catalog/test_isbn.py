"""ISBN rules (catalog.isbn): pure functions, no database."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from catalog import isbn
from catalog.isbn import InvalidIsbn

# Real books: (ISBN-10 as printed, ISBN-13 as printed).
REAL_PAIRS = [
    ("0-441-01359-7", "978-0-441-01359-3"),  # Frank Herbert, Dune (Ace)
    ("0-8044-2957-X", "978-0-8044-2957-3"),  # check digit X
    ("0-306-40615-2", "978-0-306-40615-7"),
    ("0-261-10221-4", "978-0-261-10221-7"),  # J. R. R. Tolkien, The Hobbit
    ("0-14-044913-2", "978-0-14-044913-6"),  # Dostoevsky, Crime and Punishment (Penguin Classics)
]
REAL_979 = ["979-10-90636-07-1", "979-8-6024-0545-3"]

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@pytest.mark.parametrize(("isbn10", "isbn13"), REAL_PAIRS)
def test_real_isbn10_converts_to_its_isbn13(isbn10: str, isbn13: str) -> None:
    expected = isbn13.replace("-", "")
    assert isbn.to_isbn13(isbn10) == expected
    assert isbn.isbn10_to_isbn13(isbn10) == expected
    assert isbn.isbn13_to_isbn10(isbn13) == isbn10.replace("-", "")


@pytest.mark.parametrize(
    "spelling",
    [
        "9780441013593",
        "978-0-441-01359-3",
        "978 0 441 01359 3",
        "  978-0441013593 ",
        "0441013597",
        "0-441-01359-7",
        "0 441 01359 7",
    ],
)
def test_accepted_spellings_give_the_13_digit_form(spelling: str) -> None:
    assert isbn.to_isbn13(spelling) == "9780441013593"
    assert isbn.parse_isbn(spelling) == "9780441013593"


def test_lower_case_x_check_digit_is_accepted() -> None:
    assert isbn.to_isbn13("080442957x") == "9780804429573"


@pytest.mark.parametrize("isbn13", REAL_979)
def test_979_isbn13_is_valid_but_has_no_isbn10(isbn13: str) -> None:
    assert isbn.to_isbn13(isbn13) == isbn13.replace("-", "")
    with pytest.raises(InvalidIsbn, match="978"):
        isbn.isbn13_to_isbn10(isbn13)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "only digits"),
        ("978-0-441-01359-4", "check digit"),  # wrong ISBN-13 check digit
        ("0-441-01359-8", "check digit"),  # wrong ISBN-10 check digit
        ("04410X3597", "only digits"),  # X in the middle
        ("978044101359X", "only digits"),  # X ends an ISBN-13
        ("9770441013593", "978 or 979"),  # an ISSN-style EAN, not a book
        ("97804410135", "10 or 13"),
        ("97804410135930", "10 or 13"),
        ("978.0.441.01359.3", "only digits"),
        ("-9780441013593", "only digits"),
        ("9780441013593-", "only digits"),
        ("ISBN 9780441013593", "only digits"),
        ("٩٧٨٠٤٤١٠١٣٥٩٣", "only digits"),  # Arabic-Indic digits
    ],
)
def test_invalid_isbns_are_refused_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(InvalidIsbn, match=message):
        isbn.to_isbn13(raw)
    assert isbn.parse_isbn(raw) is None


def test_conversions_refuse_the_other_length() -> None:
    with pytest.raises(InvalidIsbn):
        isbn.isbn10_to_isbn13("9780441013593")
    with pytest.raises(InvalidIsbn):
        isbn.isbn13_to_isbn10("0441013597")


def test_check_digit_helpers_refuse_wrong_lengths() -> None:
    with pytest.raises(InvalidIsbn):
        isbn.isbn10_check_digit("12345678")
    with pytest.raises(InvalidIsbn):
        isbn.isbn13_check_digit("97804410135")


@st.composite
def isbn10s(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    return body + isbn.isbn10_check_digit(body)


@st.composite
def isbn13s(draw: st.DrawFn, prefixes: tuple[str, ...] = ("978", "979")) -> str:
    body = draw(st.sampled_from(prefixes)) + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    return body + isbn.isbn13_check_digit(body)


@st.composite
def grouped(draw: st.DrawFn, value: str) -> str:
    """``value`` with hyphens or spaces inserted between some characters."""
    out = [value[0]]
    for char in value[1:]:
        out.append(draw(st.sampled_from(["", "", "-", " "])))
        out.append(char)
    return "".join(out)


@given(isbn10s())
def test_isbn10_round_trips_through_isbn13(isbn10: str) -> None:
    isbn13 = isbn.isbn10_to_isbn13(isbn10)
    assert isbn.is_isbn13(isbn13)
    assert isbn13.startswith("978")
    assert isbn.isbn13_to_isbn10(isbn13) == isbn10


@given(isbn13s(prefixes=("978",)))
def test_978_isbn13_round_trips_through_isbn10(isbn13: str) -> None:
    isbn10 = isbn.isbn13_to_isbn10(isbn13)
    assert isbn.is_isbn10(isbn10)
    assert isbn.isbn10_to_isbn13(isbn10) == isbn13


@given(isbn13s(prefixes=("979",)))
def test_979_isbn13_never_converts_to_isbn10(isbn13: str) -> None:
    assert isbn.to_isbn13(isbn13) == isbn13
    with pytest.raises(InvalidIsbn):
        isbn.isbn13_to_isbn10(isbn13)


@given(st.data(), st.one_of(isbn10s(), isbn13s()))
def test_grouping_does_not_change_the_isbn(data: st.DataObject, value: str) -> None:
    spelled = data.draw(grouped(value))
    assert isbn.to_isbn13(spelled) == isbn.to_isbn13(value)


@given(st.one_of(isbn10s(), isbn13s()), st.integers(min_value=0, max_value=12), digits)
def test_any_single_digit_error_is_detected(value: str, position: int, replacement: str) -> None:
    # Keep the 978/979 prefix: a wrong prefix is refused for another reason.
    position = position % len(value)
    assume(value[position] != replacement and value[position] != "X")
    assume(not (len(value) == 13 and position < 3))
    corrupted = value[:position] + replacement + value[position + 1 :]
    assert isbn.parse_isbn(corrupted) is None


@given(isbn10s(), st.integers(min_value=0, max_value=8))
def test_isbn10_detects_adjacent_transpositions(value: str, position: int) -> None:
    assume(value[position] != value[position + 1])
    swapped = value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    assert isbn.parse_isbn(swapped) is None


@given(st.text())
def test_arbitrary_text_never_raises_anything_but_invalid_isbn(text: str) -> None:
    result = isbn.parse_isbn(text)
    assert result is None or isbn.is_isbn13(result)
