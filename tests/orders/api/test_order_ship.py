"""Shipping with carrier and tracking number; the customer's paid, shipped and cancelled emails."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.models import Email
from orders.models import Order
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def _place(client: Any, quantity: int = 1) -> dict[str, Any]:
    book = BookFactory(price="8.00", stock=5, title="Persuasion")
    response = client.post(URL, {"items": [{"book_id": book.pk, "quantity": quantity}]}, format="json")
    assert response.status_code == 201
    return dict(response.json())


def test_ship_stores_carrier_and_tracking_number_and_shows_them(customer_client, staff_client, no_tiers):
    order = _place(customer_client)
    staff_client.post(f"{URL}/{order['id']}/pay")

    response = staff_client.post(
        f"{URL}/{order['id']}/ship", {"carrier": "DHL", "tracking_number": "00340434161234567890"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["carrier"], response.json()["tracking_number"]) == ("DHL", "00340434161234567890")
    seen = customer_client.get(f"{URL}/{order['id']}").json()
    assert (seen["status"], seen["carrier"], seen["tracking_number"]) == ("shipped", "DHL", "00340434161234567890")
    email = Email.objects.get(key=f"order-shipped:{order['id']}")
    assert "DHL" in email.body_text
    assert "00340434161234567890" in email.body_text
    assert "00340434161234567890" in email.body_html


def test_ship_without_a_body_still_ships(customer_client, staff_client, no_tiers):
    order = _place(customer_client)
    staff_client.post(f"{URL}/{order['id']}/pay")
    body = staff_client.post(f"{URL}/{order['id']}/ship").json()
    assert (body["status"], body["carrier"], body["tracking_number"]) == ("shipped", None, None)


def test_ship_of_an_unpaid_order_is_409_and_stores_nothing(customer_client, staff_client, no_tiers):
    order = _place(customer_client)
    response = staff_client.post(f"{URL}/{order['id']}/ship", {"carrier": "DHL"}, format="json")
    assert response.status_code == 409
    assert Order.objects.get(pk=order["id"]).carrier == ""


def test_ship_refuses_an_overlong_tracking_number(customer_client, staff_client, no_tiers):
    order = _place(customer_client)
    staff_client.post(f"{URL}/{order['id']}/pay")
    response = staff_client.post(f"{URL}/{order['id']}/ship", {"tracking_number": "x" * 101}, format="json")
    assert response.status_code == 400
    assert "tracking_number" in response.json()["error"]["details"]


def test_customers_cannot_ship(customer_client, no_tiers):
    order = _place(customer_client)
    assert customer_client.post(f"{URL}/{order['id']}/ship", {"carrier": "DHL"}, format="json").status_code == 403


def test_paid_shipped_and_cancelled_emails_go_to_the_customer_with_the_total(
    customer_client, staff_client, user, no_tiers
):
    shipped = _place(customer_client, quantity=2)
    staff_client.post(f"{URL}/{shipped['id']}/pay")
    staff_client.post(f"{URL}/{shipped['id']}/ship", {"tracking_number": "TN1"}, format="json")
    cancelled = _place(customer_client)
    customer_client.post(f"{URL}/{cancelled['id']}/cancel")

    emails = {email.key: email for email in Email.objects.filter(to=user.email)}
    assert set(emails) == {
        f"order-placed:{shipped['id']}",
        f"order-paid:{shipped['id']}",
        f"order-shipped:{shipped['id']}",
        f"order-placed:{cancelled['id']}",
        f"order-cancelled:{cancelled['id']}",
    }
    assert "16.00 EUR" in emails[f"order-paid:{shipped['id']}"].body_text
    assert shipped["number"] in emails[f"order-shipped:{shipped['id']}"].subject
    cancel_email = emails[f"order-cancelled:{cancelled['id']}"]
    assert "cancelled" in cancel_email.subject
    assert "refunded" not in cancel_email.body_text  # never paid: nothing to refund
