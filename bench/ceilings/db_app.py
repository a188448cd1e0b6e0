"""Ceiling P: the database round trip with nothing around it.

A bare WSGI callable: ``GET /book?id=N`` fetches that book row by primary key
with raw psycopg over one persistent connection per worker process (opened
lazily, so after gunicorn forks) and returns it as JSON. With
``BENCH_DATABASE_URL`` pointing at an SQLite file it uses sqlite3 instead.

``GET /sql?name=facets&i=N`` runs statement N of that name from the JSON file
``BENCH_CEILING_SQL`` (the statements the store runs for a scenario, captured
by ``bench.fixtures browse-sql``) and returns its rows: the raw-SQL ceiling of
the same query.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

COLUMNS = "id, isbn, title, subtitle, publisher, published_date, language, page_count, price, stock, is_active"
DATABASE_URL = os.environ["BENCH_DATABASE_URL"]

_connection: Any = None


def _connect() -> Any:
    if DATABASE_URL.startswith("sqlite:"):
        import sqlite3

        return sqlite3.connect(urlsplit(DATABASE_URL).path, check_same_thread=False)
    import psycopg

    return psycopg.connect(DATABASE_URL, autocommit=True)


def _fetch(book_id: int) -> dict[str, Any] | None:
    global _connection
    if _connection is None:
        _connection = _connect()
    placeholder = "?" if DATABASE_URL.startswith("sqlite:") else "%s"
    cursor = _connection.execute(f"SELECT {COLUMNS} FROM books WHERE id = {placeholder}", (book_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c.strip() for c in COLUMNS.split(",")], row, strict=True))


_statements: dict[str, list[str]] | None = None


def _run_sql(name: str, index: int) -> list[Any] | None:
    global _connection, _statements
    if _statements is None:
        path = os.environ.get("BENCH_CEILING_SQL", "")
        _statements = orjson.loads(Path(path).read_bytes()) if path else {}
    statements = _statements.get(name) or []
    if not statements:
        return None
    if _connection is None:
        _connection = _connect()
    return [list(row) for row in _connection.execute(statements[index % len(statements)]).fetchall()]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/sql":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            index = int(query.get("i", ["0"])[0])
        except ValueError:
            index = 0
        rows = _run_sql(query.get("name", [""])[0], index)
        body = b'{"error": "not found"}' if rows is None else orjson.dumps({"rows": rows}, default=str)
        start_response(
            "404 Not Found" if rows is None else "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]
    try:
        book_id = int(parse_qs(environ.get("QUERY_STRING", "")).get("id", ["0"])[0])
    except ValueError:
        book_id = 0
    book = _fetch(book_id)
    if book is None:
        body, status = b'{"error": "not found"}', "404 Not Found"
    else:
        body, status = orjson.dumps(book, default=str), "200 OK"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
