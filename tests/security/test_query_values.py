"""API.md: "No query value makes the server fail: dates at the ends of the calendar, ``ordering=--field``
and the like are 400s."

Each attack that answered 500 is reproduced as it was sent, then the same
classes of values are swept over every documented parameter of every list,
read from the OpenAPI schema. The admin's changelists answer such lookups as
Django answers any bad lookup: the list again, with its error flag (``?e=1``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import BookFactory, BulkDiscountTierFactory, CouponFactory, OrderFactory
from tests.helpers import assert_envelope
from tests.security.edges import edge_values

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"created_before": "9999-12-31"}, "created_before"),  # the day's end is 10000-01-01
        ({"created_after": "9999-12-31T23:59:59-01:00"}, "created_after"),  # 10000-01-01T00:59:59Z
        ({"created_after": "0001-01-01T00:00:00+01:00"}, "created_after"),  # 0000-12-31T23:00:00Z
        ({"created_before": "0001-01-01T00:00:00+01:00"}, "created_before"),
    ],
)
def test_order_dates_beyond_the_calendar_in_utc_are_400(
    staff_client: APIClient, params: dict[str, str], name: str
) -> None:
    OrderFactory()
    error = assert_envelope(staff_client.get("/api/v1/orders", params), 400, "validation_error")
    assert list(error["details"]) == [name]


def test_order_dates_at_the_ends_that_fit_in_utc_still_filter(staff_client: APIClient) -> None:
    order = OrderFactory()
    every = {"created_after": "0001-01-01", "created_before": "9999-12-31T23:59:59Z"}
    assert [row["id"] for row in staff_client.get("/api/v1/orders", every).json()["results"]] == [order.pk]
    none = staff_client.get("/api/v1/orders", {"created_before": "0001-01-01T00:00:00Z"})
    assert none.json()["results"] == []


@pytest.mark.parametrize(
    ("path", "ordering"),
    [
        ("/api/v1/orders", "--total"),
        ("/api/v1/orders", "---created_at"),
        ("/api/v1/orders", "-created_at,--total"),
        ("/api/v1/coupons", "--code"),
        ("/api/v1/discount-tiers", "---percent"),
        ("/api/v1/discount-tiers", "+percent"),
    ],
)
def test_repeated_signs_in_ordering_are_400(staff_client: APIClient, path: str, ordering: str) -> None:
    OrderFactory()
    CouponFactory()
    BulkDiscountTierFactory(min_quantity=99)
    error = assert_envelope(staff_client.get(path, {"ordering": ordering}), 400, "validation_error")
    assert list(error["details"]) == ["ordering"]


def _list_operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The paginated lists: GETs that take ``page``."""
    return [
        (path, item["get"])
        for path, item in document["paths"].items()
        if "get" in item and "page" in {parameter["name"] for parameter in item["get"].get("parameters", [])}
    ]


def test_every_list_answers_edge_values_with_200_or_400_and_signed_orderings_with_400(
    staff_client: APIClient,
) -> None:
    """The sweep: for each list, each date parameter at each calendar end and each signed ordering."""
    BookFactory()
    OrderFactory()
    CouponFactory()
    document = staff_client.get("/api/schema/", {"format": "json"}).json()
    lists = _list_operations(document)
    assert {"/api/v1/books", "/api/v1/orders", "/api/v1/coupons", "/api/v1/discount-tiers"} <= {p for p, _ in lists}
    failures, tried = [], set()
    for path, operation in lists:
        for name, value in edge_values(document, operation):
            tried.add((path, name, value))
            response = staff_client.get(path, {name: value})
            allowed = {400} if name == "ordering" else {200, 400}
            if response.status_code not in allowed:
                failures.append((path, name, value, response.status_code))
            elif response.status_code == 400:
                assert_envelope(response, 400, "validation_error")
                assert name in response.json()["error"]["details"]
    assert not failures, failures
    # The sweep covers the attacks above.
    assert {
        ("/api/v1/orders", "created_before", "9999-12-31"),
        ("/api/v1/orders", "created_after", "0001-01-01T00:00:00+01:00"),
        ("/api/v1/orders", "ordering", "--total"),
        ("/api/v1/coupons", "ordering", "--code"),
        ("/api/v1/discount-tiers", "ordering", "---percent"),
        ("/api/v1/books", "published_after", "0001-01-01"),
    } <= tried


ADMIN_LOOKUPS = [
    ("/admin/orders/order/", "created_at__lt"),
    ("/admin/orders/order/", "created_at__gte"),
    ("/admin/orders/order/", "created_at__lte"),
    ("/admin/orders/order/", "updated_at__gt"),
    ("/admin/orders/coupon/", "starts_at__lt"),
    ("/admin/catalog/book/", "created_at__gte"),
    ("/admin/accounts/user/", "date_joined__lt"),
]


@pytest.mark.parametrize(("path", "lookup"), ADMIN_LOOKUPS)
@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_admin_changelist_answers_instants_beyond_the_calendar_without_a_500(
    admin_client: Client, path: str, lookup: str, value: str
) -> None:
    OrderFactory()
    CouponFactory()
    response = admin_client.get(path, {lookup: value})
    # SQLite stores instants as UTC text, so these overflow: the admin's bad-lookup answer.
    # PostgreSQL's timestamps reach far beyond year 9999: there the list simply answers.
    assert response.status_code in {200, 302}
    if response.status_code == 302:
        assert response["Location"] == f"{path}?e=1"
        assert admin_client.get(response["Location"]).status_code == 200


def test_admin_date_filter_still_filters_the_order_changelist(admin_client: Client) -> None:
    order = OrderFactory()
    response = admin_client.get(
        "/admin/orders/order/",
        {"created_at__gte": "2000-01-01T00:00:00+00:00", "created_at__lt": "9999-12-31T00:00:00+00:00"},
    )
    assert response.status_code == 200
    assert order.number in response.content.decode()
