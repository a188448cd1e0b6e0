"""Page-number pagination per API.md: ``?page=N&page_size=M`` (default 20, max 100)."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

_PAGE_SIZE_ERROR = "Enter a whole number of at least 1 (larger values are capped at {max})."
_PAGE_ERROR = "Enter a whole number of at least 1, or `last`."


def _whole_number(raw: str) -> int | None:
    """``raw`` as a whole number of at least 1, in ASCII digits only.

    ``int()`` alone would also take ``1_0``, signs, spaces and other scripts' digits.
    """
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) >= 1 else None


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page-number pagination, strict about ``page`` and ``page_size``.

    DRF silently falls back to the default for a malformed ``page_size`` and
    answers a malformed ``page`` (``abc``, ``0``) as if it were a missing page;
    here either is a 400 naming the parameter, like any other bad value. A page
    beyond the last one stays a 404, as in DRF. Sizes above ``max_page_size``
    are capped, as documented.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        size = _whole_number(raw)
        if size is None:
            raise ValidationError({self.page_size_query_param: [_PAGE_SIZE_ERROR.format(max=self.max_page_size)]})
        return min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> int:
        raw = request.query_params.get(self.page_query_param, "")
        if raw == "":
            return 1
        if raw in self.last_page_strings:
            return int(paginator.num_pages)
        number = _whole_number(raw)
        if number is None:
            raise ValidationError({self.page_query_param: [_PAGE_ERROR]})
        return number

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
                parameter["description"] = "Page number, from 1 (`last`: the last page). A page past the last is a 404."
        return parameters
