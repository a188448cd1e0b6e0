"""Every catalog write path invalidates the stored documents when its transaction commits, not before.

These tests commit for real (``transactional_db``): the invalidation runs in
``transaction.on_commit``, as in production. Each one stores a book's detail
and the list first, then writes, then reads again and must see the write.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from bookstore.cache import default_redis
from catalog import covers, readcache, services
from catalog.models import Book
from orders.expiry import order_expire_unpaid
from tests.factories import BookFactory, GenreFactory, SeriesFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def book() -> Book:
    return BookFactory(
        title="Before", price=Decimal("10.00"), stock=10, genres=[GenreFactory()], series=SeriesFactory()
    )


def _stored(client: APIClient, book: Book) -> None:
    """Read the detail, the list and a search twice: the second read comes from the stored documents."""
    for _ in range(2):
        assert client.get(f"/api/v1/books/{book.pk}").status_code == 200
        assert client.get("/api/v1/books").status_code == 200
        assert client.get("/api/v1/books", {"search": book.isbn}).status_code == 200


def _seen(client: APIClient, book: Book, field: str) -> tuple[Any, Any, Any]:
    """The field in the detail, in the list and in a search's page (made of the stored details)."""
    detail = client.get(f"/api/v1/books/{book.pk}")
    listed = {b["id"]: b for b in client.get("/api/v1/books").json()["results"]}
    searched = {b["id"]: b for b in client.get("/api/v1/books", {"search": book.isbn}).json()["results"]}
    return (
        detail.json()[field] if detail.status_code == 200 else detail.status_code,
        listed[book.pk][field] if book.pk in listed else None,
        searched[book.pk][field] if book.pk in searched else None,
    )


def test_the_tokens_change_when_the_write_commits_and_not_before(book: Book) -> None:
    readcache.lookup(RequestFactory().get("/api/v1/books"), None)
    before = cache.get("catalog:v:all")
    with transaction.atomic():
        services.book_update(book=book, price=Decimal("12.00"))
        services.book_update(book=book, title="Twice in one transaction")
        assert cache.get("catalog:v:all") == before
        pending = [func for _sids, func, _robust in transaction.get_connection().run_on_commit]
        assert sum(isinstance(func, readcache._Pending) for func in pending) == 1
    assert cache.get("catalog:v:all") != before


@pytest.mark.skipif(default_redis() is None, reason="the one-command replacement runs only with Redis as the cache")
def test_with_redis_the_new_tokens_are_written_in_one_command_as_set_many_would_write_them() -> None:
    client, backend = default_redis()  # type: ignore[misc]
    cache.set_many({"catalog:v:all": "old", "catalog:v:shared": "old", "catalog:v:book:7": "old"})
    commands_before = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    readcache._tokens_replace(everything=False, book_ids={7, 8})
    assert client.info("commandstats")["cmdstat_evalsha"]["calls"] == commands_before + 1
    new = cache.get_many(["catalog:v:all", "catalog:v:shared", "catalog:v:book:7", "catalog:v:book:8"])
    assert new["catalog:v:all"] == new["catalog:v:book:7"] == new["catalog:v:book:8"] != "old"
    assert new["catalog:v:shared"] == "old"  # a stock change leaves the other books' details alone
    for name in ("catalog:v:all", "catalog:v:book:7", "catalog:v:book:8"):
        assert 0 < client.ttl(backend.make_key(name)) <= readcache._BOOK_TOKEN_SECONDS

    readcache._tokens_replace(everything=True, book_ids=set())
    everything = cache.get_many(["catalog:v:all", "catalog:v:shared"])
    assert everything["catalog:v:all"] == everything["catalog:v:shared"] != new["catalog:v:all"]
    # A write that may change any document: the global tokens are kept until replaced.
    assert client.ttl(backend.make_key("catalog:v:all")) == -1
    assert client.ttl(backend.make_key("catalog:v:shared")) == -1


def test_a_rolled_back_write_changes_nothing(book: Book) -> None:
    readcache.lookup(RequestFactory().get("/api/v1/books"), None)
    before = cache.get("catalog:v:all")
    with contextlib.suppress(RuntimeError), transaction.atomic():
        services.book_update(book=book, price=Decimal("12.00"))
        raise RuntimeError
    assert Book.objects.get(pk=book.pk).price == Decimal("10.00")
    assert cache.get("catalog:v:all") == before


def test_a_document_read_before_a_commit_is_never_served_after_it(book: Book) -> None:
    request = RequestFactory().get(f"/api/v1/books/{book.pk}")
    found = readcache.lookup(request, book.pk)
    assert found is not None
    assert found.document is None
    services.book_update(book=book, price=Decimal("12.00"))  # commits between the read and the store
    readcache.store(found, b'{"price": "10.00"}')
    again = readcache.lookup(request, book.pk)
    assert again is not None
    assert again.document is None


def test_an_invalidation_the_cache_missed_is_delivered_before_the_next_read(
    api_client: APIClient, book: Book, settings: Any
) -> None:
    _stored(api_client, book)
    local = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    services.book_update(book=book, price=Decimal("13.00"))  # the cache is unreachable at the commit
    assert readcache._owed is not None
    settings.CACHES = local  # back, with the old documents still in it
    assert _seen(api_client, book, "price") == ("13.00",) * 3
    assert readcache._owed is None


# --- every write path -------------------------------------------------------------------------------


def _admin_action(staff: Any, action: str, book: Book, **extra: str) -> None:
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/admin/catalog/book/", {"action": action, "_selected_action": [book.pk], "index": 0, **extra}, follow=True
    )
    assert response.status_code == 200


def _customer(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _place(user: Any, book: Book, quantity: int, key: str) -> dict[str, Any]:
    response = _customer(user).post(
        "/api/v1/orders",
        {"items": [{"book_id": book.pk, "quantity": quantity}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def _api_patch(book: Book) -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    assert client.patch(f"/api/v1/books/{book.pk}", {"price": "12.34"}, format="json").status_code == 200


def _import(book: Book, tmp_path: Path) -> None:
    feed = tmp_path / "books.csv"
    feed.write_text(f"isbn,title,authors,price,stock\n{book.isbn},Before,Someone,12.34,10\n")
    call_command("import_books", str(feed), verbosity=0)


def _order_place(book: Book) -> None:
    _place(UserFactory(), book, 3, "place")


def _order_cancel(book: Book) -> None:
    user = UserFactory()
    order = _place(user, book, 3, "cancel")
    services.stock_receive(counts={book.pk: 3}, by=None)  # 13 before the cancel, 16 after
    assert _customer(user).post(f"/api/v1/orders/{order['id']}/cancel").status_code == 200


def _order_expire(book: Book) -> None:
    _place(UserFactory(), book, 4, "expire")
    services.stock_receive(counts={book.pk: 10}, by=None)
    assert order_expire_unpaid(now=timezone.now() + timedelta(days=365)) == 1


def _raw_save(book: Book) -> None:
    fresh = Book.objects.get(pk=book.pk)
    fresh.price = Decimal("12.34")
    fresh.save()


_WRITES: dict[str, tuple[Callable[..., None], str, Any]] = {
    "api": (lambda book, **_: _api_patch(book), "price", "12.34"),
    "service book_update": (lambda book, **_: services.book_update(book=book, title="After"), "title", "After"),
    "raw save (signal)": (lambda book, **_: _raw_save(book), "price", "12.34"),
    "import": (lambda book, tmp_path, **_: _import(book, tmp_path), "price", "12.34"),
    "order placed": (lambda book, **_: _order_place(book), "stock", 7),
    "order cancelled": (lambda book, **_: _order_cancel(book), "stock", 13),
    "order expired": (lambda book, **_: _order_expire(book), "stock", 20),
    "goods in": (lambda book, **_: services.stock_receive(counts={book.pk: 5}, by=None), "stock", 15),
    "stock-take": (lambda book, **_: services.stock_take(counts={book.pk: 3}, by=None), "stock", 3),
    "admin deactivate": (lambda book, staff, **_: _admin_action(staff, "deactivate", book), "title", (404, None, None)),
    "admin price change": (
        lambda book, staff, **_: _admin_action(staff, "change_price", book, apply="1", percent="10"),
        "price",
        "11.00",
    ),
    "books_set_active": (
        lambda book, **_: services.books_set_active(books=Book.objects.filter(pk=book.pk), is_active=False),
        "title",
        (404, None, None),
    ),
    "book_delete": (lambda book, **_: services.book_delete(book=book), "title", (404, None, None)),
    "series rename": (
        lambda book, **_: services.series_update(series=book.series, name="Renamed Series"),
        "series",
        None,
    ),
    "genre rename": (
        lambda book, **_: services.genre_update(genre=book.genres.get(), name="Renamed Genre"),
        "genres",
        None,
    ),
    "author rename": (
        lambda book, **_: services.author_update(author=book.author_links.get().author, name="Renamed Author"),
        "authors",
        None,
    ),
}


@pytest.mark.parametrize("path", list(_WRITES))
def test_every_write_path_makes_the_next_read_fresh(path: str, book: Book, tmp_path: Path) -> None:
    client = APIClient()
    staff = UserFactory(is_staff=True, is_superuser=True)
    _stored(client, book)
    write, field, expected = _WRITES[path]
    before = _seen(client, book, field)
    write(book, tmp_path=tmp_path, staff=staff)
    seen = _seen(client, book, field)
    if expected is None:  # a name inside a nested object: it changed
        assert seen != before
        assert "Renamed" in str(seen)
    elif isinstance(expected, tuple):
        assert seen == expected
    else:
        assert seen == (expected, expected, expected)


def test_the_release_job_makes_a_forthcoming_book_active_in_the_documents() -> None:
    client = APIClient()
    book = BookFactory(publication_status="forthcoming", release_date=date.today(), preorder_allowance=5)
    _stored(client, book)
    assert _seen(client, book, "publication_status") == ("forthcoming",) * 3
    assert services.book_release_due() == 1
    assert _seen(client, book, "publication_status") == ("active",) * 3


def test_a_cover_change_makes_the_next_read_fresh(book: Book, settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    client = APIClient()
    image = io.BytesIO()
    Image.new("RGB", (200, 300), (200, 30, 30)).save(image, "PNG")
    image.seek(0)
    cover = covers.cover_set(book=book, upload=image)
    _stored(client, book)
    assert _seen(client, book, "cover") == (None, None, None)  # no thumbnails yet
    assert covers.thumbnails_make(book_id=book.pk, original=cover.original) == "made"  # the worker's UPDATE
    detail, listed, searched = _seen(client, book, "cover")
    assert detail == listed == searched
    assert detail["small"].endswith("160.webp")
    covers.cover_delete(book=book)
    assert _seen(client, book, "cover") == (None, None, None)
