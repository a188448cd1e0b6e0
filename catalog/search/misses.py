"""The zero-result log: searches that found no book, counted per normalised query.

Counting must not slow the search down. With Redis as the shared cache a miss
is one ``HINCRBY`` on one hash (no database write in the request);
``search_misses_flush`` (a periodic Celery job) moves the counts into
``SearchMiss``. Without Redis (a single-machine set-up) the miss is added to
``SearchMiss`` at once, one statement. An unreachable cache loses that count
and is logged, never an error for the customer.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from bookstore.cache import default_redis
from catalog.models import SearchMiss
from catalog.search.query import normalise_query

logger = logging.getLogger(__name__)

#: The Redis hash holding the counts not yet flushed (under the cache's key prefix).
PENDING_KEY = "search-misses"


def _redis() -> tuple[Any, str] | None:
    redis = default_redis()
    if redis is None:
        return None
    client, backend = redis
    return client, backend.make_key(PENDING_KEY)


def _add(counts: dict[str, int]) -> None:
    now = timezone.now()
    with transaction.atomic():
        for query, count in sorted(counts.items()):
            updated = SearchMiss.objects.filter(query=query).update(count=F("count") + count, last_seen=now)
            if not updated:
                _, created = SearchMiss.objects.get_or_create(
                    query=query, defaults={"count": count, "first_seen": now, "last_seen": now}
                )
                if not created:
                    SearchMiss.objects.filter(query=query).update(
                        count=F("count") + count, last_seen=Greatest(F("last_seen"), now)
                    )


def search_miss_record(*, query: str) -> None:
    """Count one search for ``query`` that found nothing."""
    normalised = normalise_query(query)
    if not normalised:
        return
    try:
        redis = _redis()
        if redis is not None:
            client, key = redis
            client.hincrby(key, normalised, 1)
            return
        _add({normalised: 1})
    except Exception:
        logger.warning("zero-result search not counted", exc_info=True)


def search_misses_flush() -> int:
    """Move the counts waiting in Redis into ``SearchMiss``; returns how many queries were written.

    The hash is renamed before it is read, so misses counted meanwhile wait
    for the next run, and it is deleted only once its counts are stored: a
    run that fails half-way leaves them for the next one (a count may then be
    added twice; none is lost). Running the job twice in a row moves nothing twice.
    """
    redis = _redis()
    if redis is None:
        return 0
    client, key = redis
    flushing = f"{key}:flushing"
    if not client.exists(flushing):
        try:
            client.rename(key, flushing)
        except Exception as exc:  # redis.ResponseError: nothing pending
            if "no such key" in str(exc).lower():
                return 0
            raise
    pending = {
        (field.decode() if isinstance(field, bytes) else field): int(value)
        for field, value in client.hgetall(flushing).items()
    }
    if pending:
        _add(pending)
    client.delete(flushing)
    return len(pending)
