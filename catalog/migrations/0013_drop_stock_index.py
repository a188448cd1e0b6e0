"""Drop ``books_stock_idx``, so that a sale's stock update can be a HOT update on PostgreSQL.

An ``UPDATE`` that changes a column some index covers writes a new entry into
every index of the table: fourteen for ``books``. Every placed order, cancel,
goods-in and stock-take changes ``stock``, so each one did (``EXPLAIN
ANALYZE`` of a one-line sale: 81 buffers for the update against 7 for finding
the row; ``pg_stat_user_tables``: 0 of 52,985 book updates in place during
the order benchmark). Without an index on ``stock`` PostgreSQL can keep the new
row version on the same page and leave the indexes alone (a heap-only tuple).

What the index served: the admin's stock filters (``stock <= LOW_STOCK_THRESHOLD``,
``stock > 0``) and the API's ``in_stock``. ``stock > 0`` matches most books, where
a scan in the list's order is cheaper than the index anyway; the low-stock
filter reads the table (tens of milliseconds at 100,000 books).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0012_drop_indexes_led_by_composites"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="book",
            name="books_stock_idx",
        ),
    ]
