"""Coupons and bulk discount tiers in the admin: written by the same services as the API, refused in its words."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from rest_framework.test import APIClient

from orders import admin as orders_admin
from orders.models import BulkDiscountTier, Coupon
from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db

COUPON_ADD = "/admin/orders/coupon/add/"
TIER_ADD = "/admin/orders/bulkdiscounttier/add/"


def _coupon_form(**fields: Any) -> dict[str, Any]:
    data = {
        "code": "",
        "kind": "percent",
        "value": "10",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
        "min_subtotal": "",
        "max_uses": "",
        "is_active": "on",
    }
    data.update(fields)
    return data


def _default_tiers() -> None:
    BulkDiscountTier.objects.all().delete()
    BulkDiscountTier.objects.create(min_quantity=5, percent=Decimal("5.00"))
    BulkDiscountTier.objects.create(min_quantity=10, percent=Decimal("10.00"))


def _spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[dict[str, Any]]:
    """Record the calls the admin makes to the service ``name`` (the real service still runs); rows as their pk."""
    real: Callable[..., Any] = getattr(orders_admin, name)
    calls: list[dict[str, Any]] = []

    def spy(**kwargs: Any) -> Any:
        calls.append({key: value.pk if isinstance(value, Model) else value for key, value in kwargs.items()})
        return real(**kwargs)

    monkeypatch.setattr(orders_admin, name, spy)
    return calls


def test_adding_a_coupon_goes_through_coupon_create(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch, "coupon_create")
    response = admin_client.post(COUPON_ADD, _coupon_form(code="  spring10 ", max_uses="3"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.kind, coupon.value, coupon.max_uses) == ("spring10", "percent", Decimal("10.00"), 3)
    assert len(calls) == 1
    assert calls[0]["code"] == "spring10"


def test_changing_a_coupon_goes_through_coupon_update(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    coupon = CouponFactory(code="Keep", kind="fixed", value=Decimal("5.00"))
    calls = _spy(monkeypatch, "coupon_update")
    response = admin_client.post(
        f"/admin/orders/coupon/{coupon.pk}/change/", _coupon_form(code="KEEP", kind="fixed", value="7.50")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    coupon.refresh_from_db()
    assert (coupon.code, coupon.value) == ("KEEP", Decimal("7.50"))
    assert [call["coupon"] for call in calls] == [coupon.pk]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "spring", "kind": "fixed", "value": "1"}, "code"),
        ({"code": "NEW", "kind": "percent", "value": "150"}, "value"),
        (
            {
                "code": "NEW",
                "kind": "fixed",
                "value": "5",
                "starts_at": ("2026-02-01", "00:00:00"),
                "ends_at": ("2026-01-01", "00:00:00"),
            },
            "ends_at",
        ),
    ],
    ids=["code-taken-in-another-case", "percent-above-100", "end-before-start"],
)
def test_the_admin_refuses_what_the_api_refuses_with_the_same_message(
    admin_client: Client, staff_client: APIClient, fields: dict[str, Any], field: str
) -> None:
    CouponFactory(code="Spring")
    api_body = {
        name: value if not isinstance(value, tuple) else f"{value[0]}T{value[1]}Z" for name, value in fields.items()
    }
    api = staff_client.post("/api/v1/coupons", api_body, format="json")
    assert api.status_code == 400, api.content
    form_data = _coupon_form()
    for name, value in fields.items():
        if isinstance(value, tuple):
            form_data[f"{name}_0"], form_data[f"{name}_1"] = value
        else:
            form_data[name] = value
    response = admin_client.post(COUPON_ADD, form_data)
    assert response.status_code == 200  # the form comes back with errors
    errors = response.context["adminform"].form.errors
    assert errors[field] == api.json()["error"]["details"][field]
    assert Coupon.objects.count() == 1


def test_tiers_are_added_changed_and_deleted_through_the_services(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    BulkDiscountTier.objects.all().delete()
    created, updated, deleted = (
        _spy(monkeypatch, name) for name in ("discount_tier_create", "discount_tier_update", "discount_tier_delete")
    )
    assert admin_client.post(TIER_ADD, {"min_quantity": "3", "percent": "20"}).status_code == 302
    tier = BulkDiscountTier.objects.get()
    change = f"/admin/orders/bulkdiscounttier/{tier.pk}/change/"
    assert admin_client.post(change, {"min_quantity": "4", "percent": "25"}).status_code == 302
    assert list(BulkDiscountTier.objects.values_list("min_quantity", "percent")) == [(4, Decimal("25.00"))]
    delete = f"/admin/orders/bulkdiscounttier/{tier.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not BulkDiscountTier.objects.exists()
    assert (len(created), len(updated), len(deleted)) == (1, 1, 1)


def test_deleting_selected_tiers_goes_through_the_service(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _default_tiers()
    deleted = _spy(monkeypatch, "discount_tier_delete")
    pks = list(BulkDiscountTier.objects.values_list("pk", flat=True))
    response = admin_client.post(
        "/admin/orders/bulkdiscounttier/",
        {"action": "delete_selected", "_selected_action": pks, "post": "yes"},
    )
    assert response.status_code == 302
    assert not BulkDiscountTier.objects.exists()
    assert sorted(call["tier"] for call in deleted) == sorted(pks)


def test_a_tier_for_a_quantity_already_covered_is_a_form_error(admin_client: Client) -> None:
    _default_tiers()
    response = admin_client.post(TIER_ADD, {"min_quantity": "5", "percent": "7"})
    assert response.status_code == 200
    assert "min_quantity" in response.context["adminform"].form.errors
    assert BulkDiscountTier.objects.count() == 2
