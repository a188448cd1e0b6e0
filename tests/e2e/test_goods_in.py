"""Goods in and stock-take by barcode in a real browser, with the keyboard only (a scanner types ISBN + Enter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from catalog.ledger import ledger_mismatches
from catalog.models import Book, StockMovement
from tests.e2e.conftest import sign_in
from tests.factories import BookFactory, UserFactory

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UNKNOWN = "9780000000002"  # a valid ISBN the shop does not carry


@pytest.fixture
def catalog_manager(django_db_serialized_rollback: None) -> Any:
    user = UserFactory(email="shelves@example.com", is_staff=True, first_name="Sam")
    user.groups.add(Group.objects.get(name="Catalog managers"))
    return user


def scan(page: Page, isbn: str) -> None:
    page.keyboard.type(isbn)
    page.keyboard.press("Enter")


def test_receive_30_scanned_isbns_including_an_unknown_one(laptop: Page, catalog_manager: Any) -> None:
    page = laptop
    dune = BookFactory(title="Dune", stock=2)
    emma = BookFactory(title="Emma", stock=0)
    ulysses = BookFactory(title="Ulysses", stock=7)
    sign_in(page, catalog_manager)
    page.goto("/admin/catalog/book/")
    page.locator("#goods-in-link").click()
    expect(page.locator("#scan-isbn")).to_be_focused()

    # 29 known copies (12 + 10 + 7, interleaved as they come out of the boxes) and one unknown ISBN.
    sequence = [dune.isbn] * 12 + [emma.isbn] * 10 + [ulysses.isbn] * 7
    sequence = sequence[::2] + sequence[1::2]
    sequence.insert(15, UNKNOWN)
    for isbn in sequence:
        scan(page, isbn)

    expect(page.locator("#scan-total")).to_have_text("29")
    expect(page.locator("#scan-titles")).to_have_text("3")
    expect(page.locator("#scan-unknown li")).to_have_count(1)
    expect(page.locator("#scan-unknown")).to_contain_text(UNKNOWN)
    expect(page.locator(f"#scan-lines tr[data-isbn='{dune.isbn}'] input[name=count]")).to_have_value("12")
    page.screenshot(path=str(SCREENSHOTS / "goods-in.png"))

    # One Ulysses was damaged: correct its count by keyboard, back to the scan field with Enter.
    page.locator(f"#scan-lines tr[data-isbn='{ulysses.isbn}'] input[name=count]").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("6")
    page.keyboard.press("Enter")
    expect(page.locator("#scan-isbn")).to_be_focused()
    expect(page.locator("#scan-total")).to_have_text("28")
    page.locator("#scan-reference").focus()
    page.keyboard.type("DN-2026-11")
    page.keyboard.press("Control+Enter")  # commits from any field

    expect(page.locator("#scan-result-title")).to_contain_text("Received 28 copies of 3 titles")
    expect(page.locator("#scan-result-unknown")).to_contain_text(UNKNOWN)
    assert [Book.objects.get(pk=b.pk).stock for b in (dune, emma, ulysses)] == [14, 10, 13]
    assert set(StockMovement.objects.filter(kind="goods_in").values_list("reference", flat=True)) == {"DN-2026-11"}
    assert ledger_mismatches() == []


def test_a_stock_take_corrects_two_titles(laptop: Page, catalog_manager: Any) -> None:
    page = laptop
    short = BookFactory(title="Middlemarch", stock=4)
    right = BookFactory(title="Persuasion", stock=2)
    over = BookFactory(title="Walden", stock=1)
    sign_in(page, catalog_manager)
    page.goto("/admin/catalog/book/scan/?mode=stocktake")
    expect(page.locator("#scan-isbn")).to_be_focused()

    for isbn in [short.isbn] * 3 + [right.isbn] * 2 + [over.isbn] * 3:
        scan(page, isbn)
    expect(page.locator("#scan-total")).to_have_text("8")
    page.keyboard.press("Control+Enter")

    expect(page.locator("#scan-result-title")).to_contain_text("2 titles corrected of 3 counted")
    expect(page.locator("#scan-result tbody tr")).to_have_count(3)
    expect(page.locator(f"#scan-result tr[data-isbn='{short.isbn}']")).to_contain_text("-1")
    expect(page.locator(f"#scan-result tr[data-isbn='{over.isbn}']")).to_contain_text("+2")
    assert [Book.objects.get(pk=b.pk).stock for b in (short, right, over)] == [3, 2, 3]
    assert sorted(StockMovement.objects.filter(kind="stocktake").values_list("delta", flat=True)) == [-1, 2]
    assert ledger_mismatches() == []

    # The book's page shows the correction in its ledger.
    page.goto(f"/admin/catalog/book/{short.pk}/change/")
    expect(page.locator("#stock-movements")).to_contain_text("Stock-take correction")
