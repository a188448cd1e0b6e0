"""Drop four single-column indexes whose column leads a composite index of the same table, and the
``varchar_pattern_ops`` copy of the ISBN's unique index.

``books.series_id`` leads ``books_series_number_idx``, ``book_authors.book_id``
leads ``book_authors_unique_role``, ``book_authors.author_id`` leads
``book_authors_author_role_idx`` and ``stock_movements.book_id`` leads
``stock_movements_book_at_idx``: every lookup by one of those columns (the
list's and the admin's filters, prefetches, deletes and the foreign keys'
checks) is served by the composite, and each write to those tables (an import
writes all four) maintained one index less.

``books_isbn_6168c404_like`` is the index PostgreSQL's backend adds beside a
unique ``CharField`` for ``LIKE 'prefix%'``; the store only ever looks an ISBN
up whole (the API, the search's ISBN queries, the admin's ``=book__isbn``), which
``books_isbn_key`` serves. Django keeps no state for it (``DROP INDEX IF
EXISTS`` on SQLite, which never had it, does nothing).

Only the indexes go: the foreign-key constraints stay as they are (Django's
AlterField would drop and re-add them, validating every row under lock).
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, column, the index Django named for the field)
INDEXES = [
    ("books", "series_id", "books_series_id_1c816610"),
    ("book_authors", "author_id", "book_authors_author_id_ea39dbe4"),
    ("book_authors", "book_id", "book_authors_book_id_a678937d"),
    ("stock_movements", "book_id", "stock_movements_book_id_28e22fd6"),
]


def _drop_isbn_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX IF EXISTS "books_isbn_6168c404_like"')


def _create_isbn_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "books_isbn_6168c404_like" ON "books" ("isbn" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_suggest_popularity_and_prefix_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for table, column, name in INDEXES
            ]
            + [
                migrations.RunPython(_drop_isbn_like_index, _create_isbn_like_index),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="book",
                    name="series",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="books",
                        to="catalog.series",
                    ),
                ),
                migrations.AlterField(
                    model_name="bookauthor",
                    name="author",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="book_links",
                        to="catalog.author",
                    ),
                ),
                migrations.AlterField(
                    model_name="bookauthor",
                    name="book",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="author_links",
                        to="catalog.book",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockmovement",
                    name="book",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stock_movements",
                        to="catalog.book",
                    ),
                ),
            ],
        ),
    ]
