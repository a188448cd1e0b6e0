"""The search index (table ``book_search``) and the word vocabulary that typo correction uses.

``book_search`` holds every book, active or not: PostgreSQL a weighted
``tsvector`` (A: title and subtitle; B: every contributor's name, all roles;
C: description, publisher, series name and genre names), SQLite an FTS5 row
with the same text in the columns ``title``, ``authors`` and ``body``.

On PostgreSQL the table also keeps each book's ``is_active``, so that
``book_search_ids`` (migration 0009) finds a broad word's first matches, and
counts them up to a bound, from the GIN index alone.

``search_words`` (``SearchWord``) is the vocabulary of the words in titles,
subtitles, contributor names, series, genres and publishers, folded (lower
case, no accents). Descriptions are left out: a typo is corrected towards the
names a customer is looking for, not towards every word of a blurb.

Both are refreshed with set-based SQL by ``search_index_update``, which every
catalog write that touches indexed text calls inside its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

from django.db import connections, transaction

from catalog.models import Book
from catalog.pgarray import bigint_array
from catalog.search.query import MAX_WORD_LENGTH, fold, raw_words

#: The text search configuration of the index and the queries (migration 0004).
POSTGRESQL_CONFIG = "bookstore_english"
#: From this many books on, ``search_index_update`` builds the documents with CREATE TABLE AS (parallel workers
#: allowed) rather than inside the INSERT; below, the extra statements cost more than they save.
PARALLEL_DOCUMENTS_FROM = 5_000
_DOCUMENTS_STAGE = "search_documents_stage"
#: Words shorter than this are never corrected, so the vocabulary skips them.
MIN_VOCABULARY_LENGTH = 3

_POSTGRESQL_DOCUMENTS = """
    SELECT b.id,
           setweight(to_tsvector('{config}'::regconfig, unaccent(b.title || ' ' || b.subtitle)), 'A')
        || setweight(to_tsvector('{config}'::regconfig, unaccent(coalesce(a.names, ''))), 'B')
        || setweight(to_tsvector('{config}'::regconfig, unaccent(
               b.description || ' ' || b.publisher || ' ' || coalesce(s.name, '') || ' ' || coalesce(g.names, '')
           )), 'C'),
           b.is_active
    FROM books b
    LEFT JOIN (
        SELECT ba.book_id, string_agg(au.name, ' ' ORDER BY ba.position, ba.id) AS names
        FROM book_authors ba JOIN authors au ON au.id = ba.author_id
        {links_where}
        GROUP BY ba.book_id
    ) a ON a.book_id = b.id
    LEFT JOIN (
        SELECT bg.book_id, string_agg(ge.name, ' ' ORDER BY ge.name, ge.id) AS names
        FROM book_genres bg JOIN genres ge ON ge.id = bg.genre_id
        {genres_where}
        GROUP BY bg.book_id
    ) g ON g.book_id = b.id
    LEFT JOIN series s ON s.id = b.series_id
    {books_where}
"""

_SQLITE_AUTHORS = """coalesce((
    SELECT group_concat(name, ' ') FROM (
        SELECT au.name FROM book_authors ba JOIN authors au ON au.id = ba.author_id
        WHERE ba.book_id = b.id ORDER BY ba.position, ba.id
    )
), '')"""
_SQLITE_GENRES = """coalesce((
    SELECT group_concat(name, ' ') FROM (
        SELECT ge.name FROM book_genres bg JOIN genres ge ON ge.id = bg.genre_id
        WHERE bg.book_id = b.id ORDER BY ge.name, ge.id
    )
), '')"""
_SQLITE_SERIES = "coalesce((SELECT s.name FROM series s WHERE s.id = b.series_id), '')"

_SQLITE_DOCUMENTS = f"""
    SELECT b.id, b.id, b.title || ' ' || b.subtitle, {_SQLITE_AUTHORS},
           b.description || ' ' || b.publisher || ' ' || {_SQLITE_SERIES} || ' ' || {_SQLITE_GENRES}
    FROM books b
    {{books_where}}
"""  # noqa: S608 - constants only

# The vocabulary's text of the books matched by ``{match}`` (a condition on a books id column): everything
# indexed but the description, as the distinct strings of each part. A word never spans two parts, so the
# words of these strings are those of each book's parts joined, and a name shared by many books is read once.
_VOCABULARY_TEXT = """
    {books_text}
    UNION SELECT s.name FROM series s WHERE s.id IN (SELECT series_id FROM books WHERE {match_id})
    UNION SELECT au.name FROM authors au WHERE au.id IN (SELECT author_id FROM book_authors WHERE {match_book_id})
    UNION SELECT ge.name FROM genres ge WHERE ge.id IN (SELECT genre_id FROM book_genres WHERE {match_book_id})
"""
# The books' own parts: PostgreSQL reads the three columns in one scan of ``books``.
_VOCABULARY_BOOKS = {
    "postgresql": "SELECT unnest(ARRAY[title, subtitle, publisher]) FROM books WHERE {match_id}",
    "sqlite": (
        "SELECT title FROM books WHERE {match_id} UNION SELECT subtitle FROM books WHERE {match_id}"
        " UNION SELECT publisher FROM books WHERE {match_id}"
    ),
}
#: How many times each vendor's vocabulary text query reads the match's parameter.
_VOCABULARY_PARTS = {"postgresql": 4, "sqlite": 6}


def _vocabulary_text(vendor: str, match: str) -> str:
    """The vocabulary text query; ``match``: a condition on ``{column}``, ``""`` for every book."""
    match_id = match.format(column="id") if match else "TRUE"
    return _VOCABULARY_TEXT.format(
        books_text=_VOCABULARY_BOOKS[vendor].format(match_id=match_id),
        match_id=match_id,
        match_book_id=match.format(column="book_id") if match else "TRUE",
    )


def trigrams(word: str) -> list[str]:
    """The trigrams of ``word`` as pg_trgm makes them: padded with two spaces before and one after."""
    padded = f"  {word} "
    return sorted({padded[i : i + 3] for i in range(len(padded) - 2)})


def vocabulary_words(texts: Iterable[str]) -> set[str]:
    """The words of ``texts`` worth keeping in the vocabulary: folded, 3 to 100 characters, not all digits."""
    # Folding is the costly part, and the same words recur across texts: each distinct word is folded once.
    written: set[str] = set()
    for text in texts:
        if text:
            written.update(raw_words(text))
    folded = (fold(word) for word in written)
    return {word for word in folded if MIN_VOCABULARY_LENGTH <= len(word) <= MAX_WORD_LENGTH and not word.isdigit()}


def _vocabulary_add(cursor: object, vendor: str, words: set[str]) -> None:
    ordered = sorted(words)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        if vendor == "postgresql":
            cursor.execute(  # type: ignore[attr-defined]
                "INSERT INTO search_words (word) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", [chunk]
            )
        else:
            cursor.execute(  # type: ignore[attr-defined]
                "INSERT OR IGNORE INTO search_words (word) SELECT value FROM json_each(%s)", [json.dumps(chunk)]
            )
            rows = [[trigram, word, len(word)] for word in chunk for trigram in trigrams(word)]
            cursor.execute(  # type: ignore[attr-defined]
                "INSERT OR IGNORE INTO search_word_trigrams (trigram, word, length)"
                " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(%s)",
                [json.dumps(rows)],
            )


def _texts(cursor: object, sql: str, params: Sequence[object]) -> Iterator[str]:
    cursor.execute(sql, params)  # type: ignore[attr-defined]
    while rows := cursor.fetchmany(2000):  # type: ignore[attr-defined]
        for (text,) in rows:
            yield text


def _postgresql_match(ids: list[int]) -> tuple[str, list[int | str]]:
    """A condition on ``{column}`` matching the sorted, distinct ``ids``, and its parameters.

    Consecutive ids (the books of an import into an empty catalog, in passes) are matched as a range, which
    the planner estimates and PostgreSQL reads by the primary key; any others as ``= ANY`` of an array.
    """
    if ids[-1] - ids[0] + 1 == len(ids):
        return "{column} BETWEEN %s AND %s", [ids[0], ids[-1]]
    return "{column} = ANY(%s::bigint[])", [bigint_array(ids)]


def search_index_update(*, book_ids: Iterable[int]) -> None:
    """Refresh the index entries of ``book_ids`` from their current rows, and add their new words to the vocabulary.

    A fixed number of statements whatever the number of ids: entries are
    rebuilt from ``books`` and the contributor, genre and series tables, ids
    whose book no longer exists lose their entry. Call it inside the
    transaction that changed the books, their credits, genres or series, or
    the names of those.
    """
    ids = sorted({int(book_id) for book_id in book_ids})
    if not ids:
        return
    connection = connections[Book.objects.db]
    # No savepoint inside the caller's transaction: a large import calls this once per batch, and past 64
    # subtransactions PostgreSQL's visibility checks go through pg_subtrans for the rest of the transaction.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            match, match_parameters = _postgresql_match(ids)
            documents = _POSTGRESQL_DOCUMENTS.format(
                config=POSTGRESQL_CONFIG,
                links_where="WHERE " + match.format(column="ba.book_id"),
                genres_where="WHERE " + match.format(column="bg.book_id"),
                books_where="WHERE " + match.format(column="b.id"),
            )
            upsert = "ON CONFLICT (book_id) DO UPDATE SET document = EXCLUDED.document, is_active = EXCLUDED.is_active"
            if len(ids) >= PARALLEL_DOCUMENTS_FROM:
                # An INSERT ... SELECT never runs in parallel; CREATE TABLE AS may, so the documents (to_tsvector,
                # most of the cost) are built by the parallel workers too, then inserted in one statement.
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_DOCUMENTS_STAGE}")  # never a table of the schema
                cursor.execute(
                    f"CREATE TEMP TABLE {_DOCUMENTS_STAGE} ON COMMIT DROP AS {documents}", match_parameters * 3
                )
                documented = cursor.rowcount
                cursor.execute(
                    f"INSERT INTO book_search (book_id, document, is_active) SELECT * FROM {_DOCUMENTS_STAGE} {upsert}"  # noqa: S608 (fixed names)
                )
                cursor.execute(f"DROP TABLE pg_temp.{_DOCUMENTS_STAGE}")
            else:
                cursor.execute(
                    f"INSERT INTO book_search (book_id, document, is_active) {documents} {upsert}", match_parameters * 3
                )
                documented = cursor.rowcount
            if documented < len(ids):  # some ids have no book (any more): their entries go
                cursor.execute(
                    "DELETE FROM book_search s WHERE s.book_id = ANY(%s::bigint[])"
                    " AND NOT EXISTS (SELECT 1 FROM books b WHERE b.id = s.book_id)",
                    [bigint_array(ids)],  # one text parameter: psycopg dumps a list element by element
                )
            sql = _vocabulary_text(connection.vendor, match)
            texts = list(_texts(cursor, sql, match_parameters * _VOCABULARY_PARTS[connection.vendor]))
        else:
            # The ids travel as one JSON parameter: no limit on bound variables.
            id_list = json.dumps(ids)
            cursor.execute("DELETE FROM book_search WHERE rowid IN (SELECT value FROM json_each(%s))", [id_list])
            documents = _SQLITE_DOCUMENTS.format(books_where="WHERE b.id IN (SELECT value FROM json_each(%s))")
            cursor.execute(
                f"INSERT INTO book_search (rowid, book_id, title, authors, body) {documents}",
                [id_list],
            )
            sql = _vocabulary_text(connection.vendor, "{column} IN (SELECT value FROM json_each(%s))")
            texts = list(_texts(cursor, sql, [id_list] * _VOCABULARY_PARTS[connection.vendor]))
        _vocabulary_add(cursor, connection.vendor, vocabulary_words(texts))


def search_index_set_active(*, book_ids: Iterable[int]) -> None:
    """Copy whether ``book_ids`` are shown into the index (PostgreSQL keeps it there; see ``book_search_ids``)."""
    ids = sorted({int(book_id) for book_id in book_ids})
    connection = connections[Book.objects.db]
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE book_search s SET is_active = b.is_active FROM books b"
            " WHERE b.id = s.book_id AND s.book_id = ANY(%s) AND s.is_active IS DISTINCT FROM b.is_active",
            [ids],
        )


def search_index_rebuild() -> int:
    """Rebuild the whole index and vocabulary from the catalog; returns the number of books indexed."""
    connection = connections[Book.objects.db]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE book_search, search_words")
            documents = _POSTGRESQL_DOCUMENTS.format(
                config=POSTGRESQL_CONFIG, links_where="", genres_where="", books_where=""
            )
            cursor.execute(f"INSERT INTO book_search (book_id, document, is_active) {documents}")
        else:
            cursor.execute("DELETE FROM book_search")
            cursor.execute("DELETE FROM search_words")
            cursor.execute("DELETE FROM search_word_trigrams")
            documents = _SQLITE_DOCUMENTS.format(books_where="")
            cursor.execute(f"INSERT INTO book_search (rowid, book_id, title, authors, body) {documents}")
        with connection.cursor() as reader:
            words = vocabulary_words(_texts(reader, _vocabulary_text(connection.vendor, ""), []))
        _vocabulary_add(cursor, connection.vendor, words)
        return Book.objects.count()
