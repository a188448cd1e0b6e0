"""Orders as flat records for export: ``manage.py export_orders`` and the admin's CSV export."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from orders.models import Order
from orders.selectors import order_list_with_details

COLUMNS = (
    "number",
    "status",
    "customer_email",
    "created_at",
    "updated_at",
    "items",
    "book_count",
    "subtotal",
    "discount_total",
    "total",
    "coupon_code",
    # Checkout: how the order goes, its shipping charge, the tax it contains, and how it is paid.
    "fulfilment",
    "shipping_method",
    "shipping",
    "tax",
    "shipping_address",
    "billing_address",
    "carrier",
    "tracking_number",
    "payment_provider",
    "payment_status",
)

# An address in one CSV cell, in this order, empty parts left out.
_ADDRESS_PARTS = ("name", "line1", "line2", "postal_code", "city", "region", "country", "phone")


def orders_for_export(
    *, statuses: list[str] | None, created_after: datetime | None, created_before: datetime | None
) -> QuerySet[Order]:
    """Orders oldest first with their customer, items and history, ready to stream with ``iterator()``."""
    orders = order_list_with_details()
    if statuses:
        orders = orders.filter(status__in=statuses)
    if created_after:
        orders = orders.filter(created_at__gte=created_after)
    if created_before:
        orders = orders.filter(created_at__lt=created_before)
    return orders.order_by("created_at", "id")


def order_record(order: Order) -> dict[str, Any]:
    items = list(order.items.all())
    payment = getattr(order, "payment", None)  # none for orders placed before payments were recorded
    return {
        "number": order.number,
        "status": order.status,
        "customer_email": order.user.email,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "items": [
            {
                "isbn": item.isbn,
                "title": item.title,
                "quantity": item.quantity,
                "unit_price": f"{item.unit_price:.2f}",
                "line_total": f"{item.line_total:.2f}",
            }
            for item in items
        ],
        "book_count": sum(item.quantity for item in items),
        "subtotal": f"{order.subtotal:.2f}",
        "discounts": order.discounts,
        "discount_total": f"{order.discount_total:.2f}",
        "total": f"{order.total:.2f}",
        "coupon_code": order.coupon_code,
        "fulfilment": order.fulfilment,
        "shipping_method": order.shipping_method_name,
        "shipping": f"{order.shipping:.2f}",
        "tax": list(order.tax),
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "payment": {"provider": payment.provider, "status": payment.status} if payment else None,
        "status_history": [
            {
                "status": change.to_status,
                "at": change.at.isoformat(),
                "by": change.by.email if change.by else None,
            }
            for change in order.status_changes.all()
        ],
    }


def _address_cell(address: Mapping[str, str] | None) -> str:
    return ", ".join(str(address[part]) for part in _ADDRESS_PARTS if address.get(part)) if address else ""


def order_csv_values(record: Mapping[str, Any]) -> list[str]:
    """CSV keeps one line per order.

    Items as ``isbn x quantity @ unit_price`` joined with ';'; tax as
    ``rate% label amount`` per rate joined with ';'; each address as its parts
    joined with ', '; the payment as its provider and status.
    """
    payment = record["payment"] or {}
    cells = {
        "items": ";".join(f"{item['isbn']} x {item['quantity']} @ {item['unit_price']}" for item in record["items"]),
        "tax": ";".join(f"{line['rate']}% {line['label']} {line['amount']}" for line in record["tax"]),
        "shipping_address": _address_cell(record["shipping_address"]),
        "billing_address": _address_cell(record["billing_address"]),
        "payment_provider": payment.get("provider", ""),
        "payment_status": payment.get("status", ""),
    }
    return [cells[column] if column in cells else str(record[column]) for column in COLUMNS]
