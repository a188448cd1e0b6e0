"""Version 1 of the REST API: the routers of every app and the API root."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, include, path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from accounts.api.urls import router as accounts_router
from accounts.api.urls import urlpatterns as accounts_urlpatterns
from catalog.api.urls import router as catalog_router
from catalog.api.urls import urlpatterns as catalog_urlpatterns
from orders.api.urls import router as orders_router
from orders.api.urls import urlpatterns as orders_urlpatterns

ROUTERS: list[SimpleRouter] = [catalog_router, orders_router, accounts_router]


class ApiRootView(APIView):
    """Links to every collection, and the store currency."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        responses=inline_serializer(
            "ApiRoot",
            {
                "currency": serializers.CharField(help_text="ISO 4217 code of the store currency."),
                "authors": serializers.URLField(),
                "genres": serializers.URLField(),
                "books": serializers.URLField(),
                "orders": serializers.URLField(),
                "coupons": serializers.URLField(),
                "discount-tiers": serializers.URLField(),
                "shipping-methods": serializers.URLField(),
                "api-keys": serializers.URLField(),
                "users/me/addresses": serializers.URLField(),
            },
        ),
        summary="API root",
        description="Open to anyone. Links to every collection, and `currency`, the store's ISO 4217 currency code.",
    )
    def get(self, request: Request) -> Response:
        links: dict[str, str] = {"currency": settings.STORE_CURRENCY}
        for router in ROUTERS:
            for prefix, _viewset, basename in router.registry:
                try:
                    links[prefix] = reverse(f"{basename}-list", request=request)
                except NoReverseMatch:  # a detail-only route has no collection link
                    continue
        return Response(links)


# Django tries the routes in order on every request: the catalog's (most of the traffic: every book page and
# list) first, then the orders'. No route of one app shadows another's.
urlpatterns: list[URLPattern | URLResolver] = [
    path("", ApiRootView.as_view(), name="api-root"),
    *catalog_urlpatterns,
    path("", include(catalog_router.urls)),
    *orders_urlpatterns,
    path("", include(orders_router.urls)),
    *accounts_urlpatterns,
    path("", include(accounts_router.urls)),
]
