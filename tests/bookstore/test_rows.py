"""bookstore.rows: one row by primary key as ``get`` gives it, in one statement (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bookstore.rows import row_get
from catalog.models import Book
from orders.models import ShippingMethod
from tests.factories import BookFactory, ShippingMethodFactory, UserFactory

pytestmark = pytest.mark.django_db


def _fields(instance: Any) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.parametrize(
    "make",
    [
        # Booleans, a nullable datetime, a password hash: SQLite needs the backend's converters for these.
        lambda: UserFactory(is_staff=True, tokens_revoked_at=datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)),
        # A field with its own ``from_db_value`` (several countries in one column) and decimals.
        lambda: ShippingMethodFactory(countries=["DE", "FR"], price=Decimal("4.95"), free_over=Decimal("50.00")),
        lambda: BookFactory(),
    ],
    ids=["user", "shipping-method", "book"],
)
def test_the_instance_is_the_one_get_gives_in_one_statement(make: Any) -> None:
    made = make()
    model = type(made)
    expected = model.objects.get(pk=made.pk)
    with CaptureQueriesContext(connection) as queries:
        got = row_get(model, made.pk)
    assert len(queries) == 1
    assert type(got) is model
    assert _fields(got) == _fields(expected)
    assert {name: type(value) for name, value in _fields(got).items()} == {
        name: type(value) for name, value in _fields(expected).items()
    }
    assert got._state.adding is False
    assert got._state.db == expected._state.db
    # The same converted values the ORM keeps (a list of countries, not the stored text).
    if isinstance(got, ShippingMethod):
        assert [country.code for country in got.countries] == ["DE", "FR"]


def test_a_missing_row_is_none() -> None:
    user = UserFactory()
    assert row_get(User, user.pk + 1000) is None


def test_a_key_of_the_wrong_form_is_refused_as_the_orm_refuses_it() -> None:
    with pytest.raises(ValueError, match="expected a number but got 'not-a-number'"):
        row_get(User, "not-a-number")


def test_the_row_is_read_where_the_router_reads_the_model() -> None:
    book = BookFactory()
    with mock.patch("bookstore.rows.router.db_for_read", return_value="default") as routed:
        assert row_get(Book, book.pk) == book
    routed.assert_called_once_with(Book)
