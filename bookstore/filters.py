"""Shared filter backends."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` that answers 400 for an unknown field instead of ignoring it."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> list[str] | None:
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [param.strip() for param in params.split(",") if param.strip()]
            valid = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            unknown = [field for field in fields if field.lstrip("-") not in valid]
            if unknown:
                allowed = ", ".join(sorted(valid))
                raise ValidationError(
                    {self.ordering_param: [f"Unknown ordering field '{unknown[0]}'. Allowed: {allowed}."]}
                )
            return fields
        default = self.get_default_ordering(view)
        return list(default) if default else None
