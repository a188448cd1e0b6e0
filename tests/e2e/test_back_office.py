"""The back office at a laptop's 1280x800: the order desk, cancelling, lists that fit, the dashboard.

The screenshots of docs/screenshots/ are taken here, so they always show the pages as they are.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from catalog.models import Book
from orders.models import Order
from orders.services import OrderLine, order_place, order_transition
from tests.e2e.conftest import sign_in
from tests.factories import BookFactory, CouponFactory, ShippingMethodFactory, UserFactory

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "phone": "+49 30 1",
}


def paid_delivery_order(staff: Any) -> Order:
    method = ShippingMethodFactory(name="Parcel DHL", countries=["DE"], price="4.95")
    dune = BookFactory(title="Dune", price=Decimal("12.00"), stock=5)
    omens = BookFactory(title="Good Omens", price=Decimal("9.50"), stock=5)
    order = order_place(
        user=UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace"),
        items=[OrderLine(book_id=dune.pk, quantity=2), OrderLine(book_id=omens.pk, quantity=1)],
        shipping_address=ADDRESS,
        shipping_method_id=method.pk,
    )
    return order_transition(order=order, to="paid", by=staff)


def fits(page: Page) -> None:
    """The page has no horizontal scroll and the list table ends inside the window."""
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " Math.ceil(document.querySelector('#result_list').getBoundingClientRect().right), location.pathname,"
        " [...document.querySelectorAll('#result_list thead th')].map(th => th.className + ':' +"
        " Math.round(th.getBoundingClientRect().width))]"
    )
    scroll_width, window_width, table_right = overflow[:3]
    assert scroll_width <= window_width, overflow
    assert table_right <= window_width, overflow


def test_pack_and_ship_an_order_with_a_tracking_number(laptop: Page, superuser: Any) -> None:
    page = laptop
    order = paid_delivery_order(superuser)
    sign_in(page, superuser)

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.locator("#desk-items tbody tr")).to_have_count(2)
    expect(page.locator("#desk-items")).to_contain_text("Dune")
    expect(page.locator("#shipping-address")).to_contain_text("10117 Berlin")
    expect(page.locator("#shipping-method")).to_contain_text("Parcel DHL")
    expect(page.locator("#payment-status")).to_have_text("Succeeded")
    expect(page.locator("input[name='_save']")).to_have_count(0)
    # Exactly the next steps a paid order allows.
    expect(page.locator(".desk-actions a")).to_have_text(["Ship", "Cancel order"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "order-page.png"))

    page.locator("#packing-slip-link").click()
    expect(page.locator(".slip")).to_contain_text("Ada Lovelace")
    expect(page.locator(".slip tbody tr")).to_have_count(2)
    page.go_back()

    page.locator("#status-shipped").click()
    page.get_by_label("Carrier").fill("DHL")
    page.get_by_label("Tracking number").press("Enter")  # empty: refused, nothing changes
    expect(page.locator("#confirm-form")).to_be_visible()
    assert Order.objects.get(pk=order.pk).status == "paid"
    page.get_by_label("Tracking number").fill("JD014600003828")
    page.get_by_role("button", name="Yes, ship").click()

    expect(page.locator("ul.messagelist li.success")).to_have_text(f"{order.number}: now shipped.")
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.locator("#tracking")).to_have_text("DHL JD014600003828")
    expect(page.locator(".desk-actions a")).to_have_text(["Mark delivered"])
    expect(page.locator("#desk-history")).to_contain_text("Paid → Shipped")
    shipped = Order.objects.get(pk=order.pk)
    assert (shipped.status, shipped.tracking_number) == ("shipped", "JD014600003828")

    page.locator(".historylink").click()
    expect(page.locator("#change-history")).to_contain_text("tracking number (— → DHL JD014600003828)")


def test_cancel_an_order_from_its_page_after_confirming(laptop: Page, superuser: Any) -> None:
    page = laptop
    order = paid_delivery_order(superuser)
    sign_in(page, superuser)

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    page.locator("#status-cancelled").click()
    expect(page.locator("#confirm-question")).to_contain_text(f"move order {order.number}")
    page.get_by_role("link", name="No, go back").click()
    expect(page.locator("#order-status")).to_have_text("Paid")
    assert Order.objects.get(pk=order.pk).status == "paid"

    page.locator("#status-cancelled").click()
    page.get_by_role("button", name="Yes, cancel order").click()

    expect(page.locator("#order-status")).to_have_text("Cancelled")
    expect(page.locator(".desk-actions")).to_have_count(0)
    assert sorted(Book.objects.values_list("stock", flat=True)) == [5, 5]


def test_lists_fit_a_1280_pixel_window_and_order_numbers_stay_on_one_line(laptop: Page, superuser: Any) -> None:
    page = laptop
    call_command("seed_demo", books=40, orders=40, verbosity=0)
    CouponFactory(code="SUMMER-READING-2026", max_uses=100)
    sign_in(page, superuser)

    for url in ("/admin/catalog/book/", "/admin/orders/order/", "/admin/orders/coupon/"):
        page.goto(url)
        expect(page.locator("#result_list")).to_be_visible()
        fits(page)

    page.goto("/admin/orders/order/")
    number = page.locator("#result_list tbody th.field-number a").first
    line_height = number.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 16")
    box = number.bounding_box()
    assert box is not None
    assert box["height"] < 1.5 * line_height, box
    expect(page.locator("#order-totals")).to_contain_text("orders")
    page.get_by_role("link", name="Past 7 days").click()
    expect(page.locator("#order-totals")).to_contain_text("orders")


def test_dashboard_at_1280_pixels(laptop: Page, superuser: Any) -> None:
    page = laptop
    call_command("seed_demo", books=100, orders=150, verbosity=0)
    sign_in(page, superuser)

    page.locator("#dash-sales summary", has_text="Daily figures").click()
    headers = page.locator("#dash-daily thead th")
    expect(headers).to_have_text(["Day", "Orders", re.compile(r"^Revenue")])
    heights = {header.bounding_box()["height"] for header in headers.all()}  # type: ignore[index]
    assert max(heights) < 30, heights  # one line each, never a letter per line
    # "All orders by status" comes after the 30-day sections, and says it covers all time.
    expect(page.locator("#dash-status")).to_contain_text("Since the shop opened")
    order = page.evaluate("() => [...document.querySelectorAll('.dash > section')].map(section => section.id)")
    assert order.index("dash-status") > order.index("dash-top-sellers"), order
    page.locator("#dash-sales summary", has_text="Daily figures").click()
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"))
