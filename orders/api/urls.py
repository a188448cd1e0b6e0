"""API routes of this app; mounted under /api/v1/ by bookstore.api."""

from django.urls import URLPattern, path
from rest_framework.routers import SimpleRouter

from orders.api.payments import StripeWebhookView
from orders.api.views import CouponViewSet, DiscountTierViewSet, OrderViewSet, ShippingMethodViewSet

router = SimpleRouter(trailing_slash=False)
# SimpleRouter emits collection actions (orders/quote) before the detail route,
# and ids are digits only, so "quote" is never taken for an order id.
router.register("orders", OrderViewSet, basename="order")
router.register("coupons", CouponViewSet, basename="coupon")
router.register("discount-tiers", DiscountTierViewSet, basename="discount-tier")
router.register("shipping-methods", ShippingMethodViewSet, basename="shipping-method")

urlpatterns: list[URLPattern] = [
    path("payments/stripe/webhook", StripeWebhookView.as_view(), name="stripe-webhook"),
]
