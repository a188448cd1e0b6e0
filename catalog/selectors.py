"""Catalog reads: querysets with their joins and prefetches, shared by the API and the admin."""

from __future__ import annotations

from django.db import connections, router
from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from catalog.models import Author, Book, BookAuthor, Genre, Series, StockSubscription


def author_list() -> QuerySet[Author]:
    """Authors with ``book_count``, the number of active books crediting them."""
    # A correlated subquery, not a GROUP BY over every author: the database counts
    # only for the authors of the page, and a count of the list needs no join.
    active_credits = (
        BookAuthor.objects.filter(author=OuterRef("pk"), book__is_active=True)
        .order_by()
        .values("author")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Author.objects.annotate(
        book_count=Coalesce(Subquery(active_credits, output_field=IntegerField()), 0),
    ).order_by("name", "id")


def author_get(*, author_id: int) -> Author:
    """One author with ``book_count`` (``Author.DoesNotExist`` if unknown)."""
    return author_list().get(pk=author_id)


def genre_list() -> QuerySet[Genre]:
    """All genres, by name."""
    return Genre.objects.all()


def _editions() -> QuerySet[Book]:
    """The active editions of a work, as ``other_formats`` lists them."""
    return Book.objects.filter(is_active=True).only("id", "isbn", "format", "price", "work_id").order_by("format", "id")


def book_list(*, include_inactive: bool = False) -> QuerySet[Book]:
    """Books with their credits (in cover order), genres, series and the editions of their work prefetched.

    Inactive books are left out unless ``include_inactive`` (staff). Listing
    any number of books costs the same four queries (books with their cover,
    series and work; credits with authors; genres; editions of their works as
    ``editions``).
    """
    queryset = Book.objects.select_related("cover", "series", "work").prefetch_related(
        Prefetch("author_links", queryset=BookAuthor.objects.select_related("author").order_by("position", "id")),
        "genres",
        Prefetch("work__books", queryset=_editions(), to_attr="editions"),
    )
    return queryset if include_inactive else queryset.filter(is_active=True)


def book_list_with_waiting(*, include_inactive: bool = False) -> QuerySet[Book]:
    """``book_list`` with ``waiting_subscribers``: customers waiting for each book to be back in stock (staff)."""
    waiting = (
        StockSubscription.objects.filter(book=OuterRef("pk"), notified_at__isnull=True)
        .order_by()
        .values("book")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return book_list(include_inactive=include_inactive).annotate(
        waiting_subscribers=Coalesce(Subquery(waiting, output_field=IntegerField()), 0)
    )


def book_editions(*, book: Book) -> list[Book]:
    """The active editions of ``book``'s work, the book itself included (one query)."""
    return list(_editions().filter(work_id=book.work_id))


def series_list() -> QuerySet[Series]:
    """Series with ``book_count``, the number of their active books, by name."""
    active_books = (
        Book.objects.filter(series=OuterRef("pk"), is_active=True)
        .order_by()
        .values("series")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Series.objects.annotate(
        book_count=Coalesce(Subquery(active_books, output_field=IntegerField()), 0)
    ).order_by("name", "id")


def series_get(*, series_id: int) -> Series:
    """One series with ``book_count`` (``Series.DoesNotExist`` if unknown)."""
    return series_list().get(pk=series_id)


def stock_subscription_counts(*, book_ids: list[int]) -> dict[int, int]:
    """How many customers wait for each of ``book_ids`` to be back in stock (books nobody waits for are left out)."""
    rows = (
        StockSubscription.objects.filter(book_id__in=book_ids, notified_at__isnull=True)
        .order_by()
        .values("book_id")
        .annotate(n=Count("pk"))
        .values_list("book_id", "n")
    )
    return dict(rows)


def book_get(*, book_id: int, include_inactive: bool = False) -> Book:
    """One book as ``book_list`` shapes it (``Book.DoesNotExist`` if unknown or hidden)."""
    return book_list(include_inactive=include_inactive).get(pk=book_id)


def book_languages_in_use() -> list[str]:
    """The distinct ``language`` codes of all books, sorted.

    A loose index scan (a recursive query probing ``books_language_idx`` once
    per language) instead of ``SELECT DISTINCT``, which reads every book: a
    millisecond or two whatever the size of the catalog, on both databases.
    """
    connection = connections[router.db_for_read(Book)]
    table = connection.ops.quote_name(Book._meta.db_table)
    column = connection.ops.quote_name(Book._meta.get_field("language").column)
    # Identifiers come from the model, not from input.
    sql = f"""
        WITH RECURSIVE languages(code) AS (
            SELECT MIN({column}) FROM {table}
            UNION ALL
            SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > languages.code)
            FROM languages WHERE languages.code IS NOT NULL
        )
        SELECT code FROM languages WHERE code IS NOT NULL
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [code for (code,) in cursor.fetchall()]
