"""Two app servers (two gunicorn masters on different ports) share one PostgreSQL and one Redis.

What a load balancer in front of them relies on: stock is never oversold
whichever server takes an order, the auth rate limit is one global budget, and
a token issued by one server is honoured (and revoked) on the other.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.http import call

pytestmark = [pytest.mark.slow, pytest.mark.requires_postgres, pytest.mark.requires_redis]

STATE_CODE = """
from catalog.models import Book
from orders.models import Order, OrderItem
result = {
    "stock": {str(b.pk): b.stock for b in Book.objects.all()},
    "orders": sorted(Order.objects.values_list("pk", flat=True)),
    "units": sum(OrderItem.objects.values_list("quantity", flat=True)),
}
"""


def test_concurrent_orders_across_two_servers_never_oversell(stack):
    stock = 12
    seed = stack.seed(stocks=[stock], customers=4)
    book_id = seed.books[0]["id"]
    servers = [stack.start_server(workers=2), stack.start_server(workers=2)]
    attempts = 30
    targets = list(itertools.islice(itertools.cycle(servers), attempts))
    tokens = list(itertools.islice(itertools.cycle([c["token"] for c in seed.customers]), attempts))

    def place(index: int):
        return call(
            "POST",
            f"{targets[index].url}/api/v1/orders",
            token=tokens[index],
            json={"items": [{"book_id": book_id, "quantity": 1}]},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(place, range(attempts)))

    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 409]
    assert len(created) + len(refused) == attempts, sorted({r.status_code for r in responses})
    assert len(created) == stock
    assert {r.json()["error"]["code"] for r in refused} == {"insufficient_stock"}
    # Both servers took orders, so the race really ran across processes.
    served_by = {targets[i].port for i, r in enumerate(responses) if r.status_code == 201}
    assert len(served_by) == 2
    state = stack.exec(STATE_CODE)
    assert state["stock"] == {str(book_id): 0}
    assert state["orders"] == sorted(r.json()["id"] for r in created)
    assert state["units"] == stock


def test_auth_rate_limit_is_one_budget_across_servers(stack):
    limit = 4
    seed = stack.seed(stocks=[1])
    servers = [stack.start_server(AUTH_RATE_LIMIT=f"{limit}/minute") for _ in range(2)]
    credentials = {"email": seed.customers[0]["email"], "password": seed.password}

    statuses = [
        call("POST", f"{server.url}/api/v1/auth/token", json=credentials).status_code
        for server in itertools.islice(itertools.cycle(servers), limit + 2)
    ]

    # Each server saw at most limit/2 + 1 requests: only a shared counter can refuse them.
    assert statuses == [200] * limit + [429, 429]
    refused = call("POST", f"{servers[0].url}/api/v1/auth/token", json=credentials)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) > 0


def test_tokens_issued_by_one_server_work_on_the_other(stack):
    seed = stack.seed(stocks=[1])
    first, second = stack.start_server(), stack.start_server()
    credentials = {"email": seed.customers[0]["email"], "password": seed.password}

    issued = call("POST", f"{first.url}/api/v1/auth/token", json=credentials)
    assert issued.status_code == 200, issued.text
    tokens = issued.json()

    me = call("GET", f"{second.url}/api/v1/users/me", token=tokens["access"])
    assert me.status_code == 200
    assert me.json()["email"] == credentials["email"]

    # Refresh on the second server; the rotated-out token is dead on the first one too.
    refreshed = call("POST", f"{second.url}/api/v1/auth/token/refresh", json={"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    reused = call("POST", f"{first.url}/api/v1/auth/token/refresh", json={"refresh": tokens["refresh"]})
    assert reused.status_code == 401

    # Logout on the first server revokes the new refresh token for the second one as well.
    new = refreshed.json()
    logout = call("POST", f"{first.url}/api/v1/auth/logout", token=new["access"], json={"refresh": new["refresh"]})
    assert logout.status_code == 204
    assert call("POST", f"{second.url}/api/v1/auth/token/refresh", json={"refresh": new["refresh"]}).status_code == 401
