"""List filters of the book admin."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog import selectors
from catalog.languages import Language
from catalog.models import Genre, StockSubscription


class StockLevelFilter(admin.SimpleListFilter):
    """Sold out, low (at most ``settings.LOW_STOCK_THRESHOLD``, as on the dashboard) or in stock."""

    title = "stock"
    parameter_name = "stock_level"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("out", "Sold out"),
            ("low", f"Low (at most {settings.LOW_STOCK_THRESHOLD})"),
            ("in", "In stock"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "out":
            return queryset.filter(stock=0)
        if self.value() == "low":
            return queryset.filter(stock__lte=settings.LOW_STOCK_THRESHOLD)
        if self.value() == "in":
            return queryset.filter(stock__gt=0)
        return queryset


class LanguageFilter(admin.SimpleListFilter):
    """The languages the catalog has books in, not all 184 codes of ISO 639-1."""

    title = "language"
    parameter_name = "language"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        labels = dict(Language.choices)
        return [(code, labels.get(code, code)) for code in selectors.book_languages_in_use()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(language=self.value()) if self.value() else queryset


class BookGenreFilter(admin.SimpleListFilter):
    """Filter by genre without the duplicate rows an m2m list filter brings (and the subquery they need)."""

    title = "genre"
    parameter_name = "genre"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(genre.slug, genre.name) for genre in Genre.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(genres__slug=self.value()) if self.value() else queryset


class WaitingSubscribersFilter(admin.SimpleListFilter):
    """Books customers are waiting for (back-in-stock subscriptions not yet notified): a reordering signal."""

    title = "back-in-stock requests"
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Customers waiting"), ("no", "Nobody waiting")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        waiting = StockSubscription.objects.filter(notified_at__isnull=True).values("book_id")
        if self.value() == "yes":
            return queryset.filter(pk__in=waiting)
        if self.value() == "no":
            return queryset.exclude(pk__in=waiting)
        return queryset
