"""How catalog.search reads a user's query (pure: no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.search import MAX_QUERY_WORDS, ParsedQuery, Term, parse_query


def terms(*items: str) -> tuple[Term, ...]:
    return tuple(Term(tuple(item.split())) for item in items)


@pytest.mark.parametrize(
    ("query", "include", "exclude"),
    [
        ("dune", ["dune"], []),
        ("Dune  HERBERT", ["dune", "herbert"], []),
        ('"left hand" darkness', ["left hand", "darkness"], []),
        ('"left hand', ["left hand"], []),  # an unbalanced quote runs to the end
        ("dune -messiah", ["dune"], ["messiah"]),
        ('dune -"god emperor"', ["dune"], ["god emperor"]),
        ("dune - messiah", ["dune", "messiah"], []),  # a lone "-" is not an operator
        ("sci-fi", ["sci fi"], []),  # words joined by punctuation stay together, as a phrase
        ("the hobbit", ["hobbit"], []),  # stop words are dropped
        ('"lord of the rings"', ["lord of the rings"], []),  # ... but keep their place inside a phrase
        ('"the hobbit"', ["the hobbit"], []),  # ... at its ends too: a phrase keeps every word
        ('"A Bridge for"', ["a bridge for"], []),
        ('dune -"the sequel"', ["dune"], ["the sequel"]),
        ("don't", ["don t"], []),  # a phrase of stop words is still a phrase
        ("dune dune", ["dune"], []),
        ("\uff44\uff55\uff4e\uff45", ["dune"], []),  # full-width letters fold to ASCII
        ("ga\x00rcía", ["ga", "rcía"], []),  # NUL separates like a space
        ("NEAR(dune herbert)", ["near dune", "herbert"], []),
        ("title:dune", ["title dune"], []),
    ],
)
def test_words_phrases_and_exclusions(query: str, include: list[str], exclude: list[str]) -> None:
    assert parse_query(query) == ParsedQuery(include=terms(*include), exclude=terms(*exclude))


@pytest.mark.parametrize(
    "query",
    [
        "0-441-01359-7",
        "0441013597",
        "978-0-441-01359-3",
        "978 0 441 01359 3",
        "ISBN 9780441013593",
        "isbn-10: 0441013597",
    ],
)
def test_an_isbn_in_any_accepted_form_is_an_isbn_query(query: str) -> None:
    assert parse_query(query) == ParsedQuery(isbn="9780441013593")


def test_a_number_with_a_wrong_check_digit_is_just_text() -> None:
    assert parse_query("978-0-441-01359-4") == ParsedQuery(include=terms("978 0 441 01359 4"))


@pytest.mark.parametrize("query", ["", "   ", "-", "*", "'", '""', "AND OR NOT", "the", "-the", "😀", "\x00"])
def test_nothing_searchable_matches_nothing(query: str) -> None:
    assert parse_query(query) == ParsedQuery(matches_nothing=True)


def test_an_over_long_word_matches_nothing_unless_excluded() -> None:
    assert parse_query("dune " + "x" * 101).matches_nothing
    assert parse_query("dune -" + "x" * 101) == ParsedQuery(include=terms("dune"))


def test_only_the_first_words_of_a_long_query_are_used() -> None:
    parsed = parse_query(" ".join(f"w{i}" for i in range(MAX_QUERY_WORDS + 10)))
    assert len(parsed.include) == MAX_QUERY_WORDS
    assert parsed.include[-1] == Term((f"w{MAX_QUERY_WORDS - 1}",))


SYNTAX = set("\"'*^:(){}[]+-&|!<>@\\;,.%_\x00")


@given(st.text())
def test_any_text_parses_into_words_without_query_syntax(text: str) -> None:
    parsed = parse_query(text)
    for term in parsed.include + parsed.exclude:
        assert term.words
        for word in term.words:
            assert word
            assert not SYNTAX.intersection(word), word
            assert not any(char.isspace() for char in word), word
    assert len([word for term in parsed.include + parsed.exclude for word in term.words]) <= MAX_QUERY_WORDS
