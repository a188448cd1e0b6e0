"""Profile one request path in-process with pyinstrument, against a benchmark database.

    python -m bench.profile --db-url postgres://postgres@127.0.0.1:5432/bookstore_bench \\
        --path /api/v1/books/123 --requests 500

Calls the store's real WSGI application (production settings, every
middleware) in a loop, so the profile shows what one gunicorn worker spends
its time on, without the server and the socket. Keep a seeded database with
``python -m bench.run --keep-db`` first. Writes a text report to stdout and an
HTML report to bench/results/profiles/.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def build_environ(method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    path_info, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        else:
            environ[f"HTTP_{key}"] = value
    return environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--path", action="append", required=True, help="repeat to cycle through several paths")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--name", default="profile")
    parser.add_argument("--show-all", action="store_true", help="keep library frames in the text report")
    args = parser.parse_args()

    os.environ.update(
        DATABASE_URL=args.db_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        # The request log line of every call would bury the report (the handler writes to the real stdout).
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        AUTH_RATE_LIMIT="1000000000/second",
        ORDER_RATE_LIMIT="1000000000/second",
    )
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
    sys.path.insert(0, str(ROOT))
    from pyinstrument import Profiler

    from bookstore.wsgi import application

    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    body = args.body.encode()
    statuses: dict[str, int] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def one(i: int) -> None:
        path = args.path[i % len(args.path)]
        for chunk in application(build_environ(args.method, path, body, headers), start_response):
            del chunk

    # Request logs go to stdout; keep the report readable.
    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    try:
        for i in range(args.warmup):
            one(i)
        profiler = Profiler(interval=0.0005)
        started = time.perf_counter()
        profiler.start()
        for i in range(args.requests):
            one(i)
        profiler.stop()
        elapsed = time.perf_counter() - started
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
    out_dir = ROOT / "bench" / "results" / "profiles"
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{args.name}.html"
    html.write_text(profiler.output_html())
    print(f"{args.requests} requests in {elapsed:.2f} s = {elapsed / args.requests * 1000:.2f} ms each; {statuses}")
    print(profiler.output_text(unicode=True, color=False, show_all=args.show_all))
    print(f"HTML report: {html.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
