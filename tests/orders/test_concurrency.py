"""Orders under real concurrency: threads, each with its own database connection.

``transaction=True`` so every request commits for real and the threads see
each other's writes. On SQLite the test database is a file in WAL mode with
IMMEDIATE transactions (bookstore.test_settings), so writers queue on the
busy timeout exactly as gunicorn workers do; on PostgreSQL the row locks decide.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from catalog.ledger import ledger_mismatches
from catalog.models import Book
from orders.models import IdempotencyKey, Order, OrderItem
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, CouponFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _stock_equals_its_ledger() -> Iterator[None]:
    """After every concurrent run, each book's stock is still the sum of its movements."""
    yield
    assert ledger_mismatches() == []


URL = "/api/v1/orders"
START_TIMEOUT = 30
RESULT_TIMEOUT = 120

T = TypeVar("T")
R = TypeVar("R")


def run_together(task: Callable[[T], R], args: Sequence[T]) -> list[R]:
    """Run ``task(arg)`` for every arg in its own thread, all released at once by a barrier."""
    barrier = threading.Barrier(len(args))

    def run(arg: T) -> R:
        try:
            barrier.wait(timeout=START_TIMEOUT)
            return task(arg)
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        futures = [pool.submit(run, arg) for arg in args]
        return [future.result(timeout=RESULT_TIMEOUT) for future in futures]


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def post_order(client: APIClient, items: list[tuple[int, int]], **extra: Any) -> tuple[int, Any]:
    data: dict[str, Any] = {"items": [{"book_id": b, "quantity": q} for b, q in items]}
    if "coupon_code" in extra:
        data["coupon_code"] = extra.pop("coupon_code")
    response = client.post(URL, data, format="json", **extra)
    return response.status_code, response


def test_forty_one_copy_orders_on_stock_ten_sell_exactly_ten():
    book = BookFactory(stock=10)
    clients = [client_for(UserFactory()) for _ in range(40)]

    results = run_together(lambda client: post_order(client, [(book.pk, 1)]), clients)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 30}, statuses
    for status, response in results:
        if status == 409:
            assert response.json()["error"]["code"] == "insufficient_stock"
    assert Book.objects.get(pk=book.pk).stock == 0
    assert Order.objects.count() == 10
    assert sum(OrderItem.objects.values_list("quantity", flat=True)) == 10


def test_coupon_max_uses_holds_under_concurrency():
    book = BookFactory(stock=100)
    coupon = CouponFactory(code="FIVE-ONLY", max_uses=5)
    clients = [client_for(UserFactory()) for _ in range(20)]

    results = run_together(lambda client: post_order(client, [(book.pk, 1)], coupon_code="five-only"), clients)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 5, 400: 15}, statuses
    for status, response in results:
        if status == 400:
            assert response.json()["error"]["code"] == "invalid_coupon"
    assert Order.objects.filter(coupon=coupon).count() == 5
    assert Order.objects.count() == 5
    assert Book.objects.get(pk=book.pk).stock == 95


def test_twenty_concurrent_requests_with_one_key_place_one_order():
    book = BookFactory(stock=50)
    client = client_for(UserFactory())

    def place(_: int) -> tuple[int, Any]:
        # One APIClient per thread; they share the user's token.
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"])
        return post_order(own, [(book.pk, 2)], HTTP_IDEMPOTENCY_KEY="one-key-many-requests")

    results = run_together(place, range(20))

    assert Order.objects.count() == 1
    assert Book.objects.get(pk=book.pk).stock == 48
    assert IdempotencyKey.objects.count() == 1
    order_id = Order.objects.get().pk
    originals = 0
    for status, response in results:
        if status == 201:
            assert response.json()["id"] == order_id
            originals += response.get("Idempotent-Replayed") != "true"
        else:
            assert status == 409, response.content
            assert response.json()["error"]["code"] == "idempotency_request_in_progress"
    assert originals == 1


def test_orders_over_the_same_books_in_opposite_line_order_never_deadlock():
    first, second = BookFactory(stock=100), BookFactory(stock=100)
    orders = [[(first.pk, 1), (second.pk, 1)], [(second.pk, 1), (first.pk, 1)]] * 10
    user = UserFactory()

    def place(items: list[tuple[int, int]]) -> int:
        return order_place(user=user, items=[OrderLine(book_id=b, quantity=q) for b, q in items]).pk

    placed = run_together(place, orders)

    assert len(set(placed)) == 20
    assert [b.stock for b in Book.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk")] == [80, 80]


def test_cancels_and_new_orders_over_the_same_books_never_deadlock():
    first, second = BookFactory(stock=1000), BookFactory(stock=1000)
    user = UserFactory()
    client = client_for(user)
    token = client._credentials["HTTP_AUTHORIZATION"]
    to_cancel = []
    for i in range(15):
        to_cancel.append(post_order(client, [(first.pk, 1), (second.pk, 1)])[1].json()["id"])
        # Single-book orders in between shuffle where the rows' current versions
        # sit on disk, so an unordered UPDATE would meet them in either order.
        post_order(client, [(second.pk, 1)] if i % 2 else [(first.pk, 1)])
    jobs: list[tuple[str, Any]] = [("cancel", order_id) for order_id in to_cancel]
    jobs += [
        ("place", [(first.pk, 1), (second.pk, 1)] if i % 2 else [(second.pk, 1), (first.pk, 1)]) for i in range(15)
    ]

    def run(job: tuple[str, Any]) -> int:
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=token)
        kind, arg = job
        if kind == "cancel":
            return own.post(f"{URL}/{arg}/cancel").status_code
        return post_order(own, arg)[0]

    statuses = run_together(run, jobs)

    assert statuses == [200] * 15 + [201] * 15
    # 1000 - 8 and 1000 - 7 single-book orders, plus 15 new two-book orders
    assert [b.stock for b in Book.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk")] == [977, 978]


def test_concurrent_cancels_of_one_order_restore_stock_once():
    book = BookFactory(stock=10)
    user = UserFactory()
    order = order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=4)])
    token = f"Bearer {RefreshToken.for_user(user).access_token}"

    def cancel(_: int) -> int:
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=token)
        return own.post(f"{URL}/{order.pk}/cancel").status_code

    statuses = Counter(run_together(cancel, range(8)))

    assert statuses == {200: 1, 409: 7}, statuses
    assert Book.objects.get(pk=book.pk).stock == 10
    assert Order.objects.get(pk=order.pk).status_changes.count() == 2


def test_stock_restocked_while_an_order_waits_for_the_lock_is_taken_from_the_restock(user):
    """PostgreSQL's one-statement reserve: its snapshot predates a restock committed while it waited for the lock.

    The goods-in holds the book's lock with 5 new copies, uncommitted; the
    reserve of 2 starts (its snapshot still says 0) and waits; the goods-in
    commits. The refused line's locked row says 5 now, so it is taken again:
    no false ``insufficient_stock``, and the ledger still adds up (autouse check).
    """
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement reserve is PostgreSQL's (set DATABASE_URL)")
    import time

    from django.db import transaction

    from catalog.ledger import StockNote
    from catalog.models import StockMovement
    from catalog.services import stock_receive, stock_reserve

    book = BookFactory(stock=0)
    locked = threading.Event()

    def restock() -> None:
        try:
            with transaction.atomic():
                stock_receive(counts={book.pk: 5}, by=None, reference="late delivery")
                locked.set()
                with connection.cursor() as cursor:
                    for _ in range(200):  # until the reserve waits on the book's lock (10 s at most)
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.05)
        finally:
            connection.close()

    holder = threading.Thread(target=restock)
    holder.start()
    assert locked.wait(timeout=START_TIMEOUT)
    with transaction.atomic():
        taken = stock_reserve(
            quantities={book.pk: 2}, fields=("price",), sale=StockNote(kind=StockMovement.Kind.SALE, reference="R-1")
        )
    holder.join(timeout=RESULT_TIMEOUT)
    assert taken[book.pk].stock == 3
    book.refresh_from_db()
    assert book.stock == 3
    assert list(StockMovement.objects.filter(book=book).order_by("id").values_list("kind", "delta", "stock_after")) == [
        (StockMovement.Kind.GOODS_IN, 5, 5),
        (StockMovement.Kind.SALE, -2, 3),
    ]
