"""Query parameters of ``GET /orders``."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, NamedTuple

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from bookstore.limits import MAX_ID
from orders.models import Order

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Moment(NamedTuple):
    at: datetime
    whole_day: bool


class DateOrDateTimeField(forms.Field):
    """``YYYY-MM-DD`` (a whole day) or an ISO 8601 timestamp; naive timestamps are in the store's time zone."""

    default_error_messages = {"invalid": "Enter a date (YYYY-MM-DD) or an ISO 8601 timestamp."}

    def to_python(self, value: Any) -> Moment | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            # A bare date first: parse_datetime() would also read it, as midnight.
            if _DATE_RE.fullmatch(text):
                day = parse_date(text)
                if day is not None:
                    return Moment(at=timezone.make_aware(datetime.combine(day, time.min)), whole_day=True)
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return Moment(at=moment, whole_day=False)


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeFilter(django_filters.Filter):
    field_class = DateOrDateTimeField


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A whole-number id; beyond 64 bits is a 400 here instead of an overflow in the database driver."""

    field_class = forms.IntegerField


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    created_after = DateOrDateTimeFilter(
        method="filter_created_after",
        label="Created at or after this timestamp, or on or after this date (YYYY-MM-DD).",
    )
    created_before = DateOrDateTimeFilter(
        method="filter_created_before",
        label="Created at or before this timestamp, or on or before this date (YYYY-MM-DD, the whole day counts).",
    )
    user = IdFilter(
        field_name="user_id", min_value=1, max_value=MAX_ID, label="User id (staff; customers only see their own)."
    )

    class Meta:
        model = Order
        fields = ["status", "created_after", "created_before", "user"]

    def filter_created_after(self, queryset: QuerySet[Order], name: str, value: Moment) -> QuerySet[Order]:
        return queryset.filter(created_at__gte=value.at)

    def filter_created_before(self, queryset: QuerySet[Order], name: str, value: Moment) -> QuerySet[Order]:
        if value.whole_day:
            return queryset.filter(created_at__lt=value.at + timedelta(days=1))
        return queryset.filter(created_at__lte=value.at)
