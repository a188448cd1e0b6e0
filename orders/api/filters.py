"""Query parameters of ``GET /orders``.

A malformed value is a 400 naming the parameter. ``status`` and ``user`` take
several values meaning "either" (``?status=paid,shipped``); statuses match in
any case.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any, NamedTuple

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.drainage import set_override

from bookstore.filtering import FilterSet
from catalog.api.filters import MultipleValueFilter, code_values, id_values
from orders.models import Order

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

_MOMENT_HELP = (
    "A date (`YYYY-MM-DD`, a whole day in the store's time zone) or an ISO 8601 timestamp (without an offset: "
    "the store's time zone). Values whose instant, or whose day's end, falls outside the calendar "
    "(0001-01-01 to 9999-12-31 UTC) are a 400."
)


class Moment(NamedTuple):
    """An instant, or a whole day: from ``start`` (inclusive) up to ``end`` (exclusive)."""

    start: datetime
    end: datetime | None  # None: a timestamp, an instant rather than a day


class DateOrDateTimeField(forms.Field):
    """``YYYY-MM-DD`` (a whole day) or an ISO 8601 timestamp; naive timestamps are in the store's time zone."""

    default_error_messages = {
        "invalid": "Enter a date (YYYY-MM-DD) or an ISO 8601 timestamp.",
        "out_of_range": "Enter a date or timestamp within the calendar, 0001-01-01 to 9999-12-31 UTC.",
    }

    def to_python(self, value: Any) -> Moment | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            # A bare date first: parse_datetime() would also read it, as midnight.
            day = parse_date(text) if _DATE_RE.fullmatch(text) else None
            moment = None if day is not None else parse_datetime(text)
        except ValueError:
            day = moment = None
        # The database compares instants in UTC: one beyond the calendar there would
        # overflow in the driver (a 500), so it is refused here.
        try:
            if day is not None:
                start = timezone.make_aware(datetime.combine(day, time.min))
                return Moment(start=start.astimezone(UTC), end=(start + timedelta(days=1)).astimezone(UTC))
            if moment is not None:
                if timezone.is_naive(moment):
                    moment = timezone.make_aware(moment)
                return Moment(start=moment.astimezone(UTC), end=None)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class DateOrDateTimeFilter(django_filters.Filter):
    """A date or a timestamp; a plain string in the schema, described there."""

    field_class = DateOrDateTimeField

    def __init__(self, *, help_text: str, **kwargs: Any) -> None:
        super().__init__(help_text=help_text, **kwargs)
        set_override(self, "field", {"type": "string", "description": f"{help_text} {_MOMENT_HELP}"})


class OrderFilter(FilterSet):
    status = MultipleValueFilter(
        **code_values(Order.Status.values),
        field_name="status",
        help_text="Order status, in any case.\n\n" + "\n".join(f"* `{code}`" for code in Order.Status.values),
    )
    created_after = DateOrDateTimeFilter(
        method="filter_created_after",
        help_text="Created at or after this timestamp, or on or after this date.",
    )
    created_before = DateOrDateTimeFilter(
        method="filter_created_before",
        help_text="Created at or before this timestamp, or on or before this date (the whole day counts).",
    )
    user = MultipleValueFilter(
        **id_values(), field_name="user_id", help_text="User id (staff; customers only ever see their own orders)."
    )

    class Meta:
        model = Order
        fields = ["status", "created_after", "created_before", "user"]

    def filter_created_after(self, queryset: QuerySet[Order], name: str, value: Moment) -> QuerySet[Order]:
        return queryset.filter(created_at__gte=value.start)

    def filter_created_before(self, queryset: QuerySet[Order], name: str, value: Moment) -> QuerySet[Order]:
        if value.end is not None:
            return queryset.filter(created_at__lt=value.end)
        return queryset.filter(created_at__lte=value.start)
