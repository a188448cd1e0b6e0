"""Order, coupon and discount tier representations (API.md, "Orders" and "Coupons ...")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookstore.limits import MAX_ID
from orders.models import MAX_LINE_QUANTITY, MAX_ORDER_LINES, BulkDiscountTier, Coupon, Order, OrderItem, StatusChange
from orders.payments.models import Payment, Provider
from orders.services import (
    OrderLine,
    coupon_create,
    coupon_update,
    discount_tier_create,
    discount_tier_update,
)


class OrderLineInputSerializer(serializers.Serializer):
    book_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class OrderCreateSerializer(serializers.Serializer):
    """Body of ``POST /orders`` and ``POST /orders/quote``.

    Types and ranges are checked here; the order rules (each book once, active
    books, stock, coupon) are the services' and name the line on failure.
    """

    items: serializers.ListSerializer[dict[str, int]] = serializers.ListSerializer(
        child=OrderLineInputSerializer(), min_length=1, max_length=MAX_ORDER_LINES, help_text="Each book once."
    )
    coupon_code = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=50, help_text="Case-insensitive."
    )
    payment_provider = serializers.ChoiceField(
        choices=Provider.choices,
        required=False,
        allow_null=True,
        help_text="How the order is paid; default: the store's `PAYMENT_PROVIDER`. Ignored by the quote.",
    )

    def lines(self) -> list[OrderLine]:
        return [OrderLine(book_id=item["book_id"], quantity=item["quantity"]) for item in self.validated_data["items"]]


class DiscountSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["bulk", "coupon"])
    code = serializers.CharField(allow_null=True, help_text="The coupon code; null for the bulk discount.")
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)


class OrderItemSerializer(serializers.ModelSerializer):
    book_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = OrderItem
        fields = ["book_id", "isbn", "title", "quantity", "unit_price", "line_total"]
        read_only_fields = fields


class StatusHistorySerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="to_status", read_only=True)
    by = serializers.IntegerField(
        source="by_id", read_only=True, allow_null=True, help_text="User id; null if unknown."
    )

    class Meta:
        model = StatusChange
        fields = ["status", "at", "by"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    """How the order is paid and where the payment stands; never any card data."""

    client_secret = serializers.SerializerMethodField(
        help_text="Stripe: hand it to Stripe's client to confirm the payment; null once it cannot be paid."
    )
    error = serializers.SerializerMethodField(help_text="Why the provider could not be reached (status `error`).")

    class Meta:
        model = Payment
        fields = ["provider", "status", "client_secret", "amount", "currency", "error"]
        read_only_fields = fields

    def get_client_secret(self, payment: Payment) -> str | None:
        payable = payment.status in (Payment.Status.AWAITING, Payment.Status.FAILED)
        return payment.client_secret if payable and payment.client_secret else None

    def get_error(self, payment: Payment) -> str | None:
        return payment.last_error or None


class OrderSerializer(serializers.ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)
    discounts = DiscountSerializer(many=True, read_only=True)
    coupon_code = serializers.SerializerMethodField()
    status_history = StatusHistorySerializer(source="status_changes", many=True, read_only=True)
    payment = serializers.SerializerMethodField()
    carrier = serializers.SerializerMethodField()
    tracking_number = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "items",
            "subtotal",
            "discounts",
            "discount_total",
            "total",
            "coupon_code",
            "payment",
            "carrier",
            "tracking_number",
            "created_at",
            "updated_at",
            "status_history",
        ]
        read_only_fields = fields

    def get_coupon_code(self, order: Order) -> str | None:
        return order.coupon_code or None

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_payment(self, order: Order) -> dict[str, Any] | None:
        """Null only for orders placed before payments were recorded."""
        payment = getattr(order, "payment", None)
        return PaymentSerializer(payment).data if payment is not None else None

    def get_carrier(self, order: Order) -> str | None:
        return order.carrier or None

    def get_tracking_number(self, order: Order) -> str | None:
        return order.tracking_number or None


class OrderShipSerializer(serializers.Serializer):
    """Body of ``POST /orders/{id}/ship``; both fields optional."""

    carrier = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    tracking_number = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)


class QuoteLineSerializer(serializers.Serializer):
    book_id = serializers.IntegerField()
    isbn = serializers.CharField()
    title = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=10, decimal_places=2)


class OrderQuoteSerializer(serializers.Serializer):
    """The priced order that ``POST /orders`` with the same body would create now."""

    items = QuoteLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=10, decimal_places=2)
    discounts = DiscountSerializer(many=True)
    discount_total = serializers.DecimalField(max_digits=10, decimal_places=2)
    total = serializers.DecimalField(max_digits=10, decimal_places=2)


class CouponSerializer(serializers.ModelSerializer):
    # Annotated by orders.selectors.coupon_list; a coupon just created has none.
    uses = serializers.IntegerField(read_only=True, default=0, help_text="Orders using it that are not cancelled.")

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "kind",
            "value",
            "starts_at",
            "ends_at",
            "min_subtotal",
            "max_uses",
            "uses",
            "is_active",
        ]

    # The rules (code free in any letter case, percent at most 100, end after start) are the service's.
    def create(self, validated_data: dict[str, Any]) -> Coupon:
        return coupon_create(**validated_data)

    def update(self, instance: Coupon, validated_data: dict[str, Any]) -> Coupon:
        return coupon_update(coupon=instance, **validated_data)


class DiscountTierSerializer(serializers.ModelSerializer):
    class Meta:
        model = BulkDiscountTier
        fields = ["id", "min_quantity", "percent"]

    def create(self, validated_data: dict[str, Any]) -> BulkDiscountTier:
        return discount_tier_create(**validated_data)

    def update(self, instance: BulkDiscountTier, validated_data: dict[str, Any]) -> BulkDiscountTier:
        return discount_tier_update(tier=instance, **validated_data)
