"""Prometheus metrics: request and query counting, and the token-protected ``/metrics`` view.

The metric objects live in ``telemetry.metrics`` (below every app, so domain
code can count into them). This module wires them into Django: a middleware
that counts every request by route, a database execute wrapper that counts
every statement, and the scrape endpoint, which sums all gunicorn workers when
``PROMETHEUS_MULTIPROC_DIR`` is set and adds values read at scrape time.
"""

from __future__ import annotations

import contextvars
import functools
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from bookstore.broker import queue_depths
from telemetry.metrics import DB_QUERIES, HTTP_REQUEST_DURATION, HTTP_REQUEST_QUERIES, HTTP_REQUESTS

GetResponse = Callable[[HttpRequest], HttpResponse]

logger = logging.getLogger("bookstore.metrics")

# Statements run by the current request; None outside a request (workers, commands).
_request_queries: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("request_queries", default=None)

_STATEMENTS = ("select", "insert", "update", "delete")
UNMATCHED_ROUTE = "<unmatched>"
STATIC_ROUTE = "<static>"

# --- Requests -------------------------------------------------------------------


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (``book-detail``, ``admin:index``), never the raw path.

    Raw paths would make one time series per book id; paths that match no
    pattern (404s, static files) share one label each.
    """
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or UNMATCHED_ROUTE
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return STATIC_ROUTE
    return UNMATCHED_ROUTE


class MetricsMiddleware:
    """Count every response by route, method and status, with its latency and query count.

    Outermost in ``MIDDLEWARE``, so responses made by other middleware (413,
    503, static files) are counted too.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = [0]
        token = _request_queries.set(queries)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _request_queries.reset(token)
        elapsed = time.perf_counter() - started
        method = request.method if request.method in _METHODS else "other"
        requests, duration, statements = _request_series(route_of(request), method, response.status_code)
        requests.inc()
        duration.observe(elapsed)
        statements.observe(queries[0])
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# ``labels()`` checks and looks up its arguments on every call; the series of a (route, method, status) are
# the same objects every time (routes are pattern names, so there are a few hundred at most).
@functools.lru_cache(maxsize=2048)
def _request_series(route: str, method: str, status: int) -> tuple[Any, Any, Any]:
    """The request counter, duration histogram and statements histogram of one route, method and status."""
    labels = {"route": route, "method": method, "status": str(status)}
    return HTTP_REQUESTS.labels(**labels), HTTP_REQUEST_DURATION.labels(**labels), HTTP_REQUEST_QUERIES.labels(route)


@functools.lru_cache(maxsize=256)
def _query_series(alias: str, kind: str) -> Any:
    return DB_QUERIES.labels(alias=alias, statement=kind)


# --- Database ---------------------------------------------------------------------


def _statement_kind(sql: str) -> str:
    head = sql.lstrip()[:10].lower()
    for kind in _STATEMENTS:
        if head.startswith(kind):
            return kind
    if head.startswith("with"):
        if len(sql) <= _KNOWN_STATEMENT_MAX:
            return _known_common_table_statement_kind(sql)
        return _common_table_statement_kind(sql.lower())
    return "other"


# A request's ``WITH`` statements are a few texts run again and again (their values are parameters): each
# text's kind is found once. Longer texts (bulk statements) are examined every time rather than kept.
_KNOWN_STATEMENT_MAX = 8192


@functools.lru_cache(maxsize=256)
def _known_common_table_statement_kind(sql: str) -> str:
    return _common_table_statement_kind(sql.lower())


_TOKENS = re.compile(r"\(|\)|\b(?:select|insert|update|delete)\b")
_WRITING_CTE = re.compile(r"\bas\s+(?:not\s+)?(?:materialized\s+)?\(\s*(insert|update|delete)\b")


def _common_table_statement_kind(sql: str) -> str:
    """A ``WITH`` statement's kind: its outermost verb, after the parenthesised common table expressions.

    ``WITH taken AS (UPDATE ... RETURNING ...) INSERT INTO ...`` is an insert. One whose outermost verb is
    ``SELECT`` but whose expressions write (``WITH taken AS (UPDATE ...) SELECT ...``) is counted by the
    first writing expression, so a statement that writes is never counted as a read.
    """
    depth = 0
    outermost = "other"
    for token in _TOKENS.finditer(sql):
        word = token.group(0)
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        elif depth == 0:
            outermost = word
            break
    if outermost in ("select", "other"):
        writing = _WRITING_CTE.search(sql)
        if writing is not None:
            return writing.group(1)
    return outermost


def count_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Execute wrapper: count the statement, for the process and for the current request."""
    _query_series(context["connection"].alias, _statement_kind(sql)).inc()
    queries = _request_queries.get()
    if queries is not None:
        queries[0] += 1
    return execute(sql, params, many, context)


def install_query_counter(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: count every statement on every connection, once."""
    if count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(count_query)


# --- Scrape -----------------------------------------------------------------------


class BrokerCollector:
    """Task queue depth and broker reachability, read from the broker when Prometheus scrapes."""

    def collect(self) -> Iterable[Metric]:
        reading = queue_depths()
        up = GaugeMetricFamily("bookstore_broker_up", "1 if the Celery broker answered this scrape, else 0.")
        up.add_metric([], 1 if reading.up else 0)
        yield up
        depth = GaugeMetricFamily(
            "bookstore_task_queue_depth", "Tasks waiting in the broker for a worker, by queue.", labels=["queue"]
        )
        for queue, messages in sorted(reading.depths.items()):
            depth.add_metric([queue], messages)
        yield depth


class _ProcessRegistry:
    """This process's metrics, when there is no multiprocess directory (runserver, tests)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """A registry with every worker's metrics (or this process's) plus the scrape-time ones."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(BrokerCollector())
    return registry


def _token_ok(header: str, expected: str) -> bool:
    scheme, _, supplied = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), expected.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a scraper that sends ``Authorization: Bearer <METRICS_TOKEN>``.

    Without ``METRICS_TOKEN`` the endpoint does not exist (404); a missing or
    wrong token gets 401.
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404
    if not _token_ok(request.headers.get("Authorization", ""), expected):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


# --- Celery workers ---------------------------------------------------------------


def _worker_metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """WSGI app of a worker's own metrics port: the same token rule as ``/metrics``."""
    expected = settings.METRICS_TOKEN
    if environ.get("PATH_INFO") != "/metrics" or not expected:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found.\n"]
    if not _token_ok(environ.get("HTTP_AUTHORIZATION", ""), expected):
        start_response(
            "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')]
        )
        return [b"Unauthorized.\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [generate_latest(scrape_registry())]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def worker_metrics_serve(sender: Any = None, **kwargs: Any) -> None:
    """``worker_ready`` receiver: serve this worker's metrics on ``CELERY_WORKER_METRICS_PORT``.

    Emails are sent (and counted) in worker processes, which gunicorn's
    ``/metrics`` cannot see unless they share its directory on one machine. A
    worker on a machine of its own exposes them here; with the prefork pool
    ``PROMETHEUS_MULTIPROC_DIR`` must be set so the pool's children are summed.
    """
    port = settings.CELERY_WORKER_METRICS_PORT
    if not port:
        return
    server = make_server(
        settings.CELERY_WORKER_METRICS_BIND, port, _worker_metrics_app, ThreadingWSGIServer, _QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("worker metrics on http://%s:%s/metrics", settings.CELERY_WORKER_METRICS_BIND, port)
