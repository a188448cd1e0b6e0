"""A real Celery worker, with beat beside it, reports in, and the admin of a real server says so."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.harness import ROOT, AppServer, django_exec, manage, server_env, wait_until
from tests.reliability.http import admin_session

pytestmark = pytest.mark.slow

CELERY = str(Path(sys.executable).with_name("celery"))


STATUS_CODE = """
from bookstore.heartbeat import worker_status
status = worker_status()
result = {"alive": status.alive, "hostname": status.hostname}
"""


def test_worker_with_beat_reports_in_and_the_dashboard_shows_it(tmp_path):
    env = server_env(
        database=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis="",
        # The file cache and the embedded broker: shared by the server and the worker on this machine.
        CACHE_DIR=str(tmp_path / "cache"),
        CELERY_DATA_DIR=str(tmp_path / "celery"),
        CELERY_BROKER_URL="filesystem://",
        STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SUPERUSER_EMAIL="ops@example.com",
        DJANGO_SUPERUSER_PASSWORD="Heartbeat-pass-2026!",
    )
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    manage("createsuperuser", "--noinput", env=env)
    assert django_exec(env, STATUS_CODE)["alive"] is False

    log = (tmp_path / "worker.log").open("wb")
    # Worker and beat as two processes, as `make run` and production run them.
    commands = [
        ["worker", "--pool", "solo", "--loglevel", "INFO", "--hostname", "heartbeat-test@%h"],
        ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule")],
    ]
    processes = [
        subprocess.Popen(
            [CELERY, "-A", "bookstore", *command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for command in commands
    ]
    server = AppServer(env=env, log_path=tmp_path / "gunicorn.log", workers=1)
    try:
        status = wait_until(
            lambda: (s := django_exec(env, STATUS_CODE))["alive"] and s,
            timeout=90,
            interval=2,
            message="a heartbeat from the worker",
        )
        assert status["hostname"].startswith("heartbeat-test@")

        server.start()
        session = admin_session(server.url, "ops@example.com", "Heartbeat-pass-2026!")
        html = session.get(f"{server.url}/admin/", timeout=20).text
        assert 'data-alive="true"' in html
        assert "heartbeat-test@" in html
    finally:
        server.stop()
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
        print((tmp_path / "worker.log").read_text(errors="replace")[-4000:])  # noqa: T201
