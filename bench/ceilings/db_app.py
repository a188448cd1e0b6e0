"""Ceiling P: the database round trip with nothing around it.

A bare WSGI callable: ``GET /book?id=N`` fetches that book row by primary key
with raw psycopg over one persistent connection per worker process (opened
lazily, so after gunicorn forks) and returns it as JSON. With
``BENCH_DATABASE_URL`` pointing at an SQLite file it uses sqlite3 instead.

``GET /search?q=words`` is the raw-SQL ceiling of a search: the same two
statements the app's search needs at least (the count, exact up to 10,000,
and the first page of 20 ranked among a bounded candidate set, as
``catalog.search`` does on PostgreSQL), with nothing around them. For a typo
query, ``q`` is the corrected query.

``GET /sql?name=facets&i=N`` runs statement N of that name from the JSON file
``BENCH_CEILING_SQL`` (the statements the store runs for a scenario, captured
by ``bench.fixtures browse-sql``; a request's several statements are one entry,
separated by ``;`` and a newline, run in turn) and returns the last one's rows:
the raw-SQL ceiling of the same request.
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


_TSQUERY = "plainto_tsquery('bookstore_english', unaccent(%s))"
_PG_COUNT = f"SELECT count(*) FROM book_search_ids({_TSQUERY}, true, 10001) AS ids"
_PG_ESTIMATE = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM book_search WHERE document @@ {_TSQUERY} AND is_active"
_PG_PAGE = """
    SELECT b.id, b.title, b.price FROM books b JOIN book_search s ON s.book_id = b.id
    WHERE b.id IN (SELECT * FROM {function}({tsquery}, true, 500))
    ORDER BY ts_rank(s.document, {tsquery}) DESC, b.recent_sales DESC, b.title, b.id LIMIT 20
"""
_SQLITE_COUNT = (
    "SELECT count(*) FROM (SELECT 1 FROM book_search JOIN books b ON b.id = book_search.rowid"
    " WHERE book_search MATCH ? AND b.is_active LIMIT 10001)"
)
_SQLITE_PAGE = (
    "SELECT b.id, b.title, b.price FROM book_search JOIN books b ON b.id = book_search.rowid"
    " WHERE book_search MATCH ? AND b.is_active ORDER BY bm25(book_search), b.title, b.id LIMIT 20"
)


def _search(query: str) -> dict[str, Any]:
    global _connection
    if _connection is None:
        _connection = _connect()
    if DATABASE_URL.startswith("sqlite:"):
        words = " ".join('"' + word.replace('"', '""') + '"' for word in query.split()) or '""'
        count = _connection.execute(_SQLITE_COUNT, (words,)).fetchone()[0]
        rows = _connection.execute(_SQLITE_PAGE, (words,)).fetchall()
    else:  # as catalog.search: a word the planner expects in 50,000 books or more is estimated, not counted
        plan = _connection.execute(_PG_ESTIMATE, (query,)).fetchone()[0]
        estimate = int((plan if isinstance(plan, list) else orjson.loads(plan))[0]["Plan"]["Plan Rows"])
        broad = estimate >= 50_000
        count = estimate if broad else _connection.execute(_PG_COUNT, (query,)).fetchone()[0]
        function = "book_search_scan_ids" if broad else "book_search_ids"
        page = _PG_PAGE.format(function=function, tsquery=_TSQUERY)
        rows = _connection.execute(page, (query, query)).fetchall()
    return {"count": count, "results": [{"id": r[0], "title": r[1], "price": r[2]} for r in rows]}


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
    rows: list[Any] = []
    for statement in statements[index % len(statements)].split(";\n"):  # a request's statements, in turn
        rows = [list(row) for row in _connection.execute(statement).fetchall()]
    return rows


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/search":
        query = parse_qs(environ.get("QUERY_STRING", "")).get("q", [""])[0]
        body = orjson.dumps(_search(query), default=str)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
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
