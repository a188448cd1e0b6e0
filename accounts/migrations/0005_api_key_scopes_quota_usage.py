"""API keys gain scopes and a daily quota; their calls per day are kept for the usage report.

Existing keys get every scope and no quota, so they keep doing what they did.
The job copying the live counters into the usage table is installed in the
beat schedule (staff see and tune it in the admin).
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

import accounts.models

JOB = "accounts.api_key_usage_flush"


def install_job(apps: Any, schema_editor: Any) -> None:
    interval, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=300, period="seconds"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=JOB,
        defaults={
            "task": JOB,
            "interval": interval,
            "description": "Copy the API keys' daily call counters into the usage table (30-day usage report).",
            "enabled": True,
        },
    )


def uninstall_job(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=JOB).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_address"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="daily_quota",
            field=models.PositiveIntegerField(
                blank=True, help_text="Calls allowed per UTC day; leave empty for no quota.", null=True
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(
                default=accounts.models._all_scopes,
                help_text="What the key may do (catalog:read, catalog:write, orders:read, orders:write); never more than its owner may.",
            ),
        ),
        migrations.CreateModel(
            name="ApiKeyDailyUsage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(help_text="The UTC day.")),
                ("calls", models.PositiveIntegerField(default=0)),
                (
                    "api_key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="daily_usage", to="accounts.apikey"
                    ),
                ),
            ],
            options={
                "verbose_name": "API key daily usage",
                "verbose_name_plural": "API key daily usage",
                "db_table": "api_key_daily_usage",
                "ordering": ["api_key", "-day"],
                "constraints": [
                    models.UniqueConstraint(fields=("api_key", "day"), name="api_key_daily_usage_unique_day")
                ],
            },
        ),
        migrations.RunPython(install_job, uninstall_job),
    ]
