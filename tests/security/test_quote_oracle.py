"""The quote as an oracle (issue 20, point 19).

The attack: ``POST /orders/quote`` had no rate limit (64 calls in 0.6 s), and
its coupon messages tell an unknown code from an expired, inactive or
not-yet-valid one, so coupon codes could be enumerated at full speed. Quotes
are now limited per user (per address, IPv6 per /64, when anonymous), and
coupon codes that fail, on quotes and on orders alike, spend a much smaller
budget; once it is spent, any request carrying a coupon code is refused, so a
valid code cannot be told from an invalid one either.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.test import APIClient

from orders.api.throttling import CouponFailureThrottle, QuoteRateThrottle
from orders.models import Order
from tests.factories import BookFactory, CouponFactory, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

QUOTE = "/api/v1/orders/quote"
ORDERS = "/api/v1/orders"


@pytest.fixture
def book() -> Any:
    return BookFactory(stock=100)


def _body(book: Any, code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"items": [{"book_id": book.pk, "quantity": 1}]}
    if code is not None:
        body["coupon_code"] = code
    return body


def test_64_quotes_in_a_row_are_throttled(settings: Any, customer_client: APIClient, make_client: Any, book: Any):
    settings.QUOTE_RATE_LIMIT = "60/minute"  # the default in bookstore/settings.py

    statuses = [customer_client.post(QUOTE, _body(book), format="json").status_code for _ in range(64)]

    assert statuses == [200] * 60 + [429] * 4
    refused = customer_client.post(QUOTE, _body(book), format="json")
    assert_envelope(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    # The limit is per user: another customer quotes as usual.
    assert make_client(UserFactory()).post(QUOTE, _body(book), format="json").status_code == 200


def test_guessing_coupon_codes_is_cut_off_and_then_tells_nothing(settings: Any, customer_client: APIClient, book):
    settings.QUOTE_RATE_LIMIT = "1000/minute"
    settings.COUPON_FAILURE_RATE_LIMIT = "5/hour"
    CouponFactory(code="SPRING10")

    guesses = [customer_client.post(QUOTE, _body(book, f"GUESS{n}"), format="json") for n in range(5)]
    assert [response.json()["error"]["code"] for response in guesses] == ["invalid_coupon"] * 5

    # The budget is spent: a wrong and a right code get the same answer.
    wrong = customer_client.post(QUOTE, _body(book, "GUESS5"), format="json")
    right = customer_client.post(QUOTE, _body(book, "SPRING10"), format="json")
    assert_envelope(wrong, 429, "throttled")
    assert_envelope(right, 429, "throttled")
    assert wrong.json() == right.json()
    assert int(right["Retry-After"]) > 60  # the window is an hour
    # Quotes without a code still work.
    assert customer_client.post(QUOTE, _body(book), format="json").status_code == 200


def test_valid_codes_do_not_spend_the_budget(settings: Any, customer_client: APIClient, book: Any):
    settings.QUOTE_RATE_LIMIT = "1000/minute"
    settings.COUPON_FAILURE_RATE_LIMIT = "2/hour"
    CouponFactory(code="SPRING10")

    statuses = [customer_client.post(QUOTE, _body(book, "spring10"), format="json").status_code for _ in range(10)]

    assert statuses == [200] * 10


def test_failed_codes_on_orders_and_quotes_share_the_budget(settings: Any, customer_client: APIClient, user, book):
    settings.QUOTE_RATE_LIMIT = "1000/minute"
    settings.COUPON_FAILURE_RATE_LIMIT = "3/hour"
    CouponFactory(code="SPRING10")

    assert customer_client.post(ORDERS, _body(book, "GUESS1"), format="json").status_code == 400
    assert customer_client.post(ORDERS, _body(book, "GUESS2"), format="json").status_code == 400
    assert customer_client.post(QUOTE, _body(book, "GUESS3"), format="json").status_code == 400

    assert_envelope(customer_client.post(QUOTE, _body(book, "SPRING10"), format="json"), 429, "throttled")
    assert_envelope(customer_client.post(ORDERS, _body(book, "SPRING10"), format="json"), 429, "throttled")
    assert not Order.objects.filter(user=user).exists()
    assert customer_client.post(ORDERS, _body(book), format="json").status_code == 201


def test_anonymous_callers_are_counted_per_address_and_ipv6_per_64() -> None:
    def anonymous(address: str) -> Any:
        request = RequestFactory().post(QUOTE, REMOTE_ADDR=address)
        request.user = AnonymousUser()
        return request

    for throttle in (QuoteRateThrottle(), CouponFailureThrottle()):
        keys = {address: throttle.get_cache_key(anonymous(address), None) for address in ("2001:db8::1", "2001:db8::2")}
        assert keys["2001:db8::1"] == keys["2001:db8::2"]
        assert keys["2001:db8::1"].endswith("2001:db8::/64")
        assert throttle.get_cache_key(anonymous("198.51.100.1"), None) != throttle.get_cache_key(
            anonymous("198.51.100.2"), None
        )
