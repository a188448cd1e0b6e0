"""The daily recent-sales job: copies sold in the last 90 days, per book, author and series."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Author, Book, Series
from orders.models import Order
from orders.popularity import recent_sales
from orders.tasks import refresh_recent_sales
from tests.factories import AuthorFactory, BookFactory, OrderFactory, OrderItemFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def _sold(book: Book, quantity: int, status: str = "paid", age: timedelta = timedelta(days=1)) -> None:
    order = OrderFactory(status=status)
    OrderItemFactory(order=order, book=book, quantity=quantity)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - age)


def _figure(model: type, obj: object) -> int:
    return model.objects.get(pk=obj.pk).recent_sales  # type: ignore[attr-defined]


def test_paid_shipped_and_delivered_copies_of_the_last_90_days_count() -> None:
    herbert, artist = AuthorFactory(), AuthorFactory()
    dune_series = SeriesFactory()
    dune = BookFactory(contributors=[(herbert, "author"), (herbert, "illustrator"), (artist, "illustrator")])
    Book.objects.filter(pk=dune.pk).update(series=dune_series)
    messiah = BookFactory(authors=[herbert], series=dune_series)
    unsold = BookFactory(authors=[herbert])
    _sold(dune, 3, "paid")
    _sold(dune, 2, "shipped")
    _sold(dune, 1, "delivered", age=timedelta(days=89, hours=23))
    _sold(dune, 50, "pending")
    _sold(dune, 40, "cancelled")
    _sold(dune, 30, "delivered", age=timedelta(days=90, minutes=1))
    _sold(messiah, 4, "paid")

    assert recent_sales() == {dune.pk: 6, messiah.pk: 4}
    assert refresh_recent_sales() == 2

    assert (_figure(Book, dune), _figure(Book, messiah), _figure(Book, unsold)) == (6, 4, 0)
    # Herbert is credited twice on Dune: its copies count once.
    assert (_figure(Author, herbert), _figure(Author, artist)) == (10, 6)
    assert _figure(Series, dune_series) == 10
    # Nothing changed since: nothing is written.
    assert refresh_recent_sales() == 0


def test_sales_that_leave_the_window_go_back_to_zero() -> None:
    author = AuthorFactory()
    series = SeriesFactory()
    book = BookFactory(authors=[author], series=series)
    _sold(book, 5)
    refresh_recent_sales()
    assert (_figure(Book, book), _figure(Author, author), _figure(Series, series)) == (5, 5, 5)

    Order.objects.update(created_at=timezone.now() - timedelta(days=91))

    assert refresh_recent_sales() == 1
    assert (_figure(Book, book), _figure(Author, author), _figure(Series, series)) == (0, 0, 0)


def test_the_figures_order_suggestions(api_client) -> None:
    quiet = BookFactory(title="Arrakis Atlas")
    loud = BookFactory(title="Arrakis Awakens")
    _sold(loud, 2)
    assert [s["id"] for s in api_client.get("/api/v1/search/suggest", {"q": "arrakis"}).json()["suggestions"]] == [
        quiet.pk,
        loud.pk,
    ]
    refresh_recent_sales()
    assert [s["id"] for s in api_client.get("/api/v1/search/suggest", {"q": "arrakis"}).json()["suggestions"]] == [
        loud.pk,
        quiet.pk,
    ]
