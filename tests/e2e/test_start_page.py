"""The start page at `/` in a real browser: where `make run` sends a newcomer, and every link works."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bookstore.demo import DEMO_STAFF_EMAIL, demo_staff_create

pytestmark = pytest.mark.e2e


def test_start_page_leads_to_the_admin_the_api_docs_and_the_api_root(page: Page, artifacts: Path) -> None:
    _, password = demo_staff_create()
    page.goto("/")
    expect(page).to_have_title("Bookstore")
    expect(page.locator("body")).to_contain_text(DEMO_STAFF_EMAIL)
    expect(page.locator("body")).not_to_contain_text(password)
    page.screenshot(path=str(artifacts / "start-page.png"), full_page=True)

    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page).to_have_url("/admin/login/?next=/admin/")

    page.goto("/")
    page.get_by_role("link", name="API documentation").click()
    expect(page).to_have_url("/api/docs/")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Bookstore API")

    page.goto("/")
    page.get_by_role("link", name="API root").click()
    expect(page).to_have_url("/api/v1/")
    expect(page.locator("body")).to_contain_text('"currency"')
