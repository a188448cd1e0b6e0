"""?highlight=true: escaped titles and description snippets with the search words in <mark>, no extra query."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.search.highlight import SNIPPET_LENGTH, Highlighter
from tests.factories import BookFactory


def _book(title: str, description: str = "") -> SimpleNamespace:
    return SimpleNamespace(title=title, description=description)


def test_a_title_holding_markup_comes_back_escaped() -> None:
    marked = Highlighter("dune")(_book('<script>alert("x")</script> Dune & "Sand"'))
    assert marked["title"] == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>Dune</mark> &amp; &quot;Sand&quot;"
    )


def test_words_match_ignoring_case_accents_and_light_suffixes() -> None:
    marked = Highlighter("RUNNING cafe book")(_book("Run, Café, run: the Books of Running"))
    assert marked["title"] == (
        "<mark>Run</mark>, <mark>Café</mark>, <mark>run</mark>: the <mark>Books</mark> of <mark>Running</mark>"
    )


def test_the_last_word_matches_as_a_prefix_the_others_do_not() -> None:
    assert Highlighter("dun")(_book("Dune Dunes"))["title"] == "<mark>Dune</mark> <mark>Dunes</mark>"
    assert Highlighter("dun sand")(_book("Dune Sandworm"))["title"] == "Dune <mark>Sandworm</mark>"


def test_phrases_mark_their_words_and_excluded_words_are_not_marked() -> None:
    marked = Highlighter('"the spice" -worm')(_book("The spice and the worm"))
    assert marked["title"] == "<mark>The</mark> <mark>spice</mark> and <mark>the</mark> worm"


def test_the_description_is_a_bounded_snippet_around_the_first_match() -> None:
    description = "Opening words. " * 40 + "Here the spice must flow, and the <b>worm</b> turns. " + "Later. " * 60
    snippet = Highlighter("spice")(_book("Dune", description))["description"]
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert "<mark>spice</mark>" in snippet
    assert "&lt;b&gt;worm&lt;/b&gt;" in snippet
    plain = snippet.replace("<mark>", "").replace("</mark>", "").replace("&lt;", "<").replace("&gt;", ">")
    assert len(plain) <= SNIPPET_LENGTH + 2
    assert plain.strip("…").split(" ")[0] in {"Opening", "words."}  # cut at a word boundary


def test_without_a_match_the_snippet_is_the_start_and_short_texts_are_whole() -> None:
    assert Highlighter("zebra")(_book("Dune", "word " * 100))["description"].startswith("word word")
    assert Highlighter("")(_book("a<b", "Short & sweet."))["description"] == "Short &amp; sweet."
    assert Highlighter("9780441013593")(_book("Dune", ""))["description"] == ""


@pytest.mark.django_db
def test_the_list_adds_highlight_only_when_asked(api_client: APIClient) -> None:
    BookFactory(title="<script>alert(1)</script> Dune", description="Spice. " * 50 + "The dune sea.")
    plain = api_client.get("/api/v1/books", {"search": "dune"}).json()["results"][0]
    assert "highlight" not in plain
    for flag in ["true", "1", "YES"]:
        book = api_client.get("/api/v1/books", {"search": "dune", "highlight": flag}).json()["results"][0]
        assert book["highlight"]["title"] == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Dune</mark>"
        assert book["highlight"]["description"].endswith("The <mark>dune</mark> sea.")
        assert book["title"] == "<script>alert(1)</script> Dune"  # the field itself is data, unchanged
    assert "highlight" not in api_client.get("/api/v1/books", {"highlight": "false"}).json()["results"][0]


@pytest.mark.django_db
def test_highlighting_a_page_costs_no_query(api_client: APIClient) -> None:
    for i in range(12):
        BookFactory(title=f"Dune part {i}", description=f"Arrakis dune {i}")
    assert api_client.get("/api/v1/books", {"search": "dune", "page_size": 12}).status_code == 200  # stores them
    counts = []
    for params in [{"search": "dune", "page_size": 2}, {"search": "dune", "page_size": 12, "highlight": "true"}]:
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get("/api/v1/books", params)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert all("<mark>" in book["highlight"]["title"] for book in response.json()["results"])
