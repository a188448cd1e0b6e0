"""The admin index in a real browser: login, the branded dashboard and its chart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_login_shows_the_branded_dashboard(
    page: Page, admin_login: Callable[[Any], Page], superuser: Any, artifacts: Path
) -> None:
    page.goto("/admin/")
    expect(page).to_have_url("/admin/login/?next=/admin/")

    admin_login(superuser)

    expect(page).to_have_title("Dashboard | Bookstore admin")
    expect(page.locator("#site-name")).to_have_text("Bookstore")
    expect(page.locator("#dash-sales svg.dash-chart")).to_be_visible()
    expect(page.locator("#dash-sales svg.dash-chart rect")).to_have_count(30)
    expect(page.locator("#dash-status")).to_contain_text("Pending")
    expect(page.locator("#dash-low-stock")).to_be_visible()
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
