"""Publication status: preorders out of a forthcoming book's allowance, out-of-print books refused, the release job."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from catalog import services
from catalog.exceptions import BookNotOrderable, InsufficientStock
from catalog.models import Book
from catalog.tasks import book_release_due
from orders.dashboard import dashboard_compute
from orders.models import Order, OrderItem
from orders.services import OrderLine, order_place, order_transition
from tests.factories import BookFactory, UserFactory
from tests.helpers import assert_envelope
from tests.orders.test_concurrency import client_for, post_order, run_together

URL = "/api/v1/orders"


def forthcoming(**fields: object) -> Book:
    values: dict[str, object] = {
        "publication_status": "forthcoming",
        "release_date": timezone.localdate() + timedelta(days=30),
        "preorder_allowance": 10,
        "stock": 0,
    }
    values.update(fields)
    return BookFactory(**values)


def fresh(book: Book) -> Book:
    return Book.objects.get(pk=book.pk)


@pytest.mark.django_db
class TestPreorders:
    def test_a_preorder_takes_from_the_allowance_not_the_stock(self, customer_client: APIClient) -> None:
        book = forthcoming(stock=4)
        response = customer_client.post(URL, {"items": [{"book_id": book.pk, "quantity": 3}]}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["items"][0]["is_preorder"] is True
        assert (fresh(book).preorder_allowance, fresh(book).stock) == (7, 4)
        assert OrderItem.objects.get().is_preorder

    def test_an_active_book_is_no_preorder(self, customer_client: APIClient) -> None:
        book = BookFactory(stock=5, preorder_allowance=10)
        response = customer_client.post(URL, {"items": [{"book_id": book.pk, "quantity": 1}]}, format="json")
        assert response.json()["items"][0]["is_preorder"] is False
        assert (fresh(book).preorder_allowance, fresh(book).stock) == (10, 4)

    def test_more_than_the_allowance_is_insufficient_stock_naming_the_allowance(
        self, customer_client: APIClient
    ) -> None:
        book = forthcoming(preorder_allowance=2, stock=50)
        response = customer_client.post(URL, {"items": [{"book_id": book.pk, "quantity": 3}]}, format="json")
        error = assert_envelope(response, 409, "insufficient_stock")
        assert error["details"]["items"] == [{"book_id": book.pk, "requested": 3, "available": 2}]
        assert fresh(book).preorder_allowance == 2

    def test_the_quote_says_preorder_and_checks_the_allowance(self, customer_client: APIClient) -> None:
        book = forthcoming(preorder_allowance=1)
        quote = customer_client.post(f"{URL}/quote", {"items": [{"book_id": book.pk, "quantity": 1}]}, format="json")
        assert quote.status_code == 200, quote.content
        assert quote.json()["items"][0]["is_preorder"] is True
        too_many = customer_client.post(f"{URL}/quote", {"items": [{"book_id": book.pk, "quantity": 2}]}, format="json")
        assert_envelope(too_many, 409, "insufficient_stock")

    def test_an_out_of_print_book_is_400_on_its_line(self, customer_client: APIClient) -> None:
        other = BookFactory(stock=5)
        gone = BookFactory(stock=5, publication_status="out_of_print")
        body = {"items": [{"book_id": other.pk, "quantity": 1}, {"book_id": gone.pk, "quantity": 1}]}
        for url in (URL, f"{URL}/quote"):
            error = assert_envelope(customer_client.post(url, body, format="json"), 400, "validation_error")
            assert list(error["details"]) == ["items.1.book_id"]
            assert "out of print" in error["details"]["items.1.book_id"][0]
        assert not Order.objects.exists()
        assert fresh(gone).stock == 5

    def test_stock_reserve_refuses_an_out_of_print_book_even_past_the_checks(self) -> None:
        gone = BookFactory(stock=5, publication_status="out_of_print")
        with pytest.raises(BookNotOrderable), transaction.atomic():
            services.stock_reserve(quantities={gone.pk: 1})
        assert fresh(gone).stock == 5

    def test_cancelling_a_preorder_returns_it_to_the_allowance(self) -> None:
        book = forthcoming()
        user = UserFactory()
        order = order_place(user=user, items=[OrderLine(book.pk, 4)])
        assert fresh(book).preorder_allowance == 6
        order_transition(order=order, to="cancelled", by=user)
        assert (fresh(book).preorder_allowance, fresh(book).stock) == (10, 0)

    def test_a_preorder_cancelled_after_the_release_returns_its_copy_to_stock(self) -> None:
        book = forthcoming(stock=3)
        user = UserFactory()
        order = order_place(user=user, items=[OrderLine(book.pk, 2)])
        Book.objects.filter(pk=book.pk).update(release_date=timezone.localdate())
        assert book_release_due() == 1
        order_transition(order=order, to="cancelled", by=user)
        assert (fresh(book).publication_status, fresh(book).preorder_allowance, fresh(book).stock) == ("active", 0, 5)

    def test_preorders_show_on_the_dashboard_per_forthcoming_title(self) -> None:
        soon = forthcoming(title="Soon", release_date=timezone.localdate() + timedelta(days=3))
        later = forthcoming(title="Later", release_date=timezone.localdate() + timedelta(days=60))
        for quantity in (2, 3):
            order_place(user=UserFactory(), items=[OrderLine(soon.pk, quantity)])
        cancelled = order_place(user=UserFactory(), items=[OrderLine(soon.pk, 1)])
        order_transition(order=cancelled, to="cancelled", by=None)
        preorders = dashboard_compute().preorders
        assert [(p.title, p.preordered, p.allowance_left) for p in preorders] == [("Soon", 5, 5), ("Later", 0, 10)]
        assert preorders[1].book_id == later.pk


@pytest.mark.django_db
class TestRelease:
    def test_the_job_activates_books_whose_release_date_has_come(self) -> None:
        today = timezone.localdate()
        due = forthcoming(release_date=today, preorder_allowance=4, stock=12)
        overdue = forthcoming(release_date=today - timedelta(days=2))
        not_yet = forthcoming(release_date=today + timedelta(days=1))

        assert book_release_due() == 2
        assert book_release_due() == 0  # safe to run twice

        assert (fresh(due).publication_status, fresh(due).preorder_allowance, fresh(due).stock) == ("active", 0, 12)
        assert fresh(overdue).publication_status == "active"
        assert (fresh(not_yet).publication_status, fresh(not_yet).preorder_allowance) == ("forthcoming", 10)

    def test_released_books_are_ordered_from_stock(self) -> None:
        book = forthcoming(release_date=date(2020, 1, 1), stock=1)
        services.book_release_due()
        item = order_place(user=UserFactory(), items=[OrderLine(book.pk, 1)]).items.get()
        assert not item.is_preorder
        assert fresh(book).stock == 0
        with pytest.raises(InsufficientStock):
            order_place(user=UserFactory(), items=[OrderLine(book.pk, 1)])

    def test_the_job_is_on_the_beat_schedule(self) -> None:
        job = PeriodicTask.objects.get(name="catalog.book_release_due")
        assert (job.task, job.enabled, job.interval.every, job.interval.period) == (
            "catalog.book_release_due",
            True,
            3600,
            "seconds",
        )
        assert PeriodicTask.objects.filter(name="catalog.back_in_stock_sweep", enabled=True).exists()


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_preorders_against_an_allowance_of_ten_sell_exactly_ten() -> None:
    book = forthcoming(preorder_allowance=10, stock=100)
    clients = [client_for(UserFactory()) for _ in range(30)]

    results = run_together(lambda client: post_order(client, [(book.pk, 1)]), clients)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 20}, statuses
    assert all(
        response.json()["error"]["code"] == "insufficient_stock" for status, response in results if status == 409
    )
    assert (fresh(book).preorder_allowance, fresh(book).stock) == (0, 100)
    assert Order.objects.count() == 10
    assert set(OrderItem.objects.values_list("quantity", "is_preorder")) == {(1, True)}
