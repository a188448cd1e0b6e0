"""Fixtures for the worker tests: a real SMTP server, brokers and Celery worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from tests.factories import BookFactory, UserFactory
from tests.smtp import SmtpServer
from tests.workers.harness import RABBITMQ_URL, RedisServer, Worker, app_env, unique_queue


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own (never the shared one on 6379), so the test may stop it."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rabbitmq_queue() -> Iterator[str]:
    """A queue name of this test's own on the real RabbitMQ; deleted afterwards."""
    queue = unique_queue()
    yield queue
    with Connection(RABBITMQ_URL, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            channel.queue_delete(queue)
        finally:
            channel.close()


@pytest.fixture
def customer_and_book(transactional_db: Any) -> tuple[Any, Any]:
    """Committed rows the worker processes can see."""
    return UserFactory(email="reader@example.com"), BookFactory(stock=5, title="The Left Hand of Darkness")


@pytest.fixture
def workers() -> Iterator[Callable[..., Worker]]:
    """``workers(env)`` → a started worker; every one is stopped after the test."""
    started: list[Worker] = []

    def start(env: dict[str, str], *args: str) -> Worker:
        worker = Worker(env, *args)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def make_env(tmp_path: Path, smtp_server: SmtpServer) -> Callable[..., dict[str, str]]:
    def make(*, broker: str, queue: str | None = None, **extra: str) -> dict[str, str]:
        return app_env(broker=broker, queue=queue or unique_queue(), email_url=smtp_server.url, var=tmp_path, **extra)

    return make
