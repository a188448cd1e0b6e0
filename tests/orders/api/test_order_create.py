"""POST /api/v1/orders and /api/v1/orders/quote (API.md, "Placing an order", "Pricing")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import Book
from orders.models import Order
from tests.factories import BookFactory, CouponFactory, OrderFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"
QUOTE_URL = "/api/v1/orders/quote"
ORDER_KEYS = {
    "id",
    "number",
    "status",
    "items",
    "subtotal",
    "discounts",
    "discount_total",
    "total",
    "payment",
    "carrier",
    "tracking_number",
    "coupon_code",
    "created_at",
    "updated_at",
    "status_history",
    # Checkout additions (API.md): shipping, tax and where the order goes.
    "fulfilment",
    "shipping",
    "tax",
    "shipping_method",
    "shipping_address",
    "billing_address",
}
ITEM_KEYS = {"book_id", "isbn", "title", "quantity", "unit_price", "line_total"}


def body(*pairs, coupon_code=None):
    data = {"items": [{"book_id": book_id, "quantity": quantity} for book_id, quantity in pairs]}
    if coupon_code is not None:
        data["coupon_code"] = coupon_code
    return data


def stock(*books):
    return [Book.objects.get(pk=b.pk).stock for b in books]


def test_place_order_201_shape(customer_client, user, no_tiers):
    dune = BookFactory(title="Dune", price="9.99", stock=12)
    emma = BookFactory(title="Emma", price="4.00", stock=1)

    response = customer_client.post(URL, body((dune.pk, 2), (emma.pk, 1)), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == ORDER_KEYS
    assert data["status"] == "pending"
    assert data["number"].startswith("BK-")
    assert data["number"].endswith(f"{data['id']:06d}")
    assert data["items"] == [
        {
            "book_id": dune.pk,
            "isbn": dune.isbn,
            "title": "Dune",
            "quantity": 2,
            "unit_price": "9.99",
            "line_total": "19.98",
            "is_preorder": False,
        },
        {
            "book_id": emma.pk,
            "isbn": emma.isbn,
            "title": "Emma",
            "quantity": 1,
            "unit_price": "4.00",
            "line_total": "4.00",
            "is_preorder": False,
        },
    ]
    assert (data["subtotal"], data["discount_total"], data["total"]) == ("23.98", "0.00", "23.98")
    assert data["discounts"] == []
    assert data["coupon_code"] is None
    assert parse_datetime(data["created_at"]).utcoffset() is not None
    assert [set(h) for h in data["status_history"]] == [{"status", "at", "by"}]
    assert data["status_history"][0]["status"] == "pending"
    assert data["status_history"][0]["by"] == user.pk
    assert stock(dune, emma) == [10, 0]
    assert Order.objects.get().user == user
    assert "Idempotent-Replayed" not in response


def test_discounts_in_response(customer_client, default_tiers):
    CouponFactory(code="WELCOME10", kind="percent", value="10.00")
    book = BookFactory(price="10.00", stock=20)
    response = customer_client.post(URL, body((book.pk, 5), coupon_code="welcome10"), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    # 50.00 - 5 % (2.50) = 47.50; coupon 10 % of 47.50 = 4.75
    assert [(d["kind"], d["code"], d["amount"]) for d in data["discounts"]] == [
        ("bulk", None, "2.50"),
        ("coupon", "WELCOME10", "4.75"),
    ]
    assert all(set(d) == {"kind", "code", "description", "amount"} and d["description"] for d in data["discounts"])
    assert (data["subtotal"], data["discount_total"], data["total"]) == ("50.00", "7.25", "42.75")
    assert data["coupon_code"] == "WELCOME10"


def test_anonymous_placing_is_401_but_quoting_is_open(api_client):
    book = BookFactory()
    assert_envelope(api_client.post(URL, body((book.pk, 1)), format="json"), 401, "not_authenticated")
    assert api_client.post(QUOTE_URL, body((book.pk, 1)), format="json").status_code == 200
    assert stock(book) == [10]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"items": []}, "items"),
        ({}, "items"),
        ({"items": "nope"}, "items"),
        ({"items": [{"book_id": "BOOK", "quantity": 1}]}, "items.0.book_id"),
        ({"items": [{"book_id": 1}]}, "items.0.quantity"),
        ({"items": [{"book_id": 1, "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"book_id": 1, "quantity": 101}]}, "items.0.quantity"),
        ({"items": [{"book_id": 1, "quantity": 1}, {"book_id": 2, "quantity": -3}]}, "items.1.quantity"),
        ({"items": [{"book_id": 1, "quantity": 1}], "coupon_code": "x" * 51}, "coupon_code"),
    ],
)
def test_malformed_body_is_400_naming_the_field(customer_client, data, field):
    book = BookFactory(pk=1, stock=5)
    BookFactory(pk=2, stock=5)
    error = assert_envelope(customer_client.post(URL, data, format="json"), 400, "validation_error")
    assert field in error["details"], error
    assert stock(book) == [5]
    assert not Order.objects.exists()


def test_fifty_one_lines_is_400(customer_client):
    books = BookFactory.create_batch(51, stock=1)
    error = assert_envelope(
        customer_client.post(URL, body(*[(b.pk, 1) for b in books]), format="json"), 400, "validation_error"
    )
    assert "items" in error["details"]
    assert not Order.objects.exists()


def test_unknown_inactive_and_duplicate_books_name_their_line(customer_client):
    ok = BookFactory(stock=5)
    inactive = BookFactory(stock=5, is_active=False)
    cases = [
        (body((ok.pk, 1), (987654, 1)), "items.1.book_id"),
        (body((ok.pk, 1), (inactive.pk, 1)), "items.1.book_id"),
        (body((inactive.pk, 1), (ok.pk, 1)), "items.0.book_id"),
        (body((ok.pk, 1), (ok.pk, 2)), "items.1.book_id"),
    ]
    for data, field in cases:
        error = assert_envelope(customer_client.post(URL, data, format="json"), 400, "validation_error")
        assert list(error["details"]) == [field], error
        assert field in error["message"]
    assert stock(ok, inactive) == [5, 5]
    assert not Order.objects.exists()


def test_insufficient_stock_409_lists_every_short_line(customer_client):
    plenty = BookFactory(stock=10)
    low = BookFactory(stock=1)
    none = BookFactory(stock=0)
    response = customer_client.post(URL, body((plenty.pk, 3), (low.pk, 2), (none.pk, 1)), format="json")
    error = assert_envelope(response, 409, "insufficient_stock")
    assert error["details"]["items"] == [
        {"book_id": low.pk, "requested": 2, "available": 1},
        {"book_id": none.pk, "requested": 1, "available": 0},
    ]
    assert stock(plenty, low, none) == [10, 1, 0]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("coupon_kwargs", "used"),
    [
        (None, 0),
        ({"is_active": False}, 0),
        ({"starts_at": timedelta(days=1)}, 0),
        ({"ends_at": timedelta(days=-1)}, 0),
        ({"min_subtotal": "100.00"}, 0),
        ({"max_uses": 2}, 2),
    ],
    ids=["unknown", "inactive", "not-started", "expired", "min-subtotal", "exhausted"],
)
def test_invalid_coupon_is_400_invalid_coupon(customer_client, coupon_kwargs, used):
    book = BookFactory(price="10.00", stock=5)
    if coupon_kwargs is not None:
        kwargs = {
            name: timezone.now() + value if isinstance(value, timedelta) else value
            for name, value in coupon_kwargs.items()
        }
        coupon = CouponFactory(code="SPRING", **kwargs)
        OrderFactory.create_batch(used, coupon=coupon, coupon_code="SPRING")
    before = Order.objects.count()
    for url in (URL, QUOTE_URL):
        error = assert_envelope(
            customer_client.post(url, body((book.pk, 1), coupon_code="spring"), format="json"), 400, "invalid_coupon"
        )
        assert "coupon_code" in error["details"]
    assert stock(book) == [5]
    assert Order.objects.count() == before


def test_query_count_is_bounded_whatever_the_line_count(customer_client):
    def count(n, key=""):
        books = BookFactory.create_batch(n, stock=3)
        with CaptureQueriesContext(connection) as queries:
            response = customer_client.post(
                URL, body(*[(b.pk, 1) for b in books]), format="json", HTTP_IDEMPOTENCY_KEY=f"lines-{n}{key}"
            )
        assert response.status_code == 201, response.content
        assert len(response.json()["items"]) == n
        return len(queries)

    count(1, "warm-up")  # the first placement caches the discount tiers
    assert count(1) == count(50)


# --- quote ------------------------------------------------------------------------


def test_quote_200_priced_without_writing(customer_client, default_tiers):
    CouponFactory(code="FIVE", kind="fixed", value="5.00")
    book = BookFactory(title="Dune", price="10.00", stock=10)
    orders_before = Order.objects.count()

    response = customer_client.post(QUOTE_URL, body((book.pk, 10), coupon_code="five"), format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "items": [
            {
                "book_id": book.pk,
                "isbn": book.isbn,
                "title": "Dune",
                "quantity": 10,
                "unit_price": "10.00",
                "line_total": "100.00",
                "is_preorder": False,
            }
        ],
        "subtotal": "100.00",
        "discounts": [
            {
                "kind": "bulk",
                "code": None,
                "description": response.json()["discounts"][0]["description"],
                "amount": "10.00",
            },
            {
                "kind": "coupon",
                "code": "FIVE",
                "description": response.json()["discounts"][1]["description"],
                "amount": "5.00",
            },
        ],
        "discount_total": "15.00",
        "total": "85.00",
        # Checkout additions: collected in the shop, 85.00 x 7/107 of book tax contained.
        "fulfilment": "pickup",
        "shipping": "0.00",
        "tax": [{"rate": "7.00", "label": "VAT", "amount": "5.56"}],
    }
    assert stock(book) == [10]
    assert Order.objects.count() == orders_before


def test_quote_matches_the_order_then_placed(customer_client, default_tiers):
    CouponFactory(code="TEN", value="10.00")
    books = [BookFactory(price=price, stock=5) for price in ("3.33", "7.77", "12.01")]
    data = body(*[(b.pk, 2) for b in books], coupon_code="TEN")
    quote = customer_client.post(QUOTE_URL, data, format="json").json()
    order = customer_client.post(URL, data, format="json").json()
    assert {k: order[k] for k in quote} == quote


def test_quote_validates_like_placement(customer_client):
    book = BookFactory(stock=1)
    assert_envelope(customer_client.post(QUOTE_URL, body((book.pk, 2)), format="json"), 409, "insufficient_stock")
    assert_envelope(customer_client.post(QUOTE_URL, {"items": []}, format="json"), 400, "validation_error")
    error = assert_envelope(
        customer_client.post(QUOTE_URL, body((book.pk, 1), (book.pk, 1)), format="json"), 400, "validation_error"
    )
    assert list(error["details"]) == ["items.1.book_id"]


def test_quote_is_not_mistaken_for_an_order_id(customer_client):
    assert_envelope(customer_client.get(QUOTE_URL), 405, "method_not_allowed")
    assert_envelope(customer_client.get("/api/v1/orders/quotes"), 404, "not_found")


_LINE = [{"book_id": 1, "quantity": 1}]
_ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main Street", "city": "Berlin", "postal_code": "10117", "country": "DE"}


@pytest.mark.parametrize(
    ("body", "fast"),
    [
        ({"items": [{"book_id": 1, "quantity": 1}]}, True),
        ({"items": [{"book_id": 3, "quantity": 100}, {"book_id": 2, "quantity": 1}], "coupon_code": None}, True),
        ({"items": _LINE, "shipping_address": None, "payment_provider": None}, True),
        ({"items": [{"book_id": 1, "quantity": 101}]}, False),
        ({"items": [{"book_id": 0, "quantity": 1}]}, False),
        ({"items": [{"book_id": 1, "quantity": 0}]}, False),
        ({"items": [{"book_id": "1", "quantity": 1}]}, False),
        ({"items": [{"book_id": 1, "quantity": True}]}, False),
        ({"items": [{"book_id": 1.0, "quantity": 1}]}, False),
        ({"items": [{"book_id": 1}]}, False),
        ({"items": [{"book_id": 1, "quantity": 1, "extra": 1}]}, False),
        ({"items": []}, False),
        ({"items": [{"book_id": n, "quantity": 1} for n in range(1, 52)]}, False),
        ({"items": {"book_id": 1, "quantity": 1}}, False),
        ({"items": [[1, 1]]}, False),
        ({"items": _LINE, "coupon_code": "TEN"}, False),
        ({"items": _LINE, "payment_provider": "bitcoin"}, False),
        ({"items": _LINE, "payment_provider": "stripe"}, True),
        ({"items": _LINE, "payment_provider": ""}, False),
        ({"items": _LINE, "unknown": "ignored"}, False),
        ({}, False),
        ([], False),
        # Delivered: an address given by its fields or by a saved address's id, and a shipping method.
        ({"items": _LINE, "shipping_address": _ADDRESS, "shipping_method_id": 3}, True),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "line2": "", "region": "", "phone": "+49 30 1"}}, True),
        ({"items": _LINE, "shipping_address": {"address_id": 7}, "shipping_method_id": 3}, True),
        ({"items": _LINE, "shipping_address": _ADDRESS, "billing_address": {"address_id": 2}}, True),
        ({"items": _LINE, "billing_address": _ADDRESS}, True),
        ({"items": _LINE, "shipping_method_id": 3}, True),  # the service answers that it needs an address
        ({"items": _LINE, "shipping_address": _ADDRESS, "shipping_method_id": "3"}, False),
        ({"items": _LINE, "shipping_address": _ADDRESS, "shipping_method_id": 0}, False),
        ({"items": _LINE, "shipping_address": _ADDRESS, "shipping_method_id": True}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "country": "de"}}, False),  # the serializer upper-cases
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "country": "XX"}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "city": " Berlin"}}, False),  # the serializer strips
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "city": ""}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "city": None}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "city": 12}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "name": "x" * 201}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "name": "a\x00b"}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "name": "a\ud800b"}}, False),
        ({"items": _LINE, "shipping_address": {key: _ADDRESS[key] for key in ("name", "line1", "city")}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "address_id": 7}}, False),
        ({"items": _LINE, "shipping_address": {"address_id": "7"}}, False),
        ({"items": _LINE, "shipping_address": {"address_id": None}}, False),
        ({"items": _LINE, "shipping_address": {**_ADDRESS, "street": "x"}}, False),
        ({"items": _LINE, "shipping_address": [_ADDRESS]}, False),
        ({"items": _LINE, "shipping_address": "Berlin"}, False),
    ],
)
def test_plain_bodies_skip_the_serializer_with_the_same_result(body, fast):
    """The fast path answers exactly what the serializer would, or leaves the body to it."""
    from orders.api.serializers import OrderCreateSerializer, plain_checkout

    serializer = OrderCreateSerializer(data=body)
    valid = serializer.is_valid()
    plain = plain_checkout(body)
    if plain is not None:
        assert valid
        assert plain == serializer.checkout()
    assert (plain is not None) == fast


def test_a_delivered_order_placed_through_the_fast_path_keeps_its_address(customer_client, user, no_tiers):
    from tests.factories import ShippingMethodFactory

    method = ShippingMethodFactory(countries=["DE"])
    book = BookFactory(stock=5)
    data = {
        "items": [{"book_id": book.pk, "quantity": 2}],
        "shipping_address": _ADDRESS,
        "shipping_method_id": method.pk,
    }
    response = customer_client.post(URL, data, format="json")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["fulfilment"] == "delivery"
    assert order["shipping_address"] == {**_ADDRESS, "line2": "", "region": "", "phone": ""}
    assert order["shipping_method"] == {"id": method.pk, "name": method.name}
    assert stock(book) == [3]
