"""Outbox tasks: thin wrappers over ``notifications.services``; each is safe to run twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import shared_task
from django.db import DatabaseError

from notifications import services

# A sweep or a drain that met a database error runs again (a few times, backing off); both are safe to repeat.
_RETRIED_ON_DATABASE_ERRORS: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(
    bind=True,
    name=services.DELIVER_TASK,
    acks_late=True,
    max_retries=None,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=600,
)
def email_deliver(self: Any, email_id: int) -> str:
    """Deliver one email; on failure retry with the outbox's backoff, while another worker holds it wait."""
    outcome = services.email_deliver(email_id=email_id)
    if outcome is services.Outcome.RETRY:
        attempts = services.Email.objects.filter(pk=email_id).values_list("attempts", flat=True).first() or 1
        raise self.retry(countdown=services.retry_delay(attempts).total_seconds())
    if outcome is services.Outcome.HELD:
        # Its worker may have died mid-send: try again once the lease has run out.
        raise self.retry(countdown=services.email_lease_remaining(email_id=email_id).total_seconds() + 1)
    return outcome.value


@shared_task(
    name="notifications.email_sweep",
    **_RETRIED_ON_DATABASE_ERRORS,
)
def email_sweep() -> int:
    """Periodic: send the tasks of queued emails that never reached a worker."""
    return services.email_sweep()


@shared_task(
    name=services.DRAIN_TASK,
    **_RETRIED_ON_DATABASE_ERRORS,
)
def email_drain(since: str, until: str) -> int:
    """Dispatch the emails a web process queued batched in one window (``services.email_drain``)."""
    return services.email_drain(since=datetime.fromisoformat(since), until=datetime.fromisoformat(until))
