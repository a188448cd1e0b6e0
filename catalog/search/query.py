"""Search query parsing: the one place user text is cut into words.

User text never reaches the database's query syntax: it is cut into words
here, and each backend builds its query from those words alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from catalog.isbn import parse_isbn

#: At most this many words of a query are used; the rest is ignored.
MAX_QUERY_WORDS = 32
#: A longer word cannot match anything (PostgreSQL does not index very long words).
MAX_WORD_LENGTH = 100
#: The last word of a query is also matched as a prefix from this many letters on.
MIN_PREFIX_LENGTH = 2

# PostgreSQL's English stop words (tsearch_data/english.stop, from Snowball).
# A query word on its own is dropped when it is one of them; inside a phrase it keeps its place.
STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing a an the and but if or
    because as until while of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where
    why how all any both each few more most other some such no nor not only own same so than too very s
    t can will just don should now
    """.split()  # noqa: SIM905 - the list as PostgreSQL ships it
)

_ISBN_LABEL = re.compile(r"\s*isbn(?:-?1[03])?\s*:?\s*", re.IGNORECASE)
# Letters and digits of any script; everything else separates words, as in both databases' parsers.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Term:
    """One word, or a phrase of adjacent words, of a search query (lower-cased)."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """What a search query asks for: an ISBN, or terms to include and exclude.

    ``matches_nothing`` is set when the query has text but nothing searchable
    can come of it (only stop words or punctuation, or an over-long word).
    """

    isbn: str | None = None
    include: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    matches_nothing: bool = False


def _chunks(text: str) -> Iterable[tuple[bool, str]]:
    """Split ``text`` into (negated, chunk) pairs: quoted phrases and space-separated words.

    An unbalanced quote runs to the end of the text; ``-`` negates only at the
    start of a chunk, and a lone ``-`` is ignored.
    """
    i, end = 0, len(text)
    while i < end:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-"
        if negated:
            i += 1
            if i == end or text[i].isspace():
                continue
        if text[i] == '"':
            close = text.find('"', i + 1)
            close = end if close == -1 else close
            yield negated, text[i + 1 : close]
            i = close + 1
        else:
            start = i
            while i < end and not text[i].isspace() and text[i] != '"':
                i += 1
            yield negated, text[start:i]


def _term(chunk: str) -> Term | None:
    """The term of one chunk; ``None`` if it holds nothing searchable.

    A lone stop word matches nearly every book, so it is dropped. A phrase keeps
    all its words, stop words included: they fix where its other words stand.
    """
    words = [word.casefold() for word in _WORD.findall(chunk)]
    if not words or (len(words) == 1 and words[0] in STOP_WORDS):
        return None
    return Term(tuple(words))


def parse_query(query: str) -> ParsedQuery:
    """Parse a user's search text (any text at all) into a ``ParsedQuery``."""
    return parse_query_with_prefix(query)[0]


def parse_query_with_prefix(query: str) -> tuple[ParsedQuery, str | None]:
    """``parse_query`` and the word that is also matched as a prefix, if any.

    That is the query's last word while it is being typed: a bare word (not
    quoted, not excluded) of at least ``MIN_PREFIX_LENGTH`` letters at the very
    end of the text. A query ending in a space or a quote has no prefix word.
    """
    # NFKC folds compatibility forms (full-width letters, ligatures) and composes accents.
    text = unicodedata.normalize("NFKC", query.replace("\x00", " "))
    isbn = parse_isbn(_ISBN_LABEL.sub("", text, count=1) if _ISBN_LABEL.match(text) else text)
    if isbn is not None:
        return ParsedQuery(isbn=isbn), None

    include: list[Term] = []
    exclude: list[Term] = []
    budget = MAX_QUERY_WORDS
    last: tuple[bool, str, Term] | None = None
    for negated, chunk in _chunks(text):
        term = _term(chunk)
        if term is None:
            last = None
            continue
        if budget < len(term.words):
            last = None
            break
        budget -= len(term.words)
        if any(len(word) > MAX_WORD_LENGTH for word in term.words):
            if negated:
                last = None
                continue  # excluding a word that is never indexed excludes nothing
            return ParsedQuery(matches_nothing=True), None
        (exclude if negated else include).append(term)
        last = (negated, chunk, term)
    if not include and not exclude:
        return ParsedQuery(matches_nothing=True), None
    parsed = ParsedQuery(include=tuple(dict.fromkeys(include)), exclude=tuple(dict.fromkeys(exclude)))
    prefix = None
    if last is not None and text and not text[-1].isspace() and text[-1] != '"':
        negated, chunk, term = last
        # "dune," or "dune!" end the word; only letters up to the end of the text are still being typed.
        if not negated and not term.is_phrase and len(term.words[0]) >= MIN_PREFIX_LENGTH and _WORD.fullmatch(chunk):
            prefix = term.words[0]
    return parsed, prefix


def fold(word: str) -> str:
    """A word as the vocabulary keeps it: NFKC, case-folded, without accents (``García`` is ``garcia``)."""
    if word.isascii():  # the same result: ASCII is unchanged by every normal form and has no combining marks
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word).casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def raw_words(text: str) -> list[str]:
    """The words of ``text`` as written (not folded), split the way queries are split."""
    return _WORD.findall(text)


def words_of(text: str) -> list[str]:
    """The folded words of ``text``, split the way queries are split."""
    return [fold(word) for word in _WORD.findall(text)]


def normalise_query(query: str) -> str:
    """The form a query is counted under in the zero-result log: its folded words, one space apart.

    Quotes, operators and case do not make two queries different; at most
    ``MAX_QUERY_WORDS`` words and 200 characters are kept.
    """
    text = unicodedata.normalize("NFKC", query.replace("\x00", " "))
    parts: list[str] = []
    for negated, chunk in _chunks(text):
        words = words_of(chunk)
        if words:
            parts.append(("-" if negated else "") + " ".join(words))
    return " ".join(" ".join(parts).split()[:MAX_QUERY_WORDS])[:200]


@dataclass(frozen=True, slots=True)
class Clause:
    """One included part of a query: a book matches it when it matches any of its alternatives.

    The first alternative is the query's own term; the others come from
    synonyms and typo corrections. ``prefix``: the word is also matched as the
    beginning of a longer word (the query's last word, still being typed).
    """

    alternatives: tuple[Term, ...]
    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """What a backend searches for: every clause (AND), none of ``exclude``."""

    clauses: tuple[Clause, ...]
    exclude: tuple[Term, ...] = ()

    @property
    def phrases(self) -> tuple[Term, ...]:
        """The phrases among the included alternatives (for the phrase-in-title tier)."""
        return tuple(dict.fromkeys(term for clause in self.clauses for term in clause.alternatives if term.is_phrase))


def search_plan(parsed: ParsedQuery, prefix: str | None = None) -> SearchPlan:
    """The plan of a parsed text query (no ISBN): one clause per included term, the last one with ``prefix``."""
    clauses = [Clause((term,)) for term in parsed.include]
    if prefix is not None and clauses and clauses[-1].alternatives == (Term((prefix,)),):
        clauses[-1] = Clause(clauses[-1].alternatives, prefix=prefix)
    return SearchPlan(tuple(clauses), parsed.exclude)
