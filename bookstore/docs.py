"""The interactive API documentation page."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response


class SwaggerView(SpectacularSwaggerView):
    """Swagger UI under the site-wide ``Cross-Origin-Opener-Policy: same-origin``.

    drf-spectacular relaxes the policy on this page for OAuth2 pop-ups; the API
    has no OAuth2 flow, so the page keeps the same isolation as the rest.
    """

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        response["Cross-Origin-Opener-Policy"] = "same-origin"
        return response
