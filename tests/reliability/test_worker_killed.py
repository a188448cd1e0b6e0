"""A gunicorn worker is SIGKILLed while it is inside the order transaction.

The pause comes from the database, not from the app: the test installs a
trigger that makes the insert of an order's first status change wait for an
advisory lock the test holds (``Stack.pause_order_placement``). By then the
request has claimed its idempotency key, taken the stock and written the order
and its lines, none of it committed. The test kills the worker while it waits,
then releases the lock. The app runs with the production settings.

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


def _paused_order(stack: Any) -> list[tuple[Any, ...]]:
    """App sessions inside a transaction that has written something, waiting for the test's lock."""
    return stack.sql(
        "SELECT pid, query FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
        "AND wait_event = 'advisory' AND backend_xid IS NOT NULL",
        stack.db_name,
    )


def _open_transactions(stack: Any) -> list[tuple[Any, ...]]:
    """App sessions inside a transaction that has written something (this query's own session aside)."""
    return stack.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
        stack.db_name,
    )


def test_worker_killed_mid_order_leaves_no_partial_order(stack):
    seed = stack.seed(stocks=[5, 7])
    first, second = seed.books
    stack.pause_order_placement()
    server = stack.start_server(workers=1)
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
    with stack.order_placement_held():
        client.start()
        try:
            # The worker waits inside its transaction once the order and its lines are written.
            ((_, query),) = wait_until(lambda: _paused_order(stack), timeout=30, message="the order transaction")
            # The trigger on the status change holds the statement that writes the order with its rows
            # (pg_stat_activity shows its first kilobyte: the order's part).
            assert query.startswith('WITH inserted_0 AS (INSERT INTO "orders"'), query[:200]
            (worker,) = server.worker_pids()
            server.kill_worker(worker)
        finally:
            client.join(timeout=30)

    assert "error" in outcome, "the client must see its connection drop, not a response"
    # Released, the orphaned session finds its client gone and PostgreSQL rolls its transaction back.
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
