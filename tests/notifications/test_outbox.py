"""The email outbox: queued with the change that causes it, delivered once, retried, swept."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from notifications import services
from notifications.models import Email
from notifications.services import (
    Outcome,
    email_build_deferred,
    email_deliver,
    email_queue,
    email_queued,
    email_resend,
    email_sweep,
)
from tests.smtp import parts

pytestmark = pytest.mark.django_db

TEMPLATE = "orders/email/order_placed"


class _Order:
    number = "BK-2026-000042"
    subtotal = "20.00"
    discount_total = "0.00"
    total = "20.00"


def _context() -> dict[str, Any]:
    items = [{"quantity": 2, "title": "Dune", "isbn": "9780441013593", "line_total": "20.00"}]
    return {"order": _Order(), "items": items, "currency": "EUR", "payment_days": 7}


def _queue(key: str | None = None, to: str = "reader@example.com") -> Email:
    return email_queue(to=to, template=TEMPLATE, context=_context(), key=key)


def test_queue_renders_text_and_html_with_store_name_and_address(settings):
    settings.STORE_NAME = "Chapter & Verse"
    settings.STORE_ADDRESS = "12 Quay Street, Galway"
    email = _queue()
    assert email.state == Email.State.QUEUED
    assert email.subject == "Chapter & Verse: order BK-2026-000042 received"
    for body in (email.body_text, email.body_html):
        assert "BK-2026-000042" in body
        assert "Dune" in body
        assert "12 Quay Street, Galway" in body
    assert "Chapter &amp; Verse" in email.body_html
    assert "Chapter & Verse" in email.body_text
    assert email.body_html.lstrip().startswith("<!DOCTYPE html>")


def test_an_email_queued_in_a_transaction_that_rolls_back_does_not_exist():
    def change_that_fails() -> None:
        with transaction.atomic():
            _queue()
            raise RuntimeError("the change that caused the email failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not Email.objects.exists()


def test_queuing_the_same_key_twice_queues_one_email():
    first = _queue(key="order-placed:1")
    second = _queue(key="order-placed:1")
    assert first.pk == second.pk
    assert Email.objects.count() == 1


def test_the_task_is_sent_after_the_commit_only(django_capture_on_commit_callbacks, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(services.current_app, "send_task", lambda name, kwargs: sent.append(kwargs["email_id"]))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = _queue()
    assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [email.pk]


def test_a_broker_outage_does_not_fail_the_commit(django_capture_on_commit_callbacks, monkeypatch):
    def broker_down(name: str, kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(services.current_app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        email = _queue()
    email.refresh_from_db()
    assert email.state == Email.State.QUEUED


def test_deliver_sends_both_parts_once_and_marks_it_sent():
    email = _queue()
    assert email_deliver(email_id=email.pk) is Outcome.SENT
    assert email_deliver(email_id=email.pk) is Outcome.ALREADY_DONE
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.com"]
    assert message.alternatives[0][1] == "text/html"  # type: ignore[attr-defined]
    assert message.extra_headers["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert (email.state, email.attempts, email.sent_at is not None) == (Email.State.SENT, 1, True)


def test_deliver_leaves_an_email_alone_while_another_worker_holds_its_lease(settings):
    email = _queue()
    Email.objects.filter(pk=email.pk).update(state=Email.State.SENDING, due_at=timezone.now() + timedelta(minutes=5))
    assert email_deliver(email_id=email.pk) is Outcome.HELD
    assert mail.outbox == []


def test_deliver_takes_over_an_email_whose_worker_died_once_the_lease_ran_out():
    email = _queue()
    Email.objects.filter(pk=email.pk).update(
        state=Email.State.SENDING, attempts=1, due_at=timezone.now() - timedelta(seconds=1)
    )
    assert email_deliver(email_id=email.pk) is Outcome.SENT
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert (email.state, email.attempts) == (Email.State.SENT, 2)


def test_a_failed_attempt_is_queued_again_with_backoff_then_given_up(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # discard port: nothing listens, the connection is refused
    settings.EMAIL_MAX_ATTEMPTS = 2
    email = _queue()
    before = timezone.now()
    assert email_deliver(email_id=email.pk) is Outcome.RETRY
    email.refresh_from_db()
    assert email.state == Email.State.QUEUED
    assert email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    assert email.due_at >= before + timedelta(seconds=30)
    Email.objects.filter(pk=email.pk).update(due_at=timezone.now())
    assert email_deliver(email_id=email.pk) is Outcome.ALREADY_DONE
    email.refresh_from_db()
    assert (email.state, email.attempts) == (Email.State.FAILED, 2)


def test_retry_delay_grows_exponentially_up_to_an_hour():
    assert [services.retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.retry_delay(50) == timedelta(hours=1)


def test_sweep_dispatches_due_emails_and_expired_leases_only(monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr(services, "email_dispatch", lambda *, email_id: dispatched.append(email_id) or True)
    now = timezone.now()
    lost = _queue(key="lost")
    Email.objects.filter(pk=lost.pk).update(due_at=now - timedelta(seconds=1))
    fresh = _queue(key="fresh")  # its task is on its way
    dead_worker = _queue(key="dead")
    Email.objects.filter(pk=dead_worker.pk).update(state=Email.State.SENDING, due_at=now - timedelta(seconds=1))
    busy = _queue(key="busy")
    Email.objects.filter(pk=busy.pk).update(state=Email.State.SENDING, due_at=now + timedelta(minutes=5))
    sent = _queue(key="sent")
    Email.objects.filter(pk=sent.pk).update(state=Email.State.SENT, due_at=now - timedelta(hours=1))
    assert email_sweep() == 2
    assert sorted(dispatched) == sorted([lost.pk, dead_worker.pk])
    assert fresh.pk not in dispatched


def test_resend_queues_a_sent_email_again_with_a_new_message_id(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(services, "email_dispatch", lambda *, email_id: True)
    email = _queue()
    email_deliver(email_id=email.pk)
    email.refresh_from_db()
    first_id = email.message_id
    assert email_resend(email=email) is True
    email.refresh_from_db()
    assert email.state == Email.State.QUEUED
    assert email.message_id != first_id
    assert email_resend(email=email) is False  # already queued
    email_deliver(email_id=email.pk)
    assert len(mail.outbox) == 2


def test_delivery_reaches_a_real_smtp_server_with_both_parts(smtp_server):
    email = _queue()
    assert email_deliver(email_id=email.pk) is Outcome.SENT
    [message] = smtp_server.wait_for(1, timeout=10)
    assert message["To"] == "reader@example.com"
    assert message["Message-ID"] == email.message_id
    assert message["Subject"] == email.subject
    text, html = parts(message)
    assert "BK-2026-000042" in text
    assert "BK-2026-000042" in html
    assert "<table" in html
    assert "<table" not in text


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_email_at_once_send_it_once(smtp_server):
    email = _queue()
    smtp_server.handler.hold_first_mail = True  # the first worker stays mid-conversation
    outcomes: list[Outcome] = []

    def first_worker() -> None:
        try:
            outcomes.append(email_deliver(email_id=email.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    try:
        assert smtp_server.handler.holding.wait(timeout=20)
        assert email_deliver(email_id=email.pk) is Outcome.HELD  # the second worker backs off
    finally:
        smtp_server.handler.release.set()
        thread.join(timeout=30)
    assert outcomes == [Outcome.SENT]
    assert len(smtp_server.wait_for(1, timeout=10)) == 1
    email.refresh_from_db()
    assert (email.state, email.attempts) == (Email.State.SENT, 1)


# --- queued unrendered, rendered by the worker that sends it -------------------------


def _snapshot_context() -> dict[str, Any]:
    order = {
        "number": "BK-2026-000042",
        "subtotal": Decimal("1234.50"),
        "discount_total": Decimal("0.00"),
        "fulfilment": "delivery",
        "shipping_method_name": "Parcel & Co",
        "shipping": Decimal("4.95"),
        "total": Decimal("1239.45"),
    }
    items = [{"quantity": 2, "title": "Dune <deluxe>", "isbn": "9780441013593", "line_total": Decimal("1234.50")}]
    return {"order": order, "items": items, "currency": "EUR", "payment_days": 7, "payment_minutes": None}


def _queue_deferred(key: str | None = None) -> Email:
    with transaction.atomic():
        email = email_build_deferred(to="reader@example.com", template=TEMPLATE, context=_snapshot_context(), key=key)
        email.save(force_insert=True)
        email_queued(email)
    return email


def test_a_deferred_email_is_rendered_by_the_worker_exactly_as_email_build_renders_it(settings, monkeypatch):
    settings.STORE_NAME = "Chapter & Verse"
    expected = services.email_build(to="reader@example.com", template=TEMPLATE, context=_snapshot_context())

    def no_rendering(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("rendered when queued")

    with monkeypatch.context() as patched:
        patched.setattr(services, "render_to_string", no_rendering)
        email = _queue_deferred(key="k")
    stored = Email.objects.get(pk=email.pk)
    assert (stored.subject, stored.body_text, stored.body_html) == ("", "", "")
    assert stored.context["order"]["subtotal"] == {"$decimal": "1234.50"}

    settings.STORE_NAME = "Renamed since"  # the snapshot keeps the store's name as it was when queued
    assert email_deliver(email_id=email.pk) is Outcome.SENT
    stored.refresh_from_db()
    content = (expected.subject, expected.body_text, expected.body_html)
    assert (stored.subject, stored.body_text, stored.body_html) == content
    assert "1234.50 EUR" in stored.body_text
    assert "Dune &lt;deluxe&gt;" in stored.body_html
    assert stored.context is None
    [message] = mail.outbox
    assert (message.subject, message.body, message.alternatives[0][0]) == content  # type: ignore[attr-defined]


def test_a_deferred_email_keeps_its_key_and_is_rendered_once_even_when_its_first_attempt_fails(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens: the send fails after the rendering
    email = _queue_deferred(key="order-placed:42")
    assert email_queue(to="reader@example.com", template=TEMPLATE, context=_context(), key="order-placed:42") == email
    assert Email.objects.count() == 1
    assert email_deliver(email_id=email.pk) is Outcome.RETRY
    email.refresh_from_db()
    assert (email.state, email.context) == (Email.State.QUEUED, None)
    assert "BK-2026-000042" in email.subject
    rendered = (email.subject, email.body_text, email.body_html)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Email.objects.filter(pk=email.pk).update(due_at=timezone.now())
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(services, "render_to_string", lambda *args, **kwargs: "rendered again")
        assert email_deliver(email_id=email.pk) is Outcome.SENT
    [message] = mail.outbox
    assert (message.subject, message.body) == rendered[:2]


def test_a_deferred_email_whose_template_fails_is_retried_and_not_sent(monkeypatch):
    email = _queue_deferred()
    monkeypatch.setattr(services, "render_to_string", lambda *args, **kwargs: 1 / 0)
    assert email_deliver(email_id=email.pk) is Outcome.RETRY
    email.refresh_from_db()
    assert (email.state, email.context is not None, mail.outbox) == (Email.State.QUEUED, True, [])
    assert "ZeroDivisionError" in email.last_error


def test_a_deferred_email_survives_in_the_database_and_the_sweep_sends_it(monkeypatch):
    email = _queue_deferred()  # the process dies before the task reaches the broker
    Email.objects.filter(pk=email.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    dispatched: list[int] = []
    monkeypatch.setattr(services, "email_dispatch", lambda *, email_id: dispatched.append(email_id) or True)
    assert email_sweep() == 1
    assert email_deliver(email_id=dispatched[0]) is Outcome.SENT
    assert "BK-2026-000042" in mail.outbox[0].body


def test_a_snapshot_holds_json_values_and_decimals_only():
    with pytest.raises(TypeError):
        email_build_deferred(to="reader@example.com", template=TEMPLATE, context={"order": _Order()})


def test_personal_data_of_a_deferred_email_is_exported_rendered_and_erased():
    _queue_deferred()
    [exported] = services.email_list_to(to="reader@example.com")
    assert "Dune <deluxe>" in exported["body_text"]
    assert "BK-2026-000042" in exported["subject"]
    assert services.emails_erase(to="reader@example.com", replacement="erased@example.invalid") == 1
    erased = Email.objects.get()
    assert (erased.to, erased.context, erased.body_text, erased.state) == (
        "erased@example.invalid",
        None,
        "",
        Email.State.FAILED,
    )
