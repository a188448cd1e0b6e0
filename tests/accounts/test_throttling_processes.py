"""The auth limit is global: two real gunicorn servers sharing Redis count together.

Each server is its own process with its own memory; only the shared cache can
make the sixth request fail on whichever server receives it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# Used when the run has no REDIS_URL; keys carry a per-test prefix, so runs never share counters.
FALLBACK_REDIS_URL = "redis://127.0.0.1:6379/15"
LIMIT = 5
WRONG_LOGIN = {"email": "nobody@example.com", "password": "wrong-password"}

pytestmark = [pytest.mark.slow, pytest.mark.requires_redis]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the master and its workers
            process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn at {url} did not become ready:\n{log.read_text()[-4000:]}")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or FALLBACK_REDIS_URL
    redis.Redis.from_url(url, socket_timeout=2).ping()  # Redis is part of the test environment
    return url


@pytest.fixture
def servers(tmp_path: Path, redis_url: str) -> Iterator[list[str]]:
    """Two gunicorn servers (one worker each) on one migrated SQLite file, sharing Redis."""
    key_prefix = f"test-throttle-{uuid.uuid4().hex}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "JWT_", "GUNICORN_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": key_prefix,
        "AUTH_RATE_LIMIT": f"{LIMIT}/minute",
        "TRUSTED_PROXY_COUNT": "0",
        "DEBUG": "false",
        "SECRET_KEY": f"multi-process-test-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    with ExitStack() as stack:
        urls = []
        for index in range(2):
            port = _free_port()
            log = tmp_path / f"gunicorn-{index}.log"
            with log.open("wb") as log_file:
                process = subprocess.Popen(
                    [
                        GUNICORN,
                        "bookstore.wsgi:application",
                        "-c",
                        "gunicorn.conf.py",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "1",
                        "--graceful-timeout",
                        "2",
                        "--no-control-socket",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            stack.callback(_stop, process)
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, process, log)
            urls.append(url)
        try:
            yield urls
        finally:
            client = redis.Redis.from_url(redis_url, socket_timeout=2)
            for key in client.scan_iter(f"{key_prefix}:*"):
                client.delete(key)


def test_limit_holds_across_processes(servers):
    first, second = servers
    statuses = []
    for attempt in range(LIMIT):
        # Every request also forges X-Forwarded-For; with TRUSTED_PROXY_COUNT=0 it must not matter.
        response = requests.post(
            f"{servers[attempt % 2]}/api/v1/auth/token",
            json=WRONG_LOGIN,
            headers={"X-Forwarded-For": f"198.51.100.{attempt}"},
            timeout=10,
        )
        statuses.append(response.status_code)
    assert statuses == [401] * LIMIT

    # The sixth goes to the second server, which saw only two requests itself ...
    sixth = requests.post(f"{second}/api/v1/auth/token", json=WRONG_LOGIN, timeout=10)
    assert sixth.status_code == 429, sixth.text
    assert sixth.json()["error"]["code"] == "throttled"
    assert 1 <= int(sixth.headers["Retry-After"]) <= 60
    # ... and the first server refuses as well.
    seventh = requests.post(f"{first}/api/v1/auth/token", json=WRONG_LOGIN, timeout=10)
    assert seventh.status_code == 429, seventh.text
