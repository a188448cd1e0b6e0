"""manage.py export_orders: streaming export of orders, filtered by status and creation date."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from orders.exporting import COLUMNS
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders() -> None:
    call_command("seed_demo", books=40, orders=40, seed=5, stdout=io.StringIO())


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_orders", *args, stdout=out)
    return out.getvalue()


def test_jsonl_holds_every_order_with_items_and_history(orders):
    records = [json.loads(line) for line in export("--format", "jsonl").splitlines()]

    assert [r["number"] for r in records] == list(
        Order.objects.order_by("created_at", "id").values_list("number", flat=True)
    )
    order = Order.objects.prefetch_related("items", "status_changes").get(number=records[0]["number"])
    first = records[0]
    assert first["status"] == order.status
    assert first["total"] == f"{order.total:.2f}"
    assert first["customer_email"] == order.user.email
    assert [(i["isbn"], i["quantity"], i["unit_price"]) for i in first["items"]] == [
        (item.isbn, item.quantity, f"{item.unit_price:.2f}") for item in order.items.order_by("id")
    ]
    assert [step["status"] for step in first["status_history"]][-1] == order.status
    assert first["book_count"] == sum(item.quantity for item in order.items.all())


def test_csv_one_line_per_order(orders, tmp_path: Path):
    path = tmp_path / "orders.csv"
    call_command("export_orders", "--output", str(path), stderr=io.StringIO())

    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == Order.objects.count()
    row = rows[0]
    order = Order.objects.get(number=row["number"])
    assert row["items"] == ";".join(
        f"{item.isbn} x {item.quantity} @ {item.unit_price:.2f}" for item in order.items.order_by("id")
    )


def test_filter_by_status(orders):
    records = [
        json.loads(line)
        for line in export("--format", "jsonl", "--status", "paid", "--status", "cancelled").splitlines()
    ]

    assert {r["status"] for r in records} == {"paid", "cancelled"}
    assert len(records) == Order.objects.filter(status__in=["paid", "cancelled"]).count()


def test_filter_by_creation_dates_inclusive(orders):
    Order.objects.update(created_at=datetime(2026, 1, 15, tzinfo=UTC))
    ids = list(Order.objects.order_by("id").values_list("id", flat=True)[:3])
    for pk, moment in zip(ids, ["2026-03-01T00:00:00", "2026-03-02T23:59:59", "2026-03-03T00:00:01"], strict=True):
        Order.objects.filter(pk=pk).update(created_at=datetime.fromisoformat(moment).replace(tzinfo=UTC))

    out = export("--created-after", "2026-03-01", "--created-before", "2026-03-02")
    numbers = {row["number"] for row in csv.DictReader(io.StringIO(out))}
    assert numbers == set(Order.objects.filter(pk__in=ids[:2]).values_list("number", flat=True))

    out = export("--created-after", "2026-03-02T23:59:59+00:00")
    numbers = {row["number"] for row in csv.DictReader(io.StringIO(out))}
    assert numbers == set(Order.objects.filter(pk__in=ids[1:]).values_list("number", flat=True))


def test_bad_date_is_a_command_error(orders):
    with pytest.raises(CommandError, match="--created-after"):
        export("--created-after", "yesterday")


def test_streams_in_chunks_with_constant_queries(orders, django_assert_max_num_queries):
    # One cursor over the orders plus two prefetches per chunk of 1000.
    with django_assert_max_num_queries(3):
        export("--format", "jsonl")


def test_records_carry_shipping_tax_fulfilment_addresses_and_payment(db, settings):
    from decimal import Decimal

    from orders.services import OrderLine, order_place
    from tests.factories import BookFactory, ShippingMethodFactory, UserFactory

    settings.BOOK_TAX_RATE, settings.SHIPPING_TAX_RATE = "7", "19"
    settings.BOOK_TAX_LABEL = settings.SHIPPING_TAX_LABEL = "VAT"
    book = BookFactory(price=Decimal("20.00"), stock=5)
    parcel = ShippingMethodFactory(name="Parcel", countries=["FR"], price="4.95")
    address = {"name": "Marie Curie", "line1": "1 rue Cuvier", "city": "Paris", "postal_code": "75005", "country": "FR"}
    order_place(
        user=UserFactory(),
        items=[OrderLine(book_id=book.pk, quantity=1)],
        shipping_address=address,
        shipping_method_id=parcel.pk,
    )

    [record] = [json.loads(line) for line in export("--format", "jsonl").splitlines()]
    assert record["fulfilment"] == "delivery"
    assert (record["shipping_method"], record["shipping"], record["total"]) == ("Parcel", "4.95", "24.95")
    assert record["tax"] == [
        {"rate": "7.00", "label": "VAT", "amount": "1.31"},
        {"rate": "19.00", "label": "VAT", "amount": "0.79"},
    ]
    assert record["shipping_address"]["city"] == "Paris"
    assert record["billing_address"] is None
    assert (record["carrier"], record["tracking_number"]) == ("", "")
    assert record["payment"] == {"provider": "manual", "status": "awaiting"}

    [row] = list(csv.DictReader(io.StringIO(export())))
    assert row["shipping_address"] == "Marie Curie, 1 rue Cuvier, 75005, Paris, FR"
    assert (row["tax"], row["payment_provider"], row["payment_status"]) == (
        "7.00% VAT 1.31;19.00% VAT 0.79",
        "manual",
        "awaiting",
    )
