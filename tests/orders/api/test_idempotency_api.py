"""POST /api/v1/orders with Idempotency-Key (API.md, "Placing an order")."""

from __future__ import annotations

import pytest

from catalog.models import Book
from orders.models import IdempotencyKey, Order
from tests.factories import BookFactory, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"
KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


def post(client, data, key=KEY):
    extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(URL, data, format="json", **extra)


def order_body(book, quantity=1):
    return {"items": [{"book_id": book.pk, "quantity": quantity}]}


def test_same_key_and_body_replays_the_order(customer_client):
    book = BookFactory(stock=5)
    first = post(customer_client, order_body(book, 2))
    second = post(customer_client, order_body(book, 2))
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Order.objects.count() == 1
    assert Book.objects.get(pk=book.pk).stock == 3


def test_replay_ignores_key_order_and_whitespace_in_the_body(customer_client):
    book = BookFactory(stock=5)
    first = customer_client.post(
        URL,
        f'{{"items": [{{"book_id": {book.pk}, "quantity": 1}}]}}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    second = customer_client.post(
        URL,
        f'{{"items":[{{"quantity":1,"book_id":{book.pk}}}]}}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]


def test_replay_is_the_original_response_even_after_the_order_changed(customer_client, staff_client):
    book = BookFactory(stock=5)
    first = post(customer_client, order_body(book)).json()
    staff_client.post(f"{URL}/{first['id']}/pay")
    replay = post(customer_client, order_body(book))
    assert replay.json() == first
    assert replay.json()["status"] == "pending"


def test_same_key_different_body_is_422(customer_client):
    book = BookFactory(stock=5)
    post(customer_client, order_body(book, 1))
    assert_envelope(post(customer_client, order_body(book, 2)), 422, "idempotency_key_reused")
    assert Order.objects.count() == 1
    assert Book.objects.get(pk=book.pk).stock == 4


def test_keys_are_per_user(customer_client, make_client):
    book = BookFactory(stock=5)
    mine = post(customer_client, order_body(book))
    theirs = post(make_client(UserFactory()), order_body(book, 2))
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine.json()["id"]
    assert Book.objects.get(pk=book.pk).stock == 2


def test_failed_request_stores_nothing_and_can_be_retried(customer_client):
    book = BookFactory(stock=1)
    assert_envelope(post(customer_client, order_body(book, 3)), 409, "insufficient_stock")
    assert not IdempotencyKey.objects.exists()
    Book.objects.filter(pk=book.pk).update(stock=3)
    retry = post(customer_client, order_body(book, 3))
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert Book.objects.get(pk=book.pk).stock == 0


def test_invalid_body_stores_nothing(customer_client):
    assert_envelope(post(customer_client, {"items": []}), 400, "validation_error")
    assert_envelope(post(customer_client, order_body(BookFactory(is_active=False))), 400, "validation_error")
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"], ids=["empty", "too-long", "non-ascii"])
def test_malformed_key_is_400(customer_client, key):
    book = BookFactory(stock=5)
    error = assert_envelope(post(customer_client, order_body(book), key=key), 400, "validation_error")
    assert "Idempotency-Key" in error["details"]
    assert not Order.objects.exists()


def test_longest_key_and_structured_field_form_are_accepted(customer_client):
    book = BookFactory(stock=5)
    assert post(customer_client, order_body(book), key="k" * 255).status_code == 201
    first = post(customer_client, order_body(book), key='"quoted-key"')
    again = post(customer_client, order_body(book), key="quoted-key")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_without_a_key_every_request_places_an_order(customer_client):
    book = BookFactory(stock=5)
    post(customer_client, order_body(book), key=None)
    post(customer_client, order_body(book), key=None)
    assert Order.objects.count() == 2
