"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Every test here gets a transactional database (the live server runs in another
thread) restored to its migrated state before it starts (serialized rollback),
so the data migrations' groups and discount tiers are there as in production.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import DEFAULT_PASSWORD, UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (or set CHROMIUM_PATH).")
    # Playwright's sync API keeps an asyncio loop running in this thread, which makes
    # Django refuse ORM calls from the test body; the calls are synchronous, so allow them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser, live_server: Any, django_db_serialized_rollback: None) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def laptop(browser: Browser, live_server: Any, django_db_serialized_rollback: None) -> Iterator[Page]:
    """A page at 1280x800, the size the back office is laid out for."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, user: Any) -> None:
    """Sign ``user`` into the admin through the login form, as staff do (Enter in the password field)."""
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    # The whole URL: the login page's own address ends in "next=/admin/" too, and a
    # navigation started before the form's answer arrives would cancel the sign-in.
    expect(page).to_have_url("/admin/")


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def superuser(django_db_serialized_rollback: None) -> Any:
    return UserFactory(email="admin@example.com", is_staff=True, is_superuser=True, first_name="Ada")


@pytest.fixture
def admin_login(page: Page) -> Callable[[Any], Page]:
    """``admin_login(user)`` signs ``user`` into the admin through the login form."""

    def login(user: Any) -> Page:
        sign_in(page, user)
        return page

    return login
