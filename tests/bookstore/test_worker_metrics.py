"""A Celery worker serves its own metrics: emails sent by its pool processes, summed, behind the token."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.harness import ROOT, django_exec, free_port, manage, server_env, wait_until
from tests.smtp import SmtpServer

pytestmark = pytest.mark.slow

CELERY = str(Path(sys.executable).with_name("celery"))
TOKEN = "worker-scrape-token-0123456789"

QUEUE_CODE = """
from django.db import transaction
from notifications.services import email_queue
context = {
    "order": {"number": "BK-2026-000042", "subtotal": "20.00", "discount_total": "0.00", "total": "20.00"},
    "items": [{"quantity": 1, "title": "Dune", "isbn": "9780441013593", "line_total": "20.00"}],
    "currency": "EUR",
    "payment_days": 7,
}
for index in range(params["count"]):
    with transaction.atomic():
        email_queue(to=f"reader{index}@example.com", template="orders/email/order_placed", context=context)
"""


def _sent(url: str) -> float | None:
    try:
        response = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    except requests.RequestException:
        return None
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "bookstore_emails_sent_total":
                return sample.value
    return None


def test_worker_metrics_port_sums_its_pool_processes(tmp_path):
    metrics_port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    with SmtpServer() as smtp:
        env = server_env(
            database=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            redis="",
            CACHE_DIR=str(tmp_path / "cache"),
            CELERY_DATA_DIR=str(tmp_path / "celery"),
            CELERY_BROKER_URL="filesystem://",
            EMAIL_URL=smtp.url,
            METRICS_TOKEN=TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            CELERY_WORKER_METRICS_PORT=str(metrics_port),
            CELERY_WORKER_METRICS_BIND="127.0.0.1",
        )
        manage("migrate", "--noinput", env=env)
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [CELERY, "-A", "bookstore", "worker", "--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        try:
            wait_until(lambda: _sent(url) is not None, timeout=60, interval=0.5, message="the worker's metrics port")
            assert _sent(url) == 0
            assert requests.get(url, timeout=5).status_code == 401
            assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401

            django_exec(env, QUEUE_CODE, count=4)
            wait_until(lambda: len(smtp.handler.messages) >= 4, timeout=60, message="four emails at the SMTP server")
            # Counted in the pool's child processes, read from the main process's port.
            wait_until(lambda: _sent(url) == 4, timeout=10, message="four sent emails in the worker's metrics")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
            log.close()
            print((tmp_path / "worker.log").read_text(errors="replace")[-4000:])  # noqa: T201
