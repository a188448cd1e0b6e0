"""Has a Celery worker reported in lately? A timestamp in the shared cache answers it cheaply.

A periodic task (``bookstore.worker_heartbeat``, every ``HEARTBEAT_INTERVAL``)
runs on whichever worker takes it and records when and where it ran. So a
recent heartbeat proves the whole path works: beat schedules, the broker
carries, a worker runs. The admin dashboard shows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger("bookstore.heartbeat")

HEARTBEAT_KEY = "bookstore:worker-heartbeat"
HEARTBEAT_INTERVAL = timedelta(seconds=20)
# "Reported in during the last minute": three intervals, so one late run is no alarm.
HEARTBEAT_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class WorkerStatus:
    """The last heartbeat (``at``/``hostname``, None if never seen) and whether it is recent."""

    alive: bool
    at: datetime | None
    hostname: str
    seconds_ago: int | None


def heartbeat_record(*, hostname: str, at: datetime | None = None) -> None:
    """Record that the worker ``hostname`` is alive (now, unless ``at`` is given)."""
    at = at or timezone.now()
    cache.set(HEARTBEAT_KEY, {"at": at.isoformat(), "hostname": hostname}, timeout=24 * 3600)


def worker_status(*, now: datetime | None = None) -> WorkerStatus:
    """Whether a worker reported in within ``HEARTBEAT_WINDOW``; an unreachable cache counts as unknown."""
    now = now or timezone.now()
    try:
        record = cache.get(HEARTBEAT_KEY)
    except Exception:
        logger.warning("worker heartbeat: cache unavailable", exc_info=True)
        record = None
    if not isinstance(record, dict) or "at" not in record:
        return WorkerStatus(alive=False, at=None, hostname="", seconds_ago=None)
    at = datetime.fromisoformat(record["at"])
    age = now - at
    return WorkerStatus(
        alive=timedelta(0) - HEARTBEAT_INTERVAL <= age <= HEARTBEAT_WINDOW,
        at=at,
        hostname=str(record.get("hostname", "")),
        seconds_ago=max(int(age.total_seconds()), 0),
    )
