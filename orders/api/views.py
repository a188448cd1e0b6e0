"""Orders, coupons and discount tiers over HTTP; every rule lives in orders.services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from accounts.permissions import IsOwnerOrStaff, IsStaff
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    CouponSerializer,
    DiscountTierSerializer,
    OrderCreateSerializer,
    OrderQuoteSerializer,
    OrderSerializer,
)
from orders.api.throttling import OrderCreateRateThrottle
from orders.idempotency import HEADER, idempotency_key_parse, idempotent_run, request_fingerprint
from orders.models import BulkDiscountTier, Coupon, Order
from orders.selectors import coupon_list, discount_tier_list, order_get, order_list
from orders.services import discount_tier_delete, order_cancel, order_place, order_quote, order_transition

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

_400 = OpenApiResponse(description="`validation_error`: `details` names the field or line (`items.1.book_id`).")
_400_ORDER = OpenApiResponse(
    description="`validation_error` (`details` names the line, e.g. `items.1.book_id`) or `invalid_coupon`."
)
_401 = OpenApiResponse(description="`not_authenticated`.")
_403 = OpenApiResponse(description="`permission_denied`: staff only.")
_404 = OpenApiResponse(description="`not_found`: no such order among those the caller may see.")
_409_STOCK = OpenApiResponse(description="`insufficient_stock`: `details.items` lists every short line.")
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
        summary="Orders, newest first (customers: their own; staff: all)", responses={200: OrderSerializer, 401: _401}
    ),
    retrieve=extend_schema(summary="One order", responses={200: OrderSerializer, 401: _401, 404: _404}),
)
@extend_schema(tags=["orders"])
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    permission_classes = [IsOwnerOrStaff]
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
            return [IsStaff()]
        return super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        if self.action == "create":
            return [OrderCreateRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        summary="Place an order",
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
        responses={
            201: OrderSerializer,
            400: _400_ORDER,
            401: _401,
            409: OpenApiResponse(description="`insufficient_stock` or `idempotency_request_in_progress`."),
            422: OpenApiResponse(description="`idempotency_key_reused`: same key, different body."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = idempotency_key_parse(request.headers.get(HEADER))
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def place() -> tuple[Order, Any]:
            order = order_place(
                user=request.user, items=serializer.lines(), coupon_code=serializer.validated_data.get("coupon_code")
            )
            return order, OrderSerializer(order_get(pk=order.pk)).data

        if key is None:
            _order, body = place()
            return Response(body, status=201)
        result = idempotent_run(user=request.user, key=key, fingerprint=request_fingerprint(request.data), action=place)
        headers = {"Idempotent-Replayed": "true"} if result.replayed else None
        return Response(result.body, status=result.status, headers=headers)

    @extend_schema(
        summary="Price an order without placing it",
        description="Same body and rules as placing an order; nothing is written and stock is not touched.",
        request=OrderCreateSerializer,
        responses={200: OrderQuoteSerializer, 400: _400_ORDER, 401: _401, 409: _409_STOCK},
    )
    @action(detail=False, methods=["post"])
    def quote(self, request: Request) -> Response:
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = order_quote(items=serializer.lines(), coupon_code=serializer.validated_data.get("coupon_code"))
        return Response(OrderQuoteSerializer(quote).data)

    @extend_schema(
        summary="Cancel an order (owner or staff)",
        description="Puts every item back in stock and frees the coupon use.",
        request=None,
        responses={200: OrderSerializer, 401: _401, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(order_cancel(order=self.get_object(), by=request.user))

    @extend_schema(
        summary="Mark an order paid (staff)",
        request=None,
        responses={200: OrderSerializer, 401: _401, 403: _403, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(order_transition(order=self.get_object(), to=Order.Status.PAID, by=request.user))

    @extend_schema(
        summary="Mark an order shipped (staff)",
        request=None,
        responses={200: OrderSerializer, 401: _401, 403: _403, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def ship(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(order_transition(order=self.get_object(), to=Order.Status.SHIPPED, by=request.user))

    @extend_schema(
        summary="Mark an order delivered (staff)",
        request=None,
        responses={200: OrderSerializer, 401: _401, 403: _403, 404: _404, 409: _409_TRANSITION},
    )
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(order_transition(order=self.get_object(), to=Order.Status.DELIVERED, by=request.user))


@extend_schema_view(
    destroy=extend_schema(
        responses={204: None, 409: OpenApiResponse(description="`conflict`: orders use this coupon; deactivate it.")}
    )
)
@extend_schema(tags=["coupons"])
class CouponViewSet(viewsets.ModelViewSet):
    """Coupons (staff only). ``uses`` counts orders using the coupon that are not cancelled."""

    serializer_class = CouponSerializer
    permission_classes = [IsStaff]
    ordering_fields = ["code", "starts_at", "ends_at"]
    ordering = ["code", "id"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Coupon]:
        return coupon_list()


@extend_schema(tags=["discount-tiers"])
class DiscountTierViewSet(viewsets.ModelViewSet):
    """Bulk discount tiers (staff only): percent off orders of at least ``min_quantity`` books."""

    serializer_class = DiscountTierSerializer
    permission_classes = [IsStaff]
    ordering_fields = ["min_quantity", "percent"]
    ordering = ["min_quantity"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[BulkDiscountTier]:
        return discount_tier_list()

    def perform_destroy(self, instance: BulkDiscountTier) -> None:
        discount_tier_delete(tier=instance)
