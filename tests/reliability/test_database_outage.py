"""PostgreSQL goes away under a running server, then comes back.

Promises (API.md): while the database is unreachable the API answers
``503 service_unavailable`` with ``Retry-After`` and never a 500; ``/readyz``
names the database; the same process serves again once the database is back
(persistent connections are health-checked, ``CONN_HEALTH_CHECKS``); a request
that failed wrote nothing.
"""

from __future__ import annotations

import pytest

from tests.reliability.http import admin_session, assert_service_unavailable, call

pytestmark = [pytest.mark.slow, pytest.mark.requires_postgres, pytest.mark.requires_redis]

STATE_CODE = """
from catalog.models import Book
from orders.models import Order
result = {
    "stock": {str(b.pk): b.stock for b in Book.objects.all()},
    "orders": sorted(Order.objects.values_list("pk", flat=True)),
}
"""


def _api_probes(url: str, book_id: int, token: str) -> list[tuple[str, str, dict]]:
    order = {"json": {"items": [{"book_id": book_id, "quantity": 1}]}, "token": token}
    return [
        ("GET", f"{url}/api/v1/books", {}),
        ("GET", f"{url}/api/v1/books/{book_id}", {"token": token}),  # a signed-in read always goes to the database
        ("GET", f"{url}/api/v1/books?search=reliability", {}),
        ("GET", f"{url}/api/v1/authors", {}),
        ("GET", f"{url}/api/v1/users/me", {"token": token}),
        ("GET", f"{url}/api/v1/orders", {"token": token}),
        ("POST", f"{url}/api/v1/orders", order),
        ("POST", f"{url}/api/v1/orders", {**order, "headers": {"Idempotency-Key": "outage-1"}}),
    ]


def test_database_outage_answers_503_then_same_process_recovers(stack):
    seed = stack.seed(stocks=[5])
    book_id = seed.books[0]["id"]
    token = seed.customers[0]["token"]
    server = stack.start_server(workers=1)
    # Warm up: the worker now holds a persistent connection (CONN_MAX_AGE=60) that the cut will break.
    assert call("GET", f"{server.url}/api/v1/books/{book_id}").status_code == 200
    assert call("GET", f"{server.url}/api/v1/users/me", token=token).status_code == 200
    admin = admin_session(server.url, seed.staff["email"], seed.password)
    workers_before = server.worker_pids()
    before = stack.exec(STATE_CODE)

    stack.db_proxy.cut()

    # The book's stored document (rendered by the warm-up, no write since) still answers anonymous readers.
    cached = call("GET", f"{server.url}/api/v1/books/{book_id}")
    assert cached.status_code == 200
    assert cached.json()["id"] == book_id
    for method, url, kwargs in _api_probes(server.url, book_id, token):
        assert_service_unavailable(call(method, url, **kwargs))
    ready = call("GET", f"{server.url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "unavailable", "cache": "ok", "broker": "ok"}
    assert int(ready.headers["Retry-After"]) > 0
    assert call("GET", f"{server.url}/healthz").status_code == 200  # alive, just not ready
    # Outside the API (a staff member in the admin) an outage is a plain 503 too, not a 500 page.
    admin_page = admin.get(f"{server.url}/admin/", timeout=20)
    assert admin_page.status_code == 503
    assert int(admin_page.headers["Retry-After"]) > 0

    stack.db_proxy.restore()

    # The very first request after the outage succeeds, in the same worker: no restart needed.
    assert call("GET", f"{server.url}/api/v1/books/{book_id}").status_code == 200
    assert call("GET", f"{server.url}/readyz").json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert admin.get(f"{server.url}/admin/", timeout=20).status_code == 200
    created = call(
        "POST", f"{server.url}/api/v1/orders", token=token, json={"items": [{"book_id": book_id, "quantity": 1}]}
    )
    assert created.status_code == 201, created.text
    # Idempotency-Key used during the outage stored nothing: the same key now places a fresh order.
    keyed = call(
        "POST",
        f"{server.url}/api/v1/orders",
        token=token,
        headers={"Idempotency-Key": "outage-1"},
        json={"items": [{"book_id": book_id, "quantity": 1}]},
    )
    assert keyed.status_code == 201, keyed.text
    assert keyed.headers.get("Idempotent-Replayed") != "true"
    assert server.worker_pids() == workers_before

    # Nothing lost, nothing invented: the two 503 orders left no trace, the two 201 orders exist.
    after = stack.exec(STATE_CODE)
    assert after["orders"] == sorted([*before["orders"], created.json()["id"], keyed.json()["id"]])
    assert after["stock"] == {str(book_id): 3}
    statuses = [r.get("status") for r in server.log_records() if r.get("message") == "request"]
    assert 500 not in statuses
    assert statuses.count(503) >= len(_api_probes(server.url, book_id, token)) + 1


def test_server_started_while_database_is_down_serves_once_it_returns(stack):
    seed = stack.seed(stocks=[2])
    book_id = seed.books[0]["id"]
    stack.db_proxy.cut()
    server = stack.start_server(workers=1)  # boots without touching the database

    assert_service_unavailable(call("GET", f"{server.url}/api/v1/books"))
    assert_service_unavailable(call("GET", f"{server.url}/api/v1/orders", token=seed.customers[0]["token"]))
    assert call("GET", f"{server.url}/readyz").status_code == 503

    stack.db_proxy.restore()

    response = call("GET", f"{server.url}/api/v1/books")
    assert response.status_code == 200
    assert [book["id"] for book in response.json()["results"]] == [book_id]
    assert call("GET", f"{server.url}/readyz").status_code == 200
