"""The orders app's part of a user's personal data (registered with ``accounts.personal_data``).

Export: every order of the user with its lines, status history, address
copies and payment (provider, status, amounts; never the client secret).

Erasure: paid or shipped orders are still being fulfilled and need the
address, so they refuse the erasure (``AccountHasOpenOrders``, 409) until
they are delivered or cancelled. Pending (unpaid) orders are cancelled
through ``order_cancel`` on the customer's behalf: stock and coupon uses come
back, a started payment is closed. Every order stays for the accounts, with
its address copies reduced to the country (which the tax depended on), and
the user's idempotency records (they hold whole responses) are deleted.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from accounts.exceptions import AccountHasOpenOrders
from accounts.personal_data import Section, section_register
from accounts.services import ADDRESS_FIELDS
from orders.models import IdempotencyKey, Order
from orders.payments.models import Payment
from orders.services import order_cancel

Status = Order.Status
#: Orders in these states still need the customer's address and refuse an erasure.
IN_FULFILMENT = (Status.PAID, Status.SHIPPED)


def _payment(order: Order) -> dict[str, Any] | None:
    payment: Payment | None = getattr(order, "payment", None)
    if payment is None:
        return None
    return {
        "provider": payment.provider,
        "status": payment.status,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
        "events": [
            {"from_status": event.from_status, "to_status": event.to_status, "note": event.note, "at": event.at}
            for event in payment.events.order_by("at", "id")
        ],
    }


def orders_export(user: Any) -> list[dict[str, Any]]:
    orders = (
        Order.objects.filter(user=user)
        .select_related("payment")
        .prefetch_related("items", "status_changes")
        .order_by("created_at", "id")
    )
    return [
        {
            "id": order.pk,
            "number": order.number,
            "status": order.status,
            "created_at": order.created_at,
            "subtotal": str(order.subtotal),
            "discount_total": str(order.discount_total),
            "shipping": str(order.shipping),
            "total": str(order.total),
            "coupon_code": order.coupon_code,
            "fulfilment": order.fulfilment,
            "shipping_method": order.shipping_method_name,
            "shipping_address": order.shipping_address,
            "billing_address": order.billing_address,
            "carrier": order.carrier,
            "tracking_number": order.tracking_number,
            "items": [
                {
                    "isbn": item.isbn,
                    "title": item.title,
                    "unit_price": str(item.unit_price),
                    "quantity": item.quantity,
                    "line_total": str(item.line_total),
                }
                for item in sorted(order.items.all(), key=lambda item: item.pk)
            ],
            "history": [
                {"from_status": change.from_status, "to_status": change.to_status, "at": change.at}
                for change in sorted(order.status_changes.all(), key=lambda change: (change.at, change.pk))
            ],
            "payment": _payment(order),
        }
        for order in orders
    ]


def orders_check_erase(user: Any) -> None:
    numbers = list(
        Order.objects.filter(user=user, status__in=IN_FULFILMENT).order_by("id").values_list("number", flat=True)
    )
    if numbers:
        raise AccountHasOpenOrders(details={"orders": numbers})


def _anonymised(address: Any) -> Any:
    """An order's address copy with everything but the country blanked (``None`` stays ``None``)."""
    if not isinstance(address, dict):
        return address
    return {**dict.fromkeys(ADDRESS_FIELDS, ""), "country": str(address.get("country") or "")}


def orders_erase(user: Any, by: Any) -> None:
    with transaction.atomic():
        for order in Order.objects.filter(user=user, status=Status.PENDING).order_by("id"):
            # On the customer's behalf: the owner may cancel their own pending orders.
            order_cancel(order=order, by=user)
        for order in Order.objects.filter(
            Q(shipping_address__isnull=False) | Q(billing_address__isnull=False), user=user
        ):
            order.shipping_address = _anonymised(order.shipping_address)
            order.billing_address = _anonymised(order.billing_address)
            order.save(update_fields=["shipping_address", "billing_address", "updated_at"])
        IdempotencyKey.objects.filter(user=user).delete()


def register() -> None:
    section_register(Section(name="orders", export=orders_export, check_erase=orders_check_erase, erase=orders_erase))
