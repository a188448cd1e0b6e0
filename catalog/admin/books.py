"""Admin for books, series and works: the book form saves through ``catalog.services`` with its contributor
credits, series and work; the search box runs ``catalog.search.book_search``; the actions reprice, show, hide
or export the selected books."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import construct_change_message
from django.contrib.admin.views.main import ORDER_VAR
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import QuerySet
from django.forms import BaseFormSet, BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from bookstore.audit import AuditedAdminMixin
from bookstore.exceptions import DomainError
from catalog import imports, selectors, services
from catalog.admin.covers import BookCoverAdminMixin
from catalog.admin.filters import BookGenreFilter, LanguageFilter, StockLevelFilter, WaitingSubscribersFilter
from catalog.admin.forms import BookAdminForm, BookAuthorFormSet, BookChangeListForm, PriceChangeForm
from catalog.admin.scanning import BookScanMixin
from catalog.bulk import book_export_records
from catalog.fields import BOOK_COLUMN_FIELDS
from catalog.importing import COLUMNS, csv_values
from catalog.models import Book, BookAuthor, Series, StockMovement, Work
from catalog.search import book_search
from catalog.spreadsheet import csv_lines

#: Movements shown on a book's page; the ledger list has them all.
MOVEMENTS_SHOWN = 20


class BookAuthorInline(admin.TabularInline):
    model = BookAuthor
    formset = BookAuthorFormSet
    fields = ["author", "role", "position"]
    autocomplete_fields = ["author"]
    extra = 0
    min_num = 1
    verbose_name = "contributor"
    verbose_name_plural = "contributors (in cover order)"


def _book_link(book: Book) -> str:
    return format_html('<a href="{}">{}</a>', reverse("admin:catalog_book_change", args=[book.pk]), book.title)


@admin.register(Book)
class BookAdmin(AuditedAdminMixin, BookScanMixin, BookCoverAdminMixin, admin.ModelAdmin):
    form = BookAdminForm
    inlines = [BookAuthorInline]
    list_display_links = ["cover_thumbnail", "title"]
    list_display = [
        "cover_thumbnail",
        "title",
        "isbn",
        "author_names",
        "format",
        "publication_status",
        "price",
        "stock",
        "waiting_subscribers",
        "is_active",
        "updated_at",
    ]
    list_editable = ["price", "stock"]
    list_filter = [
        "is_active",
        StockLevelFilter,
        WaitingSubscribersFilter,
        "publication_status",
        "format",
        BookGenreFilter,
        LanguageFilter,
    ]
    # The box runs the catalog's full-text search (get_search_results); titles are just the hint.
    search_fields = ["title"]
    search_help_text = "Words in title, authors, description or publisher; an ISBN in any form."
    autocomplete_fields = ["genres", "series"]
    readonly_fields = [
        "cover_preview",
        "other_editions",
        "waiting_subscribers",
        "created_at",
        "updated_at",
        "stock_movements",
    ]
    ordering = ["title", "id"]
    list_per_page = 50

    class Media:
        css = {"all": ("bookstore/admin/backoffice.css",)}

    show_full_result_count = False
    actions = ["activate", "deactivate", "change_price", "export_csv"]

    @admin.display(description="stock movements")
    def stock_movements(self, book: Book) -> SafeString | str:
        """The latest movements of the book's stock ledger, newest first, and a link to all of them."""
        if not book.pk:
            return "-"
        movements = list(
            StockMovement.objects.filter(book=book).select_related("by").order_by("-at", "-id")[:MOVEMENTS_SHOWN]
        )
        if not movements:
            return "No movements yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td class='desk-num'>{}</td><td class='desk-num'>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{timezone.localtime(m.at):%Y-%m-%d %H:%M}",
                    m.get_kind_display(),
                    f"{m.delta:+d}",
                    m.stock_after,
                    m.by or "",
                    m.reference,
                    m.reason,
                )
                for m in movements
            ),
        )
        more = format_html(
            '<p><a href="{}?book__id__exact={}">All movements of this book</a></p>',
            reverse("admin:catalog_stockmovement_changelist"),
            book.pk,
        )
        return format_html(
            '<table id="stock-movements"><thead><tr><th>When</th><th>What</th><th>Change</th><th>Stock</th>'
            "<th>By</th><th>Reference</th><th>Reason</th></tr></thead><tbody>{}</tbody></table>{}",
            rows,
            more,
        )

    def get_urls(self) -> list[Any]:
        return [*self.get_scan_urls(), *super().get_urls()]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, Any]:
        """A book's ledger goes with it: nobody deletes movements by hand, so they need no permission here."""
        to_delete, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed = {name for name in perms_needed if name != StockMovement._meta.verbose_name}
        return to_delete, counts, perms_needed, protected

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "may_scan": self.has_change_permission(request),
            "may_import": imports.may_import(request.user),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # The same bounds as the API (and the database constraints), reported on the field.
        if db_field.name in ("price", "stock"):
            kwargs["min_value"] = 0
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Book | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # "Same work as": an autocomplete over this admin's own search (any relation to Book serves as its anchor).
        form.base_fields["same_work_as"].widget = AutocompleteSelect(
            BookAuthor._meta.get_field("book"), self.admin_site
        )
        return form

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm[Book]]:
        kwargs.setdefault("form", BookChangeListForm)
        return super().get_changelist_form(request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Book]:
        return selectors.book_list_with_waiting(include_inactive=True)

    @admin.display(description="Contributors")
    def author_names(self, book: Book) -> str:
        return ", ".join(
            link.author.name if link.role == "author" else f"{link.author.name} ({link.get_role_display().lower()})"
            for link in book.author_links.all()
        )

    @admin.display(description="Waiting", ordering="waiting_subscribers")
    def waiting_subscribers(self, book: Book) -> int:
        """Customers asking to be told when the book is back in stock."""
        return int(getattr(book, "waiting_subscribers", 0))

    @admin.display(description="Other editions of the work")
    def other_editions(self, book: Book) -> str:
        if book.pk is None:
            return "-"
        others = Book.objects.filter(work_id=book.work_id).exclude(pk=book.pk).order_by("format", "id")
        if not others:
            return "None: this edition is a work of its own."
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            (
                (reverse("admin:catalog_book_change", args=[other.pk]), other.isbn, other.get_format_display())
                for other in others
            ),
        )

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
            services.book_update(book=Book.objects.get(pk=obj.pk), by=request.user, **edited)
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
        contributors = [
            services.Credit(credit["author"], credit["role"])
            for credit in sorted(credits, key=lambda credit: credit["position"])
        ]
        genres = list(form.cleaned_data["genres"])
        series = form.cleaned_data["series"]
        same_as = form.cleaned_data.get("same_work_as")
        work = same_as.work if same_as is not None else None
        fields = {name: form.cleaned_data[name] for name in BOOK_COLUMN_FIELDS}
        if change:
            book = services.book_update(
                book=Book.objects.get(pk=form.instance.pk),
                contributors=contributors,
                genres=genres,
                series=series,
                work=work,
                by=request.user,
                **fields,
            )
            if form.cleaned_data.get("separate_work"):
                services.book_leave_work(book=book)
        else:
            form.instance.pk = services.book_create(
                contributors=contributors, genres=genres, series=series, work=work, by=request.user, **fields
            ).pk
        form.instance.refresh_from_db()
        self.cover_save(form)

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
                changed = services.books_price_change(
                    books=queryset, percent=form.cleaned_data["percent"], by=request.user
                )
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
        rows = chain([COLUMNS], (csv_values(record) for record in book_export_records(queryset=queryset)))
        response = StreamingHttpResponse(csv_lines(rows, lineterminator="\n"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="books-{timezone.localtime():%Y%m%d-%H%M%S}.csv"'
        return response


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The stock ledger, read-only: movements are written by the stock services, never by hand."""

    list_display = ["at", "book", "kind", "delta", "stock_after", "by", "reference", "reason"]
    list_filter = ["kind", ("at", admin.DateFieldListFilter)]
    list_select_related = ["book", "by"]
    search_fields = ["=book__isbn", "=reference"]
    show_full_result_count = False
    ordering = ["-at", "-id"]
    fields = ("at", "book", "kind", "delta", "stock_after", "by", "reference", "reason")
    readonly_fields = ("at", "book", "kind", "delta", "stock_after", "by", "reference", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SeriesBookInline(admin.TabularInline):
    """The books of a series in number order; the number is edited here, saved through ``book_update``."""

    model = Book
    fields = ["book", "isbn", "format", "series_number"]
    readonly_fields = ["book", "isbn", "format"]
    ordering = ["series_number", "title", "id"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "book"
    verbose_name_plural = "books, in series order"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a book joins a series on its own page

    @admin.display(description="Title")
    def book(self, book: Book) -> str:
        return _book_link(book)


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["name", "book_count", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SeriesBookInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Series]:
        return selectors.series_list()

    @admin.display(description="Active books", ordering="book_count")
    def book_count(self, series: Series) -> int:
        return int(getattr(series, "book_count", 0))

    def save_model(self, request: HttpRequest, obj: Series, form: forms.ModelForm[Series], change: bool) -> None:
        if change:
            services.series_update(series=Series.objects.get(pk=obj.pk), name=obj.name)
        else:
            obj.pk = services.series_create(name=obj.name).pk
        obj.refresh_from_db()

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm[Series],
        formset: BaseInlineFormSet[Any, Any, Any],
        change: bool,
    ) -> None:
        for book_form in formset.forms:
            if book_form.has_changed() and book_form.instance.pk is not None:
                services.book_update(
                    book=Book.objects.get(pk=book_form.instance.pk),
                    series_number=book_form.cleaned_data["series_number"],
                )

    def delete_model(self, request: HttpRequest, obj: Series) -> None:
        services.series_delete(series=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Series]) -> None:
        for series in queryset:
            services.series_delete(series=series)


class WorkEditionInline(admin.TabularInline):
    model = Book
    fields = ["book", "isbn", "format", "price", "is_active"]
    readonly_fields = ["book", "isbn", "format", "price", "is_active"]
    extra = 0
    can_delete = False
    verbose_name = "edition"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # editions join a work from their own page ("same work as")

    @admin.display(description="Title")
    def book(self, book: Book) -> str:
        return _book_link(book)


@admin.register(Work)
class WorkAdmin(admin.ModelAdmin):
    """Works group editions; they are made and joined from the book form, so here they are only read."""

    list_display = ["title", "created_at"]
    search_fields = ["title"]
    fields = ["title", "created_at"]
    readonly_fields = ["title", "created_at"]
    inlines = [WorkEditionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
