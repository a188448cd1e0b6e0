"""Redis goes away under a running server, then comes back.

Promises (API.md): without the shared cache the API keeps serving (catalog
reads, order placement), rate limits fail open for that moment with a logged
warning, and ``/readyz`` names the cache. Once Redis is back the limits hold
again.
"""

from __future__ import annotations

import pytest

from tests.reliability.http import call

pytestmark = [pytest.mark.slow, pytest.mark.requires_postgres, pytest.mark.requires_redis]

STATE_CODE = """
from catalog.models import Book
from orders.models import Order
result = {
    "stock": {str(b.pk): b.stock for b in Book.objects.all()},
    "orders": sorted(Order.objects.values_list("pk", flat=True)),
}
"""

AUTH_LIMIT = 3


def test_cache_outage_keeps_serving_and_fails_open(stack):
    seed = stack.seed(stocks=[10])
    book_id = seed.books[0]["id"]
    customer = seed.customers[0]
    server = stack.start_server(workers=1, AUTH_RATE_LIMIT=f"{AUTH_LIMIT}/minute")
    credentials = {"email": customer["email"], "password": seed.password}
    assert call("GET", f"{server.url}/api/v1/books").status_code == 200  # warm the cache connection

    stack.redis_proxy.cut()

    ready = call("GET", f"{server.url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "cache": "unavailable", "broker": "ok"}

    assert call("GET", f"{server.url}/api/v1/books").status_code == 200
    assert call("GET", f"{server.url}/api/v1/books/{book_id}").status_code == 200
    assert call("GET", f"{server.url}/api/v1/books?search=reliability").status_code == 200
    order_ids = []
    for key in ("cache-down-1", "cache-down-2"):
        placed = call(
            "POST",
            f"{server.url}/api/v1/orders",
            token=customer["token"],
            headers={"Idempotency-Key": key},
            json={"items": [{"book_id": book_id, "quantity": 2}]},
        )
        assert placed.status_code == 201, placed.text
        order_ids.append(placed.json()["id"])
    # Fail open: more logins than the limit allows all succeed while the counters are unreachable.
    for _ in range(AUTH_LIMIT + 2):
        login = call("POST", f"{server.url}/api/v1/auth/token", json=credentials)
        assert login.status_code == 200, login.text
    warnings = [
        record
        for record in server.log_records()
        if record.get("level") == "WARNING" and record.get("logger") != "bookstore.health"
    ]
    assert warnings, "the rate limiter must log that it failed open"
    assert any("rate limit" in record["message"].lower() for record in warnings), warnings

    stack.redis_proxy.restore()

    assert call("GET", f"{server.url}/readyz").json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    statuses = [
        call("POST", f"{server.url}/api/v1/auth/token", json=credentials).status_code for _ in range(AUTH_LIMIT + 1)
    ]
    assert statuses == [200] * AUTH_LIMIT + [429]

    # Nothing lost: both orders exist and took their stock once.
    state = stack.exec(STATE_CODE)
    assert state["orders"] == sorted(order_ids)
    assert state["stock"] == {str(book_id): 6}
    request_statuses = [r.get("status") for r in server.log_records() if r.get("message") == "request"]
    assert 500 not in request_statuses
