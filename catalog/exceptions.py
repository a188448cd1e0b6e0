"""Catalog business-rule failures, mapped to the error envelope by bookstore.errors."""

from __future__ import annotations

from typing import Any

from bookstore.exceptions import Conflict, DomainError


class InsufficientStock(DomainError):
    status_code = 409
    code = "insufficient_stock"
    default_message = "Not enough stock for one or more items."


class AuthorHasBooks(Conflict):
    default_message = "This author still has books and cannot be deleted."


class GenreHasBooks(Conflict):
    default_message = "This genre still has books and cannot be deleted; take them off the genre first."


class CatalogInvalid(DomainError):
    """A write refused for a value of one field; answers 400 naming ``field``."""

    status_code = 400
    code = "validation_error"
    field = "non_field_errors"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        text = message or self.default_message
        super().__init__(f"Invalid input: {self.field}: {text}", details=details or {self.field: [text]})


class IsbnInvalid(CatalogInvalid):
    field = "isbn"
    default_message = "Enter a valid ISBN-10 or ISBN-13."


class IsbnTaken(CatalogInvalid):
    field = "isbn"
    default_message = "A book with this ISBN already exists."


class BookAuthorsInvalid(CatalogInvalid):
    field = "author_ids"
    default_message = "A book needs at least one contributor."


class GenreSlugTaken(CatalogInvalid):
    field = "slug"
    default_message = "A genre with this slug already exists."


class PriceChangeInvalid(CatalogInvalid):
    field = "percent"
    default_message = "Enter a change above -100 % and at most +1000 %, not 0."


class CoverInvalid(CatalogInvalid):
    """An uploaded cover that is not a JPEG, PNG or WebP image within the limits (400 naming ``image``)."""

    field = "image"
    default_message = "Upload a JPEG, PNG or WebP image."


class BookNotOrderable(CatalogInvalid):
    """A line names a book that cannot be ordered (out of print); ``details`` names the books."""

    field = "book_id"
    default_message = "This book is out of print and cannot be ordered."


class BookInStock(Conflict):
    default_message = "This book is in stock; subscribe to a notice only while it is sold out."


class SeriesHasBooks(Conflict):
    default_message = "This series still has books and cannot be deleted; take them out of the series first."


class SeriesNameTaken(CatalogInvalid):
    field = "name"
    default_message = "A series with this name already exists."


class BookSeriesInvalid(CatalogInvalid):
    field = "series_number"
    default_message = "A series number needs a series."


class BookReleaseInvalid(CatalogInvalid):
    field = "release_date"
    default_message = "A forthcoming book needs a release date."
