"""/api/v1/coupons and /api/v1/discount-tiers (API.md, "Coupons and bulk discount tiers")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import BulkDiscountTier, Coupon, Order
from orders.services import coupons as coupon_services
from tests.factories import BookFactory, CouponFactory, OrderFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

COUPONS = "/api/v1/coupons"
TIERS = "/api/v1/discount-tiers"
COUPON_KEYS = {"id", "code", "kind", "value", "starts_at", "ends_at", "min_subtotal", "max_uses", "uses", "is_active"}


# --- coupons --------------------------------------------------------------------


def test_staff_creates_and_reads_a_coupon(staff_client):
    response = staff_client.post(
        COUPONS,
        {
            "code": "WELCOME10",
            "kind": "percent",
            "value": "10",
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": "2026-12-31T00:00:00+01:00",
            "min_subtotal": "20",
            "max_uses": 100,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == COUPON_KEYS
    assert (data["code"], data["kind"], data["value"], data["min_subtotal"], data["max_uses"]) == (
        "WELCOME10",
        "percent",
        "10.00",
        "20.00",
        100,
    )
    assert data["uses"] == 0
    assert data["is_active"] is True
    assert staff_client.get(f"{COUPONS}/{data['id']}").json() == data


def test_optional_fields_may_be_null(staff_client):
    response = staff_client.post(
        COUPONS,
        {"code": "FIVE", "kind": "fixed", "value": "5.00", "starts_at": None, "ends_at": None, "min_subtotal": None},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["starts_at"], data["ends_at"], data["min_subtotal"], data["max_uses"]) == (None, None, None, None)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "percent", "value": "0"}, "value"),
        ({"kind": "percent", "value": "100.01"}, "value"),
        ({"kind": "percent", "value": "-5"}, "value"),
        ({"kind": "fixed", "value": "0"}, "value"),
        ({"kind": "bogus", "value": "5"}, "kind"),
        (
            {"kind": "fixed", "value": "5", "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
            "ends_at",
        ),
        ({"kind": "fixed", "value": "5", "min_subtotal": "-1"}, "min_subtotal"),
        ({"kind": "fixed", "value": "5", "max_uses": -1}, "max_uses"),
    ],
)
def test_value_rules_are_400(staff_client, data, field):
    error = assert_envelope(staff_client.post(COUPONS, {"code": "X", **data}, format="json"), 400, "validation_error")
    assert field in error["details"], error
    assert not Coupon.objects.exists()


def test_percent_of_exactly_100_and_large_fixed_are_fine(staff_client):
    assert (
        staff_client.post(COUPONS, {"code": "FREE", "kind": "percent", "value": "100"}, format="json").status_code
        == 201
    )
    assert (
        staff_client.post(COUPONS, {"code": "BIG", "kind": "fixed", "value": "500.00"}, format="json").status_code
        == 201
    )


def test_code_is_unique_case_insensitively(staff_client):
    CouponFactory(code="Spring")
    error = assert_envelope(
        staff_client.post(COUPONS, {"code": "SPRING", "kind": "fixed", "value": "1"}, format="json"),
        400,
        "validation_error",
    )
    assert "code" in error["details"]


def test_code_taken_by_a_concurrent_request_is_still_400(staff_client, monkeypatch):
    CouponFactory(code="RACE")
    # As if the other request inserted its coupon right after this one was checked.
    real, checks = coupon_services._code_taken, []

    def first_check_misses(code, **kwargs):
        checks.append(code)
        return len(checks) > 1 and real(code, **kwargs)

    monkeypatch.setattr(coupon_services, "_code_taken", first_check_misses)
    error = assert_envelope(
        staff_client.post(COUPONS, {"code": "race", "kind": "fixed", "value": "1"}, format="json"),
        400,
        "validation_error",
    )
    assert "code" in error["details"]
    assert Coupon.objects.count() == 1
    assert checks == ["race", "race"]  # the insert failed, then the code was found taken


def test_updating_keeps_own_code_and_checks_kind_with_value(staff_client):
    coupon = CouponFactory(code="Keep", kind="fixed", value="150.00")
    response = staff_client.patch(f"{COUPONS}/{coupon.pk}", {"code": "KEEP", "is_active": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["code"] == "KEEP"
    assert response.json()["is_active"] is False
    # switching to percent with the old value 150 breaks the percent rule
    error = assert_envelope(
        staff_client.patch(f"{COUPONS}/{coupon.pk}", {"kind": "percent"}, format="json"), 400, "validation_error"
    )
    assert "value" in error["details"]


def test_uses_counts_non_cancelled_orders_and_is_read_only(staff_client):
    coupon = CouponFactory(code="COUNTED")
    OrderFactory.create_batch(2, coupon=coupon, coupon_code="COUNTED")
    OrderFactory(coupon=coupon, coupon_code="COUNTED", status="paid")
    OrderFactory(coupon=coupon, coupon_code="COUNTED", status="cancelled")
    CouponFactory(code="UNUSED")
    rows = {row["code"]: row["uses"] for row in staff_client.get(COUPONS).json()["results"]}
    assert rows == {"COUNTED": 3, "UNUSED": 0}
    response = staff_client.patch(f"{COUPONS}/{coupon.pk}", {"uses": 0}, format="json")
    assert response.status_code == 200
    assert response.json()["uses"] == 3


def test_cancelling_frees_a_use(staff_client, customer_client):
    coupon = CouponFactory(code="C")
    book = BookFactory(stock=5)
    order = customer_client.post(
        "/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 1}], "coupon_code": "c"}, format="json"
    ).json()
    assert staff_client.get(f"{COUPONS}/{coupon.pk}").json()["uses"] == 1
    customer_client.post(f"/api/v1/orders/{order['id']}/cancel")
    assert staff_client.get(f"{COUPONS}/{coupon.pk}").json()["uses"] == 0


def test_coupon_list_query_count_is_constant(staff_client):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(COUPONS).status_code == 200
        return len(queries)

    CouponFactory()
    small = count()
    for coupon in CouponFactory.create_batch(10):
        OrderFactory(coupon=coupon)
    assert count() == small


def test_used_coupon_cannot_be_deleted(staff_client):
    coupon = CouponFactory()
    OrderFactory(coupon=coupon)
    assert_envelope(staff_client.delete(f"{COUPONS}/{coupon.pk}"), 409, "conflict")
    unused = CouponFactory()
    assert staff_client.delete(f"{COUPONS}/{unused.pk}").status_code == 204


@pytest.mark.parametrize("url", [COUPONS, TIERS])
def test_customers_get_403_and_anonymous_401(customer_client, api_client, url):
    assert_envelope(customer_client.get(url), 403, "permission_denied")
    assert_envelope(customer_client.post(url, {}, format="json"), 403, "permission_denied")
    assert_envelope(api_client.get(url), 401, "not_authenticated")


# --- discount tiers ---------------------------------------------------------------


def test_fresh_database_has_the_default_tiers(staff_client):
    # Installed by the data migration.
    rows = staff_client.get(TIERS).json()["results"]
    assert [(row["min_quantity"], row["percent"]) for row in rows] == [(5, "5.00"), (10, "10.00")]
    assert all(set(row) == {"id", "min_quantity", "percent"} for row in rows)


def test_staff_manages_tiers_and_orders_use_them(staff_client, customer_client, no_tiers):
    response = staff_client.post(TIERS, {"min_quantity": 3, "percent": "20"}, format="json")
    assert response.status_code == 201, response.content
    tier_id = response.json()["id"]
    book = BookFactory(price="10.00", stock=10)
    order = customer_client.post(
        "/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 3}]}, format="json"
    ).json()
    assert (order["discount_total"], order["total"]) == ("6.00", "24.00")
    assert staff_client.patch(f"{TIERS}/{tier_id}", {"percent": "50"}, format="json").json()["percent"] == "50.00"
    assert staff_client.delete(f"{TIERS}/{tier_id}").status_code == 204
    assert not BulkDiscountTier.objects.exists()
    # the placed order keeps its price
    assert Order.objects.get(pk=order["id"]).total == Decimal("24.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"min_quantity": 0, "percent": "5"}, "min_quantity"),
        ({"min_quantity": 2, "percent": "0"}, "percent"),
        ({"min_quantity": 2, "percent": "100.01"}, "percent"),
        ({"min_quantity": 2, "percent": "-1"}, "percent"),
        ({"min_quantity": 5, "percent": "7"}, "min_quantity"),
    ],
    ids=["zero-quantity", "zero-percent", "over-100", "negative", "duplicate"],
)
def test_tier_rules_are_400(staff_client, no_tiers, data, field):
    BulkDiscountTier.objects.create(min_quantity=5, percent="5.00")
    error = assert_envelope(staff_client.post(TIERS, data, format="json"), 400, "validation_error")
    assert field in error["details"], error
    assert BulkDiscountTier.objects.count() == 1


def test_tier_of_100_percent_is_allowed(staff_client, no_tiers):
    assert staff_client.post(TIERS, {"min_quantity": 1, "percent": "100"}, format="json").status_code == 201
