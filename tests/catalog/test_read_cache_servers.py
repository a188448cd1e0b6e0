"""Stored catalog documents across two app servers sharing Redis: every write path makes the next read fresh.

Two gunicorn servers (A and B) run against this test's database (SQLite file
or PostgreSQL, whichever the suite uses) and one Redis key space. B's book
detail and list are read (and so stored) first; then a write goes through A
(the API, the admin, an order, its cancellation), through a management
command (the import) or through a background job (order expiry), and the very
next read on B must show it. A change made behind every service's back (raw
SQL) is *not* seen on B: the documents really are served from the cache, so
these tests fail if any write path stops invalidating them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import DEFAULT_PASSWORD, AuthorFactory, BookFactory, GenreFactory, UserFactory
from tests.reliability.harness import AppServer, django_exec, manage, server_env, unique_name

pytestmark = [pytest.mark.slow, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]

#: This suite's own Redis database and ports (the reliability stacks use database 7); a machine that runs
#: several suites at once gives each its own with READ_CACHE_SERVERS_REDIS_URL and READ_CACHE_SERVERS_PORT.
REDIS_URL = os.environ.get("READ_CACHE_SERVERS_REDIS_URL", "redis://127.0.0.1:6379/4")
PORT_A = int(os.environ.get("READ_CACHE_SERVERS_PORT", "8140"))
PORT_B = PORT_A + 1


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("staticfiles")
    manage(
        "collectstatic",
        "--noinput",
        "--verbosity",
        "0",
        env=server_env(database="sqlite://", redis="", STATIC_ROOT=str(root)),
    )
    return root


@pytest.fixture
def env(transactional_db: Any, static_root: Path) -> dict[str, str]:
    return server_env(
        database=_database_url(),
        redis=REDIS_URL,
        CACHE_KEY_PREFIX=unique_name("readcache"),
        STATIC_ROOT=str(static_root),
        AUTH_RATE_LIMIT="1000/minute",
        # Tokens minted here must verify there.
        SECRET_KEY=settings.SECRET_KEY,
    )


@pytest.fixture
def servers(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[AppServer, AppServer]]:
    a = AppServer(env=env, log_path=tmp_path / "a.log", port=PORT_A)
    b = AppServer(env=env, log_path=tmp_path / "b.log", port=PORT_B)
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def _token(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def _detail(server: AppServer, book_id: int) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/books/{book_id}", timeout=10)


def _listed(server: AppServer) -> dict[int, dict[str, Any]]:
    response = requests.get(f"{server.url}/api/v1/books?ordering=title", timeout=10)
    assert response.status_code == 200, response.text
    return {book["id"]: book for book in response.json()["results"]}


def _warm(server: AppServer, book_id: int) -> None:
    """Read (and so store) the detail and the list, twice: the second time from the cache."""
    for _ in range(2):
        assert _detail(server, book_id).status_code == 200
        assert book_id in _listed(server)


def _raw_price(book_id: int, price: str) -> None:
    """Change a price behind every service's back: no invalidation."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE books SET price = %s WHERE id = %s", [price, book_id])


def _seen(server: AppServer, book_id: int, field: str) -> tuple[Any, Any]:
    detail = _detail(server, book_id)
    assert detail.status_code == 200, detail.text
    return detail.json()[field], _listed(server)[book_id][field]


@contextlib.contextmanager
def _admin(server: AppServer, user: Any) -> Iterator[requests.Session]:
    # The servers know production's password hashers only (the suite stores MD5 for speed).
    user.password = make_password(DEFAULT_PASSWORD, hasher=PBKDF2PasswordHasher())
    user.save(update_fields=["password"])
    session = requests.Session()
    login = session.get(f"{server.url}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert token, login.text[:500]
    signed_in = session.post(
        f"{server.url}/admin/login/?next=/admin/",
        data={"username": user.email, "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        timeout=10,
    )
    assert signed_in.url.endswith("/admin/"), signed_in.text[:500]
    yield session


def _admin_action(session: requests.Session, server: AppServer, action: str, book_id: int) -> None:
    page = session.get(f"{server.url}/admin/catalog/book/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    done = session.post(
        f"{server.url}/admin/catalog/book/",
        data={
            "action": action,
            "_selected_action": [str(book_id)],
            "select_across": "0",
            "index": "0",
            "csrfmiddlewaretoken": token.group(1),
        },
        timeout=30,
    )
    assert done.status_code == 200, done.text[:500]
    assert "1 book" in done.text, done.text[:2000]


def test_catalog_writes_through_one_server_are_fresh_on_the_other(
    servers: tuple[AppServer, AppServer], env: dict[str, str], tmp_path: Path
) -> None:
    a, b = servers
    staff = UserFactory(is_staff=True, is_superuser=True)
    author = AuthorFactory(name="Ada Writer")
    book = BookFactory(
        title="Cached Book", isbn="9780441013593", price="10.00", authors=[author], genres=[GenreFactory()]
    )
    _warm(b, book.pk)

    # The control: a change behind the services' back stays invisible on B, which serves its stored documents.
    _raw_price(book.pk, "77.77")
    assert _seen(b, book.pk, "price") == ("10.00", "10.00")

    # The API (on A).
    changed = requests.patch(
        f"{a.url}/api/v1/books/{book.pk}", json={"price": "12.50"}, headers=_token(staff), timeout=10
    )
    assert changed.status_code == 200, changed.text
    assert _seen(b, book.pk, "price") == ("12.50", "12.50")

    # An author's rename through the API changes the book's documents too.
    _warm(b, book.pk)
    renamed = requests.patch(
        f"{a.url}/api/v1/authors/{author.pk}", json={"name": "Ada Renamed"}, headers=_token(staff), timeout=10
    )
    assert renamed.status_code == 200, renamed.text
    assert _detail(b, book.pk).json()["authors"] == [{"id": author.pk, "name": "Ada Renamed"}]

    # The admin (on A): hide the book, then show it again.
    _warm(b, book.pk)
    with _admin(a, staff) as session:
        _admin_action(session, a, "deactivate", book.pk)
        assert _detail(b, book.pk).status_code == 404
        assert book.pk not in _listed(b)
        _admin_action(session, a, "activate", book.pk)
        assert _detail(b, book.pk).status_code == 200
        assert book.pk in _listed(b)

    # The import (a management command, a process of its own).
    _warm(b, book.pk)
    feed = tmp_path / "books.csv"
    feed.write_text("isbn,title,authors,price,stock\n9780441013593,Imported Title,Ada Renamed,14.00,10\n")
    manage("import_books", str(feed), env=env)
    assert _seen(b, book.pk, "title") == ("Imported Title", "Imported Title")
    assert _seen(b, book.pk, "price") == ("14.00", "14.00")


def test_stock_changes_by_orders_are_fresh_on_the_other_server(
    servers: tuple[AppServer, AppServer], env: dict[str, str]
) -> None:
    a, b = servers
    customer = UserFactory()
    book = BookFactory(stock=10)
    other = BookFactory(stock=5)
    _warm(b, book.pk)
    _warm(b, other.pk)

    placed = requests.post(
        f"{a.url}/api/v1/orders",
        json={"items": [{"book_id": book.pk, "quantity": 2}]},
        headers={**_token(customer), "Idempotency-Key": "readcache-1"},
        timeout=10,
    )
    assert placed.status_code == 201, placed.text
    assert _seen(b, book.pk, "stock") == (8, 8)
    assert _seen(b, other.pk, "stock") == (5, 5)

    cancelled = requests.post(
        f"{a.url}/api/v1/orders/{placed.json()['id']}/cancel", headers=_token(customer), timeout=10
    )
    assert cancelled.status_code == 200, cancelled.text
    assert _seen(b, book.pk, "stock") == (10, 10)

    # An unpaid order expires in a background job (another process): its stock comes back.
    placed = requests.post(
        f"{a.url}/api/v1/orders",
        json={"items": [{"book_id": book.pk, "quantity": 3}]},
        headers={**_token(customer), "Idempotency-Key": "readcache-2"},
        timeout=10,
    )
    assert placed.status_code == 201, placed.text
    assert _seen(b, book.pk, "stock") == (7, 7)
    expired = django_exec(
        env,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from orders.expiry import order_expire_unpaid\n"
        "result = order_expire_unpaid(now=timezone.now() + timedelta(days=365))",
    )
    assert expired == 1
    assert _seen(b, book.pk, "stock") == (10, 10)
