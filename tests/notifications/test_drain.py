"""Batched dispatch: one drain task per burst of order confirmations, every email still delivered."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from catalog.exceptions import InsufficientStock
from notifications import services
from notifications.models import Email
from notifications.services import Outcome, email_deliver, email_drain, email_sweep
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(monkeypatch) -> list[tuple[str, dict[str, Any], float | None]]:
    """The tasks sent to the broker (name, kwargs, countdown), from a fresh drain window."""
    sent: list[tuple[str, dict[str, Any], float | None]] = []

    def send_task(name: str, kwargs: dict[str, Any], countdown: float | None = None) -> None:
        sent.append((name, kwargs, countdown))

    monkeypatch.setattr(services.current_app, "send_task", send_task)
    monkeypatch.setattr(services._DrainWindow, "until", None)
    return sent


def _place(book, user=None):
    return order_place(user=user or UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])


def _drain(task: tuple[str, dict[str, Any], float | None]) -> int:
    name, kwargs, _countdown = task
    assert name == services.DRAIN_TASK
    return email_drain(since=datetime.fromisoformat(kwargs["since"]), until=datetime.fromisoformat(kwargs["until"]))


def test_a_burst_of_orders_sends_one_drain_task_which_dispatches_every_confirmation(
    tasks, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_DISPATCH_BATCH_SECONDS = 1.5
    book = BookFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        orders = [_place(book) for _ in range(3)]
    emails = [Email.objects.get(key=f"order-placed:{order.pk}") for order in orders]
    [drain] = tasks
    assert drain[2] == 1.5  # runs once the window has passed, after every commit in it
    assert datetime.fromisoformat(drain[1]["since"]) == emails[0].created_at
    assert datetime.fromisoformat(drain[1]["until"]) > emails[-1].created_at

    tasks.clear()
    assert _drain(drain) == 3
    assert sorted(kwargs["email_id"] for _name, kwargs, _ in tasks) == sorted(email.pk for email in emails)
    assert {name for name, _kwargs, _ in tasks} == {services.DELIVER_TASK}


def test_an_order_after_the_window_sends_the_next_drain_task(tasks, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_DISPATCH_BATCH_SECONDS = 1.0
    book = BookFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        _place(book)
    assert len(tasks) == 1
    services._DrainWindow.until = timezone.now() - timedelta(microseconds=1)  # the window has passed
    with django_capture_on_commit_callbacks(execute=True):
        second = _place(book)
    assert len(tasks) == 2
    email = Email.objects.get(key=f"order-placed:{second.pk}")
    assert datetime.fromisoformat(tasks[1][1]["since"]) == email.created_at


def test_the_drain_dispatches_only_fresh_queued_emails_of_its_window(
    tasks, settings, django_capture_on_commit_callbacks
):
    book = BookFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        fresh, retried, sent = (_place(book) for _ in range(3))
    [drain] = tasks
    Email.objects.filter(key=f"order-placed:{retried.pk}").update(attempts=1, due_at=timezone.now())
    Email.objects.filter(key=f"order-placed:{sent.pk}").update(state=Email.State.SENT)
    with django_capture_on_commit_callbacks(execute=True):
        later = _place(book)  # inside the window too: covered by the same task
    tasks.clear()
    assert _drain(drain) == 2
    dispatched = {kwargs["email_id"] for _name, kwargs, _ in tasks}
    assert dispatched == {Email.objects.get(key=f"order-placed:{order.pk}").pk for order in (fresh, later)}

    tasks.clear()
    until = datetime.fromisoformat(drain[1]["until"])
    assert email_drain(since=until, until=until + timedelta(hours=1)) == 0  # another window: none of these
    assert tasks == []


def test_the_drain_pages_through_a_large_window(tasks, django_capture_on_commit_callbacks):
    book = BookFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        orders = [_place(book) for _ in range(5)]
    [drain] = tasks
    tasks.clear()
    since, until = (datetime.fromisoformat(drain[1][name]) for name in ("since", "until"))
    assert email_drain(since=since, until=until, batch=2) == 5
    assert sorted(kwargs["email_id"] for _name, kwargs, _ in tasks) == sorted(
        Email.objects.get(key=f"order-placed:{order.pk}").pk for order in orders
    )


def test_drained_emails_are_delivered_once(tasks, django_capture_on_commit_callbacks):
    book = BookFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        order = _place(book, user=UserFactory(email="reader@example.com"))
    [drain] = tasks
    tasks.clear()
    _drain(drain)
    _drain(drain)  # a second drain of the same window (another process's, or a redelivery) dispatches it again
    assert len(tasks) == 2
    outcomes = [email_deliver(email_id=kwargs["email_id"]) for _name, kwargs, _ in tasks]
    assert outcomes == [Outcome.SENT, Outcome.ALREADY_DONE]
    assert len(mail.outbox) == 1
    assert order.number in mail.outbox[0].subject


def test_with_the_broker_down_the_next_order_asks_again_and_the_sweep_sends_the_email(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services._DrainWindow, "until", None)
    sent: list[tuple[str, dict[str, Any]]] = []

    def broker_down(name: str, kwargs: dict[str, Any], countdown: float | None = None) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(services.current_app, "send_task", broker_down)
    book = BookFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        first = _place(book)  # placed all the same
    assert services._DrainWindow.until is None

    monkeypatch.setattr(
        services.current_app, "send_task", lambda name, kwargs, countdown=None: sent.append((name, kwargs))
    )
    with django_capture_on_commit_callbacks(execute=True):
        _place(book)
    assert [name for name, _kwargs in sent] == [services.DRAIN_TASK]  # the broker is back: a drain is sent

    email = Email.objects.get(key=f"order-placed:{first.pk}")
    assert (email.state, email.attempts) == (Email.State.QUEUED, 0)
    settings.EMAIL_SWEEP_GRACE = timedelta(0)
    Email.objects.filter(pk=email.pk).update(due_at=timezone.now())
    sent.clear()
    email_sweep()
    assert (services.DELIVER_TASK, {"email_id": email.pk}) in sent


def test_without_batching_each_confirmation_has_its_own_task(tasks, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_DISPATCH_BATCH_SECONDS = 0
    book = BookFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        orders = [_place(book) for _ in range(2)]
    assert tasks == [
        (services.DELIVER_TASK, {"email_id": Email.objects.get(key=f"order-placed:{order.pk}").pk}, None)
        for order in orders
    ]


def test_a_rolled_back_placement_sends_no_task(tasks, django_capture_on_commit_callbacks):
    book = BookFactory(stock=1)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InsufficientStock):
        order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=2)])
    assert tasks == []
    assert not Email.objects.exists()
