"""Stripe's webhook endpoint: no user authentication, the signature is the credential."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.payments.webhooks import stripe_webhook_handle


class StripeWebhookView(APIView):
    """Receives Stripe's events; the raw body is verified against the ``Stripe-Signature`` header."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes: list[type] = []

    @extend_schema(
        tags=["payments"],
        summary="Stripe webhook",
        description=(
            "Called by Stripe, not by clients. The body must carry a valid `Stripe-Signature` (Stripe's scheme, "
            "with the endpoint secret `STRIPE_WEBHOOK_SECRET`) no older than `STRIPE_WEBHOOK_TOLERANCE` seconds, "
            "else `400 invalid_signature` and nothing changes. Each event is recorded by its id before it acts: "
            "the same event again answers `200` and changes nothing. `payment_intent.succeeded` marks the order "
            "paid (or, for an order already cancelled, refunds the payment); `payment_intent.payment_failed` is "
            "recorded on the payment; other events are recorded and ignored."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: inline_serializer("StripeWebhookResult", {"result": serializers.CharField()}),
            400: OpenApiResponse(description="`invalid_signature`: bad or missing signature, or a stale timestamp."),
        },
    )
    def post(self, request: Request) -> Response:
        result = stripe_webhook_handle(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        return Response({"result": result})
