"""Orders placed before payments were recorded get a manual payment record; the payment retry job is installed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations

RETRY_JOB = ("orders.payment_retry", 60, "Create payment intents and carry out refunds an outage left undone.")
# Order status → the payment status it implies for a manual payment.
STATUS = {
    "pending": "awaiting",
    "paid": "succeeded",
    "shipped": "succeeded",
    "delivered": "succeeded",
    "cancelled": "cancelled",
}


def forwards(apps: Any, schema_editor: Any) -> None:
    order_model = apps.get_model("orders", "Order")
    payment_model = apps.get_model("orders", "Payment")
    orders = order_model.objects.filter(payment__isnull=True).order_by("pk")
    payment_model.objects.bulk_create(
        [
            payment_model(
                order_id=pk,
                provider="manual",
                status=STATUS[status],
                amount=total,
                currency=settings.STORE_CURRENCY,
            )
            for pk, status, total in orders.values_list("pk", "status", "total").iterator(chunk_size=2000)
        ],
        batch_size=2000,
    )
    task, seconds, description = RETRY_JOB
    interval, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=seconds, period="seconds"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=task, defaults={"task": task, "interval": interval, "description": description, "enabled": True}
    )


def backwards(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=RETRY_JOB[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_payments"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
