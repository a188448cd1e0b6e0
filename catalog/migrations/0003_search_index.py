"""The full-text index of books, one table per database (see catalog.search).

PostgreSQL: ``book_search(book_id, document tsvector)`` with a GIN index, and
the ``unaccent`` extension. SQLite: an FTS5 table whose rowid is the book id.
Each statement runs only on its own database, both ways.

Neither table has a foreign key to ``books``: Django's test flush truncates
the model tables only, and a key would make ``TRUNCATE books`` fail. Entries
of deleted books are removed by ``catalog.search.search_index_update``, and
never match anyway, since searches join ``books``.
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL_FORWARDS = [
    # Kept on the way back: other code may rely on the extension once it exists.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TABLE book_search (book_id bigint PRIMARY KEY, document tsvector NOT NULL)",
    "CREATE INDEX book_search_document_idx ON book_search USING gin (document)",
    """
    INSERT INTO book_search (book_id, document)
    SELECT b.id,
           setweight(to_tsvector('english'::regconfig, unaccent(b.title || ' ' || b.subtitle)), 'A')
        || setweight(to_tsvector('english'::regconfig, unaccent(coalesce(a.names, ''))), 'B')
        || setweight(to_tsvector('english'::regconfig, unaccent(b.description || ' ' || b.publisher)), 'C')
    FROM books b
    LEFT JOIN (
        SELECT ba.book_id, string_agg(au.name, ' ' ORDER BY ba.position, ba.id) AS names
        FROM book_authors ba JOIN authors au ON au.id = ba.author_id
        GROUP BY ba.book_id
    ) a ON a.book_id = b.id
    """,
]
POSTGRESQL_BACKWARDS = ["DROP TABLE IF EXISTS book_search"]

SQLITE_FORWARDS = [
    """
    CREATE VIRTUAL TABLE book_search USING fts5(
        book_id UNINDEXED, title, authors, body,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )
    """,
    """
    INSERT INTO book_search (rowid, book_id, title, authors, body)
    SELECT b.id, b.id, b.title || ' ' || b.subtitle,
           coalesce((
               SELECT group_concat(name, ' ') FROM (
                   SELECT au.name FROM book_authors ba JOIN authors au ON au.id = ba.author_id
                   WHERE ba.book_id = b.id ORDER BY ba.position, ba.id
               )
           ), ''),
           b.description || ' ' || b.publisher
    FROM books b
    """,
]
SQLITE_BACKWARDS = ["DROP TABLE IF EXISTS book_search"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_genre_timestamps_and_constraints"),
    ]

    operations = [
        migrations.CreateModel(
            name="BookSearchEntry",
            fields=[
                (
                    "book",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_entry",
                        serialize=False,
                        to="catalog.book",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField()),
                ("fts", models.TextField(db_column="book_search")),
            ],
            options={
                "db_table": "book_search",
                "ordering": ["book_id"],
                "managed": False,
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARDS, "sqlite": SQLITE_FORWARDS}),
            _run({"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}),
        ),
    ]
