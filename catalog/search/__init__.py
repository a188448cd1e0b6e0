"""Full-text search over books: one entry point, a backend per database.

``book_search(queryset, query)`` is what the API and the admin call. The
query language is the same everywhere:

- words must all match (AND); ``"quoted words"`` match as a phrase; ``-word``
  and ``-"a phrase"`` exclude; anything else is just a separator;
- English stemming (``running`` finds ``run``), case- and accent-insensitive;
- an ISBN in any accepted spelling (optionally after ``ISBN``) finds that book.

User text never reaches the database's query syntax: it is cut into words
here, and each backend builds its query from those words alone (quoted FTS5
strings on SQLite, ``plainto_tsquery``/``phraseto_tsquery`` parameters on
PostgreSQL). A single English stop word (``the``, ``for``) is dropped; a phrase
keeps every word in its place, stop words included, so ``"a bridge for"``
matches "A Bridge for Tomorrow" but neither "The Bridge" nor "Bridge for
Sale". Both indexes hold every word with its position for that: FTS5 has no
stop words, and PostgreSQL uses ``bookstore_english`` (see migration 0004),
the ``english`` configuration with its stemmer but without its stop-word list.

Ranking (best first, ``search_rank``, higher is better): books with a quoted
phrase of the query in the title or subtitle come first, then books with a
query term there, then books with one in the author names, then the rest
(description, publisher); within a tier, the database's relevance score
(PostgreSQL ``ts_rank``, SQLite FTS5 ``bm25``) decides, then the title.

The index (table ``book_search``, see migration 0003) holds every book,
active or not, and is refreshed with set-based SQL by
``search_index_update``, which every catalog write that touches indexed text
calls inside its transaction.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db import connections, transaction
from django.db.models import Case, F, FloatField, Func, Lookup, QuerySet, TextField, Value, When
from django.db.models.sql.compiler import SQLCompiler

from catalog.isbn import parse_isbn
from catalog.models import Book, BookSearchEntry

__all__ = [
    "ParsedQuery",
    "Term",
    "book_search",
    "parse_query",
    "search_index_rebuild",
    "search_index_update",
]

#: At most this many words of a query are used; the rest is ignored.
MAX_QUERY_WORDS = 32
#: A longer word cannot match anything (PostgreSQL does not index very long words).
MAX_WORD_LENGTH = 100

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
    # NFKC folds compatibility forms (full-width letters, ligatures) and composes accents.
    text = unicodedata.normalize("NFKC", query.replace("\x00", " "))
    isbn = parse_isbn(_ISBN_LABEL.sub("", text, count=1) if _ISBN_LABEL.match(text) else text)
    if isbn is not None:
        return ParsedQuery(isbn=isbn)

    include: list[Term] = []
    exclude: list[Term] = []
    budget = MAX_QUERY_WORDS
    for negated, chunk in _chunks(text):
        term = _term(chunk)
        if term is None:
            continue
        if budget < len(term.words):
            break
        budget -= len(term.words)
        if any(len(word) > MAX_WORD_LENGTH for word in term.words):
            if negated:
                continue  # excluding a word that is never indexed excludes nothing
            return ParsedQuery(matches_nothing=True)
        (exclude if negated else include).append(term)
    if not include and not exclude:
        return ParsedQuery(matches_nothing=True)
    return ParsedQuery(include=tuple(dict.fromkeys(include)), exclude=tuple(dict.fromkeys(exclude)))


def book_search(queryset: QuerySet[Book], query: str) -> QuerySet[Book]:
    """Books of ``queryset`` matching ``query``, best first, annotated with ``search_rank``.

    The result stays a lazy queryset (one SQL statement, a join with the
    index), so callers may filter, re-order, count and paginate it. Higher
    ``search_rank`` is better; ties are ordered by title.
    """
    parsed = parse_query(query)
    if parsed.isbn is not None:
        return queryset.filter(isbn=parsed.isbn).annotate(search_rank=Value(1.0, output_field=FloatField()))
    if parsed.matches_nothing:
        return queryset.none().annotate(search_rank=Value(0.0, output_field=FloatField()))
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        queryset = _postgresql_search(queryset, parsed)
    elif vendor == "sqlite":
        queryset = _sqlite_search(queryset, parsed)
    else:  # pragma: no cover - the project supports these two databases
        raise NotImplementedError(f"Full-text search is not implemented for {vendor}.")
    return queryset.order_by("-search_rank", "title", "id")


# --- Ranking ------------------------------------------------------------------
#
# search_rank = 8 if a phrase of the query (two words or more) is in the title or subtitle
#             + 4 if a query word (or phrase) is in the title or subtitle
#             + 2 if one is in the author names
#             + the database's relevance score squeezed into [0, 1)
# so the phrase in title > title > authors > description tiers never overlap, on either database.
TITLE_PHRASE_TIER = 8
TITLE_TIER = 4
AUTHORS_TIER = 2


def _phrases(terms: Iterable[Term]) -> list[Term]:
    return [term for term in terms if term.is_phrase]


# --- PostgreSQL ---------------------------------------------------------------

#: The text search configuration of the index and the queries (migration 0004).
POSTGRESQL_CONFIG = "bookstore_english"


def _postgresql_query(term: Term) -> SearchQuery:
    return SearchQuery(
        Func(Value(term.text), function="unaccent", output_field=TextField()),
        config=POSTGRESQL_CONFIG,
        search_type="phrase" if term.is_phrase else "plain",
    )


class _PostgresqlRank(Func):
    """``search_rank`` from the weighted tsvector: A is title+subtitle, B the author names.

    Arguments: the document, the OR of the included terms, and optionally the
    OR of the included phrases (for the phrase-in-title tier).
    """

    output_field = FloatField()

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        compiled = [compiler.compile(e) for e in self.get_source_expressions()]
        (doc, doc_params), (tsquery, query_params) = compiled[:2]
        both = [*doc_params, *query_params]
        sql = (
            f"{TITLE_TIER} * (ts_filter({doc}, '{{a}}') @@ {tsquery})::int"
            f" + {AUTHORS_TIER} * (ts_filter({doc}, '{{b}}') @@ {tsquery})::int"
            f" + ts_rank({doc}, {tsquery})"  # ts_rank (OR query, default weights) lies in [0, 1]
        )
        params = both * 3
        if len(compiled) == 3:
            phrases, phrase_params = compiled[2]
            sql = f"{TITLE_PHRASE_TIER} * (ts_filter({doc}, '{{a}}') @@ {phrases})::int + {sql}"
            params = [*doc_params, *phrase_params, *params]
        return f"({sql})", params


def _postgresql_search(queryset: QuerySet[Book], parsed: ParsedQuery) -> QuerySet[Book]:
    if not parsed.include:
        matching = BookSearchEntry.objects.filter(
            document=reduce(or_, (_postgresql_query(term) for term in parsed.exclude))
        )
        return queryset.exclude(pk__in=matching.values("book_id")).annotate(
            search_rank=Value(0.0, output_field=FloatField())
        )
    included = [_postgresql_query(term) for term in parsed.include]
    excluded = [~_postgresql_query(term) for term in parsed.exclude]
    # Ranked against "any included term": which fields hold a term, not how close the terms are.
    rank_arguments = [F("search_entry__document"), reduce(or_, included)]
    if phrases := _phrases(parsed.include):
        rank_arguments.append(reduce(or_, (_postgresql_query(term) for term in phrases)))
    return queryset.filter(search_entry__document=reduce(and_, included + excluded)).annotate(
        search_rank=_PostgresqlRank(*rank_arguments)
    )


# --- SQLite -------------------------------------------------------------------


class _Fts5Match(Lookup):
    """``<fts5 table column> MATCH <query>``: the FTS5 full-text condition."""

    lookup_name = "match"

    def as_sql(self, compiler: SQLCompiler, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} MATCH {rhs}", [*lhs_params, *rhs_params]


BookSearchEntry._meta.get_field("fts").register_lookup(_Fts5Match)


class _Fts5Rank(Func):
    """``search_rank`` from FTS5's bm25 over the columns (book_id, title, authors, body).

    bm25 is negative for a match (lower is better) and exactly 0 when the
    columns it weighs hold none of the query's phrases, which tells the tiers
    apart; ``r / (1 + r)`` maps the full score ``r`` into [0, 1).
    """

    template = (
        f"({TITLE_TIER} * (bm25(%(expressions)s, 0, 1, 0, 0) < 0)"
        f" + {AUTHORS_TIER} * (bm25(%(expressions)s, 0, 0, 1, 0) < 0)"
        " - bm25(%(expressions)s) / (1 - bm25(%(expressions)s)))"
    )
    output_field = FloatField()


def _fts5_string(term: Term) -> str:
    # Words hold letters and digits only, so a quoted FTS5 string is always
    # well formed: never an operator, a column filter or a prefix query.
    return '"' + term.text.replace('"', '""') + '"'


def _sqlite_search(queryset: QuerySet[Book], parsed: ParsedQuery) -> QuerySet[Book]:
    excluded = " OR ".join(_fts5_string(term) for term in parsed.exclude)
    if not parsed.include:
        matching = BookSearchEntry.objects.filter(fts__match=excluded)
        return queryset.exclude(pk__in=matching.values("book_id")).annotate(
            search_rank=Value(0.0, output_field=FloatField())
        )
    expression = " AND ".join(_fts5_string(term) for term in parsed.include)
    if excluded:
        expression = f"({expression}) NOT ({excluded})"
    rank: Any = _Fts5Rank(F("search_entry__fts"))
    if phrases := _phrases(parsed.include):
        # bm25 cannot weigh some phrases apart from the others: the books with
        # a phrase in the title come from a second, uncorrelated MATCH.
        in_title = "title : (" + " OR ".join(_fts5_string(term) for term in phrases) + ")"
        titled = BookSearchEntry.objects.filter(fts__match=in_title).values("book_id")
        rank = rank + Case(
            When(pk__in=titled, then=Value(float(TITLE_PHRASE_TIER))),
            default=Value(0.0),
            output_field=FloatField(),
        )
    return queryset.filter(search_entry__fts__match=expression).annotate(search_rank=rank)


# --- The index ------------------------------------------------------------------

_POSTGRESQL_DOCUMENTS = """
    SELECT b.id,
           setweight(to_tsvector('{config}'::regconfig, unaccent(b.title || ' ' || b.subtitle)), 'A')
        || setweight(to_tsvector('{config}'::regconfig, unaccent(coalesce(a.names, ''))), 'B')
        || setweight(to_tsvector('{config}'::regconfig, unaccent(b.description || ' ' || b.publisher)), 'C')
    FROM books b
    LEFT JOIN (
        SELECT ba.book_id, string_agg(au.name, ' ' ORDER BY ba.position, ba.id) AS names
        FROM book_authors ba JOIN authors au ON au.id = ba.author_id
        {links_where}
        GROUP BY ba.book_id
    ) a ON a.book_id = b.id
    {books_where}
"""

_SQLITE_DOCUMENTS = """
    SELECT b.id, b.id, b.title || ' ' || b.subtitle,
           coalesce((
               SELECT group_concat(name, ' ') FROM (
                   SELECT au.name FROM book_authors ba JOIN authors au ON au.id = ba.author_id
                   WHERE ba.book_id = b.id ORDER BY ba.position, ba.id
               )
           ), ''),
           b.description || ' ' || b.publisher
    FROM books b
    {books_where}
"""


def search_index_update(*, book_ids: Iterable[int]) -> None:
    """Refresh the index entries of ``book_ids`` from their current rows, in bulk.

    Two statements whatever the number of ids: entries are rebuilt from
    ``books``/``book_authors``/``authors``, and ids whose book no longer
    exists lose their entry. Call it inside the transaction that changed the
    books, their author links or their authors' names.
    """
    ids = sorted({int(book_id) for book_id in book_ids})
    if not ids:
        return
    connection = connections[Book.objects.db]
    # No savepoint inside the caller's transaction: a large import calls this once per batch, and past 64
    # subtransactions PostgreSQL's visibility checks go through pg_subtrans for the rest of the transaction.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            documents = _POSTGRESQL_DOCUMENTS.format(
                config=POSTGRESQL_CONFIG, links_where="WHERE ba.book_id = ANY(%s)", books_where="WHERE b.id = ANY(%s)"
            )
            cursor.execute(
                f"INSERT INTO book_search (book_id, document) {documents} "
                "ON CONFLICT (book_id) DO UPDATE SET document = EXCLUDED.document",
                [ids, ids],
            )
            cursor.execute(
                "DELETE FROM book_search s WHERE s.book_id = ANY(%s)"
                " AND NOT EXISTS (SELECT 1 FROM books b WHERE b.id = s.book_id)",
                [ids],
            )
        else:
            # The ids travel as one JSON parameter: no limit on bound variables.
            id_list = json.dumps(ids)
            cursor.execute("DELETE FROM book_search WHERE rowid IN (SELECT value FROM json_each(%s))", [id_list])
            documents = _SQLITE_DOCUMENTS.format(books_where="WHERE b.id IN (SELECT value FROM json_each(%s))")
            cursor.execute(
                f"INSERT INTO book_search (rowid, book_id, title, authors, body) {documents}",
                [id_list],
            )


def search_index_rebuild() -> int:
    """Rebuild the whole index from the catalog; returns the number of books indexed."""
    connection = connections[Book.objects.db]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE book_search")
            documents = _POSTGRESQL_DOCUMENTS.format(config=POSTGRESQL_CONFIG, links_where="", books_where="")
            cursor.execute(f"INSERT INTO book_search (book_id, document) {documents}")
        else:
            cursor.execute("DELETE FROM book_search")
            documents = _SQLITE_DOCUMENTS.format(books_where="")
            cursor.execute(f"INSERT INTO book_search (rowid, book_id, title, authors, body) {documents}")
        return Book.objects.count()
