"""Order, coupon and discount tier representations (API.md, "Orders" and "Coupons ...")."""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import COUNTRY_CHOICES, CountryCodeField
from accounts.models import Address
from bookstore.limits import MAX_ID
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


def _address_field(name: str) -> serializers.Field:
    """An input field with the length limits of ``Address.<name>`` (declared once, on the model)."""
    if name == "country":
        return CountryCodeField(required=False)
    model_field = Address._meta.get_field(name)
    assert isinstance(model_field, models.CharField)
    assert model_field.max_length is not None
    return serializers.CharField(required=False, allow_blank=model_field.blank, max_length=model_field.max_length)


class AddressInputSerializer(serializers.Serializer):
    """An address for an order: ``{"address_id": N}`` (one of the caller's saved addresses) or the fields.

    With the fields, ``name``, ``line1``, ``city`` and ``country`` are required;
    the postal code is checked for the country by the order service.
    """

    REQUIRED = ("name", "line1", "city", "country")

    address_id = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="One of the caller's saved addresses."
    )
    name = _address_field("name")
    line1 = _address_field("line1")
    line2 = _address_field("line2")
    city = _address_field("city")
    postal_code = _address_field("postal_code")
    region = _address_field("region")
    country = _address_field("country")
    phone = _address_field("phone")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("address_id") is not None:
            others = sorted(name for name in attrs if name != "address_id")
            if others:
                raise serializers.ValidationError({name: ["Send either address_id or the fields."] for name in others})
            return attrs
        missing = {name: ["This field is required."] for name in self.REQUIRED if not attrs.get(name)}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class OrderCreateSerializer(serializers.Serializer):
    """Body of ``POST /orders`` and ``POST /orders/quote``.

    Types and ranges are checked here; the order rules (each book once, active
    books, stock, coupon, the shipping method serving the address's country)
    are the services' and name the line or field on failure.
    """

    items: serializers.ListSerializer[dict[str, int]] = serializers.ListSerializer(
        child=OrderLineInputSerializer(), min_length=1, max_length=MAX_ORDER_LINES, help_text="Each book once."
    )
    coupon_code = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=50, help_text="Case-insensitive."
    )
    shipping_address = AddressInputSerializer(
        required=False,
        allow_null=True,
        help_text='Where to deliver: an address, or `{"address_id": N}`. Without it the order is collected.',
    )
    shipping_method_id = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="Required with `shipping_address`; the method must deliver to its country.",
    )
    billing_address = AddressInputSerializer(
        required=False, allow_null=True, help_text='Optional; an address or `{"address_id": N}`.'
    )
    payment_provider = serializers.ChoiceField(
        choices=Provider.choices,
        required=False,
        allow_null=True,
        help_text="How the order is paid; default: the store's `PAYMENT_PROVIDER`. Ignored by the quote.",
    )

    def lines(self) -> list[OrderLine]:
        return [OrderLine(book_id=item["book_id"], quantity=item["quantity"]) for item in self.validated_data["items"]]

    def checkout(self) -> dict[str, Any]:
        """The keyword arguments of ``order_place`` besides the user."""
        data = self.validated_data
        return {
            "items": self.lines(),
            "coupon_code": data.get("coupon_code"),
            "shipping_address": data.get("shipping_address"),
            "shipping_method_id": data.get("shipping_method_id"),
            "billing_address": data.get("billing_address"),
            "payment_provider": data.get("payment_provider"),
        }


_PLAIN_LINE_KEYS = frozenset({"book_id", "quantity"})
_ADDRESS_FIELDS = AddressInputSerializer._declared_fields
_COUNTRY_CODES = frozenset(code for code, _name in COUNTRY_CHOICES)
_PROVIDERS = frozenset(Provider.values)


def _plain_id(value: Any) -> bool:
    return type(value) is int and 1 <= value <= MAX_ID


def _plain_text(value: Any, name: str) -> bool:
    """A string the address field ``name`` takes as it is: no surrounding spaces, nothing to refuse or change."""
    if type(value) is not str or value != value.strip() or not value.isprintable():
        return False
    field = _ADDRESS_FIELDS[name]
    if name == "country":
        return value in _COUNTRY_CODES  # already upper-case, as the field would make it
    assert isinstance(field, serializers.CharField)
    return (bool(value) or field.allow_blank) and (field.max_length is None or len(value) <= field.max_length)


def _plain_address(value: Any) -> dict[str, Any] | None:
    """An address input the serializer would take unchanged: ``{"address_id": N}``, or the fields as strings."""
    if type(value) is not dict:
        return None
    if value.keys() == {"address_id"}:
        return dict(value) if _plain_id(value["address_id"]) else None
    if not value.keys() <= _ADDRESS_FIELDS.keys() - {"address_id"}:
        return None
    if not all(value.get(name) for name in AddressInputSerializer.REQUIRED):
        return None
    if not all(_plain_text(item, name) for name, item in value.items()):
        return None
    return dict(value)


def plain_checkout(data: Any) -> dict[str, Any] | None:
    """``OrderCreateSerializer(data=data).checkout()`` for plain valid bodies, without building the serializer.

    That is ``{"items": [{"book_id": int, "quantity": int}, ...]}`` within the
    serializer's limits, with ``shipping_address`` and ``billing_address``
    absent, null, ``{"address_id": int}`` or the address's fields as strings
    the serializer would keep as they are (no surrounding spaces, within their
    lengths, a known upper-case country code, the required ones given),
    ``shipping_method_id`` absent, null or an id, ``payment_provider`` absent,
    null or a provider's name, and ``coupon_code`` absent or null. Anything
    else (strings for numbers, extra keys, any doubt, any error) is ``None``:
    the serializer validates it and words the errors.
    """
    if type(data) is not dict or not data.keys() <= OrderCreateSerializer._declared_fields.keys():
        return None
    if data.get("coupon_code") is not None:
        return None
    items = data.get("items")
    if type(items) is not list or not 1 <= len(items) <= MAX_ORDER_LINES:
        return None
    lines = []
    for item in items:
        if type(item) is not dict or item.keys() != _PLAIN_LINE_KEYS:
            return None
        book_id, quantity = item["book_id"], item["quantity"]
        if type(book_id) is not int or type(quantity) is not int:
            return None
        if not (1 <= book_id <= MAX_ID and 1 <= quantity <= MAX_LINE_QUANTITY):
            return None
        lines.append(OrderLine(book_id=book_id, quantity=quantity))
    addresses: dict[str, dict[str, Any] | None] = {}
    for name in ("shipping_address", "billing_address"):
        value = data.get(name)
        addresses[name] = None if value is None else _plain_address(value)
        if value is not None and addresses[name] is None:
            return None
    method_id = data.get("shipping_method_id")
    if method_id is not None and not _plain_id(method_id):
        return None
    provider = data.get("payment_provider")
    if provider is not None and not (type(provider) is str and provider in _PROVIDERS):
        return None
    return {
        "items": lines,
        "coupon_code": None,
        "shipping_address": addresses["shipping_address"],
        "shipping_method_id": method_id,
        "billing_address": addresses["billing_address"],
        "payment_provider": provider,
    }


class OrderQuoteRequestSerializer(OrderCreateSerializer):
    """Body of ``POST /orders/quote``: an order's body, and optionally a country to price shipping to."""

    shipping_country = CountryCodeField(
        required=False,
        allow_null=True,
        help_text="Price shipping to this country (ISO 3166-1 alpha-2) with `shipping_method_id`.",
    )

    def checkout(self) -> dict[str, Any]:
        """The keyword arguments of ``order_quote`` besides the user."""
        arguments = super().checkout()
        arguments.pop("billing_address")
        arguments.pop("payment_provider")
        return {**arguments, "shipping_country": self.validated_data.get("shipping_country") or None}


class DiscountSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["bulk", "coupon"])
    code = serializers.CharField(allow_null=True, help_text="The coupon code; null for the bulk discount.")
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)


class OrderItemSerializer(serializers.ModelSerializer):
    book_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = OrderItem
        fields = ["book_id", "isbn", "title", "quantity", "unit_price", "line_total", "is_preorder"]
        read_only_fields = fields


class TaxLineSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. `7.00`.")
    # The field's name shadows ``Field.label`` (the field's own caption), which a nested serializer never uses.
    label = serializers.CharField()  # type: ignore[assignment]
    amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, help_text="The tax contained at this rate (prices include tax)."
    )


class OrderAddressSerializer(serializers.Serializer):
    """The copy of an address an order keeps."""

    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    region = serializers.CharField()
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 code.")
    phone = serializers.CharField()


class OrderShippingMethodSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="shipping_method_id")
    name = serializers.CharField(source="shipping_method_name", help_text="The method's name when ordered.")


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
    tax = TaxLineSerializer(many=True, read_only=True)
    shipping_address = OrderAddressSerializer(read_only=True, allow_null=True)
    billing_address = OrderAddressSerializer(read_only=True, allow_null=True)
    shipping_method = serializers.SerializerMethodField()
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
            "shipping",
            "tax",
            "total",
            "coupon_code",
            "fulfilment",
            "shipping_method",
            "shipping_address",
            "billing_address",
            "payment",
            "carrier",
            "tracking_number",
            "created_at",
            "updated_at",
            "status_history",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "total": {"help_text": "subtotal - discount_total + shipping; the tax lines are contained in it."},
            "fulfilment": {"help_text": "`pickup` (collected in the shop) or `delivery` (to `shipping_address`)."},
        }

    def get_coupon_code(self, order: Order) -> str | None:
        return order.coupon_code or None

    @extend_schema_field(OrderShippingMethodSerializer(allow_null=True))
    def get_shipping_method(self, order: Order) -> dict[str, Any] | None:
        if order.fulfilment != Order.Fulfilment.DELIVERY:
            return None
        return dict(_bound(OrderShippingMethodSerializer).to_representation(order))

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_payment(self, order: Order) -> dict[str, Any] | None:
        """Null only for orders placed before payments were recorded."""
        payment = getattr(order, "payment", None)
        return _bound(PaymentSerializer).to_representation(payment) if payment is not None else None

    def get_carrier(self, order: Order) -> str | None:
        return order.carrier or None

    def get_tracking_number(self, order: Order) -> str | None:
        return order.tracking_number or None


@functools.cache
def _bound(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One instance per process of a context-free output serializer, its fields built once.

    ``to_representation`` keeps no state between calls, so the instance is
    reused instead of building (and deep-copying) every field again per
    object; the workers are single-threaded (``gunicorn.conf.py``).
    """
    return serializer_class()


def order_document(order: Order) -> dict[str, Any]:
    """``OrderSerializer(order).data`` (same keys and values), from the one bound serializer."""
    return dict(_bound(OrderSerializer).to_representation(order))


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
    is_preorder = serializers.BooleanField(help_text="A forthcoming book, ordered ahead of its release date.")


class OrderQuoteSerializer(serializers.Serializer):
    """The priced order that ``POST /orders`` with the same body would create now."""

    items = QuoteLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=10, decimal_places=2)
    discounts = DiscountSerializer(many=True)
    discount_total = serializers.DecimalField(max_digits=10, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=10, decimal_places=2)
    tax = TaxLineSerializer(many=True, help_text="Tax contained in `total`, one line per rate.")
    total = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="subtotal - discount_total + shipping.")
    fulfilment = serializers.ChoiceField(choices=Order.Fulfilment.choices)


class ShippingMethodSerializer(serializers.ModelSerializer):
    countries = serializers.SerializerMethodField()

    class Meta:
        model = ShippingMethod
        fields = ["id", "name", "price", "free_over", "countries", "estimated_days"]
        read_only_fields = fields
        extra_kwargs = {
            "price": {"help_text": "Tax included."},
            "free_over": {"help_text": "Free when the books cost at least this after discounts; null: never free."},
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField(help_text="ISO 3166-1 alpha-2 code.")))
    def get_countries(self, method: ShippingMethod) -> list[str]:
        return [country.code for country in method.countries]


class ShippingMethodQuerySerializer(serializers.Serializer):
    country = CountryCodeField(help_text="ISO 3166-1 alpha-2 code of the destination, e.g. `DE`.")


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
        return coupon_create(**validated_data, by=self.context["request"].user)

    def update(self, instance: Coupon, validated_data: dict[str, Any]) -> Coupon:
        return coupon_update(coupon=instance, **validated_data, by=self.context["request"].user)


class DiscountTierSerializer(serializers.ModelSerializer):
    class Meta:
        model = BulkDiscountTier
        fields = ["id", "min_quantity", "percent"]

    def create(self, validated_data: dict[str, Any]) -> BulkDiscountTier:
        return discount_tier_create(**validated_data)

    def update(self, instance: BulkDiscountTier, validated_data: dict[str, Any]) -> BulkDiscountTier:
        return discount_tier_update(tier=instance, **validated_data)
