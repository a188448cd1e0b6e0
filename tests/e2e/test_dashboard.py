"""The admin index in a real browser: login, the branded dashboard and its chart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from orders.dashboard import dashboard_compute

pytestmark = pytest.mark.e2e


def test_login_shows_the_branded_dashboard(
    page: Page, admin_login: Callable[[Any], Page], superuser: Any, artifacts: Path
) -> None:
    call_command("seed_demo", books=300, orders=400, verbosity=0)
    expected = dashboard_compute()
    page.goto("/admin/")
    expect(page).to_have_url("/admin/login/?next=/admin/")

    admin_login(superuser)

    expect(page).to_have_title("Dashboard | Bookstore admin")
    expect(page.locator("#site-name")).to_have_text("Bookstore")
    expect(page.locator("#dash-sales svg.dash-chart")).to_be_visible()
    expect(page.locator("#dash-sales svg.dash-chart rect")).to_have_count(30)
    expect(page.locator("#kpi-orders")).to_have_text(str(expected.orders_total))
    expect(page.locator("#dash-status")).to_contain_text("Pending")
    expect(page.locator("#dash-top-sellers tbody tr")).to_have_count(len(expected.top_sellers))
    expect(page.locator("#dash-low-stock")).to_be_visible()
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    page.locator("#dash-status a", has_text="Paid").click()
    expect(page).to_have_url("/admin/orders/order/?status__exact=paid")
