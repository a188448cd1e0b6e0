"""Catalog reads against a real streaming replica (a ``pg_basebackup -R`` copy of the primary).

To tell which server answered, the tests pause WAL replay on the replica
(``pg_wal_replay_pause()``): from then on the replica shows the catalog as it
was, while writes change the primary. A read that shows the old value came
from the replica; one that shows the new value came from the primary.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import struct
import time
from collections import Counter

import pytest
import requests

from tests.reliability.harness import AppServer, TcpProxy
from tests.replica.conftest import DB_NAME, PRIMARY_PORT, REPLICA_PORT, Cluster, Seed, sql, url

pytestmark = [pytest.mark.replica, pytest.mark.slow, pytest.mark.requires_redis]

PIN_SECONDS = 3
METRICS_TOKEN = "replica-tests-metrics-token"


@pytest.fixture(scope="module")
def server(cluster: Cluster) -> AppServer:
    """Two gunicorn workers reading the catalog from the replica, writing to the primary.

    These tests prove where each database read goes, so the stored catalog documents (always filled from the
    primary, ``catalog.readcache``) are off: every book read reaches the database router.
    """
    return cluster.start_server(
        workers=2,
        CATALOG_CACHE_SECONDS="0",
        DATABASE_REPLICA_URLS=url(REPLICA_PORT),
        DATABASE_REPLICA_PIN_SECONDS=str(PIN_SECONDS),
        DATABASE_REPLICA_RETRY_SECONDS="2",
        METRICS_TOKEN=METRICS_TOKEN,
    )


def _queries(server: AppServer) -> Counter[tuple[str, str]]:
    """Statements run so far by the server's workers, by database alias and kind (its /metrics)."""
    response = requests.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert response.status_code == 200
    counts: Counter[tuple[str, str]] = Counter()
    for match in re.finditer(
        r'^bookstore_db_queries_total\{alias="([^"]+)",statement="([^"]+)"\} ([0-9.e+]+)$', response.text, re.M
    ):
        counts[(match[1], match[2])] += float(match[3])
    return counts


@pytest.fixture(scope="module")
def seeded(cluster: Cluster) -> Seed:
    return cluster.seed(books=5, customers=1)


def _title(server, book_id: int, **kwargs) -> str:
    response = requests.get(f"{server.url}/api/v1/books/{book_id}", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["title"]


def _stock(server, book_id: int, **kwargs) -> int:
    response = requests.get(f"{server.url}/api/v1/books/{book_id}", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["stock"]


def _rename_on_primary(book_id: int, title: str) -> None:
    sql(PRIMARY_PORT, "UPDATE books SET title = %s WHERE id = %s", title, book_id)


def test_the_harness_replica_is_a_streaming_standby(cluster: Cluster):
    assert sql(REPLICA_PORT, "SELECT pg_is_in_recovery()")[0][0] is True
    assert sql(PRIMARY_PORT, "SELECT pg_is_in_recovery()")[0][0] is False
    states = sql(PRIMARY_PORT, "SELECT state FROM pg_stat_replication")
    assert states == [("streaming",)]


def test_catalog_reads_land_on_the_replica(cluster: Cluster, server: AppServer, seeded: Seed):
    book = seeded.books[0]
    assert _title(server, book).startswith("Replica book")
    isbn = requests.get(f"{server.url}/api/v1/books/{book}", timeout=10).json()["isbn"]

    cluster.pause_replay()
    _rename_on_primary(book, "Renamed on the primary")
    before = _queries(server)

    # Anonymous readers (nothing written) are answered by the replica, which has not replayed the rename.
    for _ in range(4):  # both workers, list and detail
        assert _title(server, book).startswith("Replica book")
        # Other modules' books share the cluster: the list is narrowed to this book by its ISBN.
        listing = requests.get(f"{server.url}/api/v1/books", params={"isbn": isbn}, timeout=10)
        assert listing.status_code == 200
        titles = {item["id"]: item["title"] for item in listing.json()["results"]}
        assert titles[book].startswith("Replica book")
    # The app holds its (persistent) connections on the replica, and counts its catalog queries there.
    assert cluster.replica_sessions() >= 1
    after = _queries(server)
    assert after[("replica1", "select")] - before[("replica1", "select")] >= 8, (before, after)

    cluster.resume_replay()


def test_writes_go_to_the_primary_and_the_writer_reads_its_own_writes(
    cluster: Cluster, server: AppServer, seeded: Seed
):
    book, other = seeded.books[1:3]
    staff = Seed.auth(seeded.staff)
    customer = Seed.auth(seeded.customers[0])
    cluster.pause_replay()

    # A write through the API succeeds: it ran on the primary (the replica is read-only and would refuse it).
    response = requests.patch(
        f"{server.url}/api/v1/books/{book}", json={"title": "Edited by staff"}, headers=staff, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Edited by staff"
    assert sql(PRIMARY_PORT, "SELECT title FROM books WHERE id = %s", book) == [("Edited by staff",)]
    assert sql(REPLICA_PORT, "SELECT title FROM books WHERE id = %s", book)[0][0].startswith("Replica book")

    # The writer's next reads (same credentials, no cookies kept) go to the primary, on every worker ...
    for _ in range(4):
        assert _title(server, book, headers=staff) == "Edited by staff"
    # ... while a caller who wrote nothing still reads the replica.
    assert _title(server, book).startswith("Replica book")

    # A customer's order takes stock on the primary; the customer sees it at once, others see the replica.
    order = requests.post(
        f"{server.url}/api/v1/orders", json={"items": [{"book_id": other, "quantity": 3}]}, headers=customer, timeout=10
    )
    assert order.status_code == 201, order.text
    assert _stock(server, other, headers=customer) == 97
    assert _stock(server, other) == 100

    # A browser-like client that wrote is pinned by a cookie.
    browser = requests.Session()
    response = browser.patch(
        f"{server.url}/api/v1/books/{book}", json={"title": "Edited again"}, headers=staff, timeout=10
    )
    assert response.status_code == 200
    assert "db_primary_until" in browser.cookies
    _rename_on_primary(other, "Renamed behind the API")
    assert _title(server, other, cookies=browser.cookies) == "Renamed behind the API"
    assert _title(server, other).startswith("Replica book")

    # The pin lasts DATABASE_REPLICA_PIN_SECONDS; then the writer reads the replica again.
    time.sleep(PIN_SECONDS + 0.5)
    assert _title(server, book, headers=staff).startswith("Replica book")

    # Nothing was ever written on the replica: no statement but SELECT ran there, and it replays the primary.
    counts = _queries(server)
    # The two PATCHes are UPDATEs; the order's inserts, and its stock taken in one WITH ... UPDATE ... INSERT
    # statement (counted by its outermost verb), are INSERTs.
    assert counts[("default", "update")] >= 2
    assert counts[("default", "insert")] >= 2
    assert {kind for alias, kind in counts if alias == "replica1"} == {"select"}
    cluster.resume_replay()
    assert sql(REPLICA_PORT, "SELECT title FROM books WHERE id = %s", book) == [("Edited again",)]
    assert sql(REPLICA_PORT, "SELECT stock FROM books WHERE id = %s", other) == [(97,)]


def test_reads_fall_back_to_the_primary_when_the_replica_stops(cluster: Cluster, server: AppServer, seeded: Seed):
    book = seeded.books[3]
    for _ in range(4):  # every worker holds a connection to the replica
        assert _title(server, book).startswith("Replica book")
    assert cluster.replica_sessions() >= 1

    cluster.stop_replica()
    _rename_on_primary(book, "Written while the replica is down")
    statuses = []
    for _ in range(10):
        detail = requests.get(f"{server.url}/api/v1/books/{book}", timeout=10)
        listing = requests.get(f"{server.url}/api/v1/books", timeout=10)
        statuses += [detail.status_code, listing.status_code]
        assert detail.json()["title"] == "Written while the replica is down"
    assert statuses == [200] * 20

    # Back up: after DATABASE_REPLICA_RETRY_SECONDS the replica serves reads again.
    cluster.start_replica()
    cluster.wait_replica_caught_up()
    time.sleep(2.5)
    for _ in range(4):
        assert _title(server, book) == "Written while the replica is down"
    assert cluster.replica_sessions() >= 1


class QueryKillingProxy(TcpProxy):
    """A proxy to the replica that, once armed, resets the connection carrying the next query on ``books``.

    The connection checks (``SELECT 1``) pass, so the replica looks healthy when the
    request picks it and dies under the catalog query: a replica lost mid-request.
    """

    armed = False

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(a, selectors.EVENT_READ)
                selector.register(b, selectors.EVENT_READ)
                while True:
                    for key, _ in selector.select(timeout=1.0):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(65536)
                        if not data:
                            return
                        if self.armed and source is a and b'"books"' in data:
                            for sock in (a, b):
                                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                            return
                        peers[source].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()


def test_a_replica_lost_during_a_request_is_answered_from_the_primary(cluster: Cluster, seeded: Seed):
    book = seeded.books[4]
    proxy = QueryKillingProxy("127.0.0.1", REPLICA_PORT)
    proxy.start()
    try:
        server = cluster.start_server(
            workers=1,
            CATALOG_CACHE_SECONDS="0",  # every read reaches the router (see ``server``)
            DATABASE_REPLICA_URLS=f"postgres://postgres@127.0.0.1:{proxy.port}/{DB_NAME}",
            DATABASE_REPLICA_RETRY_SECONDS="30",
        )
        assert _title(server, book).startswith("Replica book")  # the worker now holds a replica connection
        cluster.pause_replay()
        _rename_on_primary(book, "Read from the primary after the replica died")
        assert _title(server, book).startswith("Replica book")  # still the replica

        proxy.armed = True
        response = requests.get(f"{server.url}/api/v1/books/{book}", timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["title"] == "Read from the primary after the replica died"
        assert any(r.get("message") == "replica failed during a request; serving it from the primary"
                   for r in server.log_records())  # fmt: skip
        # The replica is left alone for DATABASE_REPLICA_RETRY_SECONDS: no further failures, no 5xx.
        for _ in range(3):
            assert _title(server, book) == "Read from the primary after the replica died"
        server.stop()
    finally:
        proxy.stop()
