"""The order desk: the order page, status buttons with confirmation, packing slip, list totals, history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.utils import timezone

from catalog.models import Book
from orders.models import Coupon, Order
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, CouponFactory, OrderFactory, OrderItemFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/order/"


def desk(client: Client, order: Order) -> str:
    response = client.get(f"{CHANGELIST}{order.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_order_page_shows_discounts_readably_without_json_help_text_or_save_buttons(admin_client: Client) -> None:
    order = OrderFactory(
        subtotal=Decimal("40.00"),
        discount_total=Decimal("6.00"),
        total=Decimal("34.00"),
        coupon_code="SPRING15",
        discounts=[{"kind": "coupon", "code": "SPRING15", "description": "15 % off", "amount": "6.00"}],
    )
    OrderItemFactory(order=order, quantity=2)

    page = desk(admin_client, order)

    assert '15 % off (SPRING15)</th><td class="desk-num">&minus;6.00' in page
    assert '[{"kind"' not in page
    assert "&quot;kind&quot;" not in page
    assert "e.g. BK-2026-000123" not in page
    assert "Applied discounts:" not in page
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert "<form" not in page.split('id="content-main"')[1].split("</main>")[0]


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        ("pending", ["paid", "cancelled"]),
        ("paid", ["shipped", "cancelled"]),
        ("shipped", ["delivered"]),
        ("delivered", []),
        ("cancelled", []),
    ],
)
def test_the_page_offers_exactly_the_transitions_allowed_now(admin_client: Client, status: str, buttons: list) -> None:
    order = OrderFactory(status=status)

    page = desk(admin_client, order)

    for to in ("paid", "shipped", "delivered", "cancelled"):
        assert (f'id="status-{to}"' in page) == (to in buttons), to


def test_an_order_manager_without_change_permission_sees_no_buttons(make_staff: Callable[..., Any]) -> None:
    from django.contrib.auth.models import Permission

    viewer = make_staff()
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(viewer)
    order = OrderFactory(status="paid")

    page = desk(client, order)

    assert 'id="status-shipped"' not in page
    assert client.post(f"{CHANGELIST}{order.pk}/status/cancelled/").status_code == 403
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_a_status_button_asks_first_then_changes_through_the_service_and_logs_history(
    admin_client: Client, superuser: Any
) -> None:
    book = BookFactory(stock=5)
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=2)])
    url = f"{CHANGELIST}{order.pk}/status/cancelled/"

    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert "Yes, cancel order" in confirm.content.decode()
    assert Order.objects.get(pk=order.pk).status == "pending"  # asking changes nothing

    done = admin_client.post(url)

    assert done.status_code == 302
    assert done["Location"] == f"{CHANGELIST}{order.pk}/change/"
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert Book.objects.get(pk=book.pk).stock == 5
    assert order.status_changes.get(to_status="cancelled").by == superuser
    entry = LogEntry.objects.get(object_id=str(order.pk), action_flag=CHANGE)
    assert entry.user == superuser
    assert entry.get_change_message() == "Changed status (pending → cancelled)."
    history = admin_client.get(f"{CHANGELIST}{order.pk}/history/").content.decode()
    assert "Changed status (pending → cancelled)." in history


def test_ship_asks_for_carrier_and_tracking_number(admin_client: Client) -> None:
    order = OrderFactory(status="paid")
    url = f"{CHANGELIST}{order.pk}/status/shipped/"

    assert 'name="tracking_number"' in admin_client.get(url).content.decode()
    refused = admin_client.post(url, {"carrier": "DHL", "tracking_number": ""})
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    assert Order.objects.get(pk=order.pk).status == "paid"

    admin_client.post(url, {"carrier": "DHL", "tracking_number": "JD0146000012345"})

    shipped = Order.objects.get(pk=order.pk)
    assert (shipped.status, shipped.carrier, shipped.tracking_number) == ("shipped", "DHL", "JD0146000012345")
    assert "JD0146000012345" in desk(admin_client, shipped)
    assert LogEntry.objects.get(object_id=str(order.pk)).get_change_message() == (
        "Changed status (paid → shipped) and tracking number (— → DHL JD0146000012345)."
    )


def test_a_transition_no_longer_allowed_is_refused_on_the_confirmation_page(admin_client: Client) -> None:
    order = OrderFactory(status="delivered")

    page = admin_client.get(f"{CHANGELIST}{order.pk}/status/cancelled/").content.decode()
    admin_client.post(f"{CHANGELIST}{order.pk}/status/cancelled/")

    assert "cannot move to cancelled" in page
    assert Order.objects.get(pk=order.pk).status == "delivered"
    assert admin_client.get(f"{CHANGELIST}{order.pk}/status/refunded/").status_code == 404


def test_cancel_selected_orders_asks_for_confirmation_first(admin_client: Client) -> None:
    open_order, delivered = OrderFactory(status="paid"), OrderFactory(status="delivered")
    selection = {"action": "cancel_orders", "_selected_action": [open_order.pk, delivered.pk]}

    asked = admin_client.post(CHANGELIST, selection)

    page = asked.content.decode()
    assert asked.status_code == 200
    assert "Cancel 1 order?" in page
    assert delivered.number in page.split('id="cancel-refused"')[1]
    assert Order.objects.get(pk=open_order.pk).status == "paid"

    admin_client.post(CHANGELIST, {**selection, "confirm": "yes"})

    assert Order.objects.get(pk=open_order.pk).status == "cancelled"
    assert Order.objects.get(pk=delivered.pk).status == "delivered"


def test_status_actions_are_written_to_the_admin_history(admin_client: Client, superuser: Any) -> None:
    first, second = OrderFactory(), OrderFactory()

    admin_client.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [first.pk, second.pk]})

    entries = LogEntry.objects.filter(action_flag=CHANGE).order_by("object_id")
    assert [(e.object_id, e.user_id, e.get_change_message()) for e in entries] == [
        (str(first.pk), superuser.pk, "Changed status (pending → paid)."),
        (str(second.pk), superuser.pk, "Changed status (pending → paid)."),
    ]
    assert first.number in admin_client.get("/admin/").content.decode()  # "Recent actions"


def test_packing_slip_lists_items_and_address_for_a4(admin_client: Client) -> None:
    order = OrderFactory(
        fulfilment="delivery",
        shipping_address={"name": "Ada Lovelace", "line1": "12 St James's Sq", "city": "London", "country": "GB"},
    )
    OrderItemFactory(order=order, title="Dune", quantity=3)

    response = admin_client.get(f"{CHANGELIST}{order.pk}/packing-slip/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Ada Lovelace" in page
    assert "Dune" in page
    assert order.number in page
    assert "packing_slip" in page  # the A4 print stylesheet


def test_order_list_filters_by_payment_and_shows_totals_of_the_filtered_set(admin_client: Client) -> None:
    book = BookFactory(stock=10, price=Decimal("10.00"))
    paid = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=2)])
    order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])
    admin_client.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [paid.pk]})
    OrderFactory(status="cancelled", total=Decimal("99.00"))

    since = {"created_at__gte": (timezone.now() - timedelta(days=7)).isoformat()}
    unbounded = admin_client.get(CHANGELIST).context["filtered_totals"]
    everything = admin_client.get(CHANGELIST, since).context["filtered_totals"]
    succeeded = admin_client.get(CHANGELIST, {"payment": "succeeded", **since})
    old = admin_client.get(CHANGELIST, {"created_at__lt": (timezone.now() - timedelta(days=1)).isoformat()})

    # All time and whole days come from the daily sales rollup: no scan of every order.
    assert (unbounded["count"], unbounded["revenue"]) == (3, Decimal("30.00"))
    assert (everything["count"], everything["revenue"]) == (3, Decimal("30.00"))
    assert (succeeded.context["filtered_totals"]["count"], succeeded.context["filtered_totals"]["revenue"]) == (
        1,
        Decimal("20.00"),
    )
    assert paid.number in succeeded.content.decode()
    assert old.context["filtered_totals"]["count"] == 0


@pytest.mark.parametrize(
    ("fields", "uses", "status"),
    [
        ({}, 0, "active"),
        ({"is_active": False}, 0, "disabled"),
        ({"starts_at": timezone.now() + timedelta(days=2)}, 0, "scheduled"),
        ({"ends_at": timezone.now() - timedelta(days=1)}, 0, "expired"),
        ({"max_uses": 1}, 1, "used_up"),
    ],
)
def test_coupons_show_their_status_and_filter_by_it(admin_client: Client, fields: dict, uses: int, status: str) -> None:
    coupon = CouponFactory(code="C-" + status.upper(), **fields)
    for _ in range(uses):
        OrderFactory(coupon=coupon, coupon_code=coupon.code)
    CouponFactory(code="OTHER-ACTIVE")

    page = admin_client.get("/admin/orders/coupon/").content.decode()
    filtered = admin_client.get("/admin/orders/coupon/", {"coupon_status": status}).content.decode()

    assert f'coupon-status-{status}">' in page
    assert coupon.code in filtered
    assert ("OTHER-ACTIVE" in filtered) == (status == "active")
    assert Coupon.objects.count() == 2


@pytest.mark.parametrize(
    "url",
    [
        "/admin/auth/group/",
        "/admin/orders/idempotencykey/",
        "/admin/token_blacklist/outstandingtoken/",
        "/admin/token_blacklist/blacklistedtoken/",
        "/admin/django_celery_beat/intervalschedule/",
        "/admin/django_celery_beat/crontabschedule/",
    ],
)
def test_technical_models_are_for_superusers_only(
    admin_client: Client, make_staff: Callable[..., Any], url: str
) -> None:
    from django.contrib.auth.models import Permission

    staff = make_staff("Order managers", "Catalog managers")
    staff.user_permissions.set(Permission.objects.all())  # even holding every permission
    client = Client()
    client.force_login(staff)

    assert admin_client.get(url).status_code == 200
    assert client.get(url).status_code == 403
    assert f'href="{url}"' not in client.get("/admin/").content.decode()


def test_order_page_shows_each_line_s_cover_thumbnail_once_it_is_made(admin_client: Client) -> None:
    from catalog.models import BookCover

    order = OrderFactory()
    ready, pending, bare = BookFactory(), BookFactory(), BookFactory()
    BookCover.objects.create(
        book=ready,
        original="covers/abc/original.jpg",
        width=800,
        height=1200,
        small="covers/abc/small.webp",
        medium="covers/abc/medium.webp",
        large="covers/abc/large.webp",
    )
    BookCover.objects.create(book=pending, original="covers/def/original.jpg", width=800, height=1200)
    for book in (ready, pending, bare):
        OrderItemFactory(order=order, book=book, title=book.title)

    page = desk(admin_client, order)

    assert page.count('class="desk-cover"') == 1
    assert "covers/abc/small.webp" in page
    assert f'alt="Cover of {ready.title}"' in page


def test_order_page_says_when_cancelling_the_payment_at_the_provider_is_still_pending(admin_client: Client) -> None:
    from orders.payments.models import Payment

    order = OrderFactory(status="cancelled")
    payment = Payment.objects.create(order=order, provider="stripe", status="cancelled", amount=order.total)
    assert 'id="payment-cancel-pending"' not in desk(admin_client, order)

    Payment.objects.filter(pk=payment.pk).update(provider_cancel_pending=True)
    assert 'id="payment-cancel-pending"' in desk(admin_client, order)
