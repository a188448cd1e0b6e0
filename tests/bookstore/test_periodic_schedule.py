"""The periodic jobs are installed in django-celery-beat's schedule, which staff see in the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from bookstore.celery import app
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JOBS = {
    "notifications.email_sweep": 60,
    "orders.order_expire_unpaid": 300,
    "orders.idempotency_key_purge": 3600,
    "orders.payment_retry": 60,
    "orders.recent_sales_refresh": 86400,
    "accounts.jwt_tokens_flush_expired": 86400,
}


def test_the_migration_installs_every_job_with_its_interval():
    installed = {
        task.task: task.interval.every
        for task in PeriodicTask.objects.filter(task__in=JOBS).select_related("interval")
        if task.enabled and task.interval.period == "seconds"
    }
    assert installed == JOBS


def test_every_scheduled_task_is_a_registered_celery_task():
    app.loader.import_default_modules()
    for name in PeriodicTask.objects.exclude(task__startswith="celery.").values_list("task", flat=True):
        assert name in app.tasks, name
        assert app.tasks[name].acks_late, name


def test_staff_see_the_schedule_in_the_admin():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    for name in JOBS:
        assert name in page
