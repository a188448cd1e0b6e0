"""Tests that need a server: run them when it is there, report them when it is not.

A test that needs PostgreSQL, Redis or RabbitMQ carries the marker
``requires_postgres``, ``requires_redis`` or ``requires_rabbitmq``. Once per
session, and only for the markers the selected tests use, this plugin tries a
TCP connection (short timeout) to every address such a test talks to. When one
is unreachable its tests are skipped and the end of the run lists them, with
how to run them. With ``BOOKSTORE_REQUIRE_SERVICES=1`` (CI) a missing server
fails those tests instead, so nothing silently stops being tested.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

STRICT_ENV = "BOOKSTORE_REQUIRE_SERVICES"
CONNECT_TIMEOUT = 1.0


@dataclass
class Service:
    marker: str
    name: str
    addresses: list[tuple[str, int]]
    how: str  # the variables that point the tests at another server
    missing: str = ""  # why it is unreachable; empty when every address answered
    tests: list[str] = field(default_factory=list)  # node ids that did not run


def _address(url: str, default_port: int) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or default_port


def services_from_env(env: Mapping[str, str]) -> dict[str, Service]:
    """The servers the marked tests use, by marker (the same addresses the tests and fixtures connect to)."""
    # The reliability tests always use PostgreSQL and Redis on 127.0.0.1; a DATABASE_URL or REDIS_URL
    # adds the server it names (the rest of the suite and the cross-process throttling tests use it).
    postgres = [("127.0.0.1", 5432)]
    database_url = env.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        postgres.append(_address(database_url, 5432) or ("127.0.0.1", 5432))
    redis = [("127.0.0.1", 6379)]
    if env.get("REDIS_URL"):
        redis.append(_address(env["REDIS_URL"], 6379) or ("127.0.0.1", 6379))
    rabbit_url = env.get("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672//"
    rabbitmq = [_address(rabbit_url, 5672) or ("127.0.0.1", 5672)]
    return {
        "requires_postgres": Service(
            "requires_postgres", "PostgreSQL", list(dict.fromkeys(postgres)), "DATABASE_URL=postgres://..."
        ),
        "requires_redis": Service("requires_redis", "Redis", list(dict.fromkeys(redis)), "REDIS_URL=redis://..."),
        "requires_rabbitmq": Service("requires_rabbitmq", "RabbitMQ", rabbitmq, "RABBITMQ_URL=amqp://..."),
    }


def probe(addresses: list[tuple[str, int]], timeout: float = CONNECT_TIMEOUT) -> str:
    """Empty when every address accepts a TCP connection, else the first failure."""
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError as exc:
            return f"{host}:{port} unreachable ({exc.strerror or exc.__class__.__name__})"
    return ""


def is_strict(env: Mapping[str, str]) -> bool:
    return env.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class ServicesPlugin:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.services = services_from_env(env)
        self.strict = is_strict(env)
        self.probed: set[str] = set()
        self.failing: dict[str, str] = {}  # strict mode: node id -> why it must fail

    def _missing(self, marker: str) -> str:
        service = self.services[marker]
        if marker not in self.probed:
            self.probed.add(marker)
            service.missing = probe(service.addresses)
        return service.missing

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for marker, service in self.services.items():
                if item.get_closest_marker(marker) is None or not self._missing(marker):
                    continue
                service.tests.append(item.nodeid)
                reason = f"needs {service.name}: {service.missing}"
                if self.strict:
                    self.failing[item.nodeid] = reason
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Strict mode: before any fixture starts, a marked test whose server is unreachable fails."""
        if item.nodeid in self.failing:
            pytest.fail(f"{self.failing[item.nodeid]}, and {STRICT_ENV} is set", pytrace=False)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        missing = [service for service in self.services.values() if service.tests]
        if not missing:
            return
        verdict = "FAILED (BOOKSTORE_REQUIRE_SERVICES is set)" if self.strict else "skipped"
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "tests that need a server that is not running")
        distinct = len({nodeid for service in missing for nodeid in service.tests})
        write(f"{distinct} test(s) did not run because a server they need is unreachable:")
        for service in missing:
            write(f"{service.name} ({service.missing}): {len(service.tests)} test(s) {verdict}")
            for nodeid in service.tests:
                write(f"    {nodeid}")
        names = ", ".join(service.name for service in missing)
        write("")
        write(f"To run them, start {names}: `make services` starts the local servers that are installed")
        write("(PostgreSQL on 127.0.0.1:5432, Redis on 6379, RabbitMQ on 5672), or point the tests at yours:")
        write("    " + "  ".join(service.how for service in missing) + "  make test")
        if not self.strict:
            write(f"CI sets {STRICT_ENV}=1, which turns a missing server into a failure.")
