"""``manage.py rebuild_search_index``: rebuild the full-text index of books from the catalog."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.search import search_index_rebuild


class Command(BaseCommand):
    help = "Rebuild the full-text search index of every book (PostgreSQL tsvector or SQLite FTS5)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = search_index_rebuild()
        self.stdout.write(self.style.SUCCESS(f"Indexed {count} book{'s' if count != 1 else ''}."))
