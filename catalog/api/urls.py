"""API routes of this app; mounted under /api/v1/ by bookstore.api."""

from django.urls import URLPattern
from rest_framework.routers import SimpleRouter

from catalog.api.views import AuthorViewSet, BookViewSet, GenreViewSet, SeriesViewSet

router = SimpleRouter(trailing_slash=False)
router.register("authors", AuthorViewSet, basename="author")
router.register("genres", GenreViewSet, basename="genre")
router.register("series", SeriesViewSet, basename="series")
router.register("books", BookViewSet, basename="book")

urlpatterns: list[URLPattern] = []
