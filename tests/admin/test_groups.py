"""Staff groups from the data migration, and what their members may open in the admin."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.test import Client

pytestmark = pytest.mark.django_db

CATALOG_PAGES = ["/admin/catalog/book/", "/admin/catalog/author/", "/admin/catalog/genre/"]
ORDER_PAGES = [
    "/admin/orders/order/",
    "/admin/orders/coupon/",
    "/admin/orders/bulkdiscounttier/",
    "/admin/orders/shippingmethod/",
]


def _codenames(name: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=name).permissions.select_related("content_type")
    }


def test_catalog_managers_manage_books_authors_genres_series_and_works() -> None:
    assert _codenames("Catalog managers") == {
        f"catalog.{action}_{model}"
        for model in ("book", "author", "genre", "bookauthor", "series", "work")
        for action in ("view", "add", "change", "delete")
    } | {"catalog.view_stockmovement", "catalog.view_stocksubscription"}  # the stock ledger is read, never written


def test_order_managers_run_orders_coupons_tiers_and_shipping_but_never_add_or_delete_orders() -> None:
    assert _codenames("Order managers") == {
        "orders.view_order",
        "orders.change_order",
        "orders.view_orderitem",
        "orders.view_statuschange",
        *(
            f"orders.{action}_{model}"
            for model in ("coupon", "bulkdiscounttier", "shippingmethod")
            for action in ("view", "add", "change", "delete")
        ),
    }


@pytest.mark.parametrize("url", CATALOG_PAGES)
def test_catalog_manager_opens_catalog_pages(staff_client_for: Callable[..., Client], url: str) -> None:
    assert staff_client_for("Catalog managers").get(url).status_code == 200


@pytest.mark.parametrize("url", ORDER_PAGES)
def test_catalog_manager_is_refused_order_pages(staff_client_for: Callable[..., Client], url: str) -> None:
    assert staff_client_for("Catalog managers").get(url).status_code == 403


@pytest.mark.parametrize("url", ORDER_PAGES)
def test_order_manager_opens_order_pages(staff_client_for: Callable[..., Client], url: str) -> None:
    assert staff_client_for("Order managers").get(url).status_code == 200


@pytest.mark.parametrize("url", CATALOG_PAGES)
def test_order_manager_is_refused_catalog_pages(staff_client_for: Callable[..., Client], url: str) -> None:
    assert staff_client_for("Order managers").get(url).status_code == 403


def test_the_index_lists_only_the_apps_a_group_may_see(staff_client_for: Callable[..., Client]) -> None:
    catalog_index = staff_client_for("Catalog managers").get("/admin/").content.decode()
    orders_index = staff_client_for("Order managers").get("/admin/").content.decode()

    assert 'href="/admin/catalog/book/"' in catalog_index
    assert 'href="/admin/orders/order/"' not in catalog_index
    assert 'href="/admin/orders/order/"' in orders_index
    assert 'href="/admin/catalog/book/"' not in orders_index


def test_an_order_manager_cannot_add_or_delete_orders(staff_client_for: Callable[..., Client]) -> None:
    client = staff_client_for("Order managers")

    assert client.get("/admin/orders/order/add/").status_code == 403
