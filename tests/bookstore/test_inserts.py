"""bookstore.inserts: several rows of different tables in one statement (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Model, Value
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext

from bookstore.inserts import _json_ready, id_runs_reserve, rows_insert
from catalog.models import Book, BookSearchEntry, ImportJob
from notifications.models import Email
from orders.models import IdempotencyKey, Order, OrderItem, StatusChange
from orders.payments.models import Payment, PaymentEvent
from tests.factories import BookFactory, SeriesFactory, UserFactory, WorkFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="sequences and data-modifying WITH: PostgreSQL"),
]


def test_rows_go_in_one_statement_as_save_would_write_them():
    user = UserFactory()
    [order_id], [change_id], [payment_id], [event_id] = id_runs_reserve(
        [(model._meta.db_table, 1) for model in (Order, StatusChange, Payment, PaymentEvent)]
    )
    order = Order(
        pk=order_id,
        number=Order.format_number(order_id, 2026),
        user=user,
        subtotal=Decimal("20.00"),
        discount_total=Decimal("0.00"),
        total=Decimal("20.00"),
        discounts=[{"kind": "tier", "amount": "0.00"}],
        tax=[{"rate": "7", "label": "VAT", "amount": "1.31"}],
    )
    change = StatusChange(pk=change_id, order=order, from_status="", to_status="pending", by=user)
    payment = Payment(
        pk=payment_id, order=order, provider="manual", status="awaiting", amount=Decimal("20.00"), currency="EUR"
    )
    event = PaymentEvent(pk=event_id, payment=payment, from_status="", to_status="awaiting", by=user)
    with CaptureQueriesContext(connection) as queries:
        rows_insert([order, change, payment, event])
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("WITH ")
    # auto_now_add stamps and defaults are set on the objects as save() sets them, and stored.
    stored = Order.objects.get(pk=order_id)
    assert order.created_at is not None
    assert stored.created_at == order.created_at
    assert stored.discounts == order.discounts
    assert stored.tax == order.tax
    assert stored.user_id == user.pk
    assert StatusChange.objects.get(pk=change_id).order_id == order_id
    assert PaymentEvent.objects.get(pk=event_id).payment.order_id == order_id
    assert not order._state.adding
    assert order._state.db == "default"


def test_every_row_needs_its_id():
    with pytest.raises(ValueError, match="primary key"):
        rows_insert([Order(number="x", user=UserFactory())])


def test_runs_of_ids_and_several_rows_of_one_table_go_in_one_part():
    user = UserFactory()
    books = BookFactory.create_batch(3)
    [order_id], item_ids = id_runs_reserve([(Order._meta.db_table, 1), (OrderItem._meta.db_table, 3)])
    assert len(set(item_ids)) == 3
    order = Order(
        pk=order_id,
        number=Order.format_number(order_id, 2026),
        user=user,
        subtotal=Decimal("30.00"),
        discount_total=Decimal("0.00"),
        total=Decimal("30.00"),
    )
    items = [
        OrderItem(
            pk=item_id,
            order=order,
            book=book,
            isbn=book.isbn,
            title=book.title,
            unit_price=Decimal("10.00"),
            quantity=1,
            line_total=Decimal("10.00"),
        )
        for item_id, book in zip(item_ids, books, strict=True)
    ]
    with CaptureQueriesContext(connection) as queries:
        rows_insert([order, *items])
    assert len(queries) == 1
    # The order and one INSERT of the three items, each from one JSON parameter.
    assert queries[0]["sql"].count("INSERT INTO") == 2
    assert queries[0]["sql"].count("json_populate_recordset") == 2
    stored = OrderItem.objects.filter(order_id=order_id).order_by("pk")
    assert [(item.pk, item.book_id) for item in stored] == sorted((item.pk, item.book_id) for item in items)
    assert all(not item._state.adding for item in items)


# Text PostgreSQL must store as sent: quotes, backslashes, non-ASCII, astral and control characters (no NUL).
_AWKWARD = 'O\'Brien \\ "quoted" %s %(x)s é 漢字 😀 \t\n\r\x01\x1f\x7f end'
# A stamp with microseconds, so that auto_now(_add) gives both ways the same value.
_NOW = datetime(2026, 3, 29, 0, 59, 58, 123456, tzinfo=UTC)


class _Undo(Exception):
    """Rolls the first way's rows back, so that the second way inserts the same ids."""


def _stored(rows: Sequence[Model]) -> list[str]:
    """Each row exactly as stored: the table row's text (numeric scale, instant, jsonb document and all)."""
    texts = []
    with connection.cursor() as cursor:
        for row in rows:
            table = connection.ops.quote_name(type(row)._meta.db_table)
            cursor.execute(f"SELECT {table}::text FROM {table} WHERE id = %s", [row.pk])
            [(text,)] = cursor.fetchall()
            texts.append(text)
    return texts


def _both_ways(build: Callable[[], list[Model]], insert: Callable[[list[Model]], None]) -> tuple[list[str], list[str]]:
    """The rows ``build`` makes as ``rows_insert`` stores them, and as ``insert`` (Django's way) does."""
    with mock.patch("django.utils.timezone.now", return_value=_NOW):
        try:
            with transaction.atomic():
                rows = build()
                with CaptureQueriesContext(connection) as queries:
                    rows_insert(rows)
                assert len(queries) == 1
                ours = _stored(rows)
                raise _Undo
        except _Undo:
            pass
        rows = build()
        insert(rows)
        return ours, _stored(rows)


def _saved(rows: list[Model]) -> None:
    for row in rows:
        row.save(force_insert=True)


def _bulk_created(rows: list[Model]) -> None:
    for model in dict.fromkeys(type(row) for row in rows):
        model._default_manager.bulk_create([row for row in rows if type(row) is model])


def _placement_rows() -> Callable[[], list[Model]]:
    """An order as a placement writes it: order, status change, payment, payment event, email, items."""
    user = UserFactory()
    books = BookFactory.create_batch(2)
    [order_id], [change_id], [payment_id], [event_id], [email_id], item_ids = id_runs_reserve(
        [(model._meta.db_table, 1) for model in (Order, StatusChange, Payment, PaymentEvent, Email)]
        + [(OrderItem._meta.db_table, 2)]
    )

    def build() -> list[Model]:
        order = Order(
            pk=order_id,
            number=Order.format_number(order_id, 2026),
            user=user,
            subtotal=Decimal("12345678.5"),
            discount_total=Decimal("0.10"),
            total=Decimal("12345678.40"),
            coupon_code=_AWKWARD[:50],
            discounts=[{"kind": "tier", "amount": "0.10", "note": _AWKWARD, "none": None}],
            shipping_method_name=_AWKWARD,
            fulfilment="delivery",
            shipping=Decimal("4.90"),
            shipping_address={"name": _AWKWARD, "country": "DE", "lines": ["a", "b"], "big": 12345678901234567890},
            billing_address=None,
            tax=[{"rate": 0.07, "small": 1e-7, "label": "VAT", "amount": "1.31", "flag": True}],
        )
        change = StatusChange(pk=change_id, order=order, from_status="", to_status=Order.Status.PENDING, by=user)
        payment = Payment(
            pk=payment_id, order=order, provider="manual", status="awaiting", amount=Decimal("20"), currency="EUR"
        )
        event = PaymentEvent(pk=event_id, payment=payment, from_status="", to_status="awaiting", note=_AWKWARD, by=user)
        email = Email(
            pk=email_id,
            key=f"order-placed-{order_id}",
            template="orders/placed",
            to="ÿser@example.com",
            subject=_AWKWARD,
            body_text=_AWKWARD,
            body_html="<p>\\u0000 is not NUL</p>",
            context={"order": {"number": order.number, "total": "20.00"}, "lines": [_AWKWARD, -1.5, None]},
            message_id=f"<{order_id}@example.com>",
            due_at=datetime(2026, 3, 29, 1, 30, 0, 1, tzinfo=ZoneInfo("Europe/Berlin")),
        )
        items = [
            OrderItem(
                pk=item_id,
                order=order,
                book=book,
                isbn=book.isbn,
                title=_AWKWARD,
                unit_price=Decimal("10.005"),
                quantity=1 + index,
                line_total=Decimal("-0.00"),
                is_preorder=index == 1,
            )
            for index, (item_id, book) in enumerate(zip(item_ids, books, strict=True))
        ]
        return [order, change, payment, event, email, *items]

    return build


def _varied_rows() -> Callable[[], list[Model]]:
    """Dates, nullable numbers and foreign keys, big integers, JSON documents of every kind, booleans."""
    user = UserFactory()
    work, series = WorkFactory(), SeriesFactory()
    book_ids = id_runs_reserve([(Book._meta.db_table, 2)])[0]
    job_ids = id_runs_reserve([(ImportJob._meta.db_table, 2)])[0]
    key_ids = id_runs_reserve([(IdempotencyKey._meta.db_table, 3)])[0]

    def build() -> list[Model]:
        books = [
            Book(
                pk=book_ids[0],
                isbn="9780000000019",
                title=_AWKWARD,
                description=_AWKWARD * 3,
                published_date=date(1, 1, 1),
                page_count=None,
                price=Decimal("0.01"),
                stock=7,
                is_active=False,
                work=work,
                series=series,
                series_number=2**31 - 1,
                release_date=date(9999, 12, 31),
            ),
            Book(pk=book_ids[1], isbn="9780000000026", title=" t ", price=Decimal("99999.99"), work=work),
        ]
        jobs = [
            ImportJob(
                pk=job_ids[0],
                created_by=user,
                created_at=_NOW,
                file="imports/x.csv",
                original_name=_AWKWARD,
                format="csv",
                size=2**63 - 1,
                can_retry=True,
                heartbeat_at=datetime(2026, 10, 25, 2, 30, 0, 999999, tzinfo=ZoneInfo("Europe/Berlin")),
                plan="a document that is a string",
                report={"errors": [{"row": 1, "message": _AWKWARD}], "nested": {"empty": {}, "list": []}},
            ),
            ImportJob(
                pk=job_ids[1],
                created_at=_NOW,
                file="f",
                original_name="o",
                format="onix",
                size=0,
                plan=[1, 2.5, None, False],
            ),
        ]
        keys = [
            IdempotencyKey(pk=key_ids[0], user=user, key="k0", fingerprint="f", response_body=None),
            IdempotencyKey(pk=key_ids[1], user=user, key="k1", fingerprint="f", response_status=201, response_body={}),
            IdempotencyKey(pk=key_ids[2], user=user, key="k2", fingerprint="f", response_body=0),
        ]
        return [*books, *jobs, *keys]

    return build


@pytest.mark.parametrize("insert", [_saved, _bulk_created], ids=["save", "bulk_create"])
@pytest.mark.parametrize("rows", [_placement_rows, _varied_rows], ids=["placement", "varied"])
def test_every_column_is_stored_as_django_stores_it(rows, insert):
    build = rows()
    ours, djangos = _both_ways(build, insert)
    assert ours == djangos
    # Not vacuous: the awkward text and the stamps went in.
    assert any("O''Brien" in text or "O'Brien" in text for text in ours)


def test_one_parameter_per_run_and_a_statement_psycopg_caches():
    build = _placement_rows()
    rows = build()
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", autospec=True) as execute:
        rows_insert(rows)
    [(_cursor, sql, params)] = [call.args for call in execute.call_args_list]
    # Order, status change, payment, payment event, email, items: one JSON parameter each.
    assert len(params) == 6
    assert sql.count("json_populate_recordset") == 6
    assert len(sql.encode()) <= 4096


def test_a_run_with_an_expression_is_compiled_by_django():
    work = WorkFactory()
    [book_id], [job_id] = id_runs_reserve([(Book._meta.db_table, 1), (ImportJob._meta.db_table, 1)])

    def build() -> list[Model]:
        return [
            Book(pk=book_id, isbn="9780000000033", title=Upper(Value("shouted")), price=Decimal("1.00"), work=work),
            ImportJob(pk=job_id, created_at=_NOW, file="f", original_name="o", format="csv", size=1),
        ]

    with CaptureQueriesContext(connection) as queries:
        ours, djangos = _both_ways(build, _saved)
    assert ours == djangos
    assert Book.objects.get(pk=book_id).title == "SHOUTED"
    [ours_sql] = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("WITH ")]
    # The books' part is Django's VALUES, the import job's still one JSON parameter.
    assert "UPPER(" in ours_sql
    assert ours_sql.count("json_populate_recordset") == 1


def test_only_models_whose_every_column_takes_json_go_as_json():
    assert all(_json_ready(model) for model in (Order, StatusChange, Payment, PaymentEvent, Email, OrderItem))
    assert all(_json_ready(model) for model in (Book, ImportJob, IdempotencyKey))
    # A tsvector column: its runs are compiled by Django.
    assert not _json_ready(BookSearchEntry)
