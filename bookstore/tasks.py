"""Tasks of the project itself (not of a domain app)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from bookstore.heartbeat import heartbeat_record


@shared_task(bind=True, name="bookstore.worker_heartbeat", ignore_result=True, acks_late=False)
def worker_heartbeat(self: Any) -> None:
    """Periodic: record that a worker is alive (the admin dashboard shows it). Harmless to run twice."""
    heartbeat_record(hostname=self.request.hostname or "unknown")
