"""Addresses, shipping and tax on the quote and the order (API.md, "Checkout additions")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import address_create
from catalog.models import Book
from notifications.models import Email
from notifications.services import Outcome, email_build, email_deliver, email_rendered
from orders.models import Order
from tests.factories import BookFactory, CouponFactory, ShippingMethodFactory, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"
QUOTE_URL = "/api/v1/orders/quote"
ADDRESSES_URL = "/api/v1/users/me/addresses"

BERLIN = {
    "name": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "line2": "",
    "city": "Berlin",
    "postal_code": "10117",
    "region": "",
    "country": "DE",
    "phone": "",
}


@pytest.fixture
def book(no_tiers):
    return BookFactory(price="10.00", stock=20)


@pytest.fixture
def standard(db):
    return ShippingMethodFactory(name="Parcel", countries=["DE", "AT"], price="4.95", free_over="50.00")


def items(book, quantity=2):
    return [{"book_id": book.pk, "quantity": quantity}]


def stock_of(book):
    return Book.objects.get(pk=book.pk).stock


# --- quote ------------------------------------------------------------------------


def test_quote_with_shipping_to_de(customer_client, book, standard):
    response = customer_client.post(
        QUOTE_URL,
        {"items": items(book), "shipping_country": "DE", "shipping_method_id": standard.pk},
        format="json",
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["subtotal"], data["discount_total"], data["shipping"], data["total"]) == (
        "20.00",
        "0.00",
        "4.95",
        "24.95",
    )
    assert data["fulfilment"] == "delivery"
    # 20.00 x 7/107 = 1.308... and 4.95 x 19/119 = 0.790...
    assert data["tax"] == [
        {"rate": "7.00", "label": "VAT", "amount": "1.31"},
        {"rate": "19.00", "label": "VAT", "amount": "0.79"},
    ]
    assert stock_of(book) == 20
    assert not Order.objects.exists()


def test_quote_ships_free_from_the_threshold_after_discounts(customer_client, book, standard):
    CouponFactory(code="TEN", kind="fixed", value="10.00")
    body = {"items": items(book, 5), "shipping_country": "de", "shipping_method_id": standard.pk}

    free = customer_client.post(QUOTE_URL, body, format="json").json()
    charged = customer_client.post(QUOTE_URL, {**body, "coupon_code": "TEN"}, format="json").json()

    assert (free["shipping"], free["total"]) == ("0.00", "50.00")
    assert free["tax"] == [{"rate": "7.00", "label": "VAT", "amount": "3.27"}]
    assert (charged["discount_total"], charged["shipping"], charged["total"]) == ("10.00", "4.95", "44.95")


def test_quote_with_a_method_that_does_not_serve_the_country_is_400_naming_it(customer_client, book, standard):
    response = customer_client.post(
        QUOTE_URL, {"items": items(book), "shipping_country": "FR", "shipping_method_id": standard.pk}, format="json"
    )

    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["shipping_method_id"]
    assert "FR" in error["details"]["shipping_method_id"][0]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"shipping_country": "DE"}, "shipping_method_id"),
        ({"shipping_method_id": "method"}, "shipping_country"),
        ({"shipping_country": "XX", "shipping_method_id": "method"}, "shipping_country"),
    ],
)
def test_quote_needs_country_and_method_together(customer_client, book, standard, extra, field):
    body = {"items": items(book), **{k: standard.pk if v == "method" else v for k, v in extra.items()}}
    error = assert_envelope(customer_client.post(QUOTE_URL, body, format="json"), 400, "validation_error")
    assert list(error["details"]) == [field]


def test_quote_takes_the_orders_body_with_a_shipping_address(customer_client, book, standard):
    response = customer_client.post(
        QUOTE_URL,
        {"items": items(book), "shipping_address": BERLIN, "shipping_method_id": standard.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["shipping"], response.json()["total"]) == ("4.95", "24.95")


# --- the quote is open to anyone -------------------------------------------------


def _anonymous(address="198.51.100.7"):
    return APIClient(REMOTE_ADDR=address)


def test_anonymous_quote_with_shipping_to_de(book, standard):
    response = _anonymous().post(
        QUOTE_URL,
        {"items": items(book), "shipping_country": "DE", "shipping_method_id": standard.pk},
        format="json",
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["subtotal"], data["shipping"], data["total"], data["fulfilment"]) == (
        "20.00",
        "4.95",
        "24.95",
        "delivery",
    )
    assert data["tax"] == [
        {"rate": "7.00", "label": "VAT", "amount": "1.31"},
        {"rate": "19.00", "label": "VAT", "amount": "0.79"},
    ]
    assert stock_of(book) == 20
    assert not Order.objects.exists()


def test_anonymous_quote_cannot_use_a_saved_address(book, standard):
    saved = address_create(user=UserFactory(), **BERLIN)

    response = _anonymous().post(
        QUOTE_URL,
        {"items": items(book), "shipping_address": {"address_id": saved.pk}, "shipping_method_id": standard.pk},
        format="json",
    )

    assert_envelope(response, 400, "validation_error")
    assert "shipping_address.address_id" in response.json()["error"]["details"]


def test_anonymous_quotes_are_limited_per_address(settings, book):
    settings.QUOTE_RATE_LIMIT = "3/minute"
    first, second = _anonymous("198.51.100.7"), _anonymous("198.51.100.8")

    statuses = [first.post(QUOTE_URL, {"items": items(book)}, format="json").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = first.post(QUOTE_URL, {"items": items(book)}, format="json")
    assert_envelope(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another address has its own allowance.
    assert second.post(QUOTE_URL, {"items": items(book)}, format="json").status_code == 200


def test_anonymous_coupon_guessing_spends_the_failure_budget(settings, book):
    settings.COUPON_FAILURE_RATE_LIMIT = "3/hour"
    CouponFactory(code="SPRING10")
    guesser, neighbour = _anonymous("198.51.100.7"), _anonymous("198.51.100.8")

    def quote(client, code=None):
        body = {"items": items(book)} | ({"coupon_code": code} if code else {})
        return client.post(QUOTE_URL, body, format="json")

    guesses = [quote(guesser, f"GUESS{n}") for n in range(3)]
    assert [response.json()["error"]["code"] for response in guesses] == ["invalid_coupon"] * 3

    # Spent: a right code is refused exactly like a wrong one.
    wrong, right = quote(guesser, "GUESS3"), quote(guesser, "SPRING10")
    assert_envelope(wrong, 429, "throttled")
    assert_envelope(right, 429, "throttled")
    assert wrong.json() == right.json()
    # Quotes without a code, and other addresses, are not affected.
    assert quote(guesser).status_code == 200
    assert quote(neighbour, "SPRING10").status_code == 200


# --- placing ----------------------------------------------------------------------


def test_order_without_address_is_collected_in_the_shop(customer_client, book):
    response = customer_client.post(URL, {"items": items(book)}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["fulfilment"] == "pickup"
    assert (data["shipping"], data["total"]) == ("0.00", "20.00")
    assert data["shipping_address"] is None
    assert data["billing_address"] is None
    assert data["shipping_method"] is None
    assert data["tax"] == [{"rate": "7.00", "label": "VAT", "amount": "1.31"}]


def test_order_with_an_address_is_delivered_and_keeps_a_copy(customer_client, user, book, standard):
    response = customer_client.post(
        URL,
        {
            "items": items(book),
            "shipping_address": {**BERLIN, "postal_code": " 10117 ", "phone": "+49 30 1"},
            "shipping_method_id": standard.pk,
            "billing_address": {**BERLIN, "name": "Lovelace GmbH", "line1": "Friedrichstr. 2", "postal_code": "10969"},
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["fulfilment"] == "delivery"
    assert data["shipping_method"] == {"id": standard.pk, "name": "Parcel"}
    assert (data["subtotal"], data["shipping"], data["total"]) == ("20.00", "4.95", "24.95")
    assert data["tax"] == [
        {"rate": "7.00", "label": "VAT", "amount": "1.31"},
        {"rate": "19.00", "label": "VAT", "amount": "0.79"},
    ]
    assert data["shipping_address"] == {**BERLIN, "phone": "+49 30 1"}
    assert data["billing_address"] == {
        **BERLIN,
        "name": "Lovelace GmbH",
        "line1": "Friedrichstr. 2",
        "postal_code": "10969",
    }
    assert stock_of(book) == 18
    order = Order.objects.get(pk=data["id"])
    assert (order.shipping, order.total, order.shipping_method_name) == (Decimal("4.95"), Decimal("24.95"), "Parcel")


def test_order_with_a_saved_address_copies_it_and_later_edits_do_not_change_it(customer_client, user, book, standard):
    address = address_create(user=user, **BERLIN)
    response = customer_client.post(
        URL,
        {"items": items(book), "shipping_address": {"address_id": address.pk}, "shipping_method_id": standard.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    order_id = response.json()["id"]
    assert response.json()["shipping_address"] == BERLIN

    patched = customer_client.patch(
        f"{ADDRESSES_URL}/{address.pk}", {"city": "Wien", "postal_code": "1010", "country": "AT"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    standard.name = "Parcel (renamed)"
    standard.save()

    order = customer_client.get(f"{URL}/{order_id}").json()
    assert order["shipping_address"] == BERLIN
    assert order["shipping_method"] == {"id": standard.pk, "name": "Parcel"}

    assert customer_client.delete(f"{ADDRESSES_URL}/{address.pk}").status_code == 204
    assert customer_client.get(f"{URL}/{order_id}").json()["shipping_address"] == BERLIN


def test_another_users_saved_address_is_400_and_nothing_changes(customer_client, book, standard):
    theirs = address_create(user=UserFactory(), **BERLIN)

    response = customer_client.post(
        URL,
        {"items": items(book), "shipping_address": {"address_id": theirs.pk}, "shipping_method_id": standard.pk},
        format="json",
    )

    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["shipping_address.address_id"]
    assert stock_of(book) == 20
    assert not Order.objects.exists()


def test_method_not_serving_the_address_country_is_400_naming_it(customer_client, book, standard):
    paris = {**BERLIN, "city": "Paris", "postal_code": "75001", "country": "FR"}

    response = customer_client.post(
        URL, {"items": items(book), "shipping_address": paris, "shipping_method_id": standard.pk}, format="json"
    )

    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["shipping_method_id"]
    assert "FR" in error["details"]["shipping_method_id"][0]
    assert stock_of(book) == 20
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shipping_address": BERLIN}, "shipping_method_id"),
        ({"shipping_method_id": "method"}, "shipping_address"),
        (
            {"shipping_address": {**BERLIN, "postal_code": "1234"}, "shipping_method_id": "method"},
            "shipping_address.postal_code",
        ),
        ({"shipping_address": {**BERLIN, "line1": ""}, "shipping_method_id": "method"}, "shipping_address.line1"),
        ({"shipping_address": {**BERLIN, "country": "XX"}, "shipping_method_id": "method"}, "shipping_address.country"),
        (
            {"shipping_address": {"address_id": 1, "city": "Berlin"}, "shipping_method_id": "method"},
            "shipping_address.city",
        ),
        ({"shipping_address": BERLIN, "shipping_method_id": "inactive"}, "shipping_method_id"),
        ({"shipping_address": BERLIN, "shipping_method_id": 999999}, "shipping_method_id"),
        ({"billing_address": {**BERLIN, "postal_code": "ABC"}}, "billing_address.postal_code"),
    ],
)
def test_bad_delivery_input_is_400_naming_the_field_and_changes_nothing(customer_client, book, standard, body, field):
    inactive = ShippingMethodFactory(countries=["DE"], is_active=False)
    resolved = {
        k: {"method": standard.pk, "inactive": inactive.pk}.get(v, v) if isinstance(v, str) else v
        for k, v in body.items()
    }

    response = customer_client.post(URL, {"items": items(book), **resolved}, format="json")

    error = assert_envelope(response, 400, "validation_error")
    assert field in error["details"], error
    assert stock_of(book) == 20
    assert not Order.objects.exists()


def test_a_tax_rate_change_does_not_alter_old_orders(customer_client, book, standard, settings):
    body = {"items": items(book), "shipping_address": BERLIN, "shipping_method_id": standard.pk}
    old = customer_client.post(URL, body, format="json").json()

    settings.BOOK_TAX_RATE = Decimal("5")
    settings.SHIPPING_TAX_RATE = Decimal("20")
    settings.SHIPPING_TAX_LABEL = "VAT standard"

    assert customer_client.get(f"{URL}/{old['id']}").json()["tax"] == [
        {"rate": "7.00", "label": "VAT", "amount": "1.31"},
        {"rate": "19.00", "label": "VAT", "amount": "0.79"},
    ]
    new = customer_client.post(URL, body, format="json").json()
    # 20.00 x 5/105 = 0.952... and 4.95 x 20/120 = 0.825
    assert new["tax"] == [
        {"rate": "5.00", "label": "VAT", "amount": "0.95"},
        {"rate": "20.00", "label": "VAT standard", "amount": "0.83"},
    ]
    assert new["total"] == old["total"] == "24.95"


def test_delivery_adds_only_the_method_lookup_and_no_query_per_line(customer_client, book, standard):
    def count(body, key):
        with CaptureQueriesContext(connection) as queries:
            response = customer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 201, response.content
        return len(queries)

    count({"items": items(book, 1)}, "warm-up")  # caches the discount tiers
    pickup = count({"items": items(book, 1)}, "pickup")
    delivery = count(
        {"items": items(book, 1), "shipping_address": BERLIN, "shipping_method_id": standard.pk}, "delivery"
    )
    many = BookFactory.create_batch(20, stock=5)
    delivery_many = count(
        {
            "items": [{"book_id": b.pk, "quantity": 1} for b in many],
            "shipping_address": BERLIN,
            "shipping_method_id": standard.pk,
        },
        "delivery-many",
    )

    assert delivery == pickup + 1
    assert delivery_many == delivery


def test_explicit_nulls_mean_pickup(customer_client, book):
    response = customer_client.post(
        URL,
        {"items": items(book), "shipping_address": None, "shipping_method_id": None, "billing_address": None},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["fulfilment"], response.json()["shipping"]) == ("pickup", "0.00")


def test_the_order_placed_email_lists_shipping_so_its_lines_add_up(customer_client, user, book, standard):
    response = customer_client.post(
        URL, {"items": items(book), "shipping_address": BERLIN, "shipping_method_id": standard.pk}, format="json"
    )
    assert response.status_code == 201, response.content

    # Rendered by the worker that sends it.
    email = email_rendered(Email.objects.get(to=user.email))
    for body in (email.body_text, email.body_html):
        assert "Subtotal" in body
        assert "20.00" in body
        assert "Shipping (Parcel)" in body
        assert "4.95" in body
        assert "24.95" in body


@pytest.mark.parametrize("delivered", [False, True])
def test_the_placed_orders_body_is_its_detail_as_read_back(customer_client, book, standard, delivered):
    """The 201 body, built from the objects in hand by the one bound serializer, is what a read shows."""
    CouponFactory(code="TEN", kind="percent", value="10.00")
    body = {"items": items(book), "coupon_code": "ten", "billing_address": BERLIN}
    if delivered:
        body.update(shipping_address=BERLIN, shipping_method_id=standard.pk)
    placed = customer_client.post(URL, body, format="json")
    assert placed.status_code == 201, placed.content
    again = customer_client.post(URL, {"items": items(book)}, format="json")
    assert again.status_code == 201, again.content
    for response in (placed, again):
        detail = customer_client.get(f"{URL}/{response.json()['id']}")
        assert response.json() == detail.json()
    assert placed.json()["shipping_method"] == ({"id": standard.pk, "name": "Parcel"} if delivered else None)
    assert placed.json()["coupon_code"] == "TEN"
    assert placed.json()["payment"]["provider"] == "manual"
    assert again.json()["coupon_code"] is None


def _rendered_from_the_order(order: Order, settings) -> tuple[str, str, str]:
    """The confirmation as the request rendered it before: from the order and its lines as stored."""
    built = email_build(
        to=order.user.email,
        template="orders/email/order_placed",
        context={
            "order": order,
            "items": list(order.items.order_by("id")),
            "currency": settings.STORE_CURRENCY,
            "payment_days": settings.MANUAL_PAYMENT_DAYS,
            "payment_minutes": None,
        },
    )
    return built.subject, built.body_text, built.body_html


@pytest.mark.parametrize("delivered", [True, False])
def test_the_order_placed_email_is_rendered_by_the_worker_with_the_content_the_request_gave(
    customer_client, user, book, standard, settings, monkeypatch, delivered
):
    settings.STORE_NAME = "Chapter & Verse"
    CouponFactory(code="TEN", kind="percent", value="10.00")
    second = BookFactory(price="7.35", stock=5, title="Tom & Jerry <annotated>")
    body = {"items": [*items(book), {"book_id": second.pk, "quantity": 1}], "coupon_code": "TEN"}
    if delivered:
        body |= {"shipping_address": BERLIN, "shipping_method_id": standard.pk}

    def no_rendering(*args, **kwargs):
        raise AssertionError("an email template was rendered in the request")

    with monkeypatch.context() as patched:
        patched.setattr("notifications.services.render_to_string", no_rendering)
        response = customer_client.post(URL, body, format="json")
    assert response.status_code == 201, response.content

    order = Order.objects.get(pk=response.json()["id"])
    email = Email.objects.get(key=f"order-placed:{order.pk}")
    # Queued with a snapshot, nothing rendered yet.
    assert (email.subject, email.body_text, email.body_html) == ("", "", "")
    assert email.context["order"]["number"] == order.number
    expected = _rendered_from_the_order(order, settings)
    assert "Discounts" in expected[1]
    assert ("Shipping (Parcel)" in expected[1]) is delivered

    # A later change to the order or the store does not alter the email.
    Order.objects.filter(pk=order.pk).update(shipping_method_name="Changed", total=Decimal("1.00"))
    settings.STORE_NAME = "Renamed"
    assert email_deliver(email_id=email.pk) is Outcome.SENT
    [message] = mail.outbox
    sent = Email.objects.get(pk=email.pk)
    assert (sent.subject, sent.body_text, sent.body_html) == expected
    assert sent.context is None
    assert (message.subject, message.body, message.alternatives[0][0]) == expected
