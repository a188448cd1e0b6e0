"""Fixtures for the admin tests: staff sessions and orders built directly in the database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from orders.models import Order, OrderItem, StatusChange
from tests.factories import UserFactory


@pytest.fixture
def superuser(db: Any) -> Any:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(superuser: Any) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def make_staff(db: Any) -> Callable[..., Any]:
    """``make_staff("Catalog managers")`` → a staff user (not superuser) in those groups."""

    def make(*groups: str) -> Any:
        user = UserFactory(is_staff=True)
        user.groups.set(Group.objects.filter(name__in=groups))
        return user

    return make


@pytest.fixture
def staff_client_for(make_staff: Callable[..., Any]) -> Callable[..., Client]:
    def make(*groups: str) -> Client:
        client = Client()
        client.force_login(make_staff(*groups))
        return client

    return make


@pytest.fixture
def make_order(db: Any) -> Callable[..., Order]:
    """An order written straight to the tables (the dashboard only reads them).

    ``lines`` is a list of (book, quantity); ``created_at`` backdates the order.
    """

    def make(
        *,
        lines: Sequence[tuple[Any, int]],
        status: str = Order.Status.PAID,
        created_at: datetime | None = None,
        user: Any = None,
        discount: Decimal = Decimal("0.00"),
    ) -> Order:
        subtotal = sum((book.price * quantity for book, quantity in lines), Decimal("0.00"))
        order = Order.objects.create(
            number=f"TMP-{uuid.uuid4().hex[:20]}",
            user=user or UserFactory(),
            status=status,
            subtotal=subtotal,
            discount_total=discount,
            total=subtotal - discount,
        )
        order.number = Order.format_number(order.pk, timezone.now().year)
        order.save(update_fields=["number"])
        OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                book=book,
                isbn=book.isbn,
                title=book.title,
                unit_price=book.price,
                quantity=quantity,
                line_total=book.price * quantity,
            )
            for book, quantity in lines
        )
        StatusChange.objects.create(order=order, from_status="", to_status=status)
        if created_at is not None:
            Order.objects.filter(pk=order.pk).update(created_at=created_at)
            order.refresh_from_db()
        return order

    return make
