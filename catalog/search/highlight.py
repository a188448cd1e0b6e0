"""Highlights for search results: HTML-escaped text with the query's words in ``<mark>…</mark>``.

Pure (no database): it works on the title and description already loaded for
the returned page, so highlighting costs no query. ``Highlighter(query)``
parses the query once with ``catalog.search.parse_query``; calling it on a
book gives ``{"title", "description"}``.

A word of the text is marked when, case- and accent-insensitively, it is one
of the query's words (of a word or a phrase it includes; excluded terms are
never marked), or shares its stem under a light English suffix rule
(``running`` marks "run", ``books`` marks "book"), or, for the last word of
the query, starts with it (``dun`` marks "Dune", as the search matches the
last word as a prefix). Everything else is escaped, so a title holding
``<script>`` comes back as ``&lt;script&gt;``.

The description becomes a snippet: at most ``SNIPPET_LENGTH`` characters
around its first marked word (from the start when none is marked), cut at
word boundaries, with ``…`` where text was left out.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from catalog.search import parse_query

__all__ = ["SNIPPET_CONTEXT", "SNIPPET_LENGTH", "Highlighter"]

#: Longest description snippet, in characters of the original text (before escaping).
SNIPPET_LENGTH = 200
#: How much text before the first marked word the snippet keeps.
SNIPPET_CONTEXT = 60
# Only this much of a description is scanned for the first match: a bound on the work per book.
_SCAN_LIMIT = 20_000
_ELLIPSIS = "…"
# The same notion of a word as the query parser's: letters and digits of any script.
_WORD = re.compile(r"[^\W_]+")
# Longest first; a stem keeps at least three letters.
_SUFFIXES = ("ings", "ing", "ies", "ied", "es", "ed", "ly", "s")


def _fold(word: str) -> str:
    """Case- and accent-insensitive form of a word, as both search indexes compare them."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            # "running" → "runn" → "run": a doubled final consonant goes with the suffix.
            if suffix in {"ing", "ed"} and len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeiou":
                stem = stem[:-1]
            return stem
    return word


class Highlighter:
    """Marks the words of one search query in the texts of the books it found."""

    def __init__(self, query: str) -> None:
        parsed = parse_query(query)
        words = [_fold(word) for term in parsed.include for word in term.words]
        self.exact = frozenset(words)
        self.stems = frozenset(_stem(word) for word in words)
        # The last word typed may be unfinished: words starting with it match too.
        self.prefix = words[-1] if words else None

    def _matches(self, word: str) -> bool:
        if not self.exact:
            return False
        folded = _fold(word)
        return (
            folded in self.exact
            or _stem(folded) in self.stems
            or (self.prefix is not None and folded.startswith(self.prefix))
        )

    def mark(self, text: str) -> str:
        """All of ``text``, escaped, with the matching words marked."""
        return self._render(text, _WORD.finditer(text), 0, len(text))

    def _render(self, text: str, words: Iterable[re.Match[str]], start: int, end: int) -> str:
        out, at = [], start
        for match in words:
            if not self._matches(match.group()):
                continue
            out.append(html.escape(text[at : match.start()]))
            out.append(f"<mark>{html.escape(match.group())}</mark>")
            at = match.end()
        out.append(html.escape(text[at:end]))
        return "".join(out)

    def snippet(self, text: str) -> str:
        """At most ``SNIPPET_LENGTH`` characters of ``text`` around its first matching word, escaped and marked."""
        if not text:
            return ""
        scan = min(len(text), _SCAN_LIMIT)
        first = next((m for m in _WORD.finditer(text, 0, scan) if self._matches(m.group())), None)
        start = 0
        if first is not None and first.start() > SNIPPET_CONTEXT:
            start = first.start() - SNIPPET_CONTEXT
            if not text[start - 1].isspace():  # the window cut into a word: begin after it
                space = text.find(" ", start, first.start())
                start = space + 1 if space != -1 else first.start()
        end = min(len(text), start + SNIPPET_LENGTH)
        if end < len(text) and not text[end].isspace():  # end after the last whole word, keeping the match
            space = text.rfind(" ", start, end)
            if space > (first.end() if first is not None else start):
                end = space
        body = self._render(text, _WORD.finditer(text, start, end), start, end).strip()
        return (_ELLIPSIS if start > 0 else "") + body + (_ELLIPSIS if end < len(text) else "")

    def __call__(self, book: Any) -> dict[str, str]:
        return {"title": self.mark(book.title), "description": self.snippet(book.description)}
