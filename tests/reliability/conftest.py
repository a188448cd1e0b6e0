"""Fixtures for multi-process fault tests: a fresh PostgreSQL database per test,
proxies that can cut PostgreSQL and Redis, and gunicorn servers with a
production-like environment.

These tests always run against PostgreSQL and Redis on 127.0.0.1, whatever
database the rest of the suite uses: the faults they inject are those of the
production stack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from tests.reliability.harness import (
    PG_HOST,
    PG_PORT,
    REDIS_HOST,
    REDIS_PORT,
    AppServer,
    TcpProxy,
    create_database,
    database_url,
    django_exec,
    drop_database,
    manage,
    pg_admin,
    server_env,
    unique_name,
)

REDIS_DB = 7

#: The advisory lock a paused order placement waits for while a test holds it.
ORDER_PAUSE_LOCK = 190_019

# Installed by the test in its own database: the app has no test hook of its own. The order's
# first status change is written after the stock is taken and the order and its lines are inserted.
ORDER_PAUSE_SQL = """
CREATE OR REPLACE FUNCTION reliability_order_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {wait};
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS reliability_order_pause ON order_status_changes;
CREATE TRIGGER reliability_order_pause BEFORE INSERT ON order_status_changes
    FOR EACH ROW WHEN (NEW.from_status = '') EXECUTE FUNCTION reliability_order_pause();
"""

SEED_CODE = """
from decimal import Decimal
from rest_framework_simplejwt.tokens import RefreshToken
from accounts.models import User
from catalog.models import Author, Book, BookAuthor, StockMovement, Work

def token(user):
    return str(RefreshToken.for_user(user).access_token)

author = Author.objects.create(name="Reliability Author")
books = []
for index, stock in enumerate(params["stocks"]):
    book = Book.objects.create(
        isbn=f"978{index:09d}0"[:13],
        title=f"Reliability book {index}",
        price=Decimal(params["price"]),
        stock=stock,
        work=Work.objects.create(title=f"Reliability book {index}"),
    )
    BookAuthor.objects.create(book=book, author=author, position=0)
    StockMovement.objects.create(book=book, kind="opening", delta=stock, stock_after=stock)
    books.append({"id": book.pk, "stock": stock, "price": str(book.price)})
customers = []
for index in range(params["customers"]):
    user = User.objects.create_user(email=f"customer{index}@example.com", password=params["password"])
    customers.append({"id": user.pk, "email": user.email, "token": token(user)})
staff = User.objects.create_user(email="staff@example.com", password=params["password"], is_staff=True)
result = {
    "books": books,
    "customers": customers,
    "staff": {"id": staff.pk, "email": staff.email, "token": token(staff)},
    "password": params["password"],
}
"""


@dataclass
class Seed:
    books: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    staff: dict[str, Any]
    password: str

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@dataclass
class Stack:
    """One isolated production-like stack: a database, a Redis key space, proxies, servers."""

    db_name: str
    tmp_path: Path
    db_proxy: TcpProxy
    redis_proxy: TcpProxy
    cache_prefix: str
    static_root: Path
    servers: list[AppServer] = field(default_factory=list)

    @property
    def direct_database_url(self) -> str:
        return database_url(self.db_name)

    def env(self, *, settings: str = "bookstore.settings", direct: bool = False, **extra: str) -> dict[str, str]:
        """Environment for a server (through the proxies) or a helper process (``direct``)."""
        db_port = PG_PORT if direct else self.db_proxy.port
        redis_port = REDIS_PORT if direct else self.redis_proxy.port
        return server_env(
            database=database_url(self.db_name, port=db_port),
            redis=f"redis://{REDIS_HOST}:{redis_port}/{REDIS_DB}",
            settings=settings,
            CACHE_KEY_PREFIX=self.cache_prefix,
            STATIC_ROOT=str(self.static_root),
            **extra,
        )

    def start_server(
        self, *, workers: int = 1, settings: str = "bookstore.settings", preload: bool = False, **extra: str
    ) -> AppServer:
        server = AppServer(
            env=self.env(settings=settings, **extra),
            log_path=self.tmp_path / f"gunicorn-{len(self.servers)}.log",
            workers=workers,
            extra_args=("--preload",) if preload else (),
        )
        self.servers.append(server)
        server.start()
        return server

    def exec(self, code: str, **params: Any) -> Any:
        """Run ORM code against this stack's database, bypassing the proxies."""
        return django_exec(self.env(direct=True), code, **params)

    def seed(self, *, stocks: list[int], customers: int = 2, price: str = "10.00") -> Seed:
        data = self.exec(SEED_CODE, stocks=stocks, customers=customers, price=price, password="Reliable-pass-2026!")
        return Seed(**data)

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=self.db_name) as conn:
            return conn.execute(query, args).fetchall()

    def pause_order_placement(self, *, seconds: float | None = None) -> None:
        """Make every order placement wait inside its transaction, from the database.

        Just before the order's first status change is inserted (stock taken,
        order and lines written, nothing committed) a trigger sleeps ``seconds``,
        or, without ``seconds``, waits while the test is inside ``order_placement_held()``.
        """
        if seconds is None:
            wait = f"PERFORM pg_advisory_xact_lock_shared({ORDER_PAUSE_LOCK})"
        else:
            wait = f"PERFORM pg_sleep({float(seconds)})"
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=self.db_name) as conn:
            conn.execute(ORDER_PAUSE_SQL.format(wait=wait))

    @contextlib.contextmanager
    def order_placement_held(self) -> Iterator[None]:
        """While the block runs, order placements paused by ``pause_order_placement()`` wait."""
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=self.db_name, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (ORDER_PAUSE_LOCK,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (ORDER_PAUSE_LOCK,))


def _require_services() -> None:
    try:
        with pg_admin() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL must run on {PG_HOST}:{PG_PORT} for the reliability tests: {exc}")
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis must run on {REDIS_HOST}:{REDIS_PORT} for the reliability tests: {exc}")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that each test clones (CREATE DATABASE ... TEMPLATE is fast)."""
    _require_services()
    name = unique_name("bookstore_rel_tpl")
    create_database(name)
    try:
        env = server_env(database=database_url(name), redis=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}")
        manage("migrate", "--noinput", env=env)
        yield name
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Static files collected as a release build does, so the production storage finds its manifest."""
    root = tmp_path_factory.mktemp("staticfiles")
    env = server_env(database="sqlite:///:memory:", redis="", STATIC_ROOT=str(root))
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    return root


@pytest.fixture
def stack(migrated_template: str, static_root: Path, tmp_path: Path) -> Iterator[Stack]:
    name = unique_name("bookstore_rel")
    create_database(name, template=migrated_template)
    db_proxy = TcpProxy(PG_HOST, PG_PORT)
    redis_proxy = TcpProxy(REDIS_HOST, REDIS_PORT)
    the_stack = Stack(
        db_name=name,
        tmp_path=tmp_path,
        db_proxy=db_proxy,
        redis_proxy=redis_proxy,
        cache_prefix=unique_name("rel"),
        static_root=static_root,
    )
    try:
        db_proxy.start()
        redis_proxy.start()
        yield the_stack
    finally:
        for server in the_stack.servers:
            server.stop()
            # Captured by pytest and shown only when the test failed.
            print(f"--- gunicorn on port {server.port} ---\n{server.log_tail(200)}")  # noqa: T201
        db_proxy.stop()
        redis_proxy.stop()
        drop_database(name)
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=2)
            keys = list(client.scan_iter(f"{the_stack.cache_prefix}:*"))
            if keys:
                client.delete(*keys)
