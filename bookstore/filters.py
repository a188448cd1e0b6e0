"""Shared filter backends."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` that answers 400 for an unknown field instead of ignoring it.

    A field may carry one leading ``-`` (descending) and nothing else:
    ``--total`` or ``+total`` name no field and are a 400 like any other.
    """

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> list[str] | None:
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [param.strip() for param in params.split(",") if param.strip()]
            valid = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            unknown = [field for field in fields if field.removeprefix("-") not in valid]
            if unknown:
                allowed = ", ".join(sorted(valid))
                raise ValidationError(
                    {self.ordering_param: [f"Unknown ordering field '{unknown[0]}'. Allowed: {allowed}."]}
                )
            return fields
        default = self.get_default_ordering(view)
        return list(default) if default else None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        declared = getattr(view, "ordering_fields", self.ordering_fields)
        if not isinstance(declared, list | tuple):  # derived from the serializer or the model: left generic
            return parameters
        names = [field if isinstance(field, str) else field[0] for field in declared]
        default = self.get_default_ordering(view)
        description = (
            "Sort order: one or more of these fields, separated by commas; a leading `-` sorts descending. "
            "Any other value is a 400."
        )
        # The default as a client could ask for it (a tie-breaker such as ``-id`` is left out).
        shown = [field for field in default or () if field.removeprefix("-") in names]
        if shown:
            description += f" Default: `{','.join(shown)}`."
        choices = [f"{sign}{name}" for name in names for sign in ("", "-")]
        for parameter in parameters:
            parameter.update(
                description=description,
                schema={"type": "array", "items": {"type": "string", "enum": choices}},
                style="form",
                explode=False,
            )
        return parameters
