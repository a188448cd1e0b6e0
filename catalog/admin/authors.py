"""Admin for authors and genres: saves and deletes go through ``catalog.services``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from catalog import selectors, services
from catalog.models import Author, Genre


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

    def get_deleted_objects(
        self, objs: Sequence[Genre] | QuerySet[Genre], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """A genre that books are in is protected, as the API's 409 does: the delete page refuses and says why."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        in_use = (
            Genre.objects.filter(pk__in=[genre.pk for genre in objs])
            .annotate(book_count=Count("books"))
            .filter(book_count__gt=0)
            .order_by("name", "pk")
        )
        protected += [
            format_html(
                "Genre “{}” still has {} book(s); take them off the genre first, then delete it.",
                genre.name,
                genre.book_count,
            )
            for genre in in_use
        ]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Genre) -> None:
        services.genre_delete(genre=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Genre]) -> None:
        for genre in queryset:
            services.genre_delete(genre=genre)
