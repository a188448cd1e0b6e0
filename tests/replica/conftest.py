"""A real PostgreSQL primary with a streaming replica, and PgBouncer in front of the primary.

``scripts/replica-cluster`` builds them (initdb, ``pg_basebackup -R``) on ports of
their own (5441 primary, 5442 replica, 6441 PgBouncer), never the system cluster;
the session fixture starts them once and deletes them at the end. The app runs
in real gunicorn servers pointed at them.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from tests.reliability.harness import (
    ROOT,
    AppServer,
    django_exec,
    manage,
    server_env,
    unique_name,
    wait_until,
)

PRIMARY_PORT = 5441
REPLICA_PORT = 5442
PGBOUNCER_PORT = 6441
DB_NAME = "bookstore_replica"
REDIS_URL = "redis://127.0.0.1:6379/8"
SCRIPT = ROOT / "scripts" / "replica-cluster"
PASSWORD = "Replica-pass-2026!"
_seed_numbers = itertools.count(1)

SEED_CODE = """
from decimal import Decimal
from rest_framework_simplejwt.tokens import RefreshToken
from accounts.models import User
from catalog.models import Author, Book, BookAuthor, StockMovement, Work

def token(user):
    return str(RefreshToken.for_user(user).access_token)

tag = params["tag"]
author = Author.objects.create(name=f"Replica author {tag}")
books = []
for index in range(params["books"]):
    title = f"Replica book {tag} {index}"
    book = Book.objects.create(
        isbn=params["isbns"][index], title=title, price=Decimal("12.50"), stock=100, work=Work.objects.create(title=title)
    )
    BookAuthor.objects.create(book=book, author=author, position=0)
    StockMovement.objects.create(book=book, kind="opening", delta=100, stock_after=100)
    books.append(book.pk)
customers = []
for index in range(params["customers"]):
    user = User.objects.create_user(email=f"customer-{tag}-{index}@example.com", password=params["password"])
    customers.append(token(user))
staff = User.objects.create_user(
    email=f"staff-{tag}@example.com", password=params["password"], is_staff=True, is_superuser=True
)
result = {"books": books, "customers": customers, "staff": token(staff)}
"""


def _isbn13(n: int) -> str:
    body = f"979{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def script(*args: str) -> None:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"replica-cluster {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def url(port: int) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/{DB_NAME}"


def sql(port: int, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=DB_NAME, autocommit=True) as conn:
        cursor = conn.execute(query, args)
        return cursor.fetchall() if cursor.description else []


@dataclass
class Seed:
    books: list[int]
    customers: list[str]
    staff: str

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@dataclass
class Cluster:
    tmp_path: Path
    servers: list[AppServer] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return server_env(
            database=url(PRIMARY_PORT),
            redis=REDIS_URL,
            settings="bookstore.test_settings",
            CACHE_KEY_PREFIX=unique_name("replica"),
            **extra,
        )

    def start_server(self, *, workers: int = 2, **extra: str) -> AppServer:
        server = AppServer(
            env=self.env(**extra), log_path=self.tmp_path / f"gunicorn-{len(self.servers)}.log", workers=workers
        )
        self.servers.append(server)
        server.start()
        return server

    def seed(self, *, books: int = 2, customers: int = 1) -> Seed:
        start = next(_seed_numbers) * 100
        data = django_exec(
            self.env(),
            SEED_CODE,
            tag=unique_name("s"),
            books=books,
            isbns=[_isbn13(start + i) for i in range(books)],
            customers=customers,
            password=PASSWORD,
        )
        self.wait_replica_caught_up()
        return Seed(**data)

    # --- the replica ---------------------------------------------------------

    def is_replica_up(self) -> bool:
        try:
            return bool(sql(REPLICA_PORT, "SELECT pg_is_in_recovery()")[0][0])
        except psycopg.OperationalError:
            return False

    def wait_replica_caught_up(self) -> None:
        target = sql(PRIMARY_PORT, "SELECT pg_current_wal_lsn()::text")[0][0]
        wait_until(
            lambda: sql(REPLICA_PORT, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target)[0][0],
            timeout=30,
            message="the replica to replay the primary's WAL",
        )

    def pause_replay(self) -> None:
        """The replica stops applying WAL: from now on it shows the data as it is at this moment."""
        self.wait_replica_caught_up()
        sql(REPLICA_PORT, "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        sql(REPLICA_PORT, "SELECT pg_wal_replay_resume()")
        self.wait_replica_caught_up()

    def replica_sessions(self) -> int:
        """Client connections to the store's database on the replica, other than this one."""
        return sql(
            REPLICA_PORT,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'",
            DB_NAME,
        )[0][0]

    def stop_replica(self) -> None:
        script("stop-replica")

    def start_replica(self) -> None:
        script("start-replica")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The primary, its replica and PgBouncer, with the store's database migrated; deleted at the end."""
    the_cluster = Cluster(tmp_path=tmp_path_factory.mktemp("replica-cluster"))
    script("start")
    try:
        with psycopg.connect(
            host="127.0.0.1", port=PRIMARY_PORT, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        manage("migrate", "--noinput", env=server_env(database=url(PRIMARY_PORT), redis=""))
        yield the_cluster
    finally:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        with ThreadPoolExecutor(max_workers=max(1, len(the_cluster.servers))) as pool:
            list(pool.map(AppServer.stop, the_cluster.servers))  # each takes seconds; in parallel
        for server in the_cluster.servers:
            print(f"--- gunicorn on port {server.port} ---\n{server.log_tail(100)}")  # noqa: T201
            keys = list(client.scan_iter(f"{server.env['CACHE_KEY_PREFIX']}:*"))
            if keys:
                client.delete(*keys)
        script("stop")


@pytest.fixture(autouse=True)
def _replica_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test did to the replica (stopped it, paused replay), the next test finds it streaming."""
    yield
    if "cluster" not in request.fixturenames:
        return
    the_cluster: Cluster = request.getfixturevalue("cluster")
    if not the_cluster.is_replica_up():
        the_cluster.start_replica()
    sql(REPLICA_PORT, "SELECT pg_wal_replay_resume()")
