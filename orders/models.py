"""Order tables: orders and their lines, status history, coupons, bulk tiers, shipping methods, idempotency keys."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django_countries.fields import CountryField

from bookstore.limits import CENT
from catalog.models import Book

MAX_ORDER_LINES = 50
MAX_LINE_QUANTITY = 100


class Coupon(models.Model):
    """A discount code customers enter at checkout; applies after the bulk discount.

    ``uses`` is not stored: it is the number of non-cancelled orders that carry
    the coupon (see ``orders.selectors.coupon_list``), so cancelling an order
    frees its use without any bookkeeping.
    """

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Fixed amount off"

    code = models.CharField(max_length=50, help_text="Unique, case-insensitive.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(CENT)],
        help_text="Percent (0 < value <= 100) or an amount of money (> 0).",
    )
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Valid from (empty: no start).")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Valid until, exclusive (empty: no end).")
    min_subtotal = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Minimum order subtotal, before any discount.",
    )
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="Maximum number of non-cancelled orders using it (empty: unlimited)."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "coupons"
        ordering = ["code", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("code"), name="coupons_code_ci_unique", violation_error_message="A coupon with this code exists."
            ),
            models.CheckConstraint(condition=Q(kind__in=["percent", "fixed"]), name="coupons_kind_valid"),
            models.CheckConstraint(
                condition=Q(value__gt=0) & (Q(kind="fixed") | Q(value__lte=100)),
                name="coupons_value_valid",
                violation_error_message="A percent coupon needs 0 < value <= 100; a fixed coupon needs value > 0.",
            ),
            models.CheckConstraint(
                condition=Q(min_subtotal__isnull=True) | Q(min_subtotal__gte=0), name="coupons_min_subtotal_valid"
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="coupons_period_valid",
                violation_error_message="The end must be after the start.",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == self.Kind.PERCENT and self.value is not None and self.value > 100:
            errors["value"] = "A percent coupon cannot take more than 100 %."
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The end must be after the start."
        if errors:
            raise ValidationError(errors)


class BulkDiscountTier(models.Model):
    """Percent off an order containing at least ``min_quantity`` books; only the highest reached tier applies."""

    min_quantity = models.PositiveIntegerField(unique=True, validators=[MinValueValidator(1)])
    percent = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[MinValueValidator(CENT), MaxValueValidator(100)]
    )

    class Meta:
        db_table = "bulk_discount_tiers"
        ordering = ["min_quantity"]
        constraints = [
            models.CheckConstraint(condition=Q(min_quantity__gte=1), name="bulk_discount_tiers_min_quantity_valid"),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100), name="bulk_discount_tiers_percent_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.min_quantity}+ books: {self.percent.normalize():f} %"


class ShippingMethod(models.Model):
    """A way of delivering orders that staff offer to some countries, at a price (tax included)."""

    name = models.CharField(max_length=100)
    countries = CountryField(multiple=True, help_text="Countries this method delivers to.")
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    free_over = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(CENT)],
        help_text="Free when the books, after discounts, cost at least this much (empty: never free).",
    )
    estimated_days = models.PositiveSmallIntegerField(help_text="Days until delivery, as told to customers.")
    is_active = models.BooleanField(default=True, help_text="Inactive methods are not offered; orders keep theirs.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "shipping_methods"
        ordering = ["price", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_methods_price_non_negative"),
            models.CheckConstraint(
                condition=Q(free_over__isnull=True) | Q(free_over__gt=0), name="shipping_methods_free_over_positive"
            ),
            models.CheckConstraint(condition=~Q(countries=""), name="shipping_methods_countries_required"),
        ]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """A customer's purchase; prices, discounts and book details are frozen when it is placed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class Fulfilment(models.TextChoices):
        PICKUP = "pickup", "Collected in the shop"
        DELIVERY = "delivery", "Delivered to the shipping address"

    number = models.CharField(max_length=40, unique=True, editable=False, help_text="e.g. BK-2026-000123")
    # The (user, created_at) index below serves lookups by user too.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    subtotal = models.DecimalField(max_digits=10, decimal_places=2)
    discount_total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=10, decimal_places=2)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="orders")
    coupon_code = models.CharField(max_length=50, blank=True, help_text="The coupon code as applied.")
    discounts = models.JSONField(
        default=list, blank=True, help_text='Applied discounts: [{"kind", "code", "description", "amount"}].'
    )
    fulfilment = models.CharField(max_length=10, choices=Fulfilment.choices, default=Fulfilment.PICKUP)
    shipping_method = models.ForeignKey(
        ShippingMethod, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    shipping_method_name = models.CharField(max_length=100, blank=True, help_text="The method's name when ordered.")
    shipping = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    # Copies, not links: editing or deleting a saved address never changes an order.
    shipping_address = models.JSONField(null=True, blank=True, help_text="Where the order goes; empty for pickup.")
    billing_address = models.JSONField(null=True, blank=True)
    tax = models.JSONField(
        default=list,
        blank=True,
        help_text='Tax contained in the total, per rate, at the rates in force when ordered: [{"rate", "label", "amount"}].',
    )
    carrier = models.CharField(max_length=100, blank=True, help_text="Who carries the parcel, set when shipped.")
    tracking_number = models.CharField(max_length=100, blank=True, help_text="The carrier's tracking number.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "paid", "shipped", "delivered", "cancelled"]),
                name="orders_status_valid",
            ),
            models.CheckConstraint(condition=Q(subtotal__gte=0), name="orders_subtotal_non_negative"),
            models.CheckConstraint(condition=Q(discount_total__gte=0), name="orders_discount_total_non_negative"),
            models.CheckConstraint(condition=Q(total__gte=0), name="orders_total_non_negative"),
            models.CheckConstraint(condition=Q(shipping__gte=0), name="orders_shipping_non_negative"),
            models.CheckConstraint(
                condition=(Q(fulfilment="pickup") & Q(shipping_address__isnull=True) & Q(shipping=0))
                | (Q(fulfilment="delivery") & Q(shipping_address__isnull=False)),
                name="orders_fulfilment_matches_address",
            ),
            # total = subtotal - discount_total + shipping is kept by the pricing code; SQLite stores
            # decimals as floats, so an equality CHECK on arithmetic is not reliable there.
            models.CheckConstraint(
                condition=Q(discount_total__lte=F("subtotal")), name="orders_discount_total_within_subtotal"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="orders_created_at_idx"),
            models.Index(fields=["status", "-created_at"], name="orders_status_created_at_idx"),
            models.Index(fields=["user", "-created_at"], name="orders_user_created_at_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @staticmethod
    def format_number(pk: int, year: int) -> str:
        """The customer-facing number, derived from the id so it is unique without coordination."""
        return f"BK-{year}-{pk:06d}"


class OrderItem(models.Model):
    """One line of an order, with the book's ISBN, title and price as they were when ordered."""

    # No index of its own: the unique (order, book) index leads with it (migration 0012).
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", db_index=False)
    # PROTECT keeps order history intact: the catalog deactivates an ordered book instead of deleting it.
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="order_items")
    isbn = models.CharField("ISBN-13", max_length=13)
    title = models.CharField(max_length=500)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_LINE_QUANTITY)])
    line_total = models.DecimalField(max_digits=10, decimal_places=2)
    is_preorder = models.BooleanField(
        default=False, help_text="Ordered while the book was forthcoming: taken from its preorder allowance."
    )

    class Meta:
        db_table = "order_items"
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "book"], name="order_items_book_once_per_order"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=MAX_LINE_QUANTITY), name="order_items_quantity_valid"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_items_unit_price_non_negative"),
            models.CheckConstraint(condition=Q(line_total__gte=0), name="order_items_line_total_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"


class StatusChange(models.Model):
    """One step in an order's history: who moved it from which status to which, and when."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(
        max_length=10, choices=Order.Status.choices, blank=True, help_text="Empty for the order's creation."
    )
    to_status = models.CharField(max_length=10, choices=Order.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="order_status_changes"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "order_status_changes"
        ordering = ["order", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_status__in=["pending", "paid", "shipped", "delivered", "cancelled"]),
                name="order_status_changes_to_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}: {self.from_status or '-'} -> {self.to_status}"


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for an order placement and the response it produced.

    The row is inserted before the order is placed (the unique constraint picks
    one winner among concurrent duplicates); ``response_status`` stays empty
    while that request is running. Rows older than 24 h are ignored and purged.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON request body.")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "idempotency_keys"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_keys_user_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class SalesDay(models.Model):
    """Orders placed on one day (``TIME_ZONE``) with one status: their count, totals and discounts.

    A rollup of ``orders`` kept exact by ``orders.rollup`` (see there); the reports read it.
    """

    day = models.DateField()
    status = models.CharField(max_length=10, choices=Order.Status.choices)
    orders = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    discounts = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        db_table = "sales_days"
        constraints = [models.UniqueConstraint(fields=["day", "status"], name="sales_days_day_status_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.status}: {self.orders}"


class SalesBookDay(models.Model):
    """Copies of one book sold on one day, and their line totals, over the orders that are not cancelled."""

    day = models.DateField()
    book = models.ForeignKey(
        "catalog.Book", on_delete=models.DO_NOTHING, db_constraint=False, related_name="sales_days"
    )
    copies = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        db_table = "sales_book_days"
        constraints = [models.UniqueConstraint(fields=["day", "book"], name="sales_book_days_day_book_unique")]

    def __str__(self) -> str:
        return f"{self.day} book {self.book_id}: {self.copies}"


class SalesBookToDate(models.Model):
    """Copies of one book sold, and their line totals, on every day before ``month`` (a month's first day).

    Running totals at month starts: a range of whole months costs two rows per
    book (``to_date(end) - to_date(start)``) instead of one per book and day.
    Kept by ``orders.rollup`` from ``SalesBookDay``, up to the current month.
    """

    month = models.DateField()
    book = models.ForeignKey("catalog.Book", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    copies = models.IntegerField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        db_table = "sales_book_to_date"
        constraints = [models.UniqueConstraint(fields=["month", "book"], name="sales_book_to_date_month_book_unique")]

    def __str__(self) -> str:
        return f"before {self.month} book {self.book_id}: {self.copies}"


class SalesCouponDay(models.Model):
    """Orders (not cancelled) placed on one day with one coupon code, and their discounts."""

    day = models.DateField()
    code = models.CharField(max_length=50)
    orders = models.PositiveIntegerField()
    discount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        db_table = "sales_coupon_days"
        constraints = [models.UniqueConstraint(fields=["day", "code"], name="sales_coupon_days_day_code_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.code}: {self.orders}"


class SalesTaxDay(models.Model):
    """Tax recorded on the orders (not cancelled) placed on one day, per label and rate."""

    day = models.DateField()
    label = models.CharField(max_length=100)
    rate = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        db_table = "sales_tax_days"
        indexes = [models.Index(fields=["day"], name="sales_tax_days_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.label} {self.rate}: {self.amount}"


class SalesDirtyMark(models.Model):
    """A change to an order or its lines not yet folded into the sales rollup.

    Written by database triggers on ``orders`` and ``order_items`` (migration
    0010), in the writing transaction, whatever wrote the row: services, the
    ORM, raw SQL. ``order_created_at`` names the day to recompute; NULL asks
    for a full rebuild.
    """

    order_created_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "sales_rollup_dirty"

    def __str__(self) -> str:
        return f"dirty {self.order_created_at}"


# Payment records live in orders/payments/; importing them here registers them with the app.
from orders.payments.models import Payment, PaymentEvent, WebhookEvent  # noqa: E402

__all__ = [
    "BulkDiscountTier",
    "Coupon",
    "IdempotencyKey",
    "Order",
    "OrderItem",
    "Payment",
    "PaymentEvent",
    "SalesBookDay",
    "SalesBookToDate",
    "SalesCouponDay",
    "SalesDay",
    "SalesDirtyMark",
    "SalesTaxDay",
    "StatusChange",
    "WebhookEvent",
]
