"""catalog.importing: reading and validating book files, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from catalog.importing import (
    COLUMNS,
    MAX_RECORD_LINES,
    BookRow,
    ImportFormatError,
    RowError,
    book_record,
    csv_values,
    format_for_path,
    read_books,
)

HEADER = ",".join(COLUMNS)


def rows_of(text: str | bytes, fmt: str = "csv") -> list[BookRow | RowError]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_books(data.splitlines(keepends=True), fmt=fmt))  # type: ignore[arg-type]


def errors_of(text: str | bytes, fmt: str = "csv") -> dict[int, str]:
    return {row.line: row.reason for row in rows_of(text, fmt) if isinstance(row, RowError)}


def line(isbn: str = "9780441013593", title: str = "Dune", authors: str = "Frank Herbert", **values: str) -> str:
    fields = {"isbn": isbn, "title": title, "authors": authors, "price": "9.99", "language": "en", **values}
    return ",".join(fields.get(column, "") for column in COLUMNS)


def test_valid_row_is_normalised():
    (row,) = rows_of(
        f"{HEADER}\n"
        '0-441-01359-7,"Dune","","A desert, a boy","Frank Herbert; Brian Herbert ;Frank Herbert",'
        "science-fiction;classics,Ace,1965-08-01,EN,896,9.5,12,false,,,,,,,\n"
    )
    assert row == BookRow(
        line=2,
        isbn="9780441013593",
        title="Dune",
        authors=("Frank Herbert", "Brian Herbert"),
        price=Decimal("9.50"),
        present=frozenset(COLUMNS) - {"isbn", "title", "authors", "price"},
        description="A desert, a boy",
        genres=("science-fiction", "classics"),
        publisher="Ace",
        published_date=date(1965, 8, 1),
        language="en",
        page_count=896,
        stock=12,
        is_active=False,
    )


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        (line(isbn="9780441013594"), "isbn: The ISBN-13 check digit is wrong"),
        (line(isbn="12345"), "isbn: An ISBN has 10 or 13 digits"),
        (line(isbn=""), "isbn: required"),
        (line(price="-1.00"), "price: must be 0 or more"),
        (line(price="abc"), "price: not a number"),
        (line(price="1.005"), "price: at most 2 decimal places"),
        (line(title=""), "title: required"),
        (line(language="xx"), "language: 'xx' is not an ISO 639-1 code"),
        (line(authors=""), "authors: at least one author is required"),
        (line(authors=" ; "), "authors: at least one author is required"),
        (line(stock="-3"), "stock: must be 0 or more"),
        (line(page_count="many"), "page_count: expected a whole number"),
        (line(published_date="01/08/1965"), "published_date: expected a date YYYY-MM-DD"),
        (line(is_active="maybe"), "is_active: expected true or false"),
        (line(genres="science fiction"), "genres: 'science fiction' is not a slug"),
        ('9780441013593,"Du"ne,,,Frank Herbert,,,,en,,9.99,,', "malformed CSV quoting: ',' expected after '\"'"),
        ("9780441013593,Dune,,,Frank Herbert", f"expected {len(COLUMNS)} fields, found 5"),
    ],
)
def test_each_kind_of_bad_row_is_reported_with_its_line(bad_line, reason):
    errors = errors_of(f"{HEADER}\n{line(isbn='9780306406157')}\n{bad_line}\n{line(isbn='9782070408504')}\n")
    assert list(errors) == [3]
    assert reason in errors[3]


def test_all_problems_of_a_row_are_named():
    errors = errors_of(f"{HEADER}\n{line(isbn='x', title='', price='-2', authors='')}\n")
    assert errors[2].split("; ")[0].startswith("isbn:")
    assert {reason.split(":")[0] for reason in errors[2].split("; ")} == {"isbn", "title", "authors", "price"}


def test_unclosed_quote_costs_one_line_and_reading_resumes():
    text = f'{HEADER}\n{line(isbn="9780306406157")}\n9780441013593,"Dune,,,A,,,,en,,1,,\n{line(isbn="9782070408504")}\n'
    rows = rows_of(text)
    assert [(type(row).__name__, row.line) for row in rows] == [("BookRow", 2), ("RowError", 3), ("BookRow", 4)]
    assert "never closed" in rows[1].reason  # type: ignore[union-attr]


def test_unclosed_quote_never_reads_past_the_record_line_limit():
    good = [line(isbn="9780306406157", description=f"line {n}") for n in range(MAX_RECORD_LINES + 5)]
    # Distinct valid ISBNs are not needed: duplicates are reported, not swallowed.
    text = f'{HEADER}\n9780441013593,"Dune,,,A,,,,en,,1,,\n' + "\n".join(good) + "\n"
    rows = rows_of(text)
    assert len(rows) == 1 + len(good)
    assert isinstance(rows[0], RowError)
    assert rows[0].line == 2


def test_quoted_field_may_span_lines_and_lines_are_counted():
    text = f'{HEADER}\n9780441013593,Dune,,"first\nsecond\n""third""",Frank Herbert,,,,en,,9.99,,{"," * (len(COLUMNS) - 13)}\n{line(isbn="foo")}\n'
    rows = rows_of(text)
    assert isinstance(rows[0], BookRow)
    assert rows[0].description == 'first\nsecond\n"third"'
    assert isinstance(rows[1], RowError)
    assert rows[1].line == 5


def test_non_utf8_bytes_are_reported_on_their_line_and_do_not_stop_reading():
    data = (
        f"{HEADER}\n{line()}\n".encode()
        + b"9780306406157,Caf\xe9,,,A,,,,fr,,1,,\n"
        + f"{line(isbn='9782070408504')}\n".encode()
    )
    rows = rows_of(data)
    assert [row.line for row in rows] == [2, 3, 4]
    assert isinstance(rows[1], RowError)
    assert "not valid UTF-8" in rows[1].reason
    assert isinstance(rows[2], BookRow)


def test_duplicate_isbn_in_any_form_is_rejected_after_the_first():
    errors = errors_of(f"{HEADER}\n{line(isbn='9780441013593')}\n{line(isbn='0-441-01359-7')}\n")
    assert list(errors) == [3]
    assert "earlier line" in errors[3]


def test_byte_order_mark_blank_lines_and_crlf_are_accepted():
    data = b"\xef\xbb\xbf" + f"{HEADER}\r\n\r\n{line()}\r\n".encode()
    (row,) = rows_of(data)
    assert isinstance(row, BookRow)
    assert row.line == 3


def test_missing_optional_columns_are_not_marked_present():
    (row,) = rows_of("isbn,title,authors,price\n9780441013593,Dune,Frank Herbert,9.99\n")
    assert isinstance(row, BookRow)
    assert row.present == frozenset()
    assert row.language == "en"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("isbn,title,authors,price,colour", "unknown column(s): colour"),
        ("isbn,title,price", "missing required column(s): authors"),
        ("isbn,title,authors,price,title", "column(s) given twice: title"),
        ("", "the file is empty"),
    ],
)
def test_unreadable_header_rejects_the_whole_file(header, message):
    with pytest.raises(ImportFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rows_of(f"{header}\n" if header else "")


def test_json_lines():
    text = (
        '{"isbn": "9780441013593", "title": "Dune", "authors": ["Frank Herbert"], "price": 9.99, "stock": 3,'
        ' "genres": "a;b", "is_active": true, "page_count": null}\n'
        "\n"
        '{"isbn": "9780306406157", "title": "X", "authors": [], "price": "1.00"}\n'
        "not json\n"
        '["a list"]\n'
        '{"isbn": "9782070408504", "title": "X", "authors": ["A"], "price": "1", "colour": "red"}\n'
    )
    rows = rows_of(text, "jsonl")
    assert isinstance(rows[0], BookRow)
    assert (rows[0].price, rows[0].stock, rows[0].genres) == (Decimal("9.99"), 3, ("a", "b"))
    assert rows[0].present == {"stock", "genres", "is_active", "page_count"}
    errors = {row.line: row.reason for row in rows if isinstance(row, RowError)}
    assert list(errors) == [3, 4, 5, 6]
    assert "authors: at least one author" in errors[3]
    assert "invalid JSON" in errors[4]
    assert "expected a JSON object" in errors[5]
    assert "unknown field(s): colour" in errors[6]


def test_json_lines_bad_encoding():
    errors = errors_of(b'{"isbn": "9780441013593", "title": "Caf\xe9"}\n', "jsonl")
    assert "not valid UTF-8" in errors[1]


def test_export_record_reads_back_as_the_same_row():
    record = book_record(
        isbn="9780441013593",
        title="Dune, with a comma",
        subtitle='A "quoted" subtitle',
        description="two\nlines",
        authors=["Frank Herbert", "Brian Herbert"],
        genres=["science-fiction"],
        publisher="Ace",
        price=Decimal("9.90"),
        is_active=False,
    )
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(csv_values(record))
    (row,) = rows_of(buffer.getvalue())
    assert isinstance(row, BookRow)
    assert (row.title, row.subtitle, row.description, row.authors, row.price, row.stock, row.is_active) == (
        "Dune, with a comma",
        'A "quoted" subtitle',
        "two\nlines",
        ("Frank Herbert", "Brian Herbert"),
        Decimal("9.90"),
        0,
        False,
    )
    assert row.published_date is None
    assert row.page_count is None


@pytest.mark.parametrize(("path", "fmt"), [("a.csv", "csv"), ("B.JSONL", "jsonl"), ("c.ndjson", "jsonl")])
def test_format_from_extension(path, fmt):
    assert format_for_path(path) == fmt


def test_unknown_extension_asks_for_format():
    with pytest.raises(ImportFormatError, match="--format"):
        format_for_path("books.txt")


def test_isbn_set_remembers_every_isbn_across_growth():
    from catalog.importing import IsbnSet

    seen = IsbnSet()
    isbns = [9780000000000 + n * 7 for n in range(5000)] + [9790000000000 + n * 1024 for n in range(5000)]

    assert all(seen.add(isbn) for isbn in isbns)
    assert not any(seen.add(isbn) for isbn in isbns)
    assert len(seen) == len(isbns)
    assert seen.add(9780000000001)


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\n",
        "a,b,c\r\n",
        "a,b,c",
        "a,b,c\r",
        ",,\n",
        "  spaced , fields \n",
        "\n",
        "\r\n",
        "",
        "one\n",
        "tab\there,back\\slash,semi;colon\n",
        "a\rb,c\n",
        "nul\x00inside,x\n",
        "é,ü,日本\n",
        "a," + "x" * 131_073 + ",c\n",  # a field past csv's size limit: its error, as csv reports it
    ],
)
def test_a_one_line_record_without_quotes_splits_as_the_csv_module_parses_it(text):
    """The reader's shortcut for one-line records without quotes gives what ``csv.reader`` gives, or defers to it."""
    import csv

    from catalog.importing.reading import _Line, _parse_csv_group

    try:
        expected = [row for row in csv.reader([text], strict=True) if row]
    except csv.Error:
        expected = None
    found = _parse_csv_group([_Line(1, text, None)])
    if expected is None:
        assert isinstance(found, RowError)
    elif not expected:
        assert found is None
    elif len(expected) > 1:
        assert isinstance(found, RowError)
    else:
        assert found == expected[0]
