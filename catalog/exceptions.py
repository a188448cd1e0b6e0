"""Catalog business-rule failures, mapped to the error envelope by bookstore.errors."""

from bookstore.errors import Conflict, DomainError


class InsufficientStock(DomainError):
    status_code = 409
    code = "insufficient_stock"
    default_message = "Not enough stock for one or more items."


class AuthorHasBooks(Conflict):
    default_message = "This author still has books and cannot be deleted."
