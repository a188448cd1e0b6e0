"""The Django side of a benchmark run: accounts, tokens, stock, checks.

Run by ``bench/run.py`` as ``python -m bench.fixtures <command>`` with the
production settings pointed at the benchmark database; prints one JSON object.
Everything it creates goes through the store's own models and services, the
way an operator would set up a load test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Max, Min, Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import ApiKey, User  # noqa: E402
from accounts.services import api_key_create  # noqa: E402
from catalog.models import Author, Book, Genre  # noqa: E402
from orders.models import Order, OrderItem  # noqa: E402
from orders.selectors import shipping_method_list  # noqa: E402

STAFF_EMAIL = "bench-staff@bench.bookstore.local"
LOGIN_EMAIL = "bench-login@bench.bookstore.local"
CUSTOMER_EMAIL = "bench-customer-{n}@bench.bookstore.local"
PASSWORD = "bench-Password-2026!"
MARKER = "BENCH_FIXTURE_JSON "
ORDER_BOOKS = 10
# Enough for a run at several hundred orders a second (about 3 units each) with its warm-up: a book running out
# would turn placements into cheaper 409s.
ORDER_STOCK = 20000
# A postal code of the right form for the store's country, for the delivered orders of the order scenario.
BENCH_POSTAL_CODES = {"DE": "10117", "FR": "75005", "GB": "SW1A 1AA", "NL": "1012 AB", "US": "10001", "CA": "K1A 0B1"}
_STOPWORDS_TEXT = (
    "a about above after again against all also among an and any are as at be because been before being "
    "below between both but by can could did do does doing down during each few for from further had has "
    "have having he her here hers him his how i if in into is it its itself just me more most my no nor "
    "not now of off on once only or other our out over own same she should so some such than that the "
    "their them then there these they this those through to too under until up very was we were what when "
    "where which while who whom why will with would you your"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))


def _user(email: str, *, staff: bool = False, password: str | None = None) -> User:
    # Staff here is a superuser: the admin pages must render in full, not answer 403 for lack of permissions.
    user, _ = User.objects.update_or_create(
        email=email, defaults={"is_staff": staff, "is_superuser": staff, "first_name": "Bench"}
    )
    if password is not None and not user.check_password(password):
        user.password = make_password(password)  # the production hasher: Argon2id
        user.save(update_fields=["password"])
    return user


def _access_token(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


def _search_count(client: Client, term: str) -> int:
    response = client.get("/api/v1/books", {"search": term, "page_size": 1}, HTTP_HOST="127.0.0.1")
    if response.status_code != 200:
        raise RuntimeError(f"search {term!r} answered {response.status_code}: {response.content[:300]!r}")
    return int(response.json()["count"])


def _pages(client: Client, params: dict[str, Any]) -> int:
    """How many pages of 20 the list has with these filters."""
    response = client.get("/api/v1/books", {**params, "page_size": 20}, HTTP_HOST="127.0.0.1")
    return max(1, -(-int(response.json()["count"]) // 20))


def _search_terms(client: Client, rng: random.Random) -> dict[str, Any]:
    """A selective term (an author's full name: a handful of books) and a very broad one.

    The broad term is the word found in the most descriptions, counted over the
    distinct descriptions weighted by how many books use each.
    """
    author = Author.objects.annotate(n=Count("books")).filter(n__gte=2).order_by("id").first()
    selective = author.name if author else Book.objects.order_by("id").values_list("title", flat=True).first() or ""
    words: Counter[str] = Counter()
    for description, count in Book.objects.values_list("description").annotate(n=Count("id")).order_by("-n")[:2000]:
        for word in set(re.findall(r"[a-z]{4,}", description.lower())) - STOPWORDS:
            words[word] += count
    broad = words.most_common(1)[0][0] if words else "the"
    return {
        "selective": selective,
        "selective_count": _search_count(client, selective),
        "broad": broad,
        "broad_count": _search_count(client, broad),
    }


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Accounts, an API key, request targets and search terms for every scenario."""
    rng = random.Random(args.seed)
    staff = _user(STAFF_EMAIL, staff=True, password=PASSWORD)
    _user(LOGIN_EMAIL, password=PASSWORD)
    for n in range(args.customers):
        _user(CUSTOMER_EMAIL.format(n=n))
    ApiKey.objects.filter(owner=staff).delete()
    # With a quota (far above what a run makes), so every call takes the counting path in Redis.
    api_key = api_key_create(owner=staff, name="benchmark", daily_quota=2_000_000_000).key

    active_ids = list(Book.objects.filter(is_active=True).values_list("id", flat=True).order_by("id"))
    detail_ids = sorted(rng.sample(active_ids, min(len(active_ids), args.sample)))
    genre = Genre.objects.annotate(n=Count("books")).order_by("-n", "id").values_list("slug", flat=True).first()
    bounds = Book.objects.aggregate(lo=Min("price"), hi=Max("price"))
    client = Client()
    filtered = {
        name: _pages(client, params)
        for name, params in (
            ("genre_price", {"genre": genre, "in_stock": "true", "min_price": "10", "max_price": "30"}),
            ("language", {"language": "en"}),
        )
    }
    return {
        "filtered_pages": filtered,
        "books": Book.objects.count(),
        "active_books": len(active_ids),
        "detail_ids": detail_ids,
        "apikey_book_id": detail_ids[len(detail_ids) // 2],
        "genre": genre,
        "price_range": [str(bounds["lo"]), str(bounds["hi"])],
        "staff_email": STAFF_EMAIL,
        "login_email": LOGIN_EMAIL,
        "password": PASSWORD,
        "api_key": api_key,
        "staff_jwt": str(RefreshToken.for_user(staff).access_token),
        "search": _search_terms(client, rng),
    }


def orders_reset(args: argparse.Namespace) -> dict[str, Any]:
    """Give the order scenario's books exactly ``ORDER_STOCK`` copies; fresh customer tokens.

    Returns the high-water mark of order ids so the check afterwards counts
    only the orders of this run.
    """
    ids = list(
        Book.objects.filter(is_active=True, price__gt=0).order_by("id").values_list("id", flat=True)[:ORDER_BOOKS]
    )
    with transaction.atomic():
        Book.objects.filter(id__in=ids).update(stock=ORDER_STOCK)
    customers = User.objects.filter(email__startswith="bench-customer-").order_by("id")
    country = settings.STORE_COUNTRY
    method = shipping_method_list(country=country).first()
    address = {
        "name": "Bench Customer",
        "line1": "1 Bench Street",
        "city": "Bench",
        "postal_code": BENCH_POSTAL_CODES.get(country, "12345"),
        "country": country,
    }
    return {
        # Delivered orders go to a shop-country address by the cheapest method serving it (none: pickup only).
        "shipping": {"shipping_address": address, "shipping_method_id": method.pk} if method else None,
        "book_ids": ids,
        "stock": ORDER_STOCK,
        "since_order_id": Order.objects.aggregate(m=Max("id"))["m"] or 0,
        "tokens": [_access_token(user) for user in customers],
    }


def orders_verify(args: argparse.Namespace) -> dict[str, Any]:
    """Units sold since the mark equal the stock consumed; no stock below zero."""
    ids = json.loads(args.book_ids)
    items = OrderItem.objects.filter(order_id__gt=args.since, book_id__in=ids)
    sold = items.exclude(order__status=Order.Status.CANCELLED).aggregate(n=Sum("quantity"))["n"] or 0
    stock = Book.objects.filter(id__in=ids).aggregate(n=Sum("stock"), lo=Min("stock"))
    consumed = ORDER_STOCK * len(ids) - (stock["n"] or 0)
    return {
        "orders": Order.objects.filter(id__gt=args.since).count(),
        "order_lines": items.count(),
        "units_sold": sold,
        "stock_consumed": consumed,
        "min_stock": stock["lo"],
        "consistent": sold == consumed and (stock["lo"] or 0) >= 0,
        "negative_stock_books": Book.objects.filter(stock__lt=0).count(),
    }


def query_counts(args: argparse.Namespace) -> dict[str, Any]:
    """Queries per request for the list at page sizes 20 and 100 (constant is the goal)."""
    client = Client()
    out: dict[str, Any] = {}
    for name, params in (
        ("list", {}),
        ("list_filtered", {"in_stock": "true", "ordering": "-published_date"}),
        ("search", {"search": args.term}),
    ):
        for size in (20, 100):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/api/v1/books", {**params, "page_size": size}, HTTP_HOST="127.0.0.1")
            out[f"{name}_{size}"] = {"status": response.status_code, "queries": len(ctx.captured_queries)}
    staff = User.objects.get(email=STAFF_EMAIL)
    client.force_login(staff)
    for name, path in (("admin_changelist", "/admin/catalog/book/"), ("admin_dashboard", "/admin/")):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path, HTTP_HOST="127.0.0.1")
            elapsed = time.perf_counter() - started
        out[name] = {
            "status": response.status_code,
            "queries": len(ctx.captured_queries),
            "in_process_ms": round(elapsed * 1000, 1),
        }
    return out


def auth_overhead(args: argparse.Namespace) -> dict[str, Any]:
    """Median time of the same detail request anonymous, with the API key and with a JWT, interleaved in-process.

    Interleaving puts all three under the same machine load, so the
    difference is the credential's cost and little else: for the key one
    Redis round trip (the cached key checked and the call counted,
    ``accounts.key_cache``); for the JWT the signature check, the user's
    query and the denylist read. Besides wall time: CPU time of the thread
    (less sensitive to other processes, though not immune), and the SQL
    queries and Redis commands of one request of each kind, which do not
    depend on the load at all.

    The harness runs this with ``CATALOG_CACHE_SECONDS=0``: with the stored
    documents on, the anonymous request is answered before DRF runs while a
    staff key or JWT reads through DRF, so the difference would be the cache's.
    ``documents`` in the result says which it was.
    """
    import redis

    client = Client()
    path = f"/api/v1/books/{args.book_id}"
    callers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "apikey": {"HTTP_AUTHORIZATION": f"Api-Key {args.api_key}"},
    }
    if args.jwt:
        callers["jwt"] = {"HTTP_AUTHORIZATION": f"Bearer {args.jwt}"}
    timings: dict[str, list[float]] = {name: [] for name in callers}
    cpu: dict[str, list[float]] = {name: [] for name in callers}
    names = list(callers)
    for i in range(args.n + 20):
        for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate who goes first
            started = time.perf_counter()
            started_cpu = time.thread_time()
            response = client.get(path, HTTP_HOST="127.0.0.1", **callers[name])
            elapsed_cpu = (time.thread_time() - started_cpu) * 1000
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code} to {name}")
            if name == "apikey" and "X-RateLimit-Remaining" not in response:
                raise RuntimeError("the API-key response has no X-RateLimit-* headers")
            if i >= 20:  # warm-up
                timings[name].append(elapsed)
                cpu[name].append(elapsed_cpu)
    # One more request of each kind, its SQL queries and Redis commands counted.
    sent: list[str] = []
    original = redis.Redis.execute_command

    def counting(self: Any, *command: Any, **options: Any) -> Any:
        sent.append(str(command[0]))
        return original(self, *command, **options)

    per_request: dict[str, dict[str, Any]] = {}
    redis.Redis.execute_command = counting  # type: ignore[method-assign]
    try:
        for name in names:
            sent.clear()
            with CaptureQueriesContext(connection) as queries:
                client.get(path, HTTP_HOST="127.0.0.1", **callers[name])
            per_request[name] = {"queries": len(queries), "redis_commands": list(sent)}
    finally:
        redis.Redis.execute_command = original  # type: ignore[method-assign]
    p50 = {name: statistics.median(values) for name, values in timings.items()}
    cpu50 = {name: statistics.median(values) for name, values in cpu.items()}
    out: dict[str, Any] = {
        "samples": args.n,
        "documents": "on" if int(settings.CATALOG_CACHE_SECONDS) > 0 else "off",
        "anonymous_p50_ms": round(p50["anonymous"], 3),
        "apikey_p50_ms": round(p50["apikey"], 3),
        "overhead_p50_ms": round(p50["apikey"] - p50["anonymous"], 3),
        "anonymous_cpu_p50_ms": round(cpu50["anonymous"], 3),
        "apikey_cpu_p50_ms": round(cpu50["apikey"], 3),
        "cpu_overhead_p50_ms": round(cpu50["apikey"] - cpu50["anonymous"], 3),
        "per_request": per_request,
    }
    if "jwt" in p50:
        out["jwt_p50_ms"] = round(p50["jwt"], 3)
        out["jwt_overhead_p50_ms"] = round(p50["jwt"] - p50["anonymous"], 3)
        out["jwt_cpu_p50_ms"] = round(cpu50["jwt"], 3)
        out["jwt_cpu_overhead_p50_ms"] = round(cpu50["jwt"] - cpu50["anonymous"], 3)
    return out


def browse_sql(args: argparse.Namespace) -> dict[str, Any]:
    """The SQL the store runs for facets of ``--term`` and for suggestions of each ``--prefixes``.

    Captured from the real requests (facets cache off), with their values
    inlined as PostgreSQL's psycopg sends them: ceiling P runs the very same
    statements (for facets, all of the request's, in turn), so the store's
    overhead over its database shows.
    """
    client = Client()
    out: dict[str, Any] = {"facets": [], "suggest": []}
    requests = [("facets", "/api/v1/books/facets", {"search": args.term})] + [
        ("suggest", "/api/v1/search/suggest", {"q": prefix}) for prefix in args.prefixes.split(",") if prefix
    ]
    for name, path, params in requests:
        with override_settings(CATALOG_FACETS_CACHE_SECONDS=0), CaptureQueriesContext(connection) as ctx:
            response = client.get(path, params, HTTP_HOST="127.0.0.1")
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.content[:300]!r}")
        if name == "facets":
            # Every statement of the request in turn (the search's estimate, the counts, the count of the
            # matches beyond the sample): ceiling P runs them as one script.
            out[name].append(";\n".join(query["sql"] for query in ctx.captured_queries))
        else:
            out[name].append(ctx.captured_queries[-1]["sql"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--customers", type=int, default=50)
    p.add_argument("--sample", type=int, default=2000)
    sub.add_parser("orders-reset")
    v = sub.add_parser("orders-verify")
    v.add_argument("--book-ids", required=True)
    v.add_argument("--since", type=int, required=True)
    a = sub.add_parser("auth-overhead")
    a.add_argument("--book-id", type=int, required=True)
    a.add_argument("--api-key", required=True)
    a.add_argument("--jwt", default="", help="an access token, to time the same request with a JWT too")
    a.add_argument("--n", type=int, default=300)
    q = sub.add_parser("query-counts")
    q.add_argument("--term", default="river")
    b = sub.add_parser("browse-sql")
    b.add_argument("--term", required=True)
    b.add_argument("--prefixes", required=True, help="comma-separated suggestion prefixes")
    args = parser.parse_args()
    handler = {
        "prepare": prepare,
        "orders-reset": orders_reset,
        "orders-verify": orders_verify,
        "query-counts": query_counts,
        "auth-overhead": auth_overhead,
        "browse-sql": browse_sql,
    }[args.command]
    # The store logs requests to stdout too; the marker tells the harness which line is ours.
    sys.stdout.write(MARKER + json.dumps(handler(args)) + "\n")


if __name__ == "__main__":
    main()
