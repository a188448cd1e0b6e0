from django.apps import AppConfig


class BookstoreConfig(AppConfig):
    name = "bookstore"
    verbose_name = "Bookstore"
