"""Server time of the busiest admin pages on a big store.

Renders each page in-process with Django's test client as a logged-in
superuser (DEBUG off, production settings), several times, and reports the
median and p95 wall time per page, excluding the first (warm-up) run, plus the
number of SQL queries the page runs. The dashboard is measured twice: "cold"
(its cache cleared before every request, so it is computed) and "warm".

    # a big store first (PostgreSQL), e.g. 100,000 books and 20,000 orders:
    createdb -h 127.0.0.1 -U postgres bookstore_admin_big
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bookstore_admin_big
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --books 100000 --orders 20080
    psql -h 127.0.0.1 -U postgres bookstore_admin_big -c "VACUUM ANALYZE"
    .venv/bin/python bench/admin_pages.py --runs 10 --output bench/results/admin.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300.0
BENCH_EMAIL = "admin-bench@bookstore.local"


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")
    os.environ.setdefault("SECRET_KEY", "admin-bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _pages() -> list[tuple[str, str, bool]]:
    """(name, url, clear the dashboard cache before each request)."""
    from django.utils import timezone

    from orders.models import Order

    order = Order.objects.order_by("id").select_related("user").only("number", "user__email").first()
    number = order.number if order else "BK-0000-000000"
    email = order.user.email if order else "nobody@example.com"
    order_id = order.pk if order else 0
    today = timezone.localdate()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = f"start={last_month_end.replace(day=1)}&end={last_month_end}&granularity=day"
    year = f"start={today - timedelta(days=364)}&end={today}&granularity=month"
    return [
        ("dashboard (cold, computed)", "/admin/", True),
        ("dashboard (warm, cached)", "/admin/", False),
        ("book changelist", "/admin/catalog/book/", False),
        ("book changelist, search", "/admin/catalog/book/?q=silent+river", False),
        ("book changelist, low stock, by price", "/admin/catalog/book/?stock_level=low&o=4", False),
        ("order changelist", "/admin/orders/order/", False),
        ("order changelist, status filter", "/admin/orders/order/?status__exact=paid", False),
        ("order changelist, search by number", f"/admin/orders/order/?q={number}", False),
        ("order changelist, search by email", f"/admin/orders/order/?q={email}", False),
        (
            "order changelist, paid, one month (totals)",
            f"/admin/orders/order/?payment=succeeded&{last_month.replace('start', 'created_at__gte').replace('end', 'created_at__lt').split('&granularity')[0]}",
            False,
        ),
        ("order desk page", f"/admin/orders/order/{order_id}/change/", False),
        ("packing slip", f"/admin/orders/order/{order_id}/packing-slip/", False),
        ("sales report, last 30 days by day", "/admin/orders/order/reports/", False),
        ("sales report, last month by day", f"/admin/orders/order/reports/?{last_month}", False),
        ("sales report, last 365 days by month", f"/admin/orders/order/reports/?{year}", False),
        ("sales report CSV, last month top books", f"/admin/orders/order/reports/?{last_month}&export=books", False),
        ("stock ledger changelist", "/admin/catalog/stockmovement/", False),
        ("coupon changelist", "/admin/orders/coupon/", False),
        ("author changelist", "/admin/catalog/author/", False),
        (
            "author autocomplete (book form)",
            "/admin/autocomplete/?app_label=catalog&model_name=bookauthor&field_name=author&term=smi",
            False,
        ),
    ]


def measure(runs: int, only: str = "", target_ms: float = TARGET_MS) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Book
    from orders.dashboard import dashboard_get
    from orders.models import Order

    user_model = get_user_model()
    user = user_model.objects.filter(email=BENCH_EMAIL).first() or user_model.objects.create_superuser(
        email=BENCH_EMAIL, password=None
    )
    client = Client()
    client.force_login(user)

    load_before = os.getloadavg()
    results = []
    for name, url, cold in _pages():
        if only and only not in name:
            continue
        timings = []
        load_at_start = os.getloadavg()[0]
        for _ in range(runs + 1):
            if cold:
                cache.clear()
            else:
                dashboard_get()  # the warm case: cached by an earlier request
            start = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)  # type: ignore[union-attr]
            timings.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        measured = sorted(timings[1:])
        results.append(
            {
                "page": name,
                "url": url,
                "median_ms": round(statistics.median(measured), 1),
                "p95_ms": round(measured[max(0, round(0.95 * len(measured)) - 1)], 1),
                "min_ms": round(measured[0], 1),
                "max_ms": round(measured[-1], 1),
                "queries": len(queries.captured_queries),
                "under_target": statistics.median(measured) < target_ms,
                "load_average_1m": round(load_at_start, 2),
            }
        )
        print(
            f"{name:40} median {results[-1]['median_ms']:7.1f} ms  p95 {results[-1]['p95_ms']:7.1f} ms  "
            f"{results[-1]['queries']:3d} queries  load {load_at_start:.1f}"
        )

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            db_version = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            db_version = f"{connection.vendor} {connection.Database.sqlite_version}"
    import django

    return {
        "benchmark": "admin pages, server time in-process (Django test client, superuser, DEBUG=false)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": db_version,
        "django": django.get_version(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        # The machine is shared: a load average far above cpu_count inflates every number.
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "books": Book.objects.count(),
        "orders": Order.objects.count(),
        "runs_per_page": runs,
        "warmup_runs_excluded": 1,
        "target_ms": target_ms,
        "pages": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="Measured runs per page (after one warm-up).")
    parser.add_argument("--output", type=Path, help="Write the results as JSON to this file.")
    parser.add_argument("--only", default="", help="Measure only the pages whose name contains this.")
    parser.add_argument("--target-ms", type=float, default=TARGET_MS, help="The per-page target (median).")
    args = parser.parse_args()
    _setup_django()
    report = measure(args.runs, args.only, args.target_ms)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
