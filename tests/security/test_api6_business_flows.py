"""OWASP API6:2023 Unrestricted access to sensitive business flows.

Automated clients cannot spam orders (per-user limit), cannot stretch a
limited coupon past its uses by racing, and cannot hoard stock with quotes or
double cancellations.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from catalog.models import Book
from orders.models import Order
from tests.factories import BookFactory, CouponFactory, UserFactory
from tests.helpers import assert_envelope

ORDERS = "/api/v1/orders"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _together(task, count: int) -> list:
    """Run ``task(i)`` in ``count`` threads released at once, each with its own connection."""
    barrier = threading.Barrier(count)

    def run(index: int):
        try:
            barrier.wait(timeout=30)
            return task(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [future.result(timeout=120) for future in [pool.submit(run, i) for i in range(count)]]


@pytest.mark.django_db
def test_order_spam_is_throttled_per_user(settings):
    settings.ORDER_RATE_LIMIT = "3/minute"
    book = BookFactory(stock=100)
    spammer, neighbour = UserFactory(), UserFactory()
    body = {"items": [{"book_id": book.pk, "quantity": 1}]}
    client = _client(spammer)

    statuses = [client.post(ORDERS, body, format="json").status_code for _ in range(3)]
    refused = client.post(ORDERS, body, format="json")

    assert statuses == [201, 201, 201]
    assert_envelope(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    # Same address, another account: its own budget. Reads are not limited.
    assert _client(neighbour).post(ORDERS, body, format="json").status_code == 201
    assert client.get(ORDERS).status_code == 200
    assert Order.objects.filter(user=spammer).count() == 3
    assert Book.objects.get(pk=book.pk).stock == 96


@pytest.mark.django_db(transaction=True)
def test_racing_for_a_limited_coupon_never_exceeds_its_uses():
    coupon = CouponFactory(code="ONLY3", kind="fixed", value=Decimal("5.00"), max_uses=3)
    book = BookFactory(stock=100, price=Decimal("20.00"))
    clients = [_client(UserFactory()) for _ in range(10)]

    def place(index: int) -> int:
        body = {"items": [{"book_id": book.pk, "quantity": 1}], "coupon_code": "only3"}
        return clients[index].post(ORDERS, body, format="json").status_code

    statuses = sorted(_together(place, 10))

    assert statuses == [201] * 3 + [400] * 7
    assert Order.objects.filter(coupon=coupon).count() == 3
    assert Book.objects.get(pk=book.pk).stock == 97


@pytest.mark.django_db(transaction=True)
def test_stock_cannot_be_hoarded_with_quotes_or_restored_twice_by_racing_cancels():
    book = BookFactory(stock=5)
    user = UserFactory()
    client = _client(user)
    body = {"items": [{"book_id": book.pk, "quantity": 5}]}
    for _ in range(5):
        assert client.post(f"{ORDERS}/quote", body, format="json").status_code == 200
    assert Book.objects.get(pk=book.pk).stock == 5  # quotes reserve nothing

    order_id = client.post(ORDERS, body, format="json").json()["id"]
    assert Book.objects.get(pk=book.pk).stock == 0
    token = client._credentials["HTTP_AUTHORIZATION"]

    def cancel(_: int) -> int:
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=token)
        return own.post(f"{ORDERS}/{order_id}/cancel").status_code

    statuses = sorted(_together(cancel, 6))

    assert statuses == [200] + [409] * 5
    assert Book.objects.get(pk=book.pk).stock == 5
