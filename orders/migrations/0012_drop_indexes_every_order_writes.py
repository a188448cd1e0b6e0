"""Drop two indexes every placed order writes and no query uses.

``order_items.order_id`` leads the unique ``order_items_book_once_per_order``
(order, book): every lookup of an order's items (the prefetches, the
cascade on delete, the foreign key's check) is served by it, and each item
inserted maintained one index more.

``orders_number_18e5a576_like`` is the ``varchar_pattern_ops`` copy PostgreSQL's
backend adds beside a unique ``CharField`` for ``LIKE 'prefix%'``; the store
looks an order number up whole (the API, the admin's ``=order__number``) or
searches it anywhere in the admin (``UPPER(number) LIKE '%…%'``, which no
btree serves). ``orders_number_key`` stays. Django keeps no state for it
(SQLite never had it).

Only the indexes go: the foreign-key constraint stays as it is.
"""

import django.db.models.deletion
from django.db import migrations, models


def _drop_number_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX IF EXISTS "orders_number_18e5a576_like"')


def _create_number_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "orders_number_18e5a576_like" ON "orders" ("number" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0011_recent_sales_job"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql='DROP INDEX IF EXISTS "order_items_order_id_412ad78b"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "order_items_order_id_412ad78b" ON "order_items" ("order_id")',
                ),
                migrations.RunPython(_drop_number_like_index, _create_number_like_index),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="orderitem",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="items",
                        to="orders.order",
                    ),
                ),
            ],
        ),
    ]
