"""Real processes for fault tests: PostgreSQL databases, gunicorn servers, TCP proxies.

Everything binds to loopback, every wait is bounded, and every process or
thread started here is stopped by the fixture that created it.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379

SECRET_KEY = "reliability-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
# Variables of the developer's or CI's environment that must not leak into the servers.
_SCRUBBED_ENV = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DEBUG",
    "ALLOWED_HOSTS",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
}


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.05, message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


# --- PostgreSQL -----------------------------------------------------------------


def pg_admin() -> psycopg.Connection[Any]:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)


def database_url(name: str, *, port: int = PG_PORT) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{port}/{name}"


def create_database(name: str, *, template: str | None = None) -> None:
    with pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(*, database: str, redis: str, settings: str = "bookstore.settings", **extra: str) -> dict[str, str]:
    """A production-like environment for the app: DEBUG off, a real secret, PostgreSQL, Redis."""
    base = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": settings,
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "CONN_MAX_AGE": "60",
        "DATABASE_CONNECT_TIMEOUT": "2",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        # No worker runs beside these servers: tasks go to an in-process queue, not to var/celery.
        "CELERY_BROKER_URL": "memory://",
        **extra,
    }


def manage(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


_EXEC_MARKER = "@@RESULT@@"
_EXEC_TEMPLATE = """
import json, sys, django
django.setup()
params = json.loads(sys.stdin.read())
result = None
{code}
print({marker!r} + json.dumps(result, default=str))
"""


def django_exec(env: dict[str, str], code: str, **params: Any) -> Any:
    """Run ``code`` in a fresh Django process configured by ``env``; return its ``result``.

    ``code`` sees ``params`` (JSON-decoded keyword arguments) and assigns
    ``result`` (anything JSON-serialisable). Used to seed and to inspect the
    database of the servers under test through the ORM, outside the test
    process's own database.
    """
    script = _EXEC_TEMPLATE.format(code=code, marker=_EXEC_MARKER)
    result = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env=env,
        input=json.dumps(params),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"django_exec failed:\n{result.stdout}\n{result.stderr}"
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(_EXEC_MARKER):
            return json.loads(line[len(_EXEC_MARKER) :])
    raise AssertionError(f"django_exec printed no result:\n{result.stdout}\n{result.stderr}")


# --- TCP proxy ------------------------------------------------------------------


class TcpProxy:
    """A loopback TCP forwarder in front of a real service that a test can cut and restore.

    ``cut()`` closes the listening socket and resets every open connection, so
    the service looks exactly like a stopped server (connection refused);
    ``restore()`` listens on the same port again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        # The port is held from here on: bound but not listening (a connection is refused, as on a closed
        # port), so no other socket of the machine can take it before ``start()``. A port only looked up
        # as free could be handed to another socket meanwhile (an outgoing connection, the other proxy).
        self._reserved: socket.socket | None = self._bound(0)
        self.port = int(self._reserved.getsockname()[1])
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    @staticmethod
    def _bound(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    def start(self) -> None:
        with self._lock:
            assert self._listener is None, "proxy already listening"
            listener, self._reserved = self._reserved, None
            if listener is None:  # restored after a cut: the same port again
                listener = self._bound(self.port)
            listener.listen(128)
            listener.settimeout(0.2)
            self._listener = listener
        thread = threading.Thread(target=self._accept_loop, args=(listener,), name=f"proxy-{self.port}", daemon=True)
        thread.start()
        self._threads.append(thread)

    restore = start

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, set()
        if listener is not None:
            # shutdown() wakes the thread blocked in accept() and stops listening at once.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        # RST instead of FIN, as when a server dies. Every socket gets the option before any is
        # closed: closing one wakes its pump thread, which closes the peer socket of the pair.
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.close()

    def stop(self) -> None:
        self.cut()
        with self._lock:
            reserved, self._reserved = self._reserved, None
        if reserved is not None:  # never started
            reserved.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._connections.update((client, upstream))
            pump = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            pump.start()
            self._threads.append(pump)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(a, selectors.EVENT_READ)
                selector.register(b, selectors.EVENT_READ)
                while True:
                    for key, _ in selector.select(timeout=1.0):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(65536)
                        if not data:
                            return
                        peers[source].sendall(data)
                    if a.fileno() < 0 or b.fileno() < 0:
                        return
            except (OSError, ValueError):
                return
            finally:
                with self._lock:
                    self._connections.discard(a)
                    self._connections.discard(b)
                for sock in (a, b):
                    with contextlib.suppress(OSError):
                        sock.close()


# --- gunicorn -------------------------------------------------------------------


@dataclass
class AppServer:
    """One gunicorn master with its sync workers, listening on a loopback port."""

    env: dict[str, str]
    log_path: Path
    workers: int = 1
    extra_args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    GUNICORN,
                    "bookstore.wsgi:application",
                    "-c",
                    "gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--timeout",
                    "30",
                    "--graceful-timeout",
                    "5",
                    # The default control socket is one path per machine; parallel servers would fight over it.
                    "--no-control-socket",
                    *self.extra_args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        """Block until every worker is booted and the server answers /healthz."""

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if len(self.worker_pids()) < self.workers:
                return False
            try:
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_until(ready, timeout=timeout, interval=0.1, message=f"gunicorn on port {self.port}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None

    def worker_pids(self) -> list[int]:
        """Pids of the master's live worker processes (from /proc, no extra dependency)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        alive = []
        for child in children:
            try:
                state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(int(child))
        return alive

    def kill_worker(self, pid: int) -> None:
        assert pid in self.worker_pids(), f"{pid} is not a worker of this server"
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_records(self) -> list[dict[str, Any]]:
        """The app's JSON log lines (gunicorn's own plain lines are skipped)."""
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGINT to the master: gunicorn's quick shutdown (the tests have nothing in flight to drain).
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Workers are in the master's session; make sure none outlives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(server: AppServer) -> Iterator[AppServer]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
