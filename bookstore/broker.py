"""What the web processes need to know about the Celery broker: is it there, how long are its queues.

Both are read on demand (by ``/readyz`` and by a ``/metrics`` scrape) with one
short connection attempt, so a broker outage makes them answer quickly
instead of hanging the request.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kombu import Connection

from bookstore.celery import app as celery_app

logger = logging.getLogger("bookstore.broker")

# Seconds one readiness or scrape attempt may spend connecting.
BROKER_CHECK_TIMEOUT = 2.0
_FILESYSTEM_FOLDERS = ("data_folder_in", "data_folder_out")


def is_embedded() -> bool:
    """The embedded filesystem transport: a directory on this machine, no server."""
    return str(celery_app.conf.broker_url).startswith("filesystem:")


def _folders() -> list[Path]:
    options = celery_app.conf.broker_transport_options or {}
    return [Path(options[key]) for key in _FILESYSTEM_FOLDERS if options.get(key)]


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        logger.warning("readiness: broker folder %s is not writable", folder, exc_info=True)
        return False
    return True


def _connection() -> Connection:
    return celery_app.connection_for_write(connect_timeout=BROKER_CHECK_TIMEOUT)


def broker_check() -> bool:
    """True if the broker accepts a connection now (embedded transport: its folders are writable)."""
    if is_embedded():
        folders = _folders()
        return bool(folders) and all(_writable(folder) for folder in folders)
    try:
        with _connection() as connection:
            connection.ensure_connection(max_retries=0, timeout=BROKER_CHECK_TIMEOUT)
    except Exception:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False
    return True


@dataclass(frozen=True)
class QueueDepths:
    """Messages waiting per queue; ``up`` is False (and ``depths`` empty) if the broker did not answer."""

    up: bool
    depths: dict[str, int]


def queue_names() -> list[str]:
    """The queues this store's workers consume (Celery's default queue unless routes add more)."""
    return sorted(celery_app.amqp.queues.keys()) or [celery_app.conf.task_default_queue]


def queue_depths() -> QueueDepths:
    """Messages waiting in each queue, read from the broker (a passive declare reports the count).

    Works alike for Redis, RabbitMQ and the embedded filesystem transport (kombu
    counts the message files). A queue nobody declared yet holds 0 messages.
    """
    depths: dict[str, int] = {}
    try:
        with _connection() as connection:
            connection.ensure_connection(max_retries=0, timeout=BROKER_CHECK_TIMEOUT)
            for name in queue_names():
                # A channel per queue: AMQP closes the channel on a passive declare of a missing queue.
                with connection.channel() as channel:
                    try:
                        depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                    except connection.channel_errors:
                        depths[name] = 0
    except Exception:
        logger.warning("metrics: broker unreachable, no queue depth", exc_info=True)
        return QueueDepths(up=False, depths={})
    return QueueDepths(up=True, depths=depths)
