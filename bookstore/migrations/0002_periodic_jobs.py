"""Install the periodic jobs in django-celery-beat's schedule (staff see and tune it in the admin)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

# (task name, every N seconds, description); the name is also the schedule entry's name.
JOBS = [
    ("notifications.email_sweep", 60, "Send queued emails whose delivery task never reached a worker."),
    ("orders.order_expire_unpaid", 300, "Cancel pending orders whose payment window has passed."),
    ("orders.idempotency_key_purge", 3600, "Delete Idempotency-Key records older than 24 hours."),
    ("accounts.jwt_tokens_flush_expired", 86400, "Delete expired JWT refresh tokens and their blacklist entries."),
]


def install(apps: Any, schema_editor: Any) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for task, seconds, description in JOBS:
        interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        task_model.objects.get_or_create(
            name=task, defaults={"task": task, "interval": interval, "description": description, "enabled": True}
        )


def uninstall(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[job[0] for job in JOBS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("bookstore", "0001_staff_groups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
