"""Query parameters of the catalog lists (API.md "Catalog"), validated by django-filter.

A bad value (unknown ``ordering``, malformed date, invalid ISBN, a boolean
other than ``true/false/1/0/yes/no``, ...) is a 400 ``validation_error``
naming the parameter; nothing is silently ignored. Id, slug and code filters
take several values meaning "either" (API.md "General additions"); the
building blocks for those live here and are shared with the orders list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import django_filters as filters
from django import forms
from django.core.validators import EMPTY_VALUES, validate_slug
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower
from drf_spectacular.drainage import set_override

from accounts.access import VIEW, staff_may
from bookstore.filtering import FilterSet
from bookstore.limits import MAX_ID
from catalog import isbn as isbn_rules
from catalog.choices import BookFormat, ContributorRole, PublicationStatus
from catalog.languages import Language
from catalog.models import Author, Book, BookAuthor, Genre, Series
from catalog.search import SearchResults, book_search_tolerant

#: Most values one multi-value parameter takes: more is a 400, not an unbounded SQL ``IN``.
MAX_VALUES = 100

#: How every multi-value parameter reads, appended to its description in the schema.
MULTIPLE_VALUES_HELP = (
    'Several values mean "either": repeat the parameter (`?p=a&p=b`) or separate the values with commas '
    f"(`?p=a,b`), or both; at most {MAX_VALUES} values."
)


class StrictBooleanField(forms.Field):
    """``true/false``, ``1/0`` or ``yes/no`` in any case; anything else is an error, never "no filter"."""

    widget = forms.TextInput
    default_error_messages = {"invalid": "Enter true, false, 1, 0, yes or no."}
    _VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

    def to_python(self, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        text = "" if value in self.empty_values else str(value).strip()
        if not text:  # blank, as for every other parameter: no filter
            return None
        try:
            return self._VALUES[text.lower()]
        except KeyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value: Any) -> None:
        # ``False`` is a value here, not an empty one (forms.Field.validate would call it missing).
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class MultipleValueWidget(forms.Widget):
    """Every value of a query parameter: repeated (``?a=1&a=2``), comma-separated (``?a=1,2``) or both.

    Blank entries are skipped, as a blank parameter means "no filter".
    """

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> list[str]:
        # A QueryDict gives every value of a repeated parameter.
        raw = data.getlist(name) if hasattr(data, "getlist") else [data[name]] if name in data else []
        return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return name not in data


class MultipleValueField(forms.Field):
    """A list of values, each cleaned by ``item``; duplicates are dropped, order is kept."""

    widget = MultipleValueWidget
    default_error_messages = {"too_many": f"Enter at most {MAX_VALUES} values."}

    def __init__(self, *, item: forms.Field, **kwargs: Any) -> None:
        self.item = item
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[Any]:
        if value in self.empty_values:
            return []
        values = [value] if isinstance(value, str) else list(value)
        if len(values) > MAX_VALUES:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many")
        cleaned: list[Any] = []
        errors: list[forms.ValidationError] = []
        for text in values:
            try:
                item = self.item.clean(text)
            except forms.ValidationError as exc:
                # The value goes in as a parameter: a "%" in it must not be read as a format.
                shown = repr(text if len(text) <= 40 else f"{text[:40]}…")
                errors.extend(
                    forms.ValidationError("%(value)s: %(error)s", code="invalid", params={"value": shown, "error": m})
                    for m in exc.messages
                )
                continue
            if item not in cleaned:
                cleaned.append(item)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


class MultipleValueFilter(filters.MultipleChoiceFilter):
    """A filter whose values mean "either": ``?genre=fantasy&genre=mystery`` or ``?genre=fantasy,mystery``.

    ``item`` cleans each value; the schema shows an array of ``item_schema``
    (``style: form, explode: true``, the repeated form; the description says
    that commas work too). Without a ``method``, rows whose ``field_name`` is
    one of the values match.
    """

    field_class = MultipleValueField

    def __init__(self, *, item: forms.Field, item_schema: dict[str, Any], help_text: str, **kwargs: Any) -> None:
        super().__init__(item=item, help_text=help_text, **kwargs)
        # The note goes after the first paragraph, before any list of codes.
        summary, _, rest = help_text.partition("\n\n")
        description = "\n\n".join(part for part in (summary, MULTIPLE_VALUES_HELP, rest) if part)
        set_override(self, "field", {**item_schema, "description": description})

    def filter(self, qs: QuerySet[Any], value: list[Any]) -> QuerySet[Any]:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class CodeField(forms.CharField):
    """One of a fixed set of lower-case codes, matched case-insensitively (``EN`` is ``en``)."""

    def __init__(self, *, codes: frozenset[str], **kwargs: Any) -> None:
        self.codes = codes
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).lower()

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and value not in self.codes:
            # A short list is named in full; 184 language codes are in the schema instead.
            known = f"one of {', '.join(sorted(self.codes))}" if len(self.codes) <= 10 else "a known code"
            raise forms.ValidationError(f"Enter {known}.", code="invalid_choice")


def id_values() -> dict[str, Any]:
    """``MultipleValueFilter`` arguments for ids: whole numbers from 1 up to 64 bits.

    A larger number is a 400 here, not an overflow in the database driver.
    """
    return {
        "item": forms.IntegerField(min_value=1, max_value=MAX_ID),
        "item_schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
    }


def code_values(codes: list[str]) -> dict[str, Any]:
    """``MultipleValueFilter`` arguments for codes out of ``codes``, matched case-insensitively."""
    # A tuple: every list request deep-copies its filters, schema annotation included,
    # and a tuple of strings copies far faster than a list of the 184 language codes.
    return {"item": CodeField(codes=frozenset(codes)), "item_schema": {"type": "string", "enum": tuple(sorted(codes))}}


class SearchTextField(forms.CharField):
    """Free text for a search: NUL bytes are dropped rather than refused."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\x00", "")


class BookSearchTextField(SearchTextField):
    """A book search's text, spaces kept: a query ending in one has its last word complete (no prefix match)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return text if text.strip() else ""


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


class SlugItemField(forms.CharField):
    """A genre slug (letters, digits, hyphens, underscores), lower-cased: slugs match case-insensitively."""

    default_validators = [validate_slug]

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).lower()


def slug_values() -> dict[str, Any]:
    """``MultipleValueFilter`` arguments for genre slugs, matched case-insensitively."""
    return {"item": SlugItemField(max_length=100), "item_schema": {"type": "string"}}


class SearchFilter(filters.CharFilter):
    field_class = SearchTextField


class BookSearchFilter(filters.CharFilter):
    field_class = BookSearchTextField


class StableOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` with empty values last on both databases and the id as the final tie-breaker."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        ordering = []
        for param in value:
            if not param:  # "?ordering=," or "?ordering=name,": nothing between the commas
                continue
            field = F(self.param_map[param.removeprefix("-")])
            ordering.append(field.desc(nulls_last=True) if param.startswith("-") else field.asc(nulls_last=True))
        return qs.order_by(*ordering, "id")


class AuthorFilter(FilterSet):
    search = SearchFilter(
        field_name="name", lookup_expr="icontains", help_text="Case-insensitive substring of the author's name."
    )
    ordering = StableOrderingFilter(fields=["name", "book_count"], help_text="Sort order; default `name`.")

    class Meta:
        model = Author
        fields: list[str] = []


class GenreFilter(FilterSet):
    ordering = StableOrderingFilter(fields=["name", "slug"], help_text="Sort order; default `name`.")

    class Meta:
        model = Genre
        fields: list[str] = []


class SeriesFilter(FilterSet):
    search = SearchFilter(
        field_name="name", lookup_expr="icontains", help_text="Case-insensitive substring of the series name."
    )
    ordering = StableOrderingFilter(fields=["name", "book_count"], help_text="Sort order; default `name`.")

    class Meta:
        model = Series
        fields: list[str] = []


#: Parameters that order or present the matches without narrowing them (the index alone can still count them).
RANKING_PARAMETERS = frozenset({"search", "ordering", "prefer_in_stock", "highlight"})


class BookFilter(FilterSet):
    search = BookSearchFilter(
        method="filter_search",
        help_text=(
            "Full-text search in title, subtitle, contributor names (any role), description, publisher, series "
            'and genre names. All words must match; `"quoted words"` match as a phrase; `-word` excludes. '
            "The last word also matches as a prefix unless the query ends in a space (`dun` finds Dune). "
            "English stemming, case- and accent-insensitive; staff's synonyms apply. An ISBN in any accepted "
            "form finds that book. A query finding fewer than 3 books is retried with typo tolerance (one typo "
            "from 5 letters, two from 9), and the response then adds `did_you_mean`; books matching the query "
            "as typed still come first. Without `ordering`, results come best first: title matches, then "
            "contributor matches, then the rest; ties go to the books sold most in the last 90 days."
        ),
    )
    prefer_in_stock = StrictBooleanFilter(
        method="filter_prefer_in_stock",
        help_text="`true`: books in stock come first (within each relevance tier when searching). "
        "Also `1`/`0` and `yes`/`no`, in any case; any other value is a 400.",
    )
    author = MultipleValueFilter(
        **id_values(), method="filter_author", help_text="Author id: books crediting this person as an author."
    )
    contributor = MultipleValueFilter(
        **id_values(), method="filter_contributor", help_text="Author id: books crediting this person in any role."
    )
    series = MultipleValueFilter(**id_values(), field_name="series_id", help_text="Series id: the books of the series.")
    format = MultipleValueFilter(
        **code_values(BookFormat.values),
        field_name="format",
        help_text="Edition format, in any case.\n\n"
        + "\n".join(f"* `{code}` - {name}" for code, name in BookFormat.choices),
    )
    publication_status = MultipleValueFilter(
        **code_values(PublicationStatus.values),
        field_name="publication_status",
        help_text="Publication status, in any case.\n\n"
        + "\n".join(f"* `{code}` - {name}" for code, name in PublicationStatus.choices),
    )
    genre = MultipleValueFilter(
        **slug_values(),
        method="filter_genre",
        help_text="Genre slug, matched case-insensitively (`Fantasy` is `fantasy`).",
    )
    language = MultipleValueFilter(
        **code_values(Language.values),
        field_name="language",
        help_text="ISO 639-1 language code, in any case.\n\n"
        + "\n".join(f"* `{code}` - {name}" for code, name in Language.choices),
    )
    # Bounded like Book.price, so an absurd number is a 400, never a database overflow.
    min_price = filters.NumberFilter(
        field_name="price", lookup_expr="gte", max_digits=10, decimal_places=2, help_text="Minimum price, inclusive."
    )
    max_price = filters.NumberFilter(
        field_name="price", lookup_expr="lte", max_digits=10, decimal_places=2, help_text="Maximum price, inclusive."
    )
    in_stock = StrictBooleanFilter(
        method="filter_in_stock",
        help_text="`true`: only books with stock > 0; `false`: only books with stock = 0. "
        "Also `1`/`0` and `yes`/`no`, in any case; any other value is a 400.",
    )
    published_after = filters.DateFilter(
        field_name="published_date", lookup_expr="gte", help_text="Published on or after this date."
    )
    published_before = filters.DateFilter(
        field_name="published_date", lookup_expr="lte", help_text="Published on or before this date."
    )
    isbn = MultipleValueFilter(
        item=IsbnFormField(),
        item_schema={"type": "string"},
        field_name="isbn",
        help_text="Exact ISBN, as ISBN-10 or ISBN-13 with or without hyphens or spaces.",
    )
    highlight = StrictBooleanFilter(
        method="filter_highlight",
        help_text="`true`: each result gets `highlight: {title, description}`, HTML-escaped text with the words of "
        "`search` in `<mark>…</mark>` (the description as a snippet around its first match). Also `1`/`0` and "
        "`yes`/`no`; any other value is a 400.",
    )
    ordering = StableOrderingFilter(
        fields=["title", "price", "published_date", "created_at", "series_number", "release_date"],
        help_text="Sort order; prefix with `-` for descending. Default: `title`, or best match first with `search`. "
        "`series_number` lists a series in order (with `series=ID`); books without a number come last.",
    )

    class Meta:
        model = Book
        fields: list[str] = []

    #: What the search found (``did_you_mean``, how to fetch a page); set by ``filter_queryset``.
    search_results: SearchResults | None = None

    def filter_search(self, queryset: QuerySet[Book], name: str, value: str) -> QuerySet[Book]:
        return queryset  # applied last, on the fully filtered books, by filter_queryset

    def filter_prefer_in_stock(self, queryset: QuerySet[Book], name: str, value: bool) -> QuerySet[Book]:
        return queryset  # a ranking signal, applied by filter_queryset

    def _search_scope(self) -> Literal["active", "all"] | None:
        """Which books the list holds when no filter but the search narrows it (then the index alone can count)."""
        narrowing = {name for name in self.form.cleaned_data if name not in RANKING_PARAMETERS}
        if any(self.form.cleaned_data[name] not in EMPTY_VALUES for name in narrowing):
            return None
        return self._visibility()

    def _visibility(self) -> Literal["active", "all"]:
        # The same rule as the view's queryset (selectors.book_list): staff who may view books see them all.
        return "all" if staff_may(getattr(self.request, "user", None), Book, VIEW) else "active"

    def _link_filters(self) -> list[QuerySet[Any]] | None:
        """When the only filters narrowing the list are credits and genres: the book ids each keeps.

        Those live in link tables, so a search can count its matches among them without reading ``books``.
        """
        cleaned = self.form.cleaned_data
        chosen = {
            name: cleaned[name]
            for name in cleaned
            if name not in RANKING_PARAMETERS and cleaned[name] not in EMPTY_VALUES
        }
        if not chosen or not set(chosen) <= {"genre", "author", "contributor"}:
            return None
        ids: list[QuerySet[Any]] = []
        if "genre" in chosen:
            genres = Genre.objects.alias(slug_lower=Lower("slug")).filter(slug_lower__in=chosen["genre"]).values("pk")
            ids.append(Book.genres.through.objects.filter(genre_id__in=genres).values("book_id"))
        if "author" in chosen:
            ids.append(
                BookAuthor.objects.filter(author_id__in=chosen["author"], role=ContributorRole.AUTHOR).values("book_id")
            )
        if "contributor" in chosen:
            ids.append(BookAuthor.objects.filter(author_id__in=chosen["contributor"]).values("book_id"))
        return ids

    def filter_queryset(self, queryset: QuerySet[Book]) -> QuerySet[Book]:
        """Every filter, then the search over what they leave, so the ranking sees the final candidates."""
        queryset = super().filter_queryset(queryset)
        query = self.form.cleaned_data.get("search") or ""
        prefer_in_stock = bool(self.form.cleaned_data.get("prefer_in_stock"))
        ordering = self.form.cleaned_data.get("ordering")
        if query:
            scope = self._search_scope()
            links = self._link_filters() if scope is None else None
            self.search_results = book_search_tolerant(
                queryset,
                query,
                prefer_in_stock=prefer_in_stock,
                scope=scope,
                count_within=None if links is None else (self._visibility(), links),
            )
            if ordering:  # an explicit order replaces the ranking: every page is sliced from that order
                self.search_results = SearchResults(
                    self.filters["ordering"].filter(self.search_results.queryset, ordering),
                    self.search_results.did_you_mean,
                    counter=self.search_results.counter,  # the same books, in another order
                )
            return self.search_results.queryset
        if prefer_in_stock:
            in_stock = Case(When(stock__gt=0, then=Value(1)), default=Value(0), output_field=IntegerField())
            ordering = list(queryset.query.order_by) or list(Book._meta.ordering or [])
            return queryset.order_by(in_stock.desc(), *ordering, "id")
        return queryset

    def filter_author(self, queryset: QuerySet[Book], name: str, value: list[int]) -> QuerySet[Book]:
        # A subquery, not a join: a book crediting two of the authors is listed once.
        credits = BookAuthor.objects.filter(author_id__in=value, role=ContributorRole.AUTHOR)
        return queryset.filter(pk__in=credits.values("book_id"))

    def filter_contributor(self, queryset: QuerySet[Book], name: str, value: list[int]) -> QuerySet[Book]:
        return queryset.filter(pk__in=BookAuthor.objects.filter(author_id__in=value).values("book_id"))

    def filter_genre(self, queryset: QuerySet[Book], name: str, value: list[str]) -> QuerySet[Book]:
        genres = Genre.objects.alias(slug_lower=Lower("slug")).filter(slug_lower__in=value).values("pk")
        return queryset.filter(pk__in=Book.genres.through.objects.filter(genre_id__in=genres).values("book_id"))

    def filter_highlight(self, queryset: QuerySet[Book], name: str, value: bool) -> QuerySet[Book]:
        return queryset  # shapes each result (the view's serializer context), not which books match

    def filter_in_stock(self, queryset: QuerySet[Book], name: str, value: bool) -> QuerySet[Book]:
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock=0)
