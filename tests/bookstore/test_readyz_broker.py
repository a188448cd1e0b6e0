"""/readyz names the Celery broker when a real Redis broker stops, and recovers when it is back."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import redis
import requests

from tests.reliability.harness import AppServer, free_port, server_env, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.requires_redis]


class PrivateRedis:
    """A redis-server of this test's own on a spare port (the shared 6379 is never touched)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server must be installed for the broker readiness test")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        wait_until(lambda: self._pings(client), timeout=20, message=f"redis on port {self.port}")

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def _readyz(url: str) -> requests.Response:
    return requests.get(f"{url}/readyz", timeout=20)


def test_readyz_reports_a_stopped_broker_and_its_return(private_redis, tmp_path):
    env = server_env(
        database=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis="",
        CACHE_DIR=str(tmp_path / "cache"),
        CELERY_BROKER_URL=private_redis.url,
    )
    server = AppServer(env=env, log_path=tmp_path / "gunicorn.log", workers=1)
    server.start()
    try:
        ready = _readyz(server.url)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}

        private_redis.stop()
        down = _readyz(server.url)
        assert down.status_code == 503
        assert down.json() == {
            "status": "unavailable",
            "checks": {"database": "ok", "cache": "ok", "broker": "unavailable"},
        }
        assert int(down.headers["Retry-After"]) > 0
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200

        private_redis.start()
        wait_until(lambda: _readyz(server.url).status_code == 200, timeout=30, message="readiness after restart")
        assert _readyz(server.url).json()["checks"]["broker"] == "ok"
    finally:
        server.stop()
        print(server.log_tail(60))  # noqa: T201
