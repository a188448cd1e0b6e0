"""Every metric the store exports, in one place.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn sets it, see gunicorn.conf.py)
each process writes its values to files in that directory and ``/metrics``
sums them, so the numbers are right however many workers answer requests.
Metrics that are read at scrape time (task queue depth, broker up) are not
here: ``bookstore.metrics`` collects them when Prometheus asks.
"""

from __future__ import annotations

from django.db import transaction
from prometheus_client import Counter, Histogram

# --- HTTP and database ------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "bookstore_http_requests",
    "HTTP requests answered, by route (URL pattern name), method and status code.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "bookstore_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by route, method and status code.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_REQUEST_QUERIES = Histogram(
    "bookstore_http_request_db_queries",
    "SQL statements run while answering one request, by route.",
    ["route"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200),
)
DB_QUERIES = Counter(
    "bookstore_db_queries",
    "SQL statements executed (web and worker processes), by database alias and statement kind.",
    ["alias", "statement"],
)

# --- Domain -----------------------------------------------------------------------

ORDERS_PLACED = Counter("bookstore_orders_placed", "Orders placed (committed).")
ORDERS_CANCELLED = Counter("bookstore_orders_cancelled", "Orders cancelled (committed).")
PAYMENTS_FAILED = Counter("bookstore_payments_failed", "Payment attempts that failed or were declined.")

EMAILS_QUEUED = Counter("bookstore_emails_queued", "Emails recorded in the outbox (committed).")
EMAILS_SENT = Counter("bookstore_emails_sent", "Emails handed to the mail server.")
EMAILS_FAILED = Counter("bookstore_emails_failed", "Email delivery attempts that failed.")


def count_on_commit(counter: Counter, amount: float = 1) -> None:
    """Add ``amount`` to ``counter`` once the current transaction commits (now, outside one).

    A rolled-back order or email was never placed or queued, so it is not counted.
    """
    transaction.on_commit(lambda: counter.inc(amount))
