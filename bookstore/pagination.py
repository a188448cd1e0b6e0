"""Page-number pagination per API.md: ``?page=N&page_size=M`` (default 20, max 100).

``count`` is exact up to ``settings.LIST_EXACT_COUNT_LIMIT`` (10,000) matches:
counting stops there (``LIMIT``), so a list of a million books never counts
them all. Beyond it, PostgreSQL answers the planner's estimate and the
response says ``"count_is_estimate": true``; SQLite counts exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.paginator import EmptyPage, Page
from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from bookstore.counting import bounded_count

_PAGE_SIZE_ERROR = "Enter a whole number of at least 1 (larger values are capped at {max})."
_PAGE_ERROR = "Enter a whole number of at least 1, or `last`."


def _whole_number(raw: str) -> int | None:
    """``raw`` as a whole number of at least 1, in ASCII digits only.

    ``int()`` alone would also take ``1_0``, signs, spaces and other scripts' digits.
    """
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) >= 1 else None


class CountingPaginator(DjangoPaginator):
    """Django's paginator with a bounded ``count`` and an optional way to fetch one page's rows.

    ``page_slicer(bottom, top)``, when set, returns the rows of a page instead
    of ``object_list[bottom:top]`` (search ranks a bounded candidate set).
    """

    count_is_estimate = False
    page_slicer: Callable[[int, int], Sequence[Any]] | None = None
    #: ``counter(limit)``: the number of rows (exact below ``limit``) and whether it is an estimate, when the
    #: view has a cheaper way than COUNT (a search counts in its index).
    counter: Callable[[int], tuple[int, bool]] | None = None

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if not isinstance(object_list, QuerySet):
            return len(object_list)
        limit = int(settings.LIST_EXACT_COUNT_LIMIT)
        if self.counter is not None:
            counted, self.count_is_estimate = self.counter(limit + 1)
            return counted
        counted, self.count_is_estimate = bounded_count(object_list, limit + 1)
        return counted

    def validate_number(self, number: Any) -> int:
        _ = self.count  # counting decides whether the count is an estimate
        if not self.count_is_estimate:
            return super().validate_number(number)
        # An estimated count may fall short: every page number is served (past the end, an empty page).
        number = int(number)
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        fetch: Callable[[int, int], Any] = self.page_slicer or (lambda b, t: self.object_list[b:t])  # type: ignore[return-value]
        if self.count_is_estimate:
            # One row more than the page tells whether another page follows, which the estimate cannot.
            rows = list(fetch(bottom, top + 1))
            return _EstimatedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(fetch(bottom, top), number, self)  # type: ignore[attr-defined]


class _EstimatedPage(Page):
    """A page of a list whose count is an estimate: whether a next page exists is known from the rows."""

    def __init__(self, object_list: Any, number: int, paginator: Any, *, has_more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self._has_more = has_more

    def has_next(self) -> bool:
        return self._has_more


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
    django_paginator_class = CountingPaginator

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        # The view may fetch a page's rows its own way (see CountingPaginator.page_slicer)
        # and add members beside ``count`` (``list_extra``).
        slicer = getattr(view, "page_slicer", None)
        counter = getattr(view, "list_counter", None)
        self._extra: dict[str, Any] = dict(getattr(view, "list_extra", None) or {})

        def make(object_list: Any, per_page: int) -> CountingPaginator:
            paginator = CountingPaginator(object_list, per_page)
            paginator.page_slicer = slicer
            paginator.counter = counter
            return paginator

        self.django_paginator_class = make  # type: ignore[assignment]
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        paginator = self.page.paginator
        body: dict[str, Any] = {"count": paginator.count}
        if getattr(paginator, "count_is_estimate", False):
            body["count_is_estimate"] = True
        body.update(self._extra)
        body.update(next=self.get_next_link(), previous=self.get_previous_link(), results=data)
        return Response(body)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        properties = response["properties"]
        extra = {
            "count_is_estimate": {
                "type": "boolean",
                "description": f"Present (`true`) when `count` is an estimate: only above "
                f"{settings.LIST_EXACT_COUNT_LIMIT:,} matches, on PostgreSQL.",
            }
        }
        response["properties"] = {
            "count": properties["count"],
            **extra,
            **{k: v for k, v in properties.items() if k != "count"},
        }
        return response

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
