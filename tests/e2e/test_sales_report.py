"""The sales report in a real browser: last month, on screen and exported as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orders.models import Order
from orders.services import OrderLine, order_place
from tests.e2e.conftest import sign_in
from tests.factories import AuthorFactory, BookFactory, GenreFactory, UserFactory

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_sales_report_for_last_month_exported(laptop: Page, superuser: Any) -> None:
    page = laptop
    today = timezone.localdate()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month_start = last_month_end.replace(day=1)
    poetry = GenreFactory(name="Poetry", slug="poetry")
    odes = BookFactory(
        title="Odes", price=Decimal("10.00"), stock=100, authors=[AuthorFactory(name="John Keats")], genres=[poetry]
    )
    emma = BookFactory(title="Emma", price=Decimal("4.00"), stock=100)
    customer = UserFactory()
    expected_revenue = Decimal("0.00")
    for day in range(1, last_month_end.day + 1, 3):
        order = order_place(
            user=customer,
            items=[OrderLine(book_id=odes.pk, quantity=1), OrderLine(book_id=emma.pk, quantity=day % 4 + 1)],
        )
        placed = timezone.make_aware(datetime.combine(last_month_start.replace(day=day), time(12)))
        Order.objects.filter(pk=order.pk).update(created_at=placed)
        expected_revenue += order.total
    order_place(user=customer, items=[OrderLine(book_id=odes.pk, quantity=1)])  # this month: not in the report

    sign_in(page, superuser)
    page.goto("/admin/orders/order/")
    page.locator("#sales-report-link").click()
    page.get_by_role("link", name="Last month").click()

    expect(page.locator("#report-sales-title")).to_contain_text(
        f"Sales {last_month_start.isoformat()} to {last_month_end.isoformat()}, by day"
    )
    orders = len(range(1, last_month_end.day + 1, 3))
    expect(page.locator("#report-orders")).to_have_text(str(orders))
    expect(page.locator("#report-revenue")).to_have_text(f"{expected_revenue} EUR")
    expect(page.locator("#report-sales svg.dash-chart rect")).to_have_count(last_month_end.day)
    expect(page.locator("#report-genres")).to_contain_text("Poetry")
    expect(page.locator("#report-authors")).to_contain_text("John Keats")
    page.screenshot(path=str(SCREENSHOTS / "sales-report.png"))

    with page.expect_download() as download_info:
        page.locator("#export-periods").click()
    download = download_info.value
    assert re.fullmatch(r"sales-periods-\d{8}-\d{8}\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[0] == ["day", "orders", "revenue", "discounts"]
    assert len(rows) == 1 + last_month_end.day
    assert sum(int(row[1]) for row in rows[1:]) == orders
    assert sum(Decimal(row[2]) for row in rows[1:]) == expected_revenue
