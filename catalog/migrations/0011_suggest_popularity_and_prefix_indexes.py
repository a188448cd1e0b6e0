"""Authors and series carry their books' recent sales; prefix indexes for search-as-you-type.

``catalog.search.suggest`` reads titles and names by prefix through these
indexes, one set per database (each statement runs only on its own, both
ways):

- ``*_suggest_*_idx``: the lower-cased name, in order, then the id: the first
  matching names, read in order, a ``LIMIT`` away. On PostgreSQL the key is
  ``lower(x) COLLATE "C"`` so that a range ``prefix <= key < prefix || U+10FFFF``
  is exactly "starts with" and the order is by code point, whatever the
  database's collation, as on SQLite.
- ``*_suggest_sold_idx``: the same key with ``recent_sales``, the id and the
  name, for the rows with ``recent_sales > 0`` only (a small part of the
  catalog): the most sold matches come from an index-only scan and a top-N
  sort, without reading the table (the daily refresh vacuums the tables so
  the scans stay index-only).

No index on ``recent_sales`` alone: PostgreSQL would walk it for the most sold
books and filter by prefix, reading every sold book for a rare prefix.
"""

from django.db import migrations, models

_INDEXES = {
    "postgresql": [
        ("books_suggest_title_idx", 'books ((lower(title) COLLATE "C"), id) WHERE is_active'),
        (
            "books_suggest_sold_idx",
            'books ((lower(title) COLLATE "C"), recent_sales, id) INCLUDE (title) WHERE is_active AND recent_sales > 0',
        ),
        ("authors_suggest_name_idx", 'authors ((lower(name) COLLATE "C"), id)'),
        (
            "authors_suggest_sold_idx",
            'authors ((lower(name) COLLATE "C"), recent_sales, id) INCLUDE (name) WHERE recent_sales > 0',
        ),
        ("series_suggest_name_idx", 'series ((lower(name) COLLATE "C"), id)'),
        (
            "series_suggest_sold_idx",
            'series ((lower(name) COLLATE "C"), recent_sales, id) INCLUDE (name) WHERE recent_sales > 0',
        ),
    ],
    "sqlite": [
        ("books_suggest_title_idx", "books (lower(title), id)"),
        ("books_suggest_sold_idx", "books (lower(title), recent_sales, id, title) WHERE recent_sales > 0"),
        ("authors_suggest_name_idx", "authors (lower(name), id)"),
        ("authors_suggest_sold_idx", "authors (lower(name), recent_sales, id, name) WHERE recent_sales > 0"),
        ("series_suggest_name_idx", "series (lower(name), id)"),
        ("series_suggest_sold_idx", "series (lower(name), recent_sales, id, name) WHERE recent_sales > 0"),
    ],
}


def create_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, definition in _INDEXES.get(vendor, []):
        schema_editor.execute(f"CREATE INDEX {name} ON {definition}")
        if vendor == "postgresql":
            # A finer histogram of the names: with the default 100 buckets a prefix holding under 1 % of
            # the names is estimated at a handful of rows, and the planner reads all of them and sorts
            # instead of reading the first few in index order.
            schema_editor.execute(f"ALTER INDEX {name} ALTER COLUMN 1 SET STATISTICS 1000")


def drop_indexes(apps, schema_editor):
    for name, _definition in _INDEXES.get(schema_editor.connection.vendor, []):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0010_search_typos_synonyms_misses"),
    ]

    operations = [
        migrations.AddField(
            model_name="author",
            name="recent_sales",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                editable=False,
                help_text="Copies of their books sold in the last 90 days, refreshed by a daily job: orders suggestions.",
            ),
        ),
        migrations.AddField(
            model_name="series",
            name="recent_sales",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                editable=False,
                help_text="Copies of its books sold in the last 90 days, refreshed by a daily job: orders suggestions.",
            ),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
