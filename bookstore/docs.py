"""The API schema document and the interactive documentation page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
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


class SchemaFormatNegotiation(DefaultContentNegotiation):
    """``/api/schema/?format=json`` (or ``yaml``) still picks the schema's renderer.

    ``URL_FORMAT_OVERRIDE`` is off for the API, where ``format`` is a book
    filter; the schema document keeps the parameter its readers already use.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return super().select_renderer(request, renderers, format_suffix or request.query_params.get("format"))


class SchemaView(SpectacularAPIView):
    """The OpenAPI document; ``?format=json|yaml`` or the ``Accept`` header chooses its form."""

    content_negotiation_class = SchemaFormatNegotiation
