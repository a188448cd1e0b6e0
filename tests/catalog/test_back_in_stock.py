"""Back-in-stock notices: subscribing, the fan-out after any restock, one email per subscriber per restock.

The tasks travel through the test broker (Celery's in-memory transport): a
restock's commit sends ``catalog.back_in_stock_notify`` there, and ``work()``
plays the worker, taking each message off the queue and running its task,
until the queue is empty. Emails go through the outbox to a real SMTP server.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from celery import current_app
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

import catalog.tasks  # noqa: F401  (registers the catalog tasks, as a worker's autodiscovery does)
import notifications.tasks  # noqa: F401
from catalog import services
from catalog.bulk import books_upsert
from catalog.importing import BookRow
from catalog.models import Book, StockSubscription
from notifications.models import Email
from orders.services import OrderLine, order_place, order_transition
from tests.factories import BookFactory, UserFactory
from tests.helpers import assert_envelope
from tests.smtp import SmtpServer

pytestmark = pytest.mark.django_db

NOTIFY_TASK = "catalog.back_in_stock_notify"


class Broker:
    """The test broker's queue: what was sent, and a worker loop that runs it."""

    def __init__(self, capture: Callable[..., Any]) -> None:
        self.capture = capture
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.pending: list[tuple[str, list[Any], dict[str, Any]]] = []

    def _take(self) -> None:
        taken = []
        with current_app.connection_for_read() as connection:
            queue = connection.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE)
            try:
                while True:
                    try:
                        message = queue.get(block=False)
                    except queue.Empty:
                        break
                    args, kwargs, _embed = message.payload
                    taken.append((message.headers["task"], args, kwargs))
                    message.ack()
            finally:
                queue.close()
        self.seen += [(name, kwargs) for name, _args, kwargs in taken]
        self.pending += taken

    def sent(self, name: str = NOTIFY_TASK) -> list[dict[str, Any]]:
        """The keyword arguments of every ``name`` task sent so far (taking the queue's messages)."""
        self._take()
        return [kwargs for task, kwargs in self.seen if task == name]

    def work(self) -> None:
        """Run every queued task, and the tasks they queue after their commits, until none is left."""
        while True:
            self._take()
            if not self.pending:
                return
            taken, self.pending = self.pending, []
            for name, args, kwargs in taken:
                with self.capture(execute=True):
                    current_app.tasks[name].apply(args=args, kwargs=kwargs).get()


@pytest.fixture
def broker(django_capture_on_commit_callbacks: Callable[..., Any]) -> Broker:
    queue = Broker(django_capture_on_commit_callbacks)
    queue._take()  # what earlier tests left
    queue.seen.clear()
    queue.pending.clear()
    return queue


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def subscribe(book: Book, *emails: str) -> list[Any]:
    users = [UserFactory(email=email) for email in emails]
    for user in users:
        services.stock_subscribe(book=book, user=user)
    return users


# --- The endpoint ------------------------------------------------------------------


def test_subscribe_and_unsubscribe(customer_client: APIClient, user: Any) -> None:
    book = BookFactory(stock=0)
    url = f"/api/v1/books/{book.pk}/notify"
    assert customer_client.post(url).status_code == 204
    assert customer_client.post(url).status_code == 204  # again: still one subscription
    assert StockSubscription.objects.filter(book=book, user=user, notified_at=None).count() == 1
    assert customer_client.delete(url).status_code == 204
    assert not StockSubscription.objects.exists()
    assert customer_client.delete(url).status_code == 204  # nothing to drop is fine


def test_a_book_in_stock_is_409(customer_client: APIClient) -> None:
    book = BookFactory(stock=3)
    assert_envelope(customer_client.post(f"/api/v1/books/{book.pk}/notify"), 409, "conflict")
    assert not StockSubscription.objects.exists()


def test_anonymous_is_401_and_a_hidden_book_404(api_client: APIClient, customer_client: APIClient) -> None:
    book = BookFactory(stock=0)
    assert_envelope(api_client.post(f"/api/v1/books/{book.pk}/notify"), 401, "not_authenticated")
    hidden = BookFactory(stock=0, is_active=False)
    assert_envelope(customer_client.post(f"/api/v1/books/{hidden.pk}/notify"), 404, "not_found")
    assert_envelope(customer_client.post("/api/v1/books/999999/notify"), 404, "not_found")


# --- One email per subscriber per restock ---------------------------------------------


def test_a_restock_emails_every_subscriber_once_through_smtp(
    staff_client: APIClient, broker: Broker, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    book = BookFactory(stock=0, title="The Dispossessed")
    subscribe(book, "ann@example.com", "bob@example.com")
    gone = subscribe(book, "cid@example.com")[0]
    services.stock_unsubscribe(book=book, user=gone)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"/api/v1/books/{book.pk}", {"stock": 4}, format="json")
    assert response.status_code == 200
    assert broker.sent() == [{"book_ids": [book.pk]}]
    broker.seen.clear()
    broker.work()  # the fan-out task, then the two delivery tasks it queued

    messages = smtp_server.wait_for(2, timeout=10)
    assert sorted(message["To"] for message in messages) == ["ann@example.com", "bob@example.com"]
    assert all("The Dispossessed is back in stock" in message["Subject"] for message in messages)
    assert not StockSubscription.objects.filter(notified_at=None).exists()
    assert set(Email.objects.values_list("key", flat=True)) == {
        f"back-in-stock:{pk}" for pk in StockSubscription.objects.values_list("pk", flat=True)
    }

    broker.work()  # nothing left to do
    services.back_in_stock_notify(book_ids=[book.pk])  # a task delivered twice sends nothing new
    assert len(smtp_server.messages) == 2


def test_a_rise_a_fall_and_a_rise_within_the_hour_sends_once(
    staff_client: APIClient, broker: Broker, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    book = BookFactory(stock=0)
    subscribe(book, "ann@example.com")

    def set_stock(stock: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert staff_client.patch(f"/api/v1/books/{book.pk}", {"stock": stock}, format="json").status_code == 200

    set_stock(2)
    broker.work()
    set_stock(0)
    set_stock(5)
    broker.work()
    smtp_server.wait_for(1, timeout=10)
    assert [message["To"] for message in smtp_server.messages] == ["ann@example.com"]

    # Someone who subscribed during the fall is told about the rise that follows, once.
    set_stock(0)
    subscribe(book, "bob@example.com")
    set_stock(1)
    broker.work()
    smtp_server.wait_for(2, timeout=10)
    assert [message["To"] for message in smtp_server.messages] == ["ann@example.com", "bob@example.com"]


def test_no_task_when_nobody_waits_or_the_stock_stays_at_zero(
    staff_client: APIClient, broker: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    nobody = BookFactory(stock=0)
    waited_for = BookFactory(stock=0)
    subscribe(waited_for, "ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.book_update(book=nobody, stock=3)
        services.book_update(book=waited_for, title="Retitled")
        services.book_update(book=waited_for, stock=0)
    assert broker.sent() == []


# --- Every path that raises stock ---------------------------------------------------------


def test_an_admin_stock_edit_notifies(broker: Broker, django_capture_on_commit_callbacks: Any, staff_user: Any) -> None:
    book = BookFactory(stock=0, price=Decimal("10.00"))
    subscribe(book, "ann@example.com")
    client = Client()
    client.force_login(staff_user)
    data = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 1,
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
        "form-0-id": book.pk,
        "form-0-price": "10.00",
        "initial-form-0-price": "10.00",
        "form-0-stock": "6",
        "initial-form-0-stock": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/catalog/book/", data)
    assert response.status_code == 302
    assert broker.sent() == [{"book_ids": [book.pk]}]


def test_an_import_that_restocks_notifies(broker: Broker, django_capture_on_commit_callbacks: Any) -> None:
    book = BookFactory(stock=0, isbn="9780441013593", title="Dune")
    subscribe(book, "ann@example.com")
    row = BookRow(
        line=2,
        present=frozenset({"stock"}),
        isbn="9780441013593",
        title="Dune",
        authors=("Frank Herbert",),
        price=Decimal("9.99"),
        stock=7,
    )
    with django_capture_on_commit_callbacks(execute=True):
        books_upsert(rows=[row])
    assert broker.sent() == [{"book_ids": [book.pk]}]


def test_goods_in_and_a_stock_take_above_zero_notify(
    broker: Broker, django_capture_on_commit_callbacks: Any, staff_user: Any
) -> None:
    received, counted, still_gone = BookFactory(stock=0), BookFactory(stock=0), BookFactory(stock=0)
    for book in (received, counted, still_gone):
        subscribe(book, f"reader-{book.pk}@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_receive(counts={received.pk: 4}, by=staff_user)
    assert broker.sent() == [{"book_ids": [received.pk]}]
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_take(counts={counted.pk: 2, still_gone.pk: 0}, by=staff_user)
    assert broker.sent()[1:] == [{"book_ids": [counted.pk]}]


@pytest.mark.parametrize("by_system", [False, True], ids=["cancelled", "expired"])
def test_a_cancelled_order_returning_the_last_copies_notifies(
    broker: Broker, django_capture_on_commit_callbacks: Any, by_system: bool
) -> None:
    book = BookFactory(stock=2)
    buyer = UserFactory()
    order = order_place(user=buyer, items=[OrderLine(book.pk, 2)])
    subscribe(book, "ann@example.com")
    broker.sent()
    broker.seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # The payment expiry cancels through the same transition with by=None.
        order_transition(order=order, to="cancelled", by=None if by_system else buyer)
    assert {"book_ids": [book.pk]} in broker.sent()


def test_the_release_of_a_forthcoming_book_with_stock_notifies(
    broker: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    book = BookFactory(stock=0)
    subscribe(book, "ann@example.com")
    Book.objects.filter(pk=book.pk).update(stock=8, publication_status="forthcoming", release_date=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.book_release_due() == 1
    assert broker.sent() == [{"book_ids": [book.pk]}]


def test_the_sweep_sends_what_a_lost_task_left_undone(broker: Broker, smtp_server: SmtpServer) -> None:
    book = BookFactory(stock=0)
    subscribe(book, "ann@example.com")
    Book.objects.filter(pk=book.pk).update(stock=3)  # as if the task never reached a worker
    current_app.send_task("catalog.back_in_stock_sweep")
    broker.work()
    assert [message["To"] for message in smtp_server.wait_for(1, timeout=10)] == ["ann@example.com"]


# --- Staff see who waits -----------------------------------------------------------------------


def test_staff_see_waiting_counts_in_the_book_list(staff_user: Any) -> None:
    wanted = BookFactory(stock=0, title="Wanted")
    BookFactory(stock=0, title="Unwanted")
    subscribe(wanted, "a@example.com", "b@example.com", "c@example.com")
    client = Client()
    client.force_login(staff_user)
    response = client.get("/admin/catalog/book/", {"waiting": "yes"})
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [(book.title, book.waiting_subscribers) for book in rows] == [("Wanted", 3)]
    assert '<td class="field-waiting_subscribers">3</td>' in response.content.decode()
    page = client.get("/admin/catalog/book/", {"o": "-8"})  # sortable by the count
    assert page.status_code == 200
