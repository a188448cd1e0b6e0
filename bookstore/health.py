"""Liveness (``/healthz``) and readiness (``/readyz``) probes."""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bookstore.broker import broker_check

logger = logging.getLogger("bookstore.health")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        # Drop the broken connection so the next request reconnects.
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def check_cache() -> bool:
    key = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception:
        logger.warning("readiness: cache unreachable", exc_info=True)
        return False
    return ok


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database, the shared cache and the task broker all answer."""
    checks = {
        "database": "ok" if check_database() else "unavailable",
        "cache": "ok" if check_cache() else "unavailable",
        "broker": "ok" if broker_check() else "unavailable",
    }
    ready = all(value == "ok" for value in checks.values())
    response = JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
    if not ready:
        response["Retry-After"] = "5"
    return response
