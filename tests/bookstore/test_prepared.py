"""bookstore.prepared: an order's statements are prepared once per connection and planned once (PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookstore.prepared import prepared_cursor
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, ShippingMethodFactory, UserFactory

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")


def _prepared() -> dict[str, tuple[int, int]]:
    """The statements prepared on this connection by their first words: (generic plans, custom plans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {" ".join(text.split()[:2]): (generic, custom) for text, generic, custom in cursor.fetchall()}


@postgresql_only
def test_the_statements_of_an_order_are_prepared_once_and_planned_once() -> None:
    user = UserFactory()
    method = ShippingMethodFactory(countries=["DE"], price=Decimal("4.95"))
    books = [BookFactory(price="10.00", stock=50) for _ in range(3)]
    delivery = {
        "shipping_address": {
            "name": "A",
            "line1": "1 Street",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
        },
        "shipping_method_id": method.pk,
    }
    for count in (1, 2, 3, 1):
        order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=1) for book in books[:count]], **delivery)
    prepared = _prepared()
    # The books read with the ids reserved, the order's rows, the stock taken, the shipping method by key:
    # one statement each, whatever the number of lines, each planned once and reused (no plan per call).
    for statement in ("WITH reserved", "WITH inserted_0", "WITH wanted", 'SELECT "id",'):
        generic, custom = prepared[statement]
        assert custom == 0, statement
        assert generic >= 4, statement


@postgresql_only
def test_statements_of_other_cursors_are_not_prepared() -> None:
    BookFactory()
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute("SELECT count(*) FROM books WHERE stock >= %s", [0])
    assert not any(text.startswith("SELECT count") for text in _prepared())


@postgresql_only
def test_the_prepared_cursor_is_a_django_cursor_its_queries_are_logged_and_its_errors_are_djangos() -> None:
    from django.db import IntegrityError

    book = BookFactory(stock=3)
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute("SELECT stock FROM books WHERE id = %s", [book.pk])
        assert cursor.fetchone() == (3,)
    assert [query["sql"] for query in queries] == [f"SELECT stock FROM books WHERE id = {book.pk}"]
    with pytest.raises(IntegrityError), prepared_cursor() as cursor:
        cursor.execute("UPDATE books SET stock = %s WHERE id = %s", [-1, book.pk])


@postgresql_only
def test_the_connection_plans_prepared_statements_once_unless_behind_a_pooler() -> None:
    options = settings.DATABASES["default"]["OPTIONS"]
    assert "plan_cache_mode=force_generic_plan" in options["options"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the other databases' cursor")
def test_elsewhere_it_is_the_usual_cursor() -> None:
    book = BookFactory(stock=4)
    with prepared_cursor() as cursor:
        cursor.execute("SELECT stock FROM books WHERE id = %s", [book.pk])
        assert cursor.fetchone() == (4,)
