"""The outbox counts emails queued (once committed), sent, and failed delivery attempts for /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from notifications.models import Email
from notifications.services import Outcome, email_deliver, email_queue, email_resend

pytestmark = pytest.mark.django_db

CONTEXT = {
    "order": {"number": "BK-2026-000042", "subtotal": "20.00", "discount_total": "0.00", "total": "20.00"},
    "items": [{"quantity": 1, "title": "Dune", "isbn": "9780441013593", "line_total": "20.00"}],
    "currency": "EUR",
    "payment_days": 7,
}


def _counts() -> tuple[float, float, float]:
    return tuple(  # type: ignore[return-value]
        REGISTRY.get_sample_value(f"bookstore_emails_{kind}_total") or 0.0 for kind in ("queued", "sent", "failed")
    )


def _queue(key: str | None = None) -> Email:
    return email_queue(to="reader@example.com", template="orders/email/order_placed", context=CONTEXT, key=key)


def test_queued_after_commit_and_sent_counted(django_capture_on_commit_callbacks, smtp_server):
    queued, sent, failed = _counts()
    with django_capture_on_commit_callbacks() as callbacks:
        email = _queue(key="metrics-1")
        _queue(key="metrics-1")  # the same key again adds no email
        assert _counts() == (queued, sent, failed)
    for callback in callbacks:  # the commit: dispatch (to the in-memory test broker) and count
        callback()
    assert _counts()[0] == queued + 1

    assert email_deliver(email_id=email.pk) is Outcome.SENT
    assert email_deliver(email_id=email.pk) is Outcome.ALREADY_DONE
    assert _counts() == (queued + 1, sent + 1, failed)

    with django_capture_on_commit_callbacks(execute=True):
        assert email_resend(email=email)
    assert _counts() == (queued + 2, sent + 1, failed)


def test_each_failed_attempt_is_counted(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens: connection refused
    _, sent, failed = _counts()
    email = _queue()
    assert email_deliver(email_id=email.pk) is Outcome.RETRY
    assert _counts()[1:] == (sent, failed + 1)
