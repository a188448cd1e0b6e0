"""Search gains typo tolerance, synonyms and a zero-result log; genre and series names join the index.

- ``search_words``: the vocabulary of titles, subtitles, contributors, series,
  genres and publishers (folded words), filled here from the catalog. On
  PostgreSQL a pg_trgm GiST index on it finds near words (the ``pg_trgm``
  extension is created; it needs a role allowed to create extensions). On
  SQLite ``search_word_trigrams`` holds each word's trigrams instead.
- ``search_synonyms`` (staff's synonyms) and ``search_misses`` (searches that
  found nothing, counted per normalised query).
- ``book_search`` is rebuilt: weight C (SQLite: ``body``) now also holds the
  series name and the genre names.

The SQL and the word splitting are copied from ``catalog.search`` as they are
today, so this migration keeps doing the same thing when that module changes.
"""

import json
import re
import unicodedata

import django.utils.timezone
from django.db import migrations, models

CONFIG = "bookstore_english"
_WORD = re.compile(r"[^\W_]+")

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

_POSTGRESQL_VOCABULARY_TEXT = """
    SELECT concat_ws(' ', b.title, b.subtitle, b.publisher, s.name,
        (SELECT string_agg(au.name, ' ') FROM book_authors ba JOIN authors au ON au.id = ba.author_id
         WHERE ba.book_id = b.id),
        (SELECT string_agg(ge.name, ' ') FROM book_genres bg JOIN genres ge ON ge.id = bg.genre_id
         WHERE bg.book_id = b.id))
    FROM books b LEFT JOIN series s ON s.id = b.series_id
    {books_where}
"""
_SQLITE_VOCABULARY_TEXT = f"""
    SELECT b.title || ' ' || b.subtitle || ' ' || b.publisher || ' ' || {_SQLITE_SERIES}
           || ' ' || {_SQLITE_AUTHORS} || ' ' || {_SQLITE_GENRES}
    FROM books b
    {{books_where}}
"""  # noqa: S608 - constants only

# The first ``lim`` books matching ``q``, read through the GIN index only. Without the SET clauses the planner,
# seeing a LIMIT, prefers to walk the table testing every document: fast for a broad word, seconds for a rare
# one. A bitmap of the index is a few milliseconds for either, and the LIMIT stops the heap visits early.
BOOK_SEARCH_IDS = """
    CREATE OR REPLACE FUNCTION book_search_ids(q tsquery, active_only boolean, lim integer) RETURNS SETOF bigint
    LANGUAGE sql STABLE SET enable_seqscan = off SET enable_indexscan = off
    AS $$ SELECT book_id FROM book_search WHERE document @@ q AND (is_active OR NOT active_only) LIMIT lim $$
"""
# The same for a word in tens of thousands of books, left to the planner (it is inlined): walking the table
# finds the first matches sooner than a bitmap of them all.
BOOK_SEARCH_SCAN_IDS = """
    CREATE OR REPLACE FUNCTION book_search_scan_ids(q tsquery, active_only boolean, lim integer) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$ SELECT book_id FROM book_search WHERE document @@ q AND (is_active OR NOT active_only) LIMIT lim $$
"""


def _fold(word):
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word).casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _trigrams(word):
    padded = f"  {word} "
    return sorted({padded[i : i + 3] for i in range(len(padded) - 2)})


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute("CREATE INDEX search_words_word_trgm_idx ON search_words USING gist (word gist_trgm_ops)")
            cursor.execute("ALTER TABLE book_search ADD COLUMN IF NOT EXISTS is_active boolean NOT NULL DEFAULT true")
            cursor.execute(BOOK_SEARCH_IDS)
            cursor.execute(BOOK_SEARCH_SCAN_IDS)
            cursor.execute("TRUNCATE book_search")
            documents = _POSTGRESQL_DOCUMENTS.format(config=CONFIG, links_where="", genres_where="", books_where="")
            cursor.execute(f"INSERT INTO book_search (book_id, document, is_active) {documents}")
            cursor.execute("ANALYZE book_search")
            text_sql = _POSTGRESQL_VOCABULARY_TEXT.format(books_where="")
        elif vendor == "sqlite":
            cursor.execute("DELETE FROM book_search")
            documents = _SQLITE_DOCUMENTS.format(books_where="")
            cursor.execute(f"INSERT INTO book_search (rowid, book_id, title, authors, body) {documents}")
            text_sql = _SQLITE_VOCABULARY_TEXT.format(books_where="")
        else:
            return
        words = set()
        cursor.execute(text_sql)
        while rows := cursor.fetchmany(5000):
            for (text,) in rows:
                for raw in _WORD.findall(text or ""):
                    word = _fold(raw)
                    if 3 <= len(word) <= 100 and not word.isdigit():
                        words.add(word)
        ordered = sorted(words)
        for start in range(0, len(ordered), 5000):
            chunk = ordered[start : start + 5000]
            if vendor == "postgresql":
                cursor.execute(
                    "INSERT INTO search_words (word) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", [chunk]
                )
            else:
                cursor.execute(
                    "INSERT OR IGNORE INTO search_words (word) SELECT value FROM json_each(%s)", [json.dumps(chunk)]
                )
                rows = [[trigram, word, len(word)] for word in chunk for trigram in _trigrams(word)]
                cursor.execute(
                    "INSERT OR IGNORE INTO search_word_trigrams (trigram, word, length)"
                    " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')"
                    " FROM json_each(%s)",
                    [json.dumps(rows)],
                )


def backwards(apps, schema_editor):
    # The tables go with their models; the index keeps the extra words (harmless), pg_trgm stays.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_words_word_trgm_idx")
        schema_editor.execute("DROP FUNCTION IF EXISTS book_search_ids(tsquery, boolean, integer)")
        schema_editor.execute("DROP FUNCTION IF EXISTS book_search_scan_ids(tsquery, boolean, integer)")
        schema_editor.execute("ALTER TABLE book_search DROP COLUMN IF EXISTS is_active")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_import_jobs"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("word", models.CharField(max_length=100, primary_key=True, serialize=False)),
            ],
            options={
                "db_table": "search_words",
                "ordering": ["word"],
            },
        ),
        migrations.CreateModel(
            name="SearchMiss",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("query", models.CharField(max_length=200, unique=True)),
                ("count", models.PositiveBigIntegerField(default=0)),
                ("first_seen", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_seen", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "search without results",
                "verbose_name_plural": "searches without results",
                "db_table": "search_misses",
                "ordering": ["-count", "query"],
                "indexes": [models.Index(fields=["-count", "query"], name="search_misses_count_idx")],
            },
        ),
        migrations.CreateModel(
            name="SearchSynonym",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "term",
                    models.CharField(help_text="Words a query may hold, such as `hp` or `sci-fi`.", max_length=200),
                ),
                (
                    "synonym",
                    models.CharField(help_text="What the term also finds, such as `harry potter`.", max_length=200),
                ),
                (
                    "both_ways",
                    models.BooleanField(
                        default=True,
                        help_text="Also the other way round: a query holding the synonym also finds the term.",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "db_table": "search_synonyms",
                "ordering": ["term", "synonym", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("term", "synonym"), name="search_synonyms_unique_pair"),
                    models.CheckConstraint(
                        condition=models.Q(("term", ""), _negated=True), name="search_synonyms_term_not_blank"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("synonym", ""), _negated=True), name="search_synonyms_synonym_not_blank"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SearchWordTrigram",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("trigram", models.CharField(max_length=12)),
                ("word", models.CharField(max_length=100)),
                ("length", models.PositiveSmallIntegerField()),
            ],
            options={
                "db_table": "search_word_trigrams",
                "ordering": ["trigram", "word"],
                "indexes": [models.Index(fields=["trigram", "length"], name="search_word_trigrams_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("trigram", "word"), name="search_word_trigrams_unique")
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
