"""Real Celery workers, brokers and SMTP for the background-work tests.

The workers are ``celery -A bookstore worker`` processes with the production
settings, pointed at the test database of this pytest run (the tests use
``transactional_db`` so what they write is committed and visible to them) and
at a queue of their own, so nothing else on a shared broker takes their tasks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from django.conf import settings

from tests.reliability.harness import SECRET_KEY, django_exec, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

_SCRUBBED = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "SECRET_KEY_FILE", "DEBUG"}


def test_database_url() -> str:
    """DATABASE_URL of the database this test run uses (pytest-django's test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def app_env(*, broker: str, queue: str, email_url: str, var: Path, **extra: str) -> dict[str, str]:
    """The production settings, on the test database, with this broker, queue and SMTP server."""
    base = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and not k.startswith(("CELERY_", "EMAIL_"))}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "DATABASE_URL": test_database_url(),
        "CONN_MAX_AGE": "0",
        "CACHE_DIR": str(var / "cache"),
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "CELERY_DATA_DIR": str(var / "celery"),
        "EMAIL_URL": email_url,
        "EMAIL_TIMEOUT": "20",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def unique_queue() -> str:
    return f"bookstore-test-{uuid.uuid4().hex[:12]}"


class Worker:
    """``celery -A bookstore worker`` (prefork, one child) in its own process group."""

    def __init__(self, env: dict[str, str], *extra_args: str) -> None:
        self.env = env
        self.args = extra_args
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, *, timeout: float = 60) -> Worker:
        self.process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "bookstore",
                "worker",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
                *self.args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        wait_until(lambda: self.saw(" ready.") or self.process.poll() is not None, timeout=timeout, message="worker")
        assert self.process.poll() is None, f"the worker exited:\n{self.log()}"
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def log(self) -> str:
        return "".join(self.lines[-80:])

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool child), as a machine that dies."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


class RedisServer:
    """A redis-server of the test's own on a free port, which the test may stop and start again."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(up, timeout=20, message="redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


PLACE_ORDER = """
from orders.services import OrderLine, order_place
from accounts.models import User
from notifications.models import Email
order = order_place(user=User.objects.get(pk=params["user"]), items=[OrderLine(book_id=params["book"], quantity=1)])
result = {"order": order.pk, "number": order.number, "email": Email.objects.get(key=f"order-placed:{order.pk}").pk}
"""


def place_order(env: dict[str, str], *, user_id: int, book_id: int) -> dict[str, Any]:
    """Place an order in a process of its own (as a web request would), with ``env``'s broker."""
    return dict(django_exec(env, PLACE_ORDER, user=user_id, book=book_id))


def celery_call(env: dict[str, str], task: str) -> None:
    """Send ``task`` through the broker with Celery's own command line."""
    result = subprocess.run(
        [CELERY, "-A", "bookstore", "call", task], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def eventually(predicate: Any, *, timeout: float = 60, message: str = "condition") -> Any:
    return wait_until(predicate, timeout=timeout, interval=0.1, message=message)
