"""Admin for the catalog. Saves, deletes and bulk actions go through ``catalog.services``, the search box
through ``catalog.search.book_search``: the same rules and the same search as the API."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import construct_change_message
from django.contrib.admin.views.main import ORDER_VAR
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseFormSet, BaseInlineFormSet
from django.forms.renderers import BaseRenderer
from django.forms.utils import flatatt
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from bookstore.exceptions import DomainError
from catalog import isbn as isbn_rules
from catalog import selectors, services
from catalog.bulk import book_export_records
from catalog.importing import COLUMNS, csv_values
from catalog.languages import Language
from catalog.models import Author, Book, BookAuthor, Genre
from catalog.search import book_search

#: Book fields the admin form edits and hands to the services as they are.
_BOOK_FIELDS = (
    "isbn",
    "title",
    "subtitle",
    "description",
    "publisher",
    "published_date",
    "language",
    "page_count",
    "price",
    "stock",
    "is_active",
)


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "book_count", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Author]:
        return selectors.author_list()

    @admin.display(description="Active books", ordering="book_count")
    def book_count(self, author: Author) -> int:
        return int(getattr(author, "book_count", 0))

    def save_model(self, request: HttpRequest, obj: Author, form: forms.ModelForm[Author], change: bool) -> None:
        if change:
            services.author_update(author=Author.objects.get(pk=obj.pk), name=obj.name, bio=obj.bio)
        else:
            obj.pk = services.author_create(name=obj.name, bio=obj.bio).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Author) -> None:
        services.author_delete(author=obj)


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request: HttpRequest, obj: Genre, form: forms.ModelForm[Genre], change: bool) -> None:
        if change:
            services.genre_update(genre=Genre.objects.get(pk=obj.pk), name=obj.name, slug=obj.slug)
        else:
            obj.pk = services.genre_create(name=obj.name, slug=obj.slug).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Genre) -> None:
        services.genre_delete(genre=obj)


def _input_html(widget: forms.widgets.Input, name: str, value: Any, attrs: dict[str, Any] | None) -> SafeString:
    """The widget's ``<input>`` built with ``format_html`` instead of the template engine.

    The book list draws four inputs on each of its rows; through the widget
    templates they cost about as much as the rest of the page together.
    """
    context = widget.get_context(name, value, attrs)["widget"]
    html_attrs = {"type": context["type"], "name": context["name"], **context["attrs"]}
    if context["value"] is not None:
        html_attrs["value"] = context["value"]
    return format_html("<input{}>", flatatt(html_attrs))


class _NumberInput(forms.NumberInput):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        return _input_html(self, name, value, attrs)


class _HiddenInput(forms.HiddenInput):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        return _input_html(self, name, value, attrs)


class _ListDecimalField(forms.DecimalField):
    widget = _NumberInput(attrs={"class": "vIntegerField"})  # the admin's narrow number box
    hidden_widget = _HiddenInput


class _ListIntegerField(forms.IntegerField):
    widget = _NumberInput(attrs={"class": "vIntegerField"})
    hidden_widget = _HiddenInput


class BookChangeListForm(forms.ModelForm):
    """A row of the book list's editable price and stock.

    Each field carries the value the page showed (``show_hidden_initial``), so
    only what staff actually edited is saved, and an edit is refused when the
    value changed since the page was loaded (an order may have taken copies):
    staff see the new value and decide again, instead of silently overwriting it.
    """

    price = _ListDecimalField(min_value=0, max_digits=10, decimal_places=2, show_hidden_initial=True)
    stock = _ListIntegerField(min_value=0, show_hidden_initial=True)

    class Meta:
        model = Book
        fields = ["price", "stock"]

    def _shown_value(self, name: str) -> Any:
        field = self.fields[name]
        raw = field.hidden_widget().value_from_datadict(self.data, self.files, self.add_initial_prefix(name))
        try:
            return field.to_python(raw)
        except ValidationError:
            return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.changed_data:
            current = getattr(self.instance, name)
            if name in cleaned and self._shown_value(name) != current:
                self.add_error(name, f"Changed to {current} since this page was loaded; check it and save again.")
        return cleaned


class PriceChangeForm(forms.Form):
    percent = forms.DecimalField(
        label="Change prices by (%)",
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("-99.99"),
        max_value=services.PRICE_CHANGE_MAX_PERCENT,
        help_text="10 raises every price by 10 %; -15 lowers it by 15 %. Each price is rounded half-up to the cent.",
    )

    def clean_percent(self) -> Decimal:
        percent: Decimal = self.cleaned_data["percent"]
        if percent == 0:
            raise ValidationError("Enter a change other than 0.")
        return percent


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


class _Echo:
    """A file-like object whose ``write`` returns the line, for streaming ``csv.writer`` output."""

    def write(self, value: str) -> str:
        return value


class BookAdminForm(forms.ModelForm):
    # Longer than the stored 13 digits: hyphens and spaces are accepted, as in the API.
    isbn = forms.CharField(
        label="ISBN",
        max_length=32,
        help_text="ISBN-10 or ISBN-13, hyphens and spaces allowed; stored as ISBN-13.",
    )

    class Meta:
        model = Book
        fields = [*_BOOK_FIELDS, "genres"]

    def clean_isbn(self) -> str:
        try:
            return isbn_rules.to_isbn13(self.cleaned_data["isbn"])
        except isbn_rules.InvalidIsbn as exc:
            raise forms.ValidationError(str(exc)) from exc


class BookAuthorFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if not any(form.cleaned_data and not form.cleaned_data.get("DELETE") for form in self.forms):
            raise forms.ValidationError("A book needs at least one author.")


class BookAuthorInline(admin.TabularInline):
    model = BookAuthor
    formset = BookAuthorFormSet
    fields = ["author", "position"]
    autocomplete_fields = ["author"]
    extra = 0
    min_num = 1
    verbose_name = "author credit"


class BookGenreFilter(admin.SimpleListFilter):
    """Filter by genre without the duplicate rows an m2m list filter brings (and the subquery they need)."""

    title = "genre"
    parameter_name = "genre"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(genre.slug, genre.name) for genre in Genre.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(genres__slug=self.value()) if self.value() else queryset


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    form = BookAdminForm
    inlines = [BookAuthorInline]
    list_display = ["title", "isbn", "author_names", "price", "stock", "is_active", "updated_at"]
    list_editable = ["price", "stock"]
    list_filter = ["is_active", StockLevelFilter, BookGenreFilter, LanguageFilter]
    # The box runs the catalog's full-text search (get_search_results); titles are just the hint.
    search_fields = ["title"]
    search_help_text = "Words in title, authors, description or publisher; an ISBN in any form."
    autocomplete_fields = ["genres"]
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["title", "id"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["activate", "deactivate", "change_price", "export_csv"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # The same bounds as the API (and the database constraints), reported on the field.
        if db_field.name in ("price", "stock"):
            kwargs["min_value"] = 0
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm[Book]]:
        kwargs.setdefault("form", BookChangeListForm)
        return super().get_changelist_form(request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Book]:
        return selectors.book_list(include_inactive=True)

    @admin.display(description="Authors")
    def author_names(self, book: Book) -> str:
        return ", ".join(link.author.name for link in book.author_links.all())

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Book], search_term: str
    ) -> tuple[QuerySet[Book], bool]:
        if not search_term.strip():
            return queryset, False
        results = book_search(queryset, search_term)  # best match first
        if ORDER_VAR in request.GET:  # ... unless a column header was clicked
            results = results.order_by(*queryset.query.order_by)
        return results, False

    def save_model(self, request: HttpRequest, obj: Book, form: forms.ModelForm[Book], change: bool) -> None:
        """A row of the list saves what was edited; the book form is saved with its authors in ``save_related``."""
        if isinstance(form, BookChangeListForm):
            edited = {name: form.cleaned_data[name] for name in form.changed_data}
            services.book_update(book=Book.objects.get(pk=obj.pk), **edited)
            obj.refresh_from_db()

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm[Book],
        formsets: list[BaseInlineFormSet[Any, Any, Any]],
        change: bool,
    ) -> None:
        if isinstance(form, BookChangeListForm):
            return
        credits = [
            inline_form.cleaned_data
            for formset in formsets
            if formset.model is BookAuthor
            for inline_form in formset.forms
            if inline_form.cleaned_data and not inline_form.cleaned_data.get("DELETE")
        ]
        authors = [credit["author"] for credit in sorted(credits, key=lambda credit: credit["position"])]
        genres = list(form.cleaned_data["genres"])
        fields = {name: form.cleaned_data[name] for name in _BOOK_FIELDS}
        if change:
            services.book_update(book=Book.objects.get(pk=form.instance.pk), authors=authors, genres=genres, **fields)
        else:
            form.instance.pk = services.book_create(authors=authors, genres=genres, **fields).pk
        form.instance.refresh_from_db()

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Iterable[BaseFormSet[Any]], add: bool = False
    ) -> list[dict[str, dict[str, list[str]]]]:
        # The credit formset is not saved by the admin (book_create/book_update write the credits).
        return construct_change_message(form, [], add)

    def delete_model(self, request: HttpRequest, obj: Book) -> None:
        services.book_delete(book=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Book]) -> None:
        for book in queryset:
            services.book_delete(book=book)

    # --- actions --------------------------------------------------------------------------

    @admin.action(description="Show selected books in the store (activate)", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Book]) -> None:
        changed = services.books_set_active(books=queryset, is_active=True)
        self.message_user(request, f"Activated {changed} book(s).", messages.SUCCESS)

    @admin.action(description="Hide selected books from the store (deactivate)", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Book]) -> None:
        changed = services.books_set_active(books=queryset, is_active=False)
        self.message_user(request, f"Deactivated {changed} book(s).", messages.SUCCESS)

    @admin.action(description="Change the price of selected books by a percentage", permissions=["change"])
    def change_price(self, request: HttpRequest, queryset: QuerySet[Book]) -> HttpResponse | None:
        """Asks for the percentage on a confirmation page listing the books, then reprices them all at once."""
        form = PriceChangeForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                changed = services.books_price_change(books=queryset, percent=form.cleaned_data["percent"])
            except DomainError as exc:
                self.message_user(request, f"No price changed. {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Changed the price of {changed} book(s) by {form.cleaned_data['percent']} %.",
                    messages.SUCCESS,
                )
            return None
        books = queryset.order_by("title", "id")
        context = {
            **self.admin_site.each_context(request),
            "title": "Change prices",
            "opts": self.model._meta,
            "form": form,
            "books": books[:20],
            "count": books.count(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action": "change_price",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "currency": settings.STORE_CURRENCY,
        }
        return TemplateResponse(request, "admin/catalog/book/change_price.html", context)

    @admin.action(description="Export selected books as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Book]) -> StreamingHttpResponse:
        """The format of ``manage.py export_books`` (re-imports with ``import_books``), streamed by id."""
        writer = csv.writer(_Echo(), lineterminator="\n")

        def lines() -> Iterator[str]:
            yield writer.writerow(COLUMNS)
            for record in book_export_records(queryset=queryset):
                yield writer.writerow(csv_values(record))

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="books-{timezone.localtime():%Y%m%d-%H%M%S}.csv"'
        return response
