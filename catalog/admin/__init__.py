"""Admin for the catalog. Saves, deletes and bulk actions go through ``catalog.services``, the search box
through ``catalog.search.book_search``: the same rules and the same search as the API."""

from catalog.admin.authors import AuthorAdmin, GenreAdmin
from catalog.admin.books import BookAdmin, SeriesAdmin, WorkAdmin
from catalog.admin.imports import ImportJobAdmin
from catalog.admin.search import SearchMissAdmin, SearchSynonymAdmin

__all__ = [
    "AuthorAdmin",
    "BookAdmin",
    "GenreAdmin",
    "ImportJobAdmin",
    "SearchMissAdmin",
    "SearchSynonymAdmin",
    "SeriesAdmin",
    "WorkAdmin",
]
