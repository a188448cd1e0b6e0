"""Page-number pagination per API.md: ``?page=N&page_size=M`` (default 20, max 100)."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

_PAGE_SIZE_ERROR = "Enter a whole number of at least 1 (larger values are capped at {max})."


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page-number pagination, strict about ``page_size``.

    DRF silently falls back to the default for a malformed ``page_size``; here
    it is a 400 naming the parameter, like any other bad value. Sizes above
    ``max_page_size`` are capped, as documented.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [_PAGE_SIZE_ERROR.format(max=self.max_page_size)]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
                parameter["description"] = (
                    f"Results per page: default {self.page_size}, larger values are capped at {self.max_page_size}."
                )
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters
