"""The store behind PgBouncer in transaction pooling mode (``DATABASE_POOLER=pgbouncer``).

The harness's PgBouncer keeps two server connections and hands them out in
turn (``server_round_robin``), so consecutive transactions of one client run
on different PostgreSQL sessions: anything that outlives a transaction (a
``WITH HOLD`` cursor, a prepared statement, a ``SET``) breaks at once rather
than under production load.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from tests.reliability.harness import PYTHON, ROOT, AppServer, wait_until
from tests.replica.conftest import DB_NAME, PGBOUNCER_PORT, PRIMARY_PORT, Cluster, Seed, _isbn13, sql, url

pytestmark = [pytest.mark.replica, pytest.mark.slow, pytest.mark.requires_redis]


def _bouncer_servers() -> int:
    """Server connections PgBouncer holds to the store's database (from its admin console)."""
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(PGBOUNCER_PORT), "-U", "postgres", "-d", "pgbouncer", "-AtF|", "-c",
         "SHOW SERVERS"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return sum(1 for line in result.stdout.splitlines() if f"|{DB_NAME}|" in line)


@pytest.fixture(scope="module")
def warm_pool(cluster: Cluster) -> None:
    """Both pooled server connections exist, so transactions alternate between them."""
    # Two transactions open at once take a server connection each; PgBouncer keeps both.
    clients = [
        psycopg.connect(host="127.0.0.1", port=PGBOUNCER_PORT, user="postgres", dbname=DB_NAME) for _ in range(2)
    ]
    try:
        for client in clients:
            client.execute("SELECT 1")
        for client in clients:
            client.commit()  # a server connection left inside a transaction would be dropped
    finally:
        for client in clients:
            client.close()
    wait_until(lambda: _bouncer_servers() >= 2, timeout=10, interval=0.2, message="PgBouncer's two server connections")


@pytest.fixture(scope="module")
def pooled_server(cluster: Cluster, warm_pool: None) -> AppServer:
    return cluster.start_server(workers=2, DATABASE_URL=url(PGBOUNCER_PORT), DATABASE_POOLER="pgbouncer")


@pytest.fixture(scope="module")
def seeded(cluster: Cluster) -> Seed:
    return cluster.seed(books=2, customers=4)


def _export(cluster: Cluster, **extra: str) -> subprocess.CompletedProcess[str]:
    env = cluster.env(DATABASE_URL=url(PGBOUNCER_PORT), **extra)
    return subprocess.run(
        [PYTHON, "manage.py", "export_books", "--format", "jsonl"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_http_flows_behind_pgbouncer(cluster: Cluster, pooled_server: AppServer, seeded: Seed):
    seed = seeded
    server = pooled_server

    def shop(token: str) -> list[int]:
        statuses = []
        with requests.Session() as client:
            client.headers.update(Seed.auth(token))
            for index in range(5):
                book = seed.books[index % 2]
                listing = client.get(f"{server.url}/api/v1/books", params={"ordering": "-price"}, timeout=15)
                detail = client.get(f"{server.url}/api/v1/books/{book}", timeout=15)
                order = client.post(
                    f"{server.url}/api/v1/orders", json={"items": [{"book_id": book, "quantity": 1}]}, timeout=15
                )
                mine = client.get(f"{server.url}/api/v1/orders", timeout=15)
                statuses += [listing.status_code, detail.status_code, order.status_code, mine.status_code]
        return statuses

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(shop, seed.customers))

    assert all(statuses == [200, 200, 201, 200] * 5 for statuses in results), results
    # 20 orders of one copy each (3 of the first book and 2 of the second per customer), none lost or doubled.
    stocks = sql(PRIMARY_PORT, "SELECT stock FROM books WHERE id = ANY(%s) ORDER BY id", seed.books)
    assert stocks == [(100 - 12,), (100 - 8,)]
    # Every worker kept its connection to PgBouncer, yet PostgreSQL saw only the pool's two sessions.
    assert _bouncer_servers() == 2


def test_streaming_export_behind_pgbouncer(cluster: Cluster, warm_pool: None, seeded: Seed):
    """``iterator()`` (export_books, the admin's CSV export) reads through PgBouncer with DATABASE_POOLER set."""
    expected = sql(PRIMARY_PORT, "SELECT count(*) FROM books")[0][0]

    exported = _export(cluster, DATABASE_POOLER="pgbouncer")
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == expected >= 2

    # Without it Django reads through a server-side cursor declared WITH HOLD in one
    # transaction and fetched in the next: on another server connection, where it does not exist.
    broken = _export(cluster, DATABASE_POOLER="")
    assert broken.returncode != 0
    assert "does not exist" in broken.stderr


def test_import_through_pgbouncer_stages_each_batch_inside_its_transaction(cluster: Cluster, warm_pool: None, tmp_path):
    """The COPY import's staging tables are ``ON COMMIT DROP``: batch after batch, on alternating server sessions."""
    rows = ["isbn,title,authors,price,stock,language"]
    isbns = [_isbn13(900_000 + n) for n in range(250)]
    rows += [f"{isbn},Pooled Title {n},Pat Pooler,12.50,{n % 7},en" for n, isbn in enumerate(isbns)]
    source = tmp_path / "pooled.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def run_import() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "manage.py", "import_books", str(source), "--batch-size", "40"],
            cwd=ROOT, env=cluster.env(DATABASE_URL=url(PGBOUNCER_PORT), DATABASE_POOLER="pgbouncer"),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    first = run_import()
    assert first.returncode == 0, first.stderr
    again = run_import()  # the same file twice: every row found again, none doubled
    assert again.returncode == 0, again.stderr

    imported = sql(PRIMARY_PORT, "SELECT count(*), sum(stock) FROM books WHERE isbn = ANY(%s)", isbns)
    assert imported == [(250, sum(n % 7 for n in range(250)))]
    # The stock ledger agrees with the books (each book's stock is the sum of its movements).
    drift = sql(
        PRIMARY_PORT,
        "SELECT count(*) FROM books b WHERE b.isbn = ANY(%s) AND b.stock <>"
        " (SELECT coalesce(sum(m.delta), 0) FROM stock_movements m WHERE m.book_id = b.id)",
        isbns,
    )
    assert drift == [(0,)]
    assert _bouncer_servers() == 2
