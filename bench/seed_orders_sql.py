"""Seed a PostgreSQL database with a big store in set-based SQL: 100,000 books and 1,000,000 orders.

``seed_demo`` goes through the services (realistic, but hours at this size);
this writes the tables directly with ``generate_series``, a few statements in
all, for the admin page timings (``bench/admin_pages.py``). Orders spread over
the last 365 days, two lines each, with recorded tax lines, coupons on 5 %.

    createdb -h 127.0.0.1 -U postgres bench_backoffice
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_backoffice
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/seed_orders_sql.py --books 100000 --orders 1000000
    .venv/bin/python manage.py sales_rollup_refresh --rebuild
    .venv/bin/python bench/admin_pages.py --runs 5 --target-ms 1000 --output bench/results/admin-1m.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STATEMENTS = [
    # The sales rollup's row triggers would mark 3,000,000 rows one by one: off for the seeding (a superuser's
    # session setting), and one NULL mark at the end asks the next refresh for a full rebuild instead.
    "SET session_replication_role = replica",
    "TRUNCATE sales_days, sales_book_days, sales_book_to_date, sales_coupon_days, sales_tax_days, sales_rollup_dirty",
    "TRUNCATE order_status_changes, order_items, payments, orders, stock_movements, book_genres, book_authors,"
    " book_search, books, works, authors, genres RESTART IDENTITY CASCADE",
    "INSERT INTO authors (name, bio, created_at, updated_at)"
    " SELECT 'Author ' || i, '', now(), now() FROM generate_series(1, %(authors)s) i",
    "INSERT INTO genres (name, slug, created_at, updated_at)"
    " SELECT 'Genre ' || i, 'genre-' || i, now(), now() FROM generate_series(1, 20) i",
    # One work per edition (every book belongs to a work).
    "INSERT INTO works (title, created_at) SELECT 'Book ' || i, now() FROM generate_series(1, %(books)s) i",
    "INSERT INTO books (isbn, title, subtitle, description, publisher, language, price, stock, is_active,"
    " created_at, updated_at, format, preorder_allowance, publication_status, work_id, recent_sales)"
    " SELECT '979' || lpad(i::text, 10, '0'), 'Book ' || i, '', '', 'Bench Press', 'en',"
    " (5 + (i %% 40))::numeric(10,2), (i %% 50), true, now(), now(), 'paperback', 0, 'active', i, 0"
    " FROM generate_series(1, %(books)s) i",
    "INSERT INTO book_authors (book_id, author_id, position, role)"
    " SELECT id, 1 + (id %% %(authors)s), 0, 'author' FROM books",
    "INSERT INTO book_genres (book_id, genre_id) SELECT id, 1 + (id %% 20) FROM books",
    "INSERT INTO stock_movements (book_id, kind, delta, stock_after, at, reason, reference)"
    " SELECT id, 'opening', stock, stock, now(), 'bench', '' FROM books WHERE stock <> 0",
    # 1,000 customers (any existing user works as the owner; the bench needs none of their details).
    "INSERT INTO users (password, is_superuser, email, first_name, last_name, is_staff, is_active,"
    " date_joined) SELECT '!', false, 'bench' || i || '@example.com', '', '', false, true, now()"
    " FROM generate_series(1, 1000) i ON CONFLICT DO NOTHING",
    "INSERT INTO orders (number, user_id, status, subtotal, discount_total, total, coupon_code, discounts,"
    " fulfilment, shipping_method_name, shipping, tax, carrier, tracking_number, created_at, updated_at)"
    " SELECT 'BK-B-' || lpad(i::text, 8, '0'), (SELECT min(id) FROM users) + (i %% 1000),"
    " (ARRAY['pending','paid','shipped','delivered','delivered','delivered','cancelled'])[1 + i %% 7],"
    " 30.00, CASE WHEN i %% 20 = 0 THEN 3.00 ELSE 0 END, CASE WHEN i %% 20 = 0 THEN 27.00 ELSE 30.00 END,"
    " CASE WHEN i %% 20 = 0 THEN 'BENCH10' ELSE '' END, '[]'::jsonb, 'pickup', '', 0,"
    ' \'[{"rate": "7.00", "label": "VAT", "amount": "1.96"}]\'::jsonb, \'\', \'\','
    " now() - ((i %% 365) || ' days')::interval - ((i %% 1440) || ' minutes')::interval, now()"
    " FROM generate_series(1, %(orders)s) i",
    "INSERT INTO order_items (order_id, book_id, isbn, title, unit_price, quantity, line_total, is_preorder)"
    " SELECT o.id, b.id, b.isbn, b.title, 15.00, 1, 15.00, false FROM orders o"
    " CROSS JOIN LATERAL (VALUES (1 + (o.id * 7919) %% %(books)s), (1 + (o.id * 104729) %% %(books)s)) AS pick(n)"
    " JOIN books b ON b.id = pick.n ON CONFLICT DO NOTHING",
    "SET session_replication_role = origin",
    "INSERT INTO sales_rollup_dirty (order_created_at) VALUES (NULL)",
    "ANALYZE",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Set-based seeding needs PostgreSQL (DATABASE_URL).")
    params = {"books": args.books, "orders": args.orders, "authors": max(args.books // 10, 1)}
    with connection.cursor() as cursor:
        for statement in STATEMENTS:
            start = time.perf_counter()
            cursor.execute(statement, params)
            print(f"{time.perf_counter() - start:7.1f} s  {statement[:70]}")


if __name__ == "__main__":
    main()
