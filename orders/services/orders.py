"""Order writes: quoting, placing, and moving orders through fulfilment.

``order_place`` first resolves where the order goes (the saved or given
address, the shipping method and whether it serves the country) and prices
it from the books as read, without any lock. Then, in one transaction: the
order, its first status change, its payment record and its confirmation email
are inserted (with the items, on PostgreSQL: one statement); the books are
locked and their stock taken by ``catalog.services.stock_reserve`` (id order,
so no deadlocks), with the ledger's sale movements (one statement on
PostgreSQL); a book or coupon that changed since it was read rolls the attempt
back to be priced again; the coupon row is locked before its uses are counted
(so ``max_uses`` holds under concurrency); and elsewhere the items are
inserted. Any failure rolls all of it back. The locked section is therefore
only the stock and its movements and the coupon's count (and the items on
SQLite). ``order_transition`` is the only way an order's status
changes, for the API and the admin alike.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.access import CHANGE, staff_may
from accounts.selectors import address_get_for_user
from accounts.services import ADDRESS_FIELDS, address_clean
from bookstore.audit import audit_record
from bookstore.inserts import id_runs_sql, rows_insert
from bookstore.prepared import prepared_cursor
from bookstore.rows import row_get
from catalog.choices import PublicationStatus
from catalog.exceptions import InsufficientStock
from catalog.ledger import StockNote, stock_movements_record
from catalog.models import Book, StockMovement
from catalog.services import book_available, stock_release, stock_reserve
from notifications.models import Email
from notifications.services import email_build_deferred, email_queue, email_queued
from orders import pricing
from orders.exceptions import (
    InvalidCoupon,
    InvalidOrder,
    InvalidTransition,
    PaymentProviderUnavailable,
    TransitionNotPermitted,
)
from orders.models import (
    MAX_LINE_QUANTITY,
    MAX_ORDER_LINES,
    BulkDiscountTier,
    Coupon,
    Order,
    OrderItem,
    ShippingMethod,
    StatusChange,
)
from orders.payments.models import Payment, PaymentEvent
from orders.payments.providers import provider_available
from orders.payments.records import payment_build, payment_on_order_cancelled, payment_on_order_paid
from orders.shipping import ShippingTerms
from orders.tax import TaxRate, TaxRates
from orders.totals import order_totals
from telemetry.metrics import ORDERS_CANCELLED, ORDERS_PLACED, count_on_commit

logger = logging.getLogger(__name__)

Status = Order.Status
# The bulk discount tiers, cached for quotes (and placement on SQLite; on PostgreSQL placement reads them with the
# books, ``_books_read``); cleared by ``orders.signals`` on any tier write.
TIERS_CACHE_KEY = "orders:bulk-discount-tiers"
# Also the bound on staleness if the cache was unreachable when a tier changed.
TIERS_CACHE_SECONDS = 60
Fulfilment = Order.Fulfilment

# Allowed moves; everything else is an invalid transition.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.PAID, Status.CANCELLED}),
    Status.PAID: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
}
STAFF_ONLY_TARGETS = frozenset({Status.PAID, Status.SHIPPED, Status.DELIVERED})


@dataclass(frozen=True)
class OrderLine:
    """One requested line: ``quantity`` copies of book ``book_id``."""

    book_id: int
    quantity: int


@dataclass(frozen=True)
class QuotedLine:
    book_id: int
    isbn: str
    title: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    is_preorder: bool = False  # the book is forthcoming: the copies come from its preorder allowance


@dataclass(frozen=True)
class Delivery:
    """How an order goes (a method checked to serve the destination) and the address copy (none for a quote)."""

    method: ShippingMethod
    address: dict[str, str] | None = None

    @property
    def terms(self) -> ShippingTerms:
        return ShippingTerms(price=self.method.price, free_over=self.method.free_over)


@dataclass(frozen=True)
class OrderQuote:
    """The priced order that placing the same request would create now.

    ``total`` = ``subtotal`` - ``discount_total`` + ``shipping``; ``tax`` is
    contained in it (``[{"rate", "label", "amount"}]``).
    """

    items: tuple[QuotedLine, ...]
    subtotal: Decimal
    discounts: list[dict[str, Any]]
    discount_total: Decimal
    total: Decimal
    coupon: Coupon | None
    fulfilment: str = Fulfilment.PICKUP
    shipping: Decimal = Decimal("0.00")
    tax: list[dict[str, str]] = field(default_factory=list)


def _invalid_order(details: dict[str, list[str]]) -> InvalidOrder:
    field, messages = next(iter(details.items()))
    return InvalidOrder(f"Invalid input: {field}: {messages[0]}", details=details)


def _quantities(items: Sequence[OrderLine]) -> dict[int, int]:
    """Check the shape of the order (line count, quantities, each book once) → {book_id: quantity}."""
    if not 1 <= len(items) <= MAX_ORDER_LINES:
        raise _invalid_order({"items": [f"An order has 1 to {MAX_ORDER_LINES} lines."]})
    errors: dict[str, list[str]] = {}
    first_line: dict[int, int] = {}
    for index, line in enumerate(items):
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            errors[f"items.{index}.quantity"] = [f"Ensure this value is between 1 and {MAX_LINE_QUANTITY}."]
        if line.book_id in first_line:
            errors[f"items.{index}.book_id"] = [
                f"Book {line.book_id} is already on line {first_line[line.book_id]}; order it once."
            ]
        else:
            first_line[line.book_id] = index
    if errors:
        raise _invalid_order(errors)
    return {line.book_id: line.quantity for line in items}


def _check_books(items: Sequence[OrderLine], available: Mapping[int, tuple[bool, str]]) -> None:
    """Every line must name an existing, active book still in print.

    ``available``: {book_id: (is_active, publication_status)}.
    """
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(items):
        if line.book_id not in available:
            errors[f"items.{index}.book_id"] = [f"Book {line.book_id} does not exist."]
        elif not available[line.book_id][0]:
            errors[f"items.{index}.book_id"] = [f"Book {line.book_id} is not available."]
        elif available[line.book_id][1] == PublicationStatus.OUT_OF_PRINT:
            errors[f"items.{index}.book_id"] = [f"Book {line.book_id} is out of print and cannot be ordered."]
    if errors:
        raise _invalid_order(errors)


def _states(books: Mapping[int, Book]) -> dict[int, tuple[bool, str]]:
    return {pk: (book.is_active, book.publication_status) for pk, book in books.items()}


def _coupon_find(code: str, *, lock: bool) -> Coupon:
    queryset = Coupon.objects.alias(code_lower=Lower("code")).filter(code_lower=Lower(Value(code)))
    if lock:
        # NO KEY UPDATE: orders inserted before their books are locked hold KEY SHARE on the coupon row.
        queryset = queryset.select_for_update(no_key=True)
    coupon = queryset.first()
    if coupon is None:
        raise InvalidCoupon("Unknown coupon code.", details={"coupon_code": ["Unknown coupon code."]})
    return coupon


def _coupon_check(coupon: Coupon, *, subtotal: Decimal, now: datetime, placing: Order | None = None) -> None:
    """Raise ``InvalidCoupon`` unless ``coupon`` may be used now on an order of ``subtotal``.

    Placement calls this with the coupon row locked, so the use count cannot
    change between counting and committing the order. ``placing``: the order
    being placed, already inserted in this transaction, which is not counted.
    """
    reason: str | None = None
    if not coupon.is_active:
        reason = "This coupon is not active."
    elif coupon.starts_at is not None and now < coupon.starts_at:
        reason = "This coupon is not valid yet."
    elif coupon.ends_at is not None and now >= coupon.ends_at:
        reason = "This coupon has expired."
    elif coupon.min_subtotal is not None and subtotal < coupon.min_subtotal:
        reason = f"This coupon needs a subtotal of at least {coupon.min_subtotal}."
    elif coupon.max_uses is not None:
        used = Order.objects.filter(coupon=coupon).exclude(status=Status.CANCELLED)
        if placing is not None:
            used = used.exclude(pk=placing.pk)
        uses = used.count()
        if uses >= coupon.max_uses:
            reason = "This coupon has been used up."
    if reason:
        raise InvalidCoupon(reason, details={"coupon_code": [reason]})


def _tiers() -> list[pricing.Tier]:
    """The bulk discount tiers, from the cache (``orders.signals`` clears it whenever a tier is written)."""
    try:
        cached = cache.get(TIERS_CACHE_KEY)
    except Exception:  # the cache is down: read the tiers, as without a cache
        logger.warning("discount tiers: cache unavailable, read from the database", exc_info=True)
        cached, cache_up = None, False
    else:
        cache_up = True
    if cached is None:
        cached = list(BulkDiscountTier.objects.order_by().values_list("min_quantity", "percent"))
        if cache_up:
            try:
                cache.set(TIERS_CACHE_KEY, cached, TIERS_CACHE_SECONDS)
            except Exception:
                logger.warning("discount tiers: cache write failed", exc_info=True)
    return [pricing.Tier(min_quantity=min_quantity, percent=percent) for min_quantity, percent in cached]


def tax_rates() -> TaxRates:
    """The tax rates in force (settings ``BOOK_TAX_RATE``, ``SHIPPING_TAX_RATE`` and their labels)."""
    return TaxRates(
        books=TaxRate(rate=Decimal(settings.BOOK_TAX_RATE), label=settings.BOOK_TAX_LABEL),
        shipping=TaxRate(rate=Decimal(settings.SHIPPING_TAX_RATE), label=settings.SHIPPING_TAX_LABEL),
    )


def _address_copy(*, user: Any, value: Mapping[str, Any], field_name: str) -> dict[str, str]:
    """The address to copy onto an order: a saved one of ``user``'s (``{"address_id": N}``) or ``value`` itself."""
    if value.get("address_id") is not None:
        saved = None
        if user is not None and user.is_authenticated:
            saved = address_get_for_user(user=user, address_id=value["address_id"])
        if saved is None:
            raise _invalid_order({f"{field_name}.address_id": ["No such saved address."]})
        return {name: str(getattr(saved, name)) for name in ADDRESS_FIELDS}
    return address_clean(fields=value, field_prefix=f"{field_name}.")


def _delivery_method(*, method_id: int, country: str) -> ShippingMethod:
    method = row_get(ShippingMethod, method_id)
    if method is None or not method.is_active:
        raise _invalid_order({"shipping_method_id": [f"Shipping method {method_id} does not exist."]})
    if country not in {served.code for served in method.countries}:
        raise _invalid_order({"shipping_method_id": [f"Shipping method {method.name} does not deliver to {country}."]})
    return method


def _delivery(
    *,
    user: Any,
    shipping_address: Mapping[str, Any] | None,
    shipping_method_id: int | None,
    shipping_country: str | None = None,
) -> Delivery | None:
    """Resolve where the order goes (``None``: collected in the shop); 400s name the field at fault."""
    if shipping_address is None and shipping_country is None:
        if shipping_method_id is not None:
            raise _invalid_order(
                {"shipping_address": ["Required with a shipping method; an order without both is collected."]}
            )
        return None
    address = None
    if shipping_address is not None:
        address = _address_copy(user=user, value=shipping_address, field_name="shipping_address")
        if shipping_country is not None and shipping_country.upper() != address["country"]:
            raise _invalid_order({"shipping_country": ["Does not match the shipping address's country."]})
    country = address["country"] if address else str(shipping_country).upper()
    if shipping_method_id is None:
        raise _invalid_order({"shipping_method_id": [f"Choose a shipping method that delivers to {country}."]})
    return Delivery(method=_delivery_method(method_id=shipping_method_id, country=country), address=address)


def _price(
    items: Sequence[OrderLine],
    books: Mapping[int, Book],
    *,
    coupon_code: str | None,
    lock_coupon: bool,
    delivery: Delivery | None = None,
    rates: TaxRates | None = None,
    tiers: Sequence[pricing.Tier] | None = None,
) -> OrderQuote:
    """Price ``items`` at the books' current prices, ship them by ``delivery``; find and check the coupon.

    ``tiers``: the bulk discount tiers when the caller has read them already (else from the cache).
    """
    lines = [
        pricing.LineInput(book_id=line.book_id, quantity=line.quantity, unit_price=books[line.book_id].price)
        for line in items
    ]
    coupon: Coupon | None = None
    terms: pricing.CouponTerms | None = None
    if coupon_code:
        coupon = _coupon_find(coupon_code, lock=lock_coupon)
        _coupon_check(coupon, subtotal=pricing.subtotal(lines), now=timezone.now())
        terms = pricing.CouponTerms(code=coupon.code, kind=cast(pricing.CouponKind, coupon.kind), value=coupon.value)
    totals = order_totals(
        lines=lines,
        tiers=_tiers() if tiers is None else tiers,
        coupon=terms,
        shipping=delivery.terms if delivery else None,
        rates=rates or tax_rates(),
    )
    result = totals.items
    return OrderQuote(
        items=tuple(
            QuotedLine(
                book_id=line.book_id,
                isbn=books[line.book_id].isbn,
                title=books[line.book_id].title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
                is_preorder=books[line.book_id].publication_status == PublicationStatus.FORTHCOMING,
            )
            for line in result.lines
        ),
        subtotal=result.subtotal,
        discounts=[discount.as_dict() for discount in result.discounts],
        discount_total=result.discount_total,
        total=totals.total,
        coupon=coupon,
        fulfilment=Fulfilment.DELIVERY if delivery else Fulfilment.PICKUP,
        shipping=totals.shipping,
        tax=[line.as_dict() for line in totals.tax],
    )


def _normalize_code(coupon_code: str | None) -> str | None:
    return (coupon_code or "").strip() or None


def order_quote(
    *,
    items: Sequence[OrderLine],
    coupon_code: str | None = None,
    user: Any = None,
    shipping_country: str | None = None,
    shipping_method_id: int | None = None,
    shipping_address: Mapping[str, Any] | None = None,
) -> OrderQuote:
    """Price an order without writing anything or touching stock.

    Applies every rule of ``order_place`` (lines, active books, stock on hand,
    coupon validity, the shipping method serving the country), so a successful
    quote is the order placing would create at this moment; stock and coupon
    uses are read, not locked. Shipping goes to ``shipping_country`` or the
    country of ``shipping_address``; with neither, the order is collected.
    """
    quantities = _quantities(items)
    if shipping_method_id is not None and shipping_country is None and shipping_address is None:
        raise _invalid_order({"shipping_country": ["Required with a shipping method."]})
    delivery = _delivery(
        user=user,
        shipping_address=shipping_address,
        shipping_method_id=shipping_method_id,
        shipping_country=shipping_country,
    )
    books = {book.pk: book for book in Book.objects.filter(pk__in=quantities).order_by()}
    _check_books(items, _states(books))
    short = [
        {"book_id": book_id, "requested": quantity, "available": book_available(books[book_id])}
        for book_id, quantity in sorted(quantities.items())
        if book_available(books[book_id]) < quantity
    ]
    if short:
        raise InsufficientStock(details={"items": short})
    return _price(items, books, coupon_code=_normalize_code(coupon_code), lock_coupon=False, delivery=delivery)


def _payment_provider(name: str | None) -> str:
    name = name or settings.PAYMENT_PROVIDER
    if not provider_available(name):
        message = f"The payment provider {name!r} is not available here."
        raise PaymentProviderUnavailable(message, details={"payment_provider": [message]})
    return name


def order_place(
    *,
    user: Any,
    items: Sequence[OrderLine],
    coupon_code: str | None = None,
    shipping_address: Mapping[str, Any] | None = None,
    shipping_method_id: int | None = None,
    billing_address: Mapping[str, Any] | None = None,
    payment_provider: str | None = None,
) -> Order:
    """Place an order for ``user``: take the stock, apply bulk tier and coupon, ship and tax it, record everything.

    ``shipping_address`` (fields, or ``{"address_id": N}`` of one of the user's
    saved addresses) needs ``shipping_method_id``, a method serving its
    country; without both the order is collected in the shop (no shipping
    charge). The addresses are copied onto the order, and so are the tax
    rates in force. All or nothing, in one transaction, with a fixed number of
    queries whatever the number of lines. Raises ``InvalidOrder`` (a line, an
    address or the shipping method is not valid; ``details`` names it),
    ``InsufficientStock`` (every short line is listed) or ``InvalidCoupon``.
    The payment is recorded with the order (``payment_provider``, default
    ``PAYMENT_PROVIDER``); the provider is called after the commit by
    ``orders.payments.records.payment_start``, never under the stock locks.

    The order is priced, and its rows (order, first status change, payment,
    confirmation email, and on PostgreSQL the items) are written before the
    books are locked; the locked section then only takes the stock and
    confirms the coupon's uses (and adds the items elsewhere). If a book or
    the coupon changed between the reading and the locking, the transaction is
    rolled back and placed again; after ``PLACE_ATTEMPTS`` such retries it
    prices under the locks. The returned order carries its
    items, history and payment, so the response needs no read-back.
    """
    provider = _payment_provider(payment_provider)
    quantities = _quantities(items)
    # Addresses and the shipping method are read before any lock is taken.
    delivery = _delivery(user=user, shipping_address=shipping_address, shipping_method_id=shipping_method_id)
    billing = _address_copy(user=user, value=billing_address, field_name="billing_address") if billing_address else None
    placing = _Placing(
        user=user,
        items=items,
        quantities=quantities,
        coupon_code=_normalize_code(coupon_code),
        delivery=delivery,
        billing=billing,
        rates=tax_rates(),
        provider=provider,
    )
    for _attempt in range(PLACE_ATTEMPTS):
        try:
            return _place_priced_first(placing)
        except _ChangedMeanwhile:
            continue
    return _place_locked_first(placing)


# Optimistic attempts before pricing under the locks (a book's price or the coupon changed meanwhile).
PLACE_ATTEMPTS = 3


class _ChangedMeanwhile(Exception):
    """A book or the coupon read before the lock differs from the locked row: price the order again."""


@dataclass(frozen=True)
class _Placing:
    user: Any
    items: Sequence[OrderLine]
    quantities: dict[int, int]
    coupon_code: str | None
    delivery: Delivery | None
    billing: dict[str, str] | None
    rates: TaxRates
    provider: str


# What an order copies from a book and prices it by; the locked row must still show the same.
_BOOK_TERMS = ("price", "is_active", "isbn", "title", "publication_status")
_COUPON_TERMS = ("code", "kind", "value", "is_active", "starts_at", "ends_at", "min_subtotal", "max_uses")


def _place_priced_first(placing: _Placing) -> Order:
    """Price and write the order from the books as read, then lock them: the locked section is short."""
    books, reserved, tiers = _books_read(placing)
    # Unknown, inactive and out-of-print books are a 400 on their line, which the stock check would
    # report as "insufficient".
    _check_books(placing.items, _states(books))
    short = [
        {"book_id": book_id, "requested": quantity, "available": book_available(books[book_id])}
        for book_id, quantity in sorted(placing.quantities.items())
        if book_available(books[book_id]) < quantity
    ]
    if short:
        raise InsufficientStock(details={"items": short})
    quote = _price(
        placing.items,
        books,
        coupon_code=placing.coupon_code,
        lock_coupon=False,
        delivery=placing.delivery,
        rates=placing.rates,
        tiers=tiers,
    )
    with transaction.atomic():
        # On PostgreSQL (ids reserved) the items go in with the order: they copy the books as read, and an
        # attempt whose books changed before the lock is rolled back with them.
        order = _order_write(placing, quote, reserved=reserved)
        # The ledger's sale movements are written with the stock taken (one statement on PostgreSQL).
        locked = stock_reserve(quantities=placing.quantities, fields=_BOOK_TERMS, sale=_sale_note(order, placing))
        if any(getattr(locked[pk], name) != getattr(books[pk], name) for pk in books for name in _BOOK_TERMS):
            raise _ChangedMeanwhile()
        if quote.coupon is not None:
            coupon = Coupon.objects.select_for_update(no_key=True).filter(pk=quote.coupon.pk).first()
            if coupon is None or any(getattr(coupon, name) != getattr(quote.coupon, name) for name in _COUPON_TERMS):
                raise _ChangedMeanwhile()
            _coupon_check(coupon, subtotal=quote.subtotal, now=timezone.now(), placing=order)
        if reserved is None:
            _items_write(order, quote)
    return order


def _place_locked_first(placing: _Placing) -> Order:
    """Lock the books and the coupon, then price and write the order (prices keep changing meanwhile)."""
    states = Book.objects.filter(pk__in=placing.quantities).order_by()
    _check_books(
        placing.items,
        {
            pk: (is_active, status)
            for pk, is_active, status in states.values_list("pk", "is_active", "publication_status")
        },
    )
    with transaction.atomic():
        books = stock_reserve(quantities=placing.quantities, fields=_BOOK_TERMS)
        # The rows are locked now; a book deactivated since the check above is refused too.
        _check_books(placing.items, _states(books))
        quote = _price(
            placing.items,
            books,
            coupon_code=placing.coupon_code,
            lock_coupon=True,
            delivery=placing.delivery,
            rates=placing.rates,
        )
        order = _order_write(placing, quote, reserved=None)
        _items_write(order, quote)
        _sales_record(order, placing, books)
    return order


def _sale_note(order: Order, placing: _Placing) -> StockNote:
    return StockNote(kind=StockMovement.Kind.SALE, by=placing.user, reference=order.number)


def _sales_record(order: Order, placing: _Placing, locked: Mapping[int, Book]) -> None:
    """The stock ledger's sale movements of ``order``: one INSERT, in the placing transaction.

    It has to follow ``stock_reserve``: each movement carries the stock right
    after it (``stock_after``), known only from the locked, decremented rows;
    written earlier, a concurrent placement could slip in between and make it
    wrong. It needs the order's number too (the priced-first path, whose order
    is written before the lock, has ``stock_reserve`` write them instead). A
    retried attempt rolls it back with the rest, so ``Book.stock`` stays the
    sum of its movements. A preorder line took from the book's allowance, not
    its stock: no movement (an order of preorders only writes none).
    """
    stock_movements_record(
        note=_sale_note(order, placing),
        changes={
            book_id: (-quantity, locked[book_id].stock)
            for book_id, quantity in placing.quantities.items()
            if locked[book_id].publication_status != PublicationStatus.FORTHCOMING
        },
    )


@dataclass(frozen=True)
class _Reserved:
    """PostgreSQL: the ids of the rows a placement inserts before the lock, and the order's number."""

    order: int
    number: str
    change: int
    payment: int
    payment_event: int
    email: int
    items: list[int]


_RESERVED_TABLES = (Order, StatusChange, Payment, PaymentEvent, Email)
# What the priced-first path reads of the books: what it checks, prices by and copies.
_BOOK_READ = ("id", "stock", "preorder_allowance", *_BOOK_TERMS)


def _books_read(placing: _Placing) -> tuple[dict[int, Book], _Reserved | None, list[pricing.Tier] | None]:
    """The ordered books by id (only ``_BOOK_READ``); on PostgreSQL also the ids of the rows the order will insert
    and the bulk discount tiers.

    On PostgreSQL one statement does all three: the ids of the order, its status
    change, payment, payment event, email and one item per line come from the
    tables' sequences (``bookstore.inserts.id_runs_sql``, taken once in a
    ``MATERIALIZED`` part), so the order is inserted with its final number (no
    second ``UPDATE``) and its rows go in one statement (``rows_insert``). The
    tiers come from their table (two arrays), so pricing needs no cache round
    trip. An order refused after this read (a line not valid, short stock) leaves its
    ids unused, as a rolled-back attempt does: sequences have gaps. SQLite has
    no sequences: ``None``, the rows are inserted one by one and the number is
    set after the insert; and ``None`` tiers, which pricing reads from the cache.
    """
    if connection.vendor != "postgresql":
        queryset = Book.objects.filter(pk__in=placing.quantities).order_by().only(*_BOOK_READ)
        return {book.pk: book for book in queryset}, None, None
    runs = [(model._meta.db_table, 1) for model in _RESERVED_TABLES] + [
        (OrderItem._meta.db_table, len(placing.quantities))
    ]
    ids_sql, params = id_runs_sql(runs)
    # In the model's field order, as ``Model.from_db`` takes them.
    chosen = [field for field in Book._meta.concrete_fields if field.name in _BOOK_READ]
    quote = connection.ops.quote_name
    columns = ", ".join(f"b.{quote(field.column)}" for field in chosen)
    tier = {field.name: quote(field.column) for field in BulkDiscountTier._meta.concrete_fields}
    # Both aggregates take the rows in the same order: pairs stay pairs.
    tiers = (
        f"SELECT array_agg({tier['min_quantity']}), array_agg({tier['percent']})"  # noqa: S608 (names from the model)
        f" FROM {quote(BulkDiscountTier._meta.db_table)}"
    )
    sql = (
        f"WITH reserved AS MATERIALIZED ({ids_sql}), tiers AS MATERIALIZED ({tiers})"  # noqa: S608 (names from the models)
        f" SELECT reserved.*, tiers.*, {columns}"
        f" FROM reserved CROSS JOIN tiers LEFT JOIN {quote(Book._meta.db_table)} AS b"
        f" ON b.{quote(Book._meta.pk.column)} = ANY(%s::bigint[])"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [*params, list(placing.quantities)])
        rows = cursor.fetchall()
    attnames = [field.attname for field in chosen]
    first = len(runs) + 2
    books = [Book.from_db(connection.alias, attnames, row[first:]) for row in rows if row[first] is not None]
    quantities, percents = rows[0][len(runs) : first]
    found = [pricing.Tier(min_quantity=q, percent=p) for q, p in zip(quantities or (), percents or (), strict=True)]
    return {book.pk: book for book in books}, _reserved(rows[0][: len(runs)]), found


def _reserved(ids: Sequence[list[int]]) -> _Reserved:
    """The ids ``_books_read`` took, one array per table of ``_RESERVED_TABLES`` and the items'."""
    [order], [change], [payment], [event], [email], items = ids
    return _Reserved(
        order=order,
        number=Order.format_number(order, timezone.now().year),
        change=change,
        payment=payment,
        payment_event=event,
        email=email,
        items=list(items),
    )


def _order_write(placing: _Placing, quote: OrderQuote, *, reserved: _Reserved | None) -> Order:
    """Insert the order, its first status change, its payment record and the confirmation email.

    On PostgreSQL (ids ``reserved``) these rows and the order's items are one
    statement; elsewhere one each, and the caller writes the items.
    """
    delivery = placing.delivery
    order = Order(
        # Without a reserved number, the real one derives from the id, known only after the insert.
        pk=reserved.order if reserved else None,
        number=reserved.number if reserved else f"new-{uuid.uuid4().hex}",
        user=placing.user,
        subtotal=quote.subtotal,
        discount_total=quote.discount_total,
        total=quote.total,
        coupon=quote.coupon,
        coupon_code=quote.coupon.code if quote.coupon else "",
        discounts=quote.discounts,
        fulfilment=quote.fulfilment,
        shipping_method=delivery.method if delivery else None,
        shipping_method_name=delivery.method.name if delivery else "",
        shipping=quote.shipping,
        shipping_address=delivery.address if delivery else None,
        billing_address=placing.billing,
        tax=quote.tax,
    )
    change = StatusChange(order=order, from_status="", to_status=Status.PENDING, by=placing.user)
    payment, payment_event = payment_build(order=order, provider=placing.provider, by=placing.user)
    if reserved is None:
        order.save(force_insert=True)
        expected = Order.format_number(order.pk, order.created_at.year)
        order.number = expected
        Order.objects.filter(pk=order.pk).update(number=order.number)
        change.save(force_insert=True)
        payment.save(force_insert=True)
        payment_event.save(force_insert=True)
        email = _order_placed_email(order, quote, provider=placing.provider)
        if email is not None:
            email.save(force_insert=True)
    else:
        change.pk, payment.pk, payment_event.pk = reserved.change, reserved.payment, reserved.payment_event
        payment_event.payment = payment
        email = _order_placed_email(order, quote, provider=placing.provider)
        if email is not None:
            email.pk = reserved.email
        items = _items_build(order, quote)
        for item, item_id in zip(items, reserved.items, strict=True):
            item.pk = item_id
        rows_insert([row for row in (order, change, payment, payment_event, email, *items) if row is not None])
        _in_hand(order, "items", items)
        expected = Order.format_number(order.pk, order.created_at.year)
        if order.number != expected:
            # The year turned between reserving the number and the insert.
            order.number = expected
            Order.objects.filter(pk=order.pk).update(number=order.number)
            if email is not None:
                # The email names the order: its snapshot takes the number it has.
                fresh = _order_placed_email(order, quote, provider=placing.provider)
                assert fresh is not None
                email.context = fresh.context
                Email.objects.filter(pk=email.pk).update(context=email.context)
    if email is not None:
        # One drain task per burst of orders dispatches the confirmations, not one task each.
        email_queued(email, batched=True)
    count_on_commit(ORDERS_PLACED)
    _in_hand(order, "status_changes", [change])
    return order


def _in_hand(order: Order, relation: str, rows: list[Any]) -> None:
    """Give ``order`` its just-written ``relation`` as if prefetched: the response needs no read-back."""
    queryset = getattr(order, relation).get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    cache = getattr(order, "_prefetched_objects_cache", None)
    if cache is None:
        cache = order._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    cache[relation] = queryset


def _items_build(order: Order, quote: OrderQuote) -> list[OrderItem]:
    """The order's lines as priced (not saved)."""
    return [
        OrderItem(
            order=order,
            book_id=line.book_id,
            isbn=line.isbn,
            title=line.title,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
            # A forthcoming book's copies come out of its preorder allowance (stock_reserve).
            is_preorder=line.is_preorder,
        )
        for line in quote.items
    ]


def _items_write(order: Order, quote: OrderQuote) -> None:
    """Insert the order's lines (one statement); without reserved ids, after the other rows."""
    items = OrderItem.objects.bulk_create(_items_build(order, quote))
    _in_hand(order, "items", items)


def _order_placed_email(order: Order, quote: OrderQuote, *, provider: str) -> Email | None:
    """The customer's confirmation (``None`` without an address); the outbox row is inserted with the order.

    Not rendered here: the row keeps a snapshot of what the templates show,
    and the worker sending it renders it (``notifications.services``).
    """
    if not order.user.email:
        return None
    return email_build_deferred(
        to=order.user.email,
        template="orders/email/order_placed",
        context={
            "order": {
                "number": order.number,
                "subtotal": order.subtotal,
                "discount_total": order.discount_total,
                "fulfilment": str(order.fulfilment),
                "shipping_method_name": order.shipping_method_name,
                "shipping": order.shipping,
                "total": order.total,
            },
            "items": [
                {"quantity": line.quantity, "title": line.title, "isbn": line.isbn, "line_total": line.line_total}
                for line in quote.items
            ],
            "currency": settings.STORE_CURRENCY,
            "payment_days": settings.MANUAL_PAYMENT_DAYS,
            # Card payments wait minutes, not days (``ORDER_PAYMENT_TIMEOUT``).
            "payment_minutes": int(settings.ORDER_PAYMENT_TIMEOUT.total_seconds() // 60)
            if provider == "stripe"
            else None,
        },
        # The order was inserted in this transaction: no other email can carry its key.
        key=f"order-placed:{order.pk}",
    )


def _check_permitted(order: Order, to: str, by: Any) -> None:
    # The admin's status actions need the same permission.
    if by is None or staff_may(by, Order, CHANGE):
        return
    if to in STAFF_ONLY_TARGETS or order.user_id != by.pk:
        raise TransitionNotPermitted()


def order_transition(*, order: Order, to: str, by: Any, only_from: str | None = None) -> Order:
    """Move ``order`` to status ``to`` on behalf of ``by`` (a user, or None for the system).

    The one way an order's status changes. Allowed: pending → paid → shipped →
    delivered, and pending or paid → cancelled; anything else raises
    ``InvalidTransition``. Staff holding ``orders.change_order`` (as the
    admin's actions require) may make any of these moves; anyone else may only
    cancel their own orders (``TransitionNotPermitted`` otherwise). Cancelling
    puts every item back in stock and frees the coupon use (uses count
    non-cancelled orders) in the same transaction. The order row is locked, so
    concurrent changes run one after the other and stock is restored once. Returns the updated order.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        _check_permitted(locked, to, by)
        # ``only_from``: the caller decided on a status it read before the lock (expiry reads "pending").
        allowed = TRANSITIONS.get(locked.status, frozenset()) if only_from in (None, locked.status) else frozenset()
        if to not in allowed:
            raise InvalidTransition(
                f"Order {locked.number} cannot move from {locked.status} to {to}.",
                details={"status": locked.status, "to": to},
            )
        refund = False
        if to == Status.CANCELLED:
            lines = list(locked.items.values_list("book_id", "quantity", "is_preorder"))
            stock_release(
                quantities={book_id: quantity for book_id, quantity, _ in lines},
                preorders=[book_id for book_id, _, is_preorder in lines if is_preorder],
                note=StockNote(
                    kind=StockMovement.Kind.EXPIRY if by is None else StockMovement.Kind.CANCELLATION,
                    by=by,
                    reference=locked.number,
                ),
            )
            refund = payment_on_order_cancelled(order=locked, by=by)
        elif to == Status.PAID:
            payment_on_order_paid(order=locked, by=by)
        from_status = locked.status
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        StatusChange.objects.create(order=locked, from_status=from_status, to_status=to, by=by)
        changes = {"status": (Status(from_status).label.lower(), Status(to).label.lower())}
        if to == Status.SHIPPED and locked.tracking_number:
            changes["tracking number"] = ("", f"{locked.carrier} {locked.tracking_number}".strip())
        audit_record(by=by, obj=locked, changes=changes)
        if to == Status.CANCELLED:
            count_on_commit(ORDERS_CANCELLED)
        _order_status_email(locked, by=by, refund=refund)
    return locked


_STATUS_EMAILS: dict[str, str] = {
    Status.PAID: "order_paid",
    Status.SHIPPED: "order_shipped",
    Status.CANCELLED: "order_cancelled",
}


def _order_status_email(order: Order, *, by: Any, refund: bool) -> None:
    """Tell the customer the order was paid, shipped or cancelled (queued in the same transaction)."""
    template = _STATUS_EMAILS.get(order.status)
    if template is None or not order.user.email:
        return
    email_queue(
        to=order.user.email,
        template=f"orders/email/{template}",
        context={
            "order": order,
            "items": list(order.items.order_by("id")),
            "currency": settings.STORE_CURRENCY,
            "expired": order.status == Status.CANCELLED and by is None,
            "refund": refund,
        },
        key=f"order-{order.status}:{order.pk}",
    )


def order_cancel(*, order: Order, by: Any) -> Order:
    """Cancel ``order`` (owner or staff): stock goes back, the coupon use is freed, a payment is refunded."""
    return order_transition(order=order, to=Status.CANCELLED, by=by)


def order_ship(*, order: Order, by: Any, carrier: str = "", tracking_number: str = "") -> Order:
    """Mark ``order`` shipped (staff) with the carrier and tracking number, shown on the order and in the email."""
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).update(carrier=carrier, tracking_number=tracking_number)
        # Rolls the fields back with it when the order cannot be shipped.
        return order_transition(order=order, to=Status.SHIPPED, by=by)
