"""What store staff do every day, in a real browser against a live server."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from catalog.models import Book
from orders.models import Coupon, Order
from tests.factories import DEFAULT_PASSWORD, AuthorFactory, BookFactory, GenreFactory, UserFactory

pytestmark = pytest.mark.e2e


def choose_autocomplete(page: Page, select_id: str, term: str, choice: str) -> None:
    """Pick ``choice`` in the admin's select2 autocomplete widget of ``<select id=select_id>``."""
    page.locator(f"#{select_id} + .select2").click()
    search = page.locator(".select2-container--open .select2-search__field")
    search.fill(term)
    page.locator(".select2-results__option", has_text=choice).click()
    expect(page.locator(f"#{select_id} + .select2 .select2-selection")).to_contain_text(choice)


def test_book_created_with_two_authors_found_by_search_and_restocked_in_the_list(
    page: Page, admin_login: Callable[[Any], Page], superuser: Any, artifacts: Path
) -> None:
    AuthorFactory(name="Terry Pratchett")
    AuthorFactory(name="Neil Gaiman")
    AuthorFactory(name="Neil Stephenson")
    GenreFactory(name="Fantasy", slug="fantasy")
    for i in range(12):
        BookFactory(title=f"Shelf filler {i:02d}", stock=i)
    admin_login(superuser)

    page.goto("/admin/catalog/book/add/")
    page.locator("#id_isbn").fill("978-0-552-13703-4")
    page.locator("#id_title").fill("Good Omens")
    page.locator("#id_price").fill("8.99")
    page.locator("#id_stock").fill("4")
    choose_autocomplete(page, "id_author_links-0-author", "pratch", "Terry Pratchett")
    page.locator("#author_links-group .add-row a").click()
    choose_autocomplete(page, "id_author_links-1-author", "gaim", "Neil Gaiman")
    page.locator("#id_author_links-1-position").fill("1")
    choose_autocomplete(page, "id_genres", "fant", "Fantasy")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("ul.messagelist li.success")).to_contain_text("Good Omens")
    book = Book.objects.get(isbn="9780552137034")
    assert [link.author.name for link in book.author_links.order_by("position")] == ["Terry Pratchett", "Neil Gaiman"]

    # The admin search is the catalog's full-text search: an author's name finds the book.
    page.locator("#searchbar").fill("gaiman")
    page.locator("#changelist-search input[type=submit]").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Good Omens")
    expect(rows.first).to_contain_text("Terry Pratchett, Neil Gaiman")

    rows.first.locator("input[type=number][name$='-stock']").fill("11")
    page.locator("#changelist-form input[name='_save']").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")
    assert Book.objects.get(pk=book.pk).stock == 11

    page.goto("/admin/catalog/book/")
    expect(page.locator("#result_list tbody tr")).to_have_count(13)
    page.screenshot(path=str(artifacts / "book-changelist.png"), full_page=True)


def test_order_placed_through_the_api_is_cancelled_in_the_admin_and_stock_comes_back(
    page: Page, admin_login: Callable[[Any], Page], superuser: Any
) -> None:
    book = BookFactory(title="The Left Hand of Darkness", price=Decimal("11.50"), stock=5)
    customer = UserFactory(email="reader@example.com")

    token = page.request.post("/api/v1/auth/token", data={"email": customer.email, "password": DEFAULT_PASSWORD})
    assert token.status == 200, token.text()
    placed = page.request.post(
        "/api/v1/orders",
        data={"items": [{"book_id": book.pk, "quantity": 2}]},
        headers={"Authorization": f"Bearer {token.json()['access']}"},
    )
    assert placed.status == 201, placed.text()
    number = placed.json()["number"]
    assert Book.objects.get(pk=book.pk).stock == 3

    admin_login(superuser)
    expect(page.locator("#kpi-orders")).to_have_text("1")
    expect(page.locator("#dash-top-sellers")).to_contain_text("The Left Hand of Darkness")

    page.goto("/admin/orders/order/")
    row = page.locator("#result_list tbody tr", has_text=number)
    row.locator("input.action-select").check()
    page.locator("select[name='action']").select_option("cancel_orders")
    page.get_by_role("button", name="Go").click()

    # Cancelling asks first: nothing has changed until staff confirm.
    expect(page.locator("#cancel-list")).to_contain_text(number)
    assert Order.objects.get(number=number).status == "pending"
    page.get_by_role("button", name="Yes, cancel 1 order").click()

    expect(page.locator("ul.messagelist li.success")).to_have_text(f"{number}: now cancelled.")
    expect(page.locator("#result_list tbody tr", has_text=number)).to_contain_text("Cancelled")
    assert Order.objects.get(number=number).status == "cancelled"
    assert Book.objects.get(pk=book.pk).stock == 5

    page.locator("#result_list tbody tr", has_text=number).get_by_role("link", name=number).click()
    expect(page.locator("#desk-history")).to_contain_text("Pending → Cancelled")
    page.goto(f"/admin/catalog/book/{book.pk}/change/")
    expect(page.locator("#id_stock")).to_have_value("5")


def test_staff_create_a_coupon(page: Page, admin_login: Callable[[Any], Page], superuser: Any) -> None:
    admin_login(superuser)

    page.goto("/admin/orders/coupon/add/")
    page.locator("#id_code").fill("SPRING15")
    page.locator("#id_kind").select_option("percent")
    page.locator("#id_value").fill("15")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("ul.messagelist li.success")).to_contain_text("SPRING15")
    coupon = Coupon.objects.get(code="SPRING15")
    assert (coupon.kind, coupon.value, coupon.is_active) == ("percent", Decimal("15.00"), True)


def test_a_catalog_manager_cannot_open_orders(page: Page, admin_login: Callable[[Any], Page]) -> None:
    manager = UserFactory(email="catalog@example.com", is_staff=True)
    manager.groups.add(Group.objects.get(name="Catalog managers"))

    admin_login(manager)

    expect(page.locator("#content-main")).to_contain_text("Books")
    expect(page.locator("#content-main a[href='/admin/orders/order/']")).to_have_count(0)
    expect(page.locator("#dash-sales")).to_have_count(0)
    response = page.goto("/admin/orders/order/")
    assert response is not None
    assert response.status == 403
    response = page.goto("/admin/catalog/book/")
    assert response is not None
    assert response.status == 200
    expect(page).to_have_title(re.compile(r"^Select book to change"))
