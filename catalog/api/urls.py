"""API routes of this app; mounted under /api/v1/ by bookstore.api."""

from django.urls import URLPattern, path
from rest_framework.routers import SimpleRouter

from catalog.api.search_views import BookFacetsView, SearchSuggestView
from catalog.api.views import AuthorViewSet, BookViewSet, GenreViewSet, SeriesViewSet

router = SimpleRouter(trailing_slash=False)
router.register("authors", AuthorViewSet, basename="author")
router.register("genres", GenreViewSet, basename="genre")
router.register("series", SeriesViewSet, basename="series")
router.register("books", BookViewSet, basename="book")

# Before the routers' routes: "books/facets" is not a book id.
urlpatterns: list[URLPattern] = [
    path("books/facets", BookFacetsView.as_view(), name="book-facets"),
    path("search/suggest", SearchSuggestView.as_view(), name="search-suggest"),
]
