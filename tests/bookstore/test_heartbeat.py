"""Worker heartbeat: the periodic task records it, the admin dashboard shows whether it is recent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from bookstore.celery import app
from bookstore.heartbeat import heartbeat_record, worker_status
from bookstore.tasks import worker_heartbeat
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_browser() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    return client


def test_no_heartbeat_means_no_worker():
    status = worker_status()
    assert status.alive is False
    assert status.at is None


def test_a_heartbeat_counts_for_one_minute():
    now = timezone.now()
    heartbeat_record(hostname="celery@w1", at=now - timedelta(seconds=59))
    status = worker_status(now=now)
    assert status.alive is True
    assert status.hostname == "celery@w1"
    assert status.seconds_ago == 59

    heartbeat_record(hostname="celery@w1", at=now - timedelta(seconds=61))
    assert worker_status(now=now).alive is False


def test_the_heartbeat_task_records_its_worker():
    assert worker_status().alive is False
    worker_heartbeat.apply()
    status = worker_status()
    assert status.alive is True
    assert status.hostname


def test_beat_runs_the_heartbeat_more_often_than_the_window():
    entry = settings.CELERY_BEAT_SCHEDULE["bookstore.worker_heartbeat"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] <= 30
    assert entry["options"]["expires"] <= 60


def test_dashboard_says_when_no_worker_reported_in(staff_browser):
    html = staff_browser.get("/admin/").content.decode()
    assert 'id="worker-status"' in html
    assert 'data-alive="false"' in html
    assert "No background worker has reported in during the last minute" in html


def test_dashboard_shows_a_recent_worker(staff_browser):
    heartbeat_record(hostname="celery@shop-worker-1", at=timezone.now() - timedelta(seconds=5))
    html = staff_browser.get("/admin/").content.decode()
    assert 'data-alive="true"' in html
    assert "celery@shop-worker-1" in html
    assert "No background worker" not in html


def test_dashboard_flags_a_worker_silent_for_over_a_minute(staff_browser):
    heartbeat_record(hostname="celery@shop-worker-1", at=timezone.now() - timedelta(minutes=3))
    html = staff_browser.get("/admin/").content.decode()
    assert 'data-alive="false"' in html
    assert "last seen 3" in html
