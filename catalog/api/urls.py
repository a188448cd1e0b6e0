"""API routes of this app; mounted under /api/v1/ by bookstore.api."""

from django.urls import URLPattern
from rest_framework.routers import SimpleRouter

router = SimpleRouter(trailing_slash=False)

urlpatterns: list[URLPattern] = []
