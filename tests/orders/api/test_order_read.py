"""GET /api/v1/orders and /api/v1/orders/{id}: visibility, order, filters, query counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from tests.factories import OrderFactory, OrderItemFactory, StatusChangeFactory, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_order(*, created_at=None, **kwargs):
    order = OrderFactory(**kwargs)
    if created_at is not None:
        Order.objects.filter(pk=order.pk).update(created_at=created_at)
    return order


def test_customer_sees_only_own_orders_newest_first(customer_client, user):
    mine_old = make_order(user=user, created_at=at("2026-01-01T10:00:00"))
    mine_new = make_order(user=user, created_at=at("2026-02-01T10:00:00"))
    make_order(user=UserFactory())
    response = customer_client.get(URL)
    assert ids(response) == [mine_new.pk, mine_old.pk]
    assert set(response.json()) == {"count", "next", "previous", "results"}


def test_staff_sees_all_orders(staff_client, user):
    a = make_order(user=user, created_at=at("2026-01-01T10:00:00"))
    b = make_order(user=UserFactory(), created_at=at("2026-01-02T10:00:00"))
    assert ids(staff_client.get(URL)) == [b.pk, a.pk]


def test_same_timestamp_ties_break_newest_id_first(customer_client, user):
    moment = at("2026-03-01T00:00:00")
    first = make_order(user=user, created_at=moment)
    second = make_order(user=user, created_at=moment)
    assert ids(customer_client.get(URL)) == [second.pk, first.pk]


def test_other_users_order_is_404_for_customer(customer_client, staff_client):
    other = make_order(user=UserFactory())
    assert_envelope(customer_client.get(f"{URL}/{other.pk}"), 404, "not_found")
    assert staff_client.get(f"{URL}/{other.pk}").status_code == 200


def test_detail_of_own_order(customer_client, user):
    order = make_order(user=user)
    item = OrderItemFactory(order=order, quantity=2)
    StatusChangeFactory(order=order, by=user)
    response = customer_client.get(f"{URL}/{order.pk}")
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == order.pk
    assert data["number"] == order.number
    assert data["items"][0]["book_id"] == item.book_id
    assert data["status_history"] == [{"status": "pending", "at": data["status_history"][0]["at"], "by": user.pk}]


def test_unknown_and_non_numeric_ids_are_404(customer_client):
    assert_envelope(customer_client.get(f"{URL}/999999"), 404, "not_found")
    assert_envelope(customer_client.get(f"{URL}/abc"), 404, "not_found")


def test_anonymous_is_401(api_client):
    assert_envelope(api_client.get(URL), 401, "not_authenticated")


def test_filter_by_status(customer_client, user):
    paid = make_order(user=user, status="paid")
    make_order(user=user, status="pending")
    assert ids(customer_client.get(URL, {"status": "paid"})) == [paid.pk]
    error = assert_envelope(customer_client.get(URL, {"status": "lost"}), 400, "validation_error")
    assert "status" in error["details"]


def test_status_takes_several_values_in_any_case(customer_client, user):
    paid = make_order(user=user, status="paid", created_at=at("2026-01-01T10:00:00"))
    shipped = make_order(user=user, status="shipped", created_at=at("2026-01-02T10:00:00"))
    make_order(user=user, status="pending", created_at=at("2026-01-03T10:00:00"))
    assert ids(customer_client.get(URL, {"status": "PAID"})) == [paid.pk]
    assert ids(customer_client.get(URL, {"status": "paid,Shipped"})) == [shipped.pk, paid.pk]
    assert ids(customer_client.get(URL, {"status": ["paid", "shipped"]})) == [shipped.pk, paid.pk]
    error = assert_envelope(customer_client.get(URL, {"status": "paid,lost"}), 400, "validation_error")
    assert list(error["details"]) == ["status"]
    assert "pending" in error["details"]["status"][0]  # the message names the statuses


def test_filter_by_created_dates_inclusive(customer_client, user):
    jan = make_order(user=user, created_at=at("2026-01-15T23:59:59"))
    feb = make_order(user=user, created_at=at("2026-02-01T00:00:00"))
    mar = make_order(user=user, created_at=at("2026-03-10T12:00:00"))
    assert ids(customer_client.get(URL, {"created_after": "2026-02-01"})) == [mar.pk, feb.pk]
    assert ids(customer_client.get(URL, {"created_before": "2026-01-15"})) == [jan.pk]
    assert ids(customer_client.get(URL, {"created_after": "2026-01-16", "created_before": "2026-02-01"})) == [feb.pk]
    assert ids(customer_client.get(URL, {"created_after": "2026-03-10T12:00:00Z"})) == [mar.pk]
    assert ids(customer_client.get(URL, {"created_before": "2026-03-10T11:59:59Z"})) == [feb.pk, jan.pk]
    assert ids(customer_client.get(URL, {"created_after": "2026-03-10T13:00:00+01:00"})) == [mar.pk]
    for bad in ("yesterday", "2026-13-01", "2026-02-30T10:00:00"):
        error = assert_envelope(customer_client.get(URL, {"created_after": bad}), 400, "validation_error")
        assert "created_after" in error["details"]


def test_staff_filter_by_user(staff_client, user):
    mine = make_order(user=user)
    make_order(user=UserFactory())
    assert ids(staff_client.get(URL, {"user": user.pk})) == [mine.pk]


def test_staff_filter_by_several_users(staff_client, user):
    other, third = UserFactory(), UserFactory()
    mine = make_order(user=user, created_at=at("2026-01-01T10:00:00"))
    others = make_order(user=other, created_at=at("2026-01-02T10:00:00"))
    make_order(user=third)
    assert ids(staff_client.get(URL, {"user": f"{user.pk},{other.pk}"})) == [others.pk, mine.pk]
    assert ids(staff_client.get(URL, {"user": [user.pk, other.pk]})) == [others.pk, mine.pk]
    error = assert_envelope(staff_client.get(URL, {"user": f"{user.pk},x"}), 400, "validation_error")
    assert list(error["details"]) == ["user"]


def test_customer_cannot_use_user_filter_to_see_others(customer_client, user):
    other = UserFactory()
    make_order(user=other)
    assert ids(customer_client.get(URL, {"user": other.pk})) == []


def test_pagination(customer_client, user):
    for _ in range(3):
        make_order(user=user)
    response = customer_client.get(URL, {"page_size": 2})
    data = response.json()
    assert data["count"] == 3
    assert len(data["results"]) == 2
    assert data["next"] is not None
    assert data["previous"] is None


def test_malformed_page_is_400_and_a_page_past_the_last_is_404(customer_client, user):
    make_order(user=user)
    for bad in ("abc", "0", "-2", "2.0"):
        error = assert_envelope(customer_client.get(URL, {"page": bad}), 400, "validation_error")
        assert list(error["details"]) == ["page"]
    assert_envelope(customer_client.get(URL, {"page": "2"}), 404, "not_found")


def test_list_query_count_does_not_grow_with_orders(staff_client, django_assert_max_num_queries):
    def build(n):
        for _ in range(n):
            order = make_order()
            OrderItemFactory.create_batch(3, order=order)
            StatusChangeFactory(order=order)

    build(2)
    with CaptureQueriesContext(connection) as small:
        assert len(ids(staff_client.get(URL))) == 2
    build(18)
    with CaptureQueriesContext(connection) as large:
        assert len(ids(staff_client.get(URL))) == 20
    assert len(large) == len(small)


def test_orders_keep_working_when_the_coupon_is_later_changed(customer_client, user):
    order = make_order(user=user, coupon_code="GONE")
    data = customer_client.get(f"{URL}/{order.pk}").json()
    assert data["coupon_code"] == "GONE"


def test_created_before_accepts_a_day_and_the_timezone_offset(customer_client, user):
    order = make_order(user=user, created_at=at("2026-05-05T22:30:00"))
    # 2026-05-06T00:30+02:00 is 22:30 UTC on the 5th
    assert ids(customer_client.get(URL, {"created_before": "2026-05-06T00:30:00+02:00"})) == [order.pk]
    assert ids(customer_client.get(URL, {"created_before": "2026-05-06T00:29:59+02:00"})) == []
    assert (
        ids(customer_client.get(URL, {"created_after": (at("2026-05-05T22:30:00") + timedelta(seconds=1)).isoformat()}))
        == []
    )
