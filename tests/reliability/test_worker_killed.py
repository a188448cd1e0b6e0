"""A gunicorn worker is SIGKILLed while it is inside the order transaction.

The test settings honour ``ORDER_PLACE_TEST_DELAY`` (from the env var
``BOOKSTORE_TEST_ORDER_PLACE_DELAY``): order placement sleeps after it has
reserved stock and written the order, before the transaction commits. The
production settings never define it, so production cannot be slowed down this
way. The test kills the worker during that sleep.

Invariant (nothing lost, nothing half-done): the killed request left no order,
no order line, no idempotency record and no stock change; the client, which saw
its connection drop, retries at once with the same ``Idempotency-Key`` and
gets exactly one order.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from tests.reliability.harness import wait_until
from tests.reliability.http import call

pytestmark = [pytest.mark.slow, pytest.mark.requires_postgres, pytest.mark.requires_redis]

STATE_CODE = """
from catalog.models import Book
from orders.models import IdempotencyKey, Order, OrderItem, StatusChange
result = {
    "stock": {str(b.pk): b.stock for b in Book.objects.all()},
    "orders": sorted(Order.objects.values_list("pk", flat=True)),
    "items": OrderItem.objects.count(),
    "history": StatusChange.objects.count(),
    "keys": list(IdempotencyKey.objects.values_list("key", "response_status")),
}
"""

DELAY_SECONDS = 5


def _open_transactions(stack: Any) -> list[tuple[Any, ...]]:
    """Sessions of the app that are inside a transaction that has already written something."""
    return stack.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'idle in transaction' "
        "AND backend_xid IS NOT NULL",
        stack.db_name,
    )


def test_worker_killed_mid_order_leaves_no_partial_order(stack):
    seed = stack.seed(stocks=[5, 7])
    first, second = seed.books
    server = stack.start_server(
        workers=1, settings="bookstore.test_settings", BOOKSTORE_TEST_ORDER_PLACE_DELAY=str(DELAY_SECONDS)
    )
    body = {"items": [{"book_id": first["id"], "quantity": 2}, {"book_id": second["id"], "quantity": 3}]}
    headers = {"Idempotency-Key": "kill-me-once"}
    token = seed.customers[0]["token"]
    outcome: dict[str, Any] = {}

    def place() -> None:
        try:
            outcome["response"] = call("POST", f"{server.url}/api/v1/orders", token=token, headers=headers, json=body)
        except requests.RequestException as exc:
            outcome["error"] = exc

    client = threading.Thread(target=place)
    client.start()
    try:
        # The worker is asleep inside the transaction once its session holds uncommitted writes.
        # Found within a poll or two of entering the pause, long before the pause ends.
        wait_until(lambda: _open_transactions(stack), timeout=30, message="the order transaction")
        (worker,) = server.worker_pids()
        server.kill_worker(worker)
    finally:
        client.join(timeout=30)

    assert "error" in outcome, "the client must see its connection drop, not a response"
    # PostgreSQL rolls the dead worker's transaction back as soon as its socket closes.
    wait_until(lambda: not _open_transactions(stack), timeout=10, message="the rollback")
    state = stack.exec(STATE_CODE)
    assert state["stock"] == {str(first["id"]): 5, str(second["id"]): 7}
    # The key's claim lives in the order transaction too: nothing blocks the retry below.
    assert (state["orders"], state["items"], state["history"], state["keys"]) == ([], 0, 0, [])

    # gunicorn replaced the worker; the client's retry with the same key places the order exactly once.
    server.wait_ready()
    assert server.worker_pids() != [worker]
    retried = call("POST", f"{server.url}/api/v1/orders", token=token, headers=headers, json=body, timeout=30)
    assert retried.status_code == 201, retried.text
    replayed = call("POST", f"{server.url}/api/v1/orders", token=token, headers=headers, json=body, timeout=30)
    assert replayed.status_code == 201
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.json()["id"] == retried.json()["id"]

    state = stack.exec(STATE_CODE)
    assert state["stock"] == {str(first["id"]): 3, str(second["id"]): 4}
    assert state["orders"] == [retried.json()["id"]]
    assert state["items"] == 2
    assert state["keys"] == [["kill-me-once", 201]]
