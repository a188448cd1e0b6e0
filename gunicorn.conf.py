"""gunicorn settings; every value can be overridden with GUNICORN_* env vars or CLI flags."""

import gc
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One sync worker per core (at least 2). (2 x cores) + 1 was measured against it for order placement, which
# waits on its commit's flush, without a clear gain on this shared machine: bench/README.md ("Worker count").
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so slow leaks can never grow unbounded.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
# Load the application in the master and fork the workers from it. A worker replacing a recycled (or killed)
# one is then ready in milliseconds; booting it from scratch takes a second or more of CPU, during which the
# other workers carry the load, and when two workers recycle together nothing answers. The master opens no
# database or Redis connection while loading (bookstore/wsgi.py). The price: SIGHUP re-forks workers from the
# code already loaded, so a deploy restarts the master (or sets GUNICORN_PRELOAD=false to keep HUP reloads).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() not in ("0", "false", "no", "off")
accesslog = None  # the app writes one structured line per request itself
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Metrics: each worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR and
# /metrics sums the files, so a scrape sees every worker, not the one that answered.
# Set before any worker imports prometheus_client; a private directory unless given.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bookstore-metrics-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server: Any) -> None:
    """Start counting from zero: files left by an earlier run would be added in.

    Only files of processes that are gone are removed, so a Celery worker
    already running on this machine with the same directory keeps its counts.
    """
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        pid = stale.stem.rpartition("_")[2]
        if not (pid.isdigit() and _alive(int(pid))):
            stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges stop counting (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def when_ready(server: Any) -> None:
    """With the application preloaded, move what it allocated out of the garbage collector's reach.

    A forked worker shares the master's memory until it writes to it, and a full collection writes to every
    object it visits (their reference counts and GC headers), so each new worker's first collections would
    copy the whole loaded application and take hundreds of milliseconds. Frozen objects are never visited.
    """
    if server.cfg.preload_app:
        gc.collect()
        gc.freeze()


def worker_exit(server: Any, worker: Any) -> None:
    """A worker recycled after ``max_requests`` leaves at once instead of tearing the interpreter down.

    Python's own shutdown of a worker with Django, DRF and the store loaded frees every object one by one: a
    second or more of CPU, and the master replaces the worker only once it is gone. When two workers recycle
    at about the same time nothing answers meanwhile (every connection waits that long). Here the worker has
    served its last request: its database connections are closed properly, Sentry and the log handlers are
    flushed, and it exits with status 0 as it would have. Any other exit (shutdown, a boot error with its own
    status) takes the usual path.
    """
    recycled = getattr(worker, "booted", False) and getattr(worker, "nr", 0) >= getattr(
        worker, "max_requests", sys.maxsize
    )
    if not recycled:
        return
    from django.db import connections

    connections.close_all()
    try:
        import sentry_sdk

        sentry_sdk.flush(timeout=2)
    except ImportError:
        pass
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def on_exit(server: Any) -> None:
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    """Keep the objects of start-up out of the garbage collector's full passes (``gc.freeze``).

    They live as long as the worker. Frozen, they no longer count towards the
    threshold of a full collection, so the garbage requests leave behind is
    collected sooner and a worker's peak memory (which it keeps) stays lower.
    """
    gc.collect()
    gc.freeze()
