"""Drop the ``LIKE`` copies of the emails' two unique indexes, which every queued email writes.

PostgreSQL's backend adds a ``varchar_pattern_ops`` index beside a unique
``CharField`` for ``LIKE 'prefix%'``. An email is looked up by its whole
``key`` or ``message_id`` (the outbox, the bounce and delivery events), and
the admin's search matches anywhere in the text (``UPPER(…) LIKE '%…%'``),
which no btree serves: ``emails_key_key`` and ``emails_message_id_key`` serve
every query. Django keeps no state for these (SQLite never had them).
"""

from django.db import migrations

INDEXES = [
    ("emails_key_48d82dd3_like", "key"),
    ("emails_message_id_d4c94db8_like", "message_id"),
]


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _column in INDEXES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in INDEXES:
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "emails" ("{column}" varchar_pattern_ops)')


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_email_context"),
    ]

    operations = [
        migrations.RunPython(_drop, _create),
    ]
