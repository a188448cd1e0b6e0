"""Orders, coupons and discount tiers over HTTP; every rule lives in orders.services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from accounts.api.mixins import CreatedLocationMixin
from accounts.permissions import IsOwnerOrStaff, StaffModelPermission, StaffPermission
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    CouponSerializer,
    DiscountTierSerializer,
    OrderCreateSerializer,
    OrderQuoteRequestSerializer,
    OrderQuoteSerializer,
    OrderSerializer,
    OrderShipSerializer,
    ShippingMethodQuerySerializer,
    ShippingMethodSerializer,
    order_document,
    plain_checkout,
)
from orders.api.throttling import CouponFailureThrottle, OrderCreateRateThrottle, QuoteRateThrottle
from orders.exceptions import InvalidCoupon
from orders.idempotency import (
    HEADER,
    idempotency_key_parse,
    idempotency_response_store,
    idempotent_run,
    request_fingerprint,
)
from orders.models import BulkDiscountTier, Coupon, Order, ShippingMethod
from orders.payments.records import payment_start
from orders.selectors import coupon_list, discount_tier_list, order_get, order_list, shipping_method_list
from orders.services import (
    coupon_delete,
    discount_tier_delete,
    order_cancel,
    order_place,
    order_quote,
    order_ship,
    order_transition,
)

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

_400 = OpenApiResponse(description="`validation_error`: `details` names the field or line (`items.1.book_id`).")
_400_ORDER = OpenApiResponse(
    description=(
        "`validation_error` (`details` names the line or field, e.g. `items.1.book_id`, `shipping_address.postal_code`"
        ", `shipping_method_id`) or `invalid_coupon`."
    )
)
_401 = OpenApiResponse(description="`not_authenticated`.")
_403 = OpenApiResponse(description="`permission_denied`: staff holding the permission the admin asks for only.")
_404 = OpenApiResponse(description="`not_found`: no such order among those the caller may see.")
_409_STOCK = OpenApiResponse(description="`insufficient_stock`: `details.items` lists every short line.")
_429 = OpenApiResponse(
    description="`throttled`: too many requests, or too many coupon codes that could not be used; see `Retry-After`."
)
_409_TRANSITION = OpenApiResponse(description="`invalid_transition`: not allowed from the current status.")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "1-255 printable ASCII characters (a UUID is recommended). The same key and body from the same user "
        "within 24 h returns the first order again (`201`, header `Idempotent-Replayed: true`), stock taken once. "
        "The same key with another body: `422 idempotency_key_reused`. While the first request is still running: "
        "wait and replay, or `409 idempotency_request_in_progress`. A request that failed stores nothing."
    ),
)


REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[201],
    description="`true` when the response replays an earlier request with the same Idempotency-Key.",
)


def _order_response(order: Order, status: int = 200) -> Response:
    return Response(OrderSerializer(order_get(pk=order.pk)).data, status=status)


@extend_schema_view(
    list=extend_schema(
        summary="Orders, newest first (customers: their own; staff: all)",
        description=(
            "Authenticated. A customer sees their own orders, staff see every order; newest first. "
            "Filter by `status` and creation time (`created_after`, `created_before`); staff also by `user`."
        ),
        responses={200: OrderSerializer, 401: _401},
    ),
    retrieve=extend_schema(
        summary="One order",
        description="The owner or staff. Another customer's order is `404`, never `403`: its existence is not told.",
        responses={200: OrderSerializer, 401: _401, 404: _404},
    ),
)
@extend_schema(tags=["orders"])
class OrderViewSet(CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    permission_classes = [IsOwnerOrStaff]
    # The quote only computes prices: an API key needs orders:read for it, not orders:write.
    api_key_read_actions = ("quote",)
    filterset_class = OrderFilter
    ordering_fields = ["created_at", "total"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real user
            return Order.objects.none()
        return order_list(user=self.request.user)

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action in {"pay", "ship", "deliver"}:
            # The admin's status actions need the same permission.
            return [StaffPermission("orders.change_order")]
        if self.action == "quote":
            # Anyone may price a basket before signing in; the quote throttles count them per address.
            return [AllowAny()]
        return super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        if self.action == "create":
            return [OrderCreateRateThrottle(), CouponFailureThrottle()]
        if self.action == "quote":
            return [QuoteRateThrottle(), CouponFailureThrottle()]
        return super().get_throttles()

    def handle_exception(self, exc: Exception) -> Response:
        # A refused coupon code counts against the caller's budget for guessing codes.
        if isinstance(exc, InvalidCoupon) and self.action in {"create", "quote"}:
            CouponFailureThrottle().record_failure(self.request)
        return super().handle_exception(exc)

    @extend_schema(
        summary="Place an order",
        description=(
            "Authenticated. 1-50 lines, each `book_id` once, `quantity` 1-100, active books only; an optional "
            "`coupon_code` (case-insensitive). To have it delivered, send `shipping_address` (an address, or "
            '`{"address_id": N}` of one of the caller\'s saved addresses) with `shipping_method_id`, a method that '
            "delivers to the address's country (else `400` naming `shipping_method_id`); the order keeps a copy of "
            "the address. Without both the order is collected in the shop (`fulfilment: pickup`, shipping `0.00`). "
            "`billing_address` is optional. `total` = items after discounts + `shipping`; prices include tax, and "
            "`tax` lists the tax contained per rate, at the rates in force now, which the order keeps. "
            "Stock is checked and taken in one transaction: when any line is "
            "short, `409 insufficient_stock` lists every short line and nothing changes. Answers `201` with the "
            "pending order, its URL in `Location`. Send an `Idempotency-Key` to retry safely. "
            "`payment_provider` (`manual` or `stripe`, default the store's setting) chooses how it is paid: with "
            "`stripe` the answer's `payment.client_secret` is confirmed with Stripe's client and Stripe's webhook "
            "marks the order paid; if Stripe cannot be reached the order is still placed, `payment.status` is "
            "`error` with the reason, and the intent is created by a retry job (read the order again)."
        ),
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
        responses={
            201: OrderSerializer,
            400: _400_ORDER,
            401: _401,
            409: OpenApiResponse(description="`insufficient_stock` or `idempotency_request_in_progress`."),
            422: OpenApiResponse(description="`idempotency_key_reused`: same key, different body."),
            429: _429,
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = idempotency_key_parse(request.headers.get(HEADER))
        # Plain bodies (lines, addresses as strings the serializer keeps as they are) skip building the
        # serializer; every other body goes through it.
        checkout = plain_checkout(request.data)
        if checkout is None:
            serializer = OrderCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            checkout = serializer.checkout()

        placed: list[Order] = []

        def place() -> tuple[Order, Any]:
            # The order comes back with its items, history and payment: the body needs no read-back.
            order = order_place(user=request.user, **checkout)
            placed.append(order)
            return order, order_document(order)

        if key is None:
            order, body = place()
            # After the commit, never under the stock locks: ask the provider (a no-op once started).
            body = self._with_payment_started(order, body)
            return Response(body, status=201, headers=self.get_success_headers(body))
        result = idempotent_run(user=request.user, key=key, fingerprint=request_fingerprint(request.data), action=place)
        headers = self.get_success_headers(result.body) if result.status == 201 else {}
        if result.status != 201:
            return Response(result.body, status=result.status, headers=headers)
        body = result.body
        if result.replayed:
            payment_start(order_id=result.body["id"])
            headers["Idempotent-Replayed"] = "true"
        else:
            body = self._with_payment_started(placed[-1], body)
            if body is not result.body:
                # The response sent, with the provider's answer, is the one replays return.
                idempotency_response_store(user=request.user, key=key, body=body)
        return Response(body, status=201, headers=headers)

    @staticmethod
    def _with_payment_started(order: Order, body: Any) -> Any:
        """Ask the provider to take the payment; the body again if its answer changed the payment."""
        payment = payment_start(order_id=order.pk, payment=order.payment)
        if payment is None or payment.status == order.payment.status:
            return body
        order.payment = payment
        return order_document(order)

    @extend_schema(
        summary="Price an order without placing it",
        description=(
            "Anyone, signed in or not; rate limited per user, or per client address when anonymous (`429` with "
            "`Retry-After`), and coupon codes that could not be used spend a smaller budget of their own. "
            "Same body and rules as placing an order (a saved `address_id` is the caller's own, so anonymous "
            "callers send an address or `shipping_country`); nothing is written and stock is not touched. To price "
            "delivery before there is an address, send `shipping_country` with `shipping_method_id` (each needs the "
            "other; the method must deliver to the country). Answers `shipping`, `tax` (contained per rate) and "
            "`total` = items after discounts + shipping."
        ),
        request=OrderQuoteRequestSerializer,
        responses={200: OrderQuoteSerializer, 400: _400_ORDER, 409: _409_STOCK, 429: _429},
    )
    @action(detail=False, methods=["post"])
    def quote(self, request: Request) -> Response:
        serializer = OrderQuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = order_quote(user=request.user, **serializer.checkout())
        return Response(OrderQuoteSerializer(quote).data)

    @extend_schema(
        summary="Cancel an order (owner or staff)",
        description=(
            "The owner or staff, while the order is `pending` or `paid` (else `409 invalid_transition`). Puts every "
            "item back in stock and frees the coupon use; a paid order's payment is refunded (`payment.status` "
            "`refund_pending`, then `refunded`)."
        ),
        request=None,
        responses={200: OrderSerializer, 401: _401, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(order_cancel(order=self.get_object(), by=request.user))

    @extend_schema(
        summary="Mark an order paid (staff)",
        description=(
            "Staff only. `pending` → `paid`; from any other status `409 invalid_transition`. Recorded in "
            "`status_history` with who did it."
        ),
        request=None,
        responses={200: OrderSerializer, 401: _401, 403: _403, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(order_transition(order=self.get_object(), to=Order.Status.PAID, by=request.user))

    @extend_schema(
        summary="Mark an order shipped (staff)",
        description=(
            "Staff only. `paid` → `shipped`; from any other status `409 invalid_transition`. Takes optional "
            "`carrier` and `tracking_number` (up to 100 characters each), shown on the order and in the "
            "customer's shipping email. Recorded in `status_history` with who did it."
        ),
        request=OrderShipSerializer,
        responses={200: OrderSerializer, 400: _400, 401: _401, 403: _403, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def ship(self, request: Request, pk: str | None = None) -> Response:
        serializer = OrderShipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_ship(
            order=self.get_object(),
            by=request.user,
            carrier=serializer.validated_data.get("carrier") or "",
            tracking_number=serializer.validated_data.get("tracking_number") or "",
        )
        return _order_response(order)

    @extend_schema(
        summary="Mark an order delivered (staff)",
        description=(
            "Staff only. `shipped` → `delivered`; from any other status `409 invalid_transition`. Recorded "
            "in `status_history` with who did it."
        ),
        request=None,
        responses={200: OrderSerializer, 401: _401, 403: _403, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(order_transition(order=self.get_object(), to=Order.Status.DELIVERED, by=request.user))


@extend_schema_view(
    list=extend_schema(
        summary="List coupons",
        description="Staff only. Every coupon, by code; `uses` counts the orders using it that are not cancelled.",
    ),
    create=extend_schema(
        summary="Create a coupon",
        description=(
            "Staff only. `code` is unique ignoring case; `percent` needs `0 < value <= 100`, `fixed` needs "
            "`value > 0`; `starts_at`, `ends_at`, `min_subtotal` and `max_uses` may be null (no limit). "
            "The new coupon's URL is in `Location`."
        ),
    ),
    retrieve=extend_schema(summary="One coupon", description="Staff only."),
    update=extend_schema(
        summary="Replace a coupon", description="Staff only. Send every field; the rules of creation apply."
    ),
    partial_update=extend_schema(
        summary="Change a coupon",
        description="Staff only. Send only the fields to change; to retire a coupon, set `is_active` to false.",
    ),
    destroy=extend_schema(
        summary="Delete a coupon",
        description="Staff only. A coupon that orders use is `409 conflict` and stays; deactivate it instead.",
        responses={204: None, 409: OpenApiResponse(description="`conflict`: orders use this coupon; deactivate it.")},
    ),
)
@extend_schema(tags=["coupons"])
class CouponViewSet(CreatedLocationMixin, viewsets.ModelViewSet):
    """Coupons (staff only). ``uses`` counts orders using the coupon that are not cancelled."""

    serializer_class = CouponSerializer
    permission_classes = [StaffModelPermission]
    ordering_fields = ["code", "starts_at", "ends_at"]
    ordering = ["code", "id"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Coupon]:
        return coupon_list()

    def perform_destroy(self, instance: Coupon) -> None:
        coupon_delete(coupon=instance, by=self.request.user)


@extend_schema_view(
    list=extend_schema(
        summary="List bulk discount tiers",
        description=(
            "Staff only. Tiers by `min_quantity`: an order of at least that many books gets `percent` off its "
            "subtotal; only the highest tier reached applies."
        ),
    ),
    create=extend_schema(
        summary="Create a bulk discount tier",
        description=(
            "Staff only. `min_quantity >= 1` and unique, `0 < percent <= 100`. The new tier's URL is in `Location`."
        ),
    ),
    retrieve=extend_schema(summary="One bulk discount tier", description="Staff only."),
    update=extend_schema(
        summary="Replace a bulk discount tier", description="Staff only. Send every field; the rules of creation apply."
    ),
    partial_update=extend_schema(
        summary="Change a bulk discount tier", description="Staff only. Send only the fields to change."
    ),
    destroy=extend_schema(
        summary="Delete a bulk discount tier",
        description="Staff only. Orders already placed keep the discount they got.",
    ),
)
@extend_schema(tags=["discount-tiers"])
class DiscountTierViewSet(CreatedLocationMixin, viewsets.ModelViewSet):
    """Bulk discount tiers (staff only): percent off orders of at least ``min_quantity`` books."""

    serializer_class = DiscountTierSerializer
    permission_classes = [StaffModelPermission]
    ordering_fields = ["min_quantity", "percent"]
    ordering = ["min_quantity"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[BulkDiscountTier]:
        return discount_tier_list()

    def perform_destroy(self, instance: BulkDiscountTier) -> None:
        discount_tier_delete(tier=instance)


@extend_schema_view(
    list=extend_schema(
        summary="Shipping methods to a country",
        description=(
            "Open to anyone. The active shipping methods that deliver to `country` (required, ISO 3166-1 alpha-2; "
            "missing or unknown: `400` naming `country`), cheapest first. `price` includes tax; shipping is free "
            "when the books cost at least `free_over` after discounts (null: never free)."
        ),
        parameters=[ShippingMethodQuerySerializer],
        responses={200: ShippingMethodSerializer(many=True), 400: _400},
    ),
)
@extend_schema(tags=["shipping-methods"])
class ShippingMethodViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Shipping methods per destination country; staff manage them in the admin."""

    serializer_class = ShippingMethodSerializer
    permission_classes = [AllowAny]
    filter_backends: list[type] = []
    pagination_class = None

    def get_queryset(self) -> QuerySet[ShippingMethod]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no query
            return ShippingMethod.objects.none()
        query = ShippingMethodQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return shipping_method_list(country=query.validated_data["country"])
