"""Admin for the catalog. Saves and deletes go through ``catalog.services``, the search box through
``catalog.search.book_search``: the same rules and the same search as the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import construct_change_message
from django.contrib.admin.views.main import ORDER_VAR
from django.db.models import QuerySet
from django.forms import BaseFormSet, BaseInlineFormSet
from django.http import HttpRequest

from catalog import isbn as isbn_rules
from catalog import selectors, services
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


class BookAdminForm(forms.ModelForm):
    class Meta:
        model = Book
        fields = [*_BOOK_FIELDS, "genres"]
        help_texts = {"isbn": "ISBN-10 or ISBN-13, hyphens and spaces allowed; stored as ISBN-13."}

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
    list_display = ["title", "isbn", "author_names", "price", "stock", "is_active"]
    list_filter = ["is_active", BookGenreFilter, "language"]
    # The box runs the catalog's full-text search (get_search_results); titles are just the hint.
    search_fields = ["title"]
    search_help_text = "Words in title, authors, description or publisher; an ISBN in any form."
    filter_horizontal = ["genres"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False

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
        """Nothing yet: the book is saved with its authors and genres by the service in ``save_related``."""

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm[Book],
        formsets: list[BaseInlineFormSet[Any, Any, Any]],
        change: bool,
    ) -> None:
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
