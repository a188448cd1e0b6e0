"""Checkout in the admin: the order page shows where and how an order goes; staff manage shipping methods."""

from __future__ import annotations

import pytest
from django.test import Client

from orders.models import ShippingMethod
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, ShippingMethodFactory, UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "phone": "+49 30 1",
}


def test_order_page_shows_address_method_shipping_and_tax_read_only(admin_client: Client) -> None:
    method = ShippingMethodFactory(name="Parcel DHL", countries=["DE"], price="4.95")
    order = order_place(
        user=UserFactory(),
        items=[OrderLine(book_id=BookFactory(price="20.00").pk, quantity=1)],
        shipping_address=ADDRESS,
        shipping_method_id=method.pk,
        billing_address={**ADDRESS, "name": "Lovelace GmbH"},
    )

    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Parcel DHL",
        "4.95",
        "24.95",
        "Unter den Linden 1",
        "10117 Berlin",
        "Lovelace GmbH",
        'of which VAT 7.00 %</th><td class="desk-num">1.31',
        'of which VAT 19.00 %</th><td class="desk-num">0.79',
        "Delivered to the shipping address",
    ):
        assert text in page, text
    # Nothing of it is a form field: the order is a record.
    assert 'name="shipping"' not in page
    assert 'name="shipping_address"' not in page


def test_pickup_order_page_shows_no_address(admin_client: Client) -> None:
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=BookFactory(price="10.00").pk, quantity=1)])

    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert "Collected in the shop" in page
    assert 'of which VAT 7.00 %</th><td class="desk-num">0.65' in page


def test_staff_add_a_shipping_method_for_several_countries(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/orders/shippingmethod/add/",
        {
            "name": "Europe",
            "countries": ["FR", "NL"],
            "price": "12.00",
            "free_over": "",
            "estimated_days": "5",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    method = ShippingMethod.objects.get(name="Europe")
    assert [country.code for country in method.countries] == ["FR", "NL"]
    assert method.free_over is None
    listing = admin_client.get("/admin/orders/shippingmethod/").content.decode()
    assert "FR, NL" in listing


def test_a_shipping_method_orders_use_cannot_be_deleted(admin_client: Client) -> None:
    method = ShippingMethodFactory(countries=["DE"])
    order_place(
        user=UserFactory(),
        items=[OrderLine(book_id=BookFactory().pk, quantity=1)],
        shipping_address=ADDRESS,
        shipping_method_id=method.pk,
    )

    response = admin_client.post(f"/admin/orders/shippingmethod/{method.pk}/delete/", {"post": "yes"})

    assert response.status_code == 200  # the page explains what protects it
    assert ShippingMethod.objects.filter(pk=method.pk).exists()


def test_order_page_shows_the_payment_its_history_and_the_tracking(admin_client: Client) -> None:
    from orders.models import Order
    from orders.services import order_ship, order_transition

    staff = UserFactory(email="shipper@example.com", is_staff=True, is_superuser=True)
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=BookFactory(price="20.00").pk, quantity=1)])
    order_transition(order=order, to=Order.Status.PAID, by=staff)
    order_ship(order=order, by=staff, carrier="DHL Paket", tracking_number="JJD0001234567")

    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    for text in (
        "DHL Paket",
        "JJD0001234567",
        "Manual (bank transfer, pay in shop)",  # the payment inline: provider and status
        "Succeeded",
        "awaiting → succeeded by shipper@example.com: Marked paid.",  # the payment history
    ):
        assert text in page, text
