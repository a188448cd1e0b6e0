"""The store's URLs with the local media route, as `make run` (SERVE_MEDIA=true) has them."""

from django.urls import re_path

from bookstore.media import media
from bookstore.urls import urlpatterns as store_urlpatterns

urlpatterns = [re_path(r"^media/(?P<path>.+)$", media, name="media"), *store_urlpatterns]
