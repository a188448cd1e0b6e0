"""The project's FilterSet: shallow copies of the filters and one form class per FilterSet class, with requests
kept apart."""

from __future__ import annotations

import django_filters
import pytest
from django.db.models import QuerySet
from django.http import QueryDict

from bookstore.filtering import FilterSet
from catalog.api.filters import BookFilter
from catalog.models import Book
from tests.factories import BookFactory


class _Titles(FilterSet):
    title = django_filters.CharFilter(method="filter_title")
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")

    class Meta:
        model = Book
        fields: list[str] = []

    def filter_title(self, queryset: QuerySet[Book], name: str, value: str) -> QuerySet[Book]:
        self.calls.append(value)
        return queryset.filter(title__icontains=value)

    @property
    def calls(self) -> list[str]:
        return self.__dict__.setdefault("_calls", [])


@pytest.mark.django_db
def test_each_filterset_filters_with_its_own_copies_bound_to_itself() -> None:
    BookFactory(title="Dune", price=5)
    BookFactory(title="Dune Messiah", price=15)
    first = _Titles(QueryDict("title=dune&min_price=10"), queryset=Book.objects.all())
    second = _Titles(QueryDict("title=messiah"), queryset=Book.objects.all())
    assert [book.title for book in first.qs] == ["Dune Messiah"]
    assert [book.title for book in second.qs] == ["Dune Messiah"]
    assert first.calls == ["dune"]  # the method ran on its own filterset, not on the other's or on the class
    assert second.calls == ["messiah"]
    for name, filter_ in first.filters.items():
        assert filter_ is not _Titles.base_filters[name]
        assert filter_ is not second.filters[name]
        assert filter_.parent is first
        assert second.filters[name].parent is second
    assert not hasattr(_Titles.base_filters["title"], "parent")


def test_the_form_class_is_built_once_and_each_form_has_its_own_fields() -> None:
    valid = BookFilter(QueryDict("language=en&min_price=3"), queryset=Book.objects.none())
    invalid = BookFilter(QueryDict("language=xx&min_price=abc"), queryset=Book.objects.none())
    assert type(valid.form) is type(invalid.form)
    assert valid.is_valid()
    assert not invalid.is_valid()
    assert set(invalid.errors) == {"language", "min_price"}
    assert valid.errors == {}
    assert valid.form.fields["language"] is not invalid.form.fields["language"]
    assert valid.form.cleaned_data["language"] == ["en"]
