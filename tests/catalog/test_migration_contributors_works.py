"""The migration to contributors, series and works carries the existing catalog over.

Runs the real migrations: the database is taken back to the migration before,
filled through the models of that state, and migrated forward again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("catalog", "0005_book_covers")]
AFTER = [("catalog", "0006_contributors_series_works_publication_status")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; the app registry of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_catalog() -> Any:
    apps = migrate(BEFORE)
    try:
        yield apps
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_existing_authors_become_contributors_in_order_and_each_book_gets_its_own_work(old_catalog: Any) -> None:
    author_model = old_catalog.get_model("catalog", "Author")
    book_model = old_catalog.get_model("catalog", "Book")
    link_model = old_catalog.get_model("catalog", "BookAuthor")
    herbert, anderson, le_guin = (
        author_model.objects.create(name=name) for name in ("Frank Herbert", "Kevin J. Anderson", "Ursula K. Le Guin")
    )
    dune = book_model.objects.create(isbn="9780441013593", title="Dune", price=Decimal("9.99"), stock=3)
    prelude = book_model.objects.create(isbn="9780553580303", title="House Atreides", price=Decimal("8.99"))
    earthsea = book_model.objects.create(isbn="9780547773742", title="A Wizard of Earthsea", price=Decimal("7.00"))
    # Cover order is the position, whatever the order of the rows.
    link_model.objects.create(book=prelude, author=herbert, position=1)
    link_model.objects.create(book=prelude, author=anderson, position=0)
    link_model.objects.create(book=dune, author=herbert, position=0)
    link_model.objects.create(book=earthsea, author=le_guin, position=0)

    # Read through the models of that state: later migrations add columns the table does not have yet.
    after = migrate(AFTER)
    Book, BookAuthor, Work = (after.get_model("catalog", name) for name in ("Book", "BookAuthor", "Work"))

    credits = {
        book.title: [(link.author.name, link.role) for link in book.author_links.order_by("position", "id")]
        for book in Book.objects.all()
    }
    assert credits == {
        "Dune": [("Frank Herbert", "author")],
        "House Atreides": [("Kevin J. Anderson", "author"), ("Frank Herbert", "author")],
        "A Wizard of Earthsea": [("Ursula K. Le Guin", "author")],
    }
    works = dict(Book.objects.values_list("title", "work__title"))
    assert works == {"Dune": "Dune", "House Atreides": "House Atreides", "A Wizard of Earthsea": "A Wizard of Earthsea"}
    assert Work.objects.count() == 3
    assert len(set(Book.objects.values_list("work_id", flat=True))) == 3
    book = Book.objects.get(title="Dune")
    assert (book.format, book.publication_status, book.preorder_allowance, book.series_id, book.stock) == (
        "other",
        "active",
        0,
        None,
        3,
    )
    assert BookAuthor.objects.filter(role="author").count() == 4


def test_the_migration_can_be_reversed(old_catalog: Any) -> None:
    migrate(AFTER)
    apps = migrate(BEFORE)
    assert not any(field.name == "role" for field in apps.get_model("catalog", "BookAuthor")._meta.fields)
