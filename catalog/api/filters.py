"""Query parameters of the catalog lists (API.md "Catalog"), validated by django-filter.

A bad value (unknown ``ordering``, malformed date, invalid ISBN, ...) is a 400
``validation_error`` naming the parameter.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import F, QuerySet
from django.utils.choices import CallableChoiceIterator

from bookstore.limits import MAX_ID
from catalog import isbn as isbn_rules
from catalog.languages import Language
from catalog.models import Author, Book, Genre
from catalog.search import book_search


class SearchTextField(forms.CharField):
    """Free text for a search: NUL bytes are dropped rather than refused."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\x00", "")


class IsbnFormField(forms.CharField):
    """An ISBN in any accepted spelling, cleaned to its 13-digit form."""

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value))
        if not text:
            return text
        try:
            return isbn_rules.to_isbn13(text)
        except isbn_rules.InvalidIsbn as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


#: Built once: ``Language.choices`` is recomputed from the enum on every access.
_LANGUAGE_CHOICES = Language.choices


class LanguageFormField(forms.ChoiceField):
    """An ISO 639-1 code, with choices that cost nothing to build or copy.

    The filter's field is built, and deep-copied into a form, on every list
    request; a plain choice list of 184 languages is normalized and copied each
    time. A lazy choice iterator is kept as it is and shared by the copies.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=CallableChoiceIterator(lambda: _LANGUAGE_CHOICES), **kwargs)


class LanguageFilter(filters.ChoiceFilter):
    """``?language=``: the choices live on the form field (the schema's enum comes from the model)."""

    field_class = LanguageFormField


class SearchFilter(filters.CharFilter):
    field_class = SearchTextField


class IsbnFilter(filters.CharFilter):
    field_class = IsbnFormField


class IdFilter(filters.NumberFilter):
    """An integer id (the schema type comes from the filter method's ``value: int``)."""

    field_class = forms.IntegerField


class StableOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` with empty values last on both databases and the id as the final tie-breaker."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        ordering = []
        for param in value:
            if not param:  # "?ordering=," or "?ordering=name,": nothing between the commas
                continue
            field = F(self.param_map[param.lstrip("-")])
            ordering.append(field.desc(nulls_last=True) if param.startswith("-") else field.asc(nulls_last=True))
        return qs.order_by(*ordering, "id")


class AuthorFilter(filters.FilterSet):
    search = SearchFilter(
        field_name="name", lookup_expr="icontains", help_text="Case-insensitive substring of the author's name."
    )
    ordering = StableOrderingFilter(fields=["name", "book_count"], help_text="Sort order; default `name`.")

    class Meta:
        model = Author
        fields: list[str] = []


class GenreFilter(filters.FilterSet):
    ordering = StableOrderingFilter(fields=["name", "slug"], help_text="Sort order; default `name`.")

    class Meta:
        model = Genre
        fields: list[str] = []


class BookFilter(filters.FilterSet):
    search = SearchFilter(
        method="filter_search",
        help_text=(
            "Full-text search in title, subtitle, author names, description and publisher. All words must "
            'match; `"quoted words"` match as a phrase; `-word` excludes. English stemming, case- and '
            "accent-insensitive. An ISBN in any accepted form finds that book. Without `ordering`, results "
            "come best first: title matches, then author matches, then description-only matches."
        ),
    )
    author = IdFilter(
        method="filter_author", min_value=1, max_value=MAX_ID, help_text="Author id: books crediting this author."
    )
    genre = filters.CharFilter(field_name="genres__slug", help_text="Genre slug.")
    language = LanguageFilter(
        # The code list that the schema shows for a filter with explicit choices.
        help_text="ISO 639-1 language code.\n\n" + "\n".join(f"* `{code}` - {name}" for code, name in _LANGUAGE_CHOICES)
    )
    # Bounded like Book.price, so an absurd number is a 400, never a database overflow.
    min_price = filters.NumberFilter(
        field_name="price", lookup_expr="gte", max_digits=10, decimal_places=2, help_text="Minimum price, inclusive."
    )
    max_price = filters.NumberFilter(
        field_name="price", lookup_expr="lte", max_digits=10, decimal_places=2, help_text="Maximum price, inclusive."
    )
    in_stock = filters.BooleanFilter(
        method="filter_in_stock", help_text="`true`: only books with stock > 0; `false`: only books with stock = 0."
    )
    published_after = filters.DateFilter(
        field_name="published_date", lookup_expr="gte", help_text="Published on or after this date."
    )
    published_before = filters.DateFilter(
        field_name="published_date", lookup_expr="lte", help_text="Published on or before this date."
    )
    isbn = IsbnFilter(
        field_name="isbn", help_text="Exact ISBN, as ISBN-10 or ISBN-13 with or without hyphens or spaces."
    )
    ordering = StableOrderingFilter(
        fields=["title", "price", "published_date", "created_at"],
        help_text="Sort order; prefix with `-` for descending. Default: `title`, or best match first with `search`.",
    )

    class Meta:
        model = Book
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Book], name: str, value: str) -> QuerySet[Book]:
        return book_search(queryset, value)

    def filter_author(self, queryset: QuerySet[Book], name: str, value: int) -> QuerySet[Book]:
        return queryset.filter(author_links__author_id=value)

    def filter_in_stock(self, queryset: QuerySet[Book], name: str, value: bool) -> QuerySet[Book]:
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock=0)
