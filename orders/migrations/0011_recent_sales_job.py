"""The daily job that refreshes the books' recent sales is installed in the periodic schedule."""

from __future__ import annotations

from typing import Any

from django.db import migrations

JOB = ("orders.recent_sales_refresh", 86400, "Count each book's copies sold in the last 90 days (search, suggestions).")


def forwards(apps: Any, schema_editor: Any) -> None:
    task, seconds, description = JOB
    interval, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=seconds, period="seconds"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=task, defaults={"task": task, "interval": interval, "description": description, "enabled": True}
    )


def backwards(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=JOB[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_sales_rollup"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
