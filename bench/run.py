"""Benchmark the store against two ceilings measured in the same run.

    python -m bench.run [--books 100000] [--scenarios all] [--duration 10] [--db postgres|sqlite]

Creates its own database, migrates, seeds it with ``seed_demo``, starts three
gunicorn servers with the project's gunicorn.conf.py and the same worker
count: the store with production settings, ceiling J (bare Django JSON view)
and ceiling P (raw psycopg row by primary key), then drives each scenario with
wrk on loopback and writes ``bench/results/<timestamp>.json`` and a Markdown
table. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen, report
from bench.loadgen import Load, WrkResult
from bench.servers import BIN, ROOT, Server, compile_project, default_workers, ensure_production_venv

RESULTS = ROOT / "bench" / "results"
GROUPS = {
    "reads": ["detail", "list", "list_filtered"],
    "search": ["search_selective", "search_broad", "search_typo", "facets", "facets_uncached", "suggest"],
    "orders": ["orders"],
    "auth": ["login", "apikey"],
    "admin": ["admin"],
    "memory": ["memory"],
}
ALL = [name for names in GROUPS.values() for name in names]
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432"


def typo_of(term: str) -> str:
    """``term`` with one typo in its longest word (two neighbouring letters swapped), as a customer types it."""
    words = term.split()
    if not words:
        return term
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) >= 5:
        middle = len(word) // 2
        words[longest] = word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]
    return " ".join(words)


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the store against ceilings J and P.")
    parser.add_argument("--books", type=int, default=100_000, help="books to seed (default 100000)")
    parser.add_argument("--orders", type=int, default=None, help="orders to seed (default books/10, max 20000)")
    parser.add_argument("--seed", type=int, default=2026, help="seed_demo --seed")
    parser.add_argument("--scenarios", default="all", help=f"'all' or a comma list of {sorted(GROUPS)} / {ALL}")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured warm-up before each run")
    parser.add_argument(
        "--no-prime",
        action="store_true",
        help="do not request every path of the catalog read scenarios once before their warm-up (cold documents)",
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections for throughput scenarios")
    parser.add_argument("--order-connections", type=int, default=50)
    parser.add_argument(
        "--order-delivery-share",
        type=float,
        default=0.5,
        help="share of the placed orders sent with a shipping address and method (the rest are collected)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers per server (default: gunicorn.conf.py's, as production runs; the same for J and P)",
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--db-name", default="bookstore_bench", help="PostgreSQL database to create and drop")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL server (no database name)")
    parser.add_argument(
        "--port-base",
        type=int,
        default=0,
        help="bind the servers to this port and the next ones (J, P, the store; +3 the apikey scenario's store with documents off)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="'' to run without Redis")
    parser.add_argument("--soak-requests", type=int, default=100_000, help="requests of the worker-memory soak")
    parser.add_argument("--soak-seconds", type=float, default=240, help="time limit of the soak (whichever is first)")
    parser.add_argument("--admin-samples", type=int, default=20, help="sequential GETs per admin page")
    parser.add_argument(
        "--venv",
        choices=["production", "dev"],
        default="production",
        help="run the servers from var/bench-venv (requirements.txt only) or from this interpreter's venv",
    )
    parser.add_argument("--reuse-db", action="store_true", help="keep a database seeded with the same books/seed")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--out", type=Path, default=None, help="result file (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    if args.orders is None:
        args.orders = min(20_000, max(100, args.books // 10))
    wanted: list[str] = []
    for part in [p.strip() for p in args.scenarios.split(",") if p.strip()]:
        if part == "all":
            wanted += ALL
        elif part in GROUPS:
            wanted += GROUPS[part]
        elif part in ALL:
            wanted.append(part)
        else:
            parser.error(f"unknown scenario {part!r}")
    args.scenario_list = list(dict.fromkeys(wanted))
    return args


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


class Database:
    """The benchmark's own database: PostgreSQL (created and dropped here) or an SQLite file."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.kind = args.db
        self.marker = f"bench books={args.books} orders={args.orders} seed={args.seed}"
        if self.kind == "postgres":
            self.url = f"{args.pg_url}/{args.db_name}"
        else:
            self.path = workdir / "bench.sqlite3"
            if args.reuse_db or args.keep_db:
                self.path = ROOT / "var" / f"{args.db_name}.sqlite3"
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.url = f"sqlite:///{self.path}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(f"{self.args.pg_url}/postgres", autocommit=True)

    def create(self) -> bool:
        """A fresh database; True when an already seeded one was kept (--reuse-db)."""
        if self.kind == "sqlite":
            marker = Path(str(self.path) + ".marker")
            if self.args.reuse_db and self.path.exists() and marker.exists() and marker.read_text() == self.marker:
                return True
            for suffix in ("", "-wal", "-shm", ".marker"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return False
        name = self.args.db_name
        with self._admin() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if row is not None and self.args.reuse_db and row[0] == self.marker:
                return True
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return False

    def mark_seeded(self) -> None:
        if self.kind == "sqlite":
            Path(str(self.path) + ".marker").write_text(self.marker)
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # steady-state plans and visibility maps, as after autovacuum
        with self._admin() as conn:
            conn.execute(f"COMMENT ON DATABASE \"{self.args.db_name}\" IS '{self.marker}'")

    def drop(self) -> None:
        if self.kind == "sqlite":
            if not self.args.keep_db:
                for suffix in ("", "-wal", "-shm", ".marker"):
                    Path(str(self.path) + suffix).unlink(missing_ok=True)
            return
        if self.args.keep_db:
            return
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.args.db_name}" WITH (FORCE)')

    def deadlocks(self) -> int | None:
        if self.kind != "postgres":
            return None
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()
            return int(row[0]) if row else None

    def wait_idle(self, timeout: float = 30) -> None:
        """Until no other session of this database runs a query (the servers finished in-flight work)."""
        if self.kind != "postgres":
            time.sleep(1)
            return
        import psycopg

        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND pid <> pg_backend_pid()"
                ).fetchone()
                if row and row[0] == 0:
                    return
                time.sleep(0.2)


class BenchRun:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="bookstore-bench-"))
        self.db = Database(args, self.workdir)
        self.secret = secrets.token_urlsafe(50)
        self.servers: dict[str, Server] = {}
        self.wrk = ""
        self.result: dict[str, Any] = {"scenarios": {}}
        self.fixtures: dict[str, Any] = {}
        self.app_requests = 0
        self.primed: dict[str, Any] | None = None  # what the last measure() primed, for record()
        self.bin_dir = BIN
        self.cores = os.cpu_count() or 2
        self.workers = self.args.workers or 0  # set when the servers start

    # --- environment ------------------------------------------------------------------------------

    def django_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="bookstore.settings",
            DATABASE_URL=self.db.url,
            REDIS_URL=self.args.redis_url,
            SECRET_KEY=self.secret,
            DEBUG="false",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # The login scenario measures Argon2id, not the per-address rate limit (every request is 127.0.0.1).
            AUTH_RATE_LIMIT="1000000000/second",
            ORDER_RATE_LIMIT="1000000000/second",  # likewise the per-customer order limit
            JWT_ACCESS_MINUTES="240",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def manage(self, *argv: str) -> str:
        done = subprocess.run(
            [str(self.bin_dir / "python"), "manage.py", *argv],
            cwd=ROOT,
            env=self.django_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return done.stdout

    def fixture(self, *argv: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        done = subprocess.run(
            [str(self.bin_dir / "python"), "-m", "bench.fixtures", *argv],
            cwd=ROOT,
            env=self.django_env(LOG_LEVEL="WARNING", **(env or {})),
            capture_output=True,
            text=True,
            check=False,
        )
        for line in done.stdout.splitlines():
            if line.startswith("BENCH_FIXTURE_JSON "):
                return dict(json.loads(line[len("BENCH_FIXTURE_JSON ") :]))
        raise RuntimeError(f"bench.fixtures {argv[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")

    # --- set-up -----------------------------------------------------------------------------------

    def setup(self) -> None:
        self.wrk = loadgen.ensure_wrk()
        if self.args.venv == "production":
            self.bin_dir = ensure_production_venv()
        compile_project(self.bin_dir)
        if self.args.redis_url:
            import redis

            redis.Redis.from_url(self.args.redis_url).flushdb()  # our own db number: rate-limit counters
        timings: dict[str, float] = {}
        started = time.monotonic()
        reused = self.db.create()
        log(f"database {self.db.url} {'reused' if reused else 'created'}")
        self.manage("migrate", "--noinput")
        timings["migrate_s"] = round(time.monotonic() - started, 1)
        if not reused:
            log(f"seeding {self.args.books:,} books and {self.args.orders:,} orders ...")
            t0 = time.monotonic()
            out = self.manage(
                "seed_demo",
                "--books",
                str(self.args.books),
                "--orders",
                str(self.args.orders),
                "--seed",
                str(self.args.seed),
            )
            timings["seed_s"] = round(time.monotonic() - t0, 1)
            log(out.strip().splitlines()[-1] if out.strip() else "seeded")
            t0 = time.monotonic()
            self.db.mark_seeded()
            timings["analyze_s"] = round(time.monotonic() - t0, 1)
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        t0 = time.monotonic()
        self.fixtures = self.fixture("prepare", "--seed", str(self.args.seed))
        timings["fixtures_s"] = round(time.monotonic() - t0, 1)
        log(
            f"fixtures: {self.fixtures['active_books']:,} active books; search terms "
            f"{self.fixtures['search']['selective']!r} ({self.fixtures['search']['selective_count']} hits), "
            f"{self.fixtures['search']['broad']!r} ({self.fixtures['search']['broad_count']} hits)"
        )
        self.result["setup"] = {**timings, "reused_db": reused}
        if {"facets", "facets_uncached", "suggest"} & set(self.args.scenario_list):
            # The statements the store runs for these scenarios, for ceiling P to run raw.
            browse = self.fixture(
                "browse-sql",
                "--term",
                self.fixtures["search"]["broad"],
                "--prefixes",
                ",".join(self.suggest_prefixes()),
            )
            self.ceiling_sql = self.workdir / "ceiling_sql.json"
            self.ceiling_sql.write_text(json.dumps(browse))

    def start_servers(self) -> None:
        if self.args.workers is None:
            self.workers = default_workers(self.bin_dir, self.django_env())
        else:
            self.workers = self.args.workers
        w = self.workers
        logs = self.workdir
        self.servers["J"] = Server(
            "J",
            "bench.ceilings.json_app:application",
            self.django_env(),
            w,
            logs,
            bin_dir=self.bin_dir,
            fixed_port=self.port(0),
            workers_flag=self.args.workers is not None,
        )
        self.servers["P"] = Server(
            "P",
            "bench.ceilings.db_app:application",
            self.django_env(
                BENCH_DATABASE_URL=self.db.url.replace("postgres://", "postgresql://"),
                BENCH_CEILING_SQL=str(getattr(self, "ceiling_sql", "")),
            ),
            w,
            logs,
            ready_path=f"/book?id={self.fixtures['detail_ids'][0]}",
            bin_dir=self.bin_dir,
            fixed_port=self.port(1),
            workers_flag=self.args.workers is not None,
        )
        self.servers["app"] = self.app_server()
        for server in self.servers.values():
            server.start()
        log(f"servers up: {', '.join(f'{n} {s.base_url}' for n, s in self.servers.items())} ({w} workers each)")
        self.result["memory"] = {
            "main": {"start_kib": self.servers["app"].worker_rss()},
            "ceiling_start_kib": {name: self.servers[name].worker_rss() for name in ("J", "P")},
        }

    def app_server(self, *, name: str = "app", offset: int = 2, **extra_env: str) -> Server:
        return Server(
            name,
            "bookstore.wsgi:application",
            self.django_env(**extra_env),
            self.workers,
            self.workdir,
            ready_path="/healthz",
            bin_dir=self.bin_dir,
            fixed_port=self.port(offset),
            workers_flag=self.args.workers is not None,
        )

    def port(self, offset: int) -> int:
        """``--port-base`` + offset, or 0 (any free port) without ``--port-base``."""
        return self.args.port_base + offset if self.args.port_base else 0

    # --- measuring --------------------------------------------------------------------------------

    def prime(self, server: str, load: Load) -> dict[str, Any]:
        """Request every path of ``load`` once, over its connections, before any warm-up.

        A catalog read scenario measures the steady state of a shop serving its
        read set: every detail and list page it asks for already rendered and
        stored (``catalog.readcache``), as they are on a production store after
        the first visitor of each. Random picks over a 2-second warm-up leave
        part of a 2,000-id set unvisited, and each first visit during the
        measured run is a full render (several milliseconds) in a run of
        sub-millisecond hits. ``--no-prime`` measures the cold set instead.
        """
        import urllib.error
        import urllib.request
        from concurrent.futures import ThreadPoolExecutor

        base = self.servers[server].base_url

        def get(path: str) -> int:
            request = urllib.request.Request(base + path, headers=load.headers, method=load.method)
            try:
                with urllib.request.urlopen(request, timeout=load.timeout_s) as response:
                    response.read()
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return int(exc.code)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, load.connections)) as pool:
            statuses = list(pool.map(get, list(dict.fromkeys(load.paths))))
        if server == "app":
            self.app_requests += len(statuses)
        counted: dict[str, int] = {}
        for code in statuses:
            counted[str(code)] = counted.get(str(code), 0) + 1
        return {"paths": len(statuses), "seconds": round(time.monotonic() - started, 1), "status": counted}

    def measure(self, server: str, load: Load, *, warmup: bool = True, prime: bool = False) -> WrkResult:
        target = self.servers[server]
        self.primed = None
        if prime and not self.args.no_prime:
            self.primed = self.prime(server, load)
        if warmup and self.args.warmup > 0:
            warm = loadgen.run_wrk(self.wrk, target.base_url, load, self.args.warmup)
            target.drain()
            if server == "app":
                self.app_requests += warm.requests + load.connections
        result = loadgen.run_wrk(self.wrk, target.base_url, load, self.args.duration)
        target.drain()
        if server == "app":
            self.app_requests += result.requests + load.connections
        self.db.wait_idle()
        return result

    def record(self, name: str, label: str, result: WrkResult, load: Load, **extra: Any) -> dict[str, Any]:
        row = result.as_dict()
        row.update(
            label=label,
            connections=load.connections,
            headline_rps=row["ok_rps"] if extra.pop("headline_ok", False) else row["rps"],
            non_2xx=result.requests - result.ok if result.status else 0,
            server_errors=result.server_errors,
            socket_error_count=result.socket_errors,
        )
        if self.primed is not None and "primed" not in extra:
            row["primed"] = self.primed
        row.update(extra)
        self.result["scenarios"][name] = row
        p = row["latency_ms"]
        log(
            f"{label}: {row['headline_rps']:.0f} req/s, p50 {p['p50']} ms, p95 {p['p95']} ms, p99 {p['p99']} ms, "
            f"status {result.status}, socket errors {result.socket_errors}"
        )
        return row

    def detail_paths(self) -> list[str]:
        return [f"/api/v1/books/{i}" for i in self.fixtures["detail_ids"]]

    def ceilings(self, tag: str) -> None:
        conns = self.args.connections
        j = self.measure("J", Load(paths=["/"], connections=conns))
        p = self.measure("P", Load(paths=[f"/book?id={i}" for i in self.fixtures["detail_ids"]], connections=conns))
        self.record(f"ceiling_j_{tag}", f"J ceiling ({tag})", j, Load(paths=[], connections=conns))
        self.record(f"ceiling_p_{tag}", f"P ceiling ({tag})", p, Load(paths=[], connections=conns))

    def run_scenarios(self) -> None:
        conns = self.args.connections
        f = self.fixtures
        wanted = self.args.scenario_list
        if "detail" in wanted:
            load = Load(paths=self.detail_paths(), connections=conns)
            self.record("detail", "book detail", self.measure("app", load, prime=True), load)
        if "list" in wanted:
            load = Load(paths=[f"/api/v1/books?page={n}" for n in range(1, 51)], connections=conns)
            self.record("list", "book list, 20/page", self.measure("app", load, prime=True), load)
        if "list_filtered" in wanted:
            pages = f["filtered_pages"]
            paths = [
                f"/api/v1/books?genre={f['genre']}&in_stock=true&min_price=10&max_price=30"
                f"&ordering=-published_date&page={n}"
                for n in range(1, min(20, pages["genre_price"]) + 1)
            ] + [f"/api/v1/books?language=en&ordering=price&page={n}" for n in range(1, min(20, pages["language"]) + 1)]
            load = Load(paths=paths, connections=conns)
            self.record("list_filtered", "book list, filtered + ordered", self.measure("app", load, prime=True), load)
        # Latency targets: one request per core at a time, no queueing (as in runs with a worker per core).
        search_conns = self.cores
        for key in ("selective", "broad", "typo"):
            name = f"search_{key}"
            if name in wanted:
                # The typo scenario misspells the selective term (two letters of its longest word swapped);
                # its raw-SQL ceiling runs the corrected query.
                term = f["search"]["selective"] if key == "typo" else f["search"][key]
                asked = typo_of(term) if key == "typo" else term
                load = Load(paths=[f"/api/v1/books?search={_q(asked)}"], connections=search_conns)
                hits = f["search"][f"{'selective' if key == 'typo' else key}_count"]
                label = f"search {key} ({asked!r}, {hits:,} hits)"
                self.record(name, label, self.measure("app", load), load)
                ceiling = Load(paths=[f"/search?q={_q(term)}"], connections=search_conns)
                self.record(f"{name}_ceiling", f"raw SQL ceiling of {label}", self.measure("P", ceiling), ceiling)
        self.scenario_browse(wanted, search_conns)
        if "orders" in wanted:
            self.scenario_orders()
        if "login" in wanted:
            body = json.dumps({"email": f["login_email"], "password": f["password"]})
            load = Load(
                paths=["/api/v1/auth/token"],
                method="POST",
                headers={"Content-Type": "application/json"},
                bodies=[body],
                connections=self.cores,
            )
            self.record("login", "login (Argon2id)", self.measure("app", load), load)
        if "apikey" in wanted:
            self.scenario_apikey()
        if "admin" in wanted:
            self.scenario_admin()

    def suggest_prefixes(self) -> list[str]:
        """Search-as-you-type prefixes: 1 to 5 letters of the search terms' words, as a user types them."""
        words = [
            w for term in (self.fixtures["search"]["selective"], self.fixtures["search"]["broad"]) for w in term.split()
        ]
        return list(dict.fromkeys(word[:n].lower() for word in words for n in (1, 2, 3, 5) if word[:n].isalpha()))

    def scenario_browse(self, wanted: list[str], conns: int) -> None:
        """Facets of the broad search (as a shop page asks them: cached; and every request computed) and
        suggestions, each beside ceiling P running the same SQL raw."""
        f = self.fixtures
        broad = f["search"]["broad"]
        if "facets" in wanted:
            load = Load(paths=[f"/api/v1/books/facets?search={_q(broad)}"], connections=conns)
            self.record("facets", f"facets of the broad search ({broad!r}), cached", self.measure("app", load), load)
        if "facets_uncached" in wanted:
            # A different price range each time (keeping nearly every book): never in the cache.
            paths = [
                f"/api/v1/books/facets?search={_q(broad)}&min_price=0.{n % 100:02d}&max_price={1000 + n // 100}"
                for n in range(5000)
            ]
            load = Load(paths=paths, connections=conns)
            self.record(
                "facets_uncached", f"facets of the broad search ({broad!r}), computed", self.measure("app", load), load
            )
        if {"facets", "facets_uncached"} & set(wanted):
            load = Load(paths=["/sql?name=facets&i=0"], connections=conns)
            self.record("facets_sql", "facets: the same SQL, raw (ceiling P)", self.measure("P", load), load)
        if "suggest" in wanted:
            prefixes = self.suggest_prefixes()
            load = Load(paths=[f"/api/v1/search/suggest?q={_q(p)}" for p in prefixes], connections=conns)
            self.record("suggest", f"suggest ({len(prefixes)} prefixes)", self.measure("app", load), load)
            load = Load(paths=[f"/sql?name=suggest&i={i}" for i in range(len(prefixes))], connections=conns)
            self.record("suggest_sql", "suggest: the same SQL, raw (ceiling P)", self.measure("P", load), load)

    def scenario_orders(self) -> None:
        reset = self.fixture("orders-reset")
        book_ids = reset["book_ids"]
        rng = random.Random(self.args.seed)
        bodies = []
        # As a shop's clients send them: collected in the shop, or delivered to an address with a shipping method.
        shipping = reset.get("shipping") if self.args.order_delivery_share > 0 else None
        delivered = 0
        for _ in range(500):
            lines = rng.sample(book_ids, rng.randint(1, 3))
            body: dict[str, Any] = {"items": [{"book_id": b, "quantity": rng.randint(1, 2)} for b in lines]}
            if shipping and rng.random() < self.args.order_delivery_share:
                body.update(shipping)
                delivered += 1
            bodies.append(json.dumps(body))
        load = Load(
            paths=["/api/v1/orders"],
            method="POST",
            headers={"Content-Type": "application/json"},
            bodies=bodies,
            connections=self.args.order_connections,
            timeout_s=30,
        )
        # Every request is one of the bench customers, picked at random.
        load.header_sets = [
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"} for token in reset["tokens"]
        ]
        deadlocks_before = self.db.deadlocks()
        result = self.measure("app", load)
        time.sleep(1.0)  # PostgreSQL flushes its statistics counters about once a second
        deadlocks_after = self.db.deadlocks()
        check = self.fixture(
            "orders-verify", "--book-ids", json.dumps(book_ids), "--since", str(reset["since_order_id"])
        )
        deadlocks = None if deadlocks_before is None else (deadlocks_after or 0) - deadlocks_before
        check.update(
            deadlocks=deadlocks,
            deadlock_rate=(deadlocks or 0) / max(1, check["orders"]),
            rejected_409=result.status.get("409", 0),
            placed_201=result.status.get("201", 0),
        )
        check["delivery_share"] = delivered / len(bodies)
        self.record("orders", "place order (50 clients)", result, load, headline_ok=True, check=check)

    def scenario_apikey(self) -> None:
        """Key and JWT overhead over the same request taking the same path, and the cached anonymous figure.

        On the store, an anonymous detail is answered from its stored document
        before DRF runs (``catalog.api.caching``), while a staff key or JWT
        reads the book through DRF and the database: their difference is the
        cache, not the credential. So the three requests are measured on a
        second store server with the documents off (``CATALOG_CACHE_SECONDS=0``),
        where all three run the view, and the in-process timing runs with the
        same setting. The anonymous request on the main server (cached) is
        recorded beside them.
        """
        path = [f"/api/v1/books/{self.fixtures['apikey_book_id']}"]
        anon = Load(paths=path, connections=1)
        keyed = Load(paths=path, connections=1, headers={"Authorization": f"Api-Key {self.fixtures['api_key']}"})
        bearer = Load(paths=path, connections=1, headers={"Authorization": f"Bearer {self.fixtures['staff_jwt']}"})
        cached = self.measure("app", anon)
        server = self.app_server(name="app_uncached", offset=3, CATALOG_CACHE_SECONDS="0")
        self.servers["app_uncached"] = server
        server.start()
        try:
            a = self.measure("app_uncached", anon)
            k = self.measure("app_uncached", keyed)
            j = self.measure("app_uncached", bearer)
        finally:
            server.stop()
        self.record("anonymous", "same request, anonymous, stored document (1 conn)", cached, anon)
        self.record("anonymous_uncached", "same request, anonymous, documents off (1 conn)", a, anon)
        row = self.record("apikey", "API-key request, quota counted, documents off (1 conn)", k, keyed)
        jwt_row = self.record("jwt", "same request with a JWT, documents off (1 conn)", j, bearer)
        row["overhead_p50_ms"] = round(k.latency_ms["p50"] - a.latency_ms["p50"], 3)
        jwt_row["overhead_p50_ms"] = round(j.latency_ms["p50"] - a.latency_ms["p50"], 3)
        row["compared_with"] = "anonymous_uncached"
        jwt_row["compared_with"] = "anonymous_uncached"
        row["in_process"] = self.fixture(
            "auth-overhead",
            "--book-id",
            str(self.fixtures["apikey_book_id"]),
            "--api-key",
            self.fixtures["api_key"],
            "--jwt",
            self.fixtures["staff_jwt"],
            "--n",
            "200",
            env={"CATALOG_CACHE_SECONDS": "0"},
        )

    def scenario_admin(self) -> None:
        import requests

        app = self.servers["app"]
        session = requests.Session()
        login_url = app.base_url + "/admin/login/"
        session.get(login_url, timeout=30)
        response = session.post(
            login_url,
            data={
                "username": self.fixtures["staff_email"],
                "password": self.fixtures["password"],
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
                "next": "/admin/",
            },
            headers={"Referer": login_url},
            timeout=30,
        )
        if "sessionid" not in session.cookies:
            raise RuntimeError(f"admin login failed ({response.status_code})")
        for name, label, path in (
            ("admin_changelist", "admin book changelist", "/admin/catalog/book/"),
            ("admin_dashboard", "admin dashboard", "/admin/"),
        ):
            for _ in range(2):  # warm-up
                session.get(app.base_url + path, timeout=60)
            client_ms: list[float] = []
            request_ids = []
            statuses: list[int] = []
            for _ in range(self.args.admin_samples):
                request_id = uuid.uuid4().hex
                t0 = time.perf_counter()
                r = session.get(app.base_url + path, headers={"X-Request-ID": request_id}, timeout=60)
                client_ms.append((time.perf_counter() - t0) * 1000)
                statuses.append(r.status_code)
                request_ids.append(request_id)
            if set(statuses) != {200}:
                raise RuntimeError(f"{path} answered {sorted(set(statuses))}, not 200")
            self.app_requests += self.args.admin_samples + 2
            server_ms = self.server_durations(request_ids)
            self.result["scenarios"][name] = {
                "label": label,
                "path": path,
                "samples": len(client_ms),
                "statuses": sorted(set(statuses)),
                "client_ms": {"p50": percentile(client_ms, 50), "p95": percentile(client_ms, 95)},
                "server_ms": {"p50": percentile(server_ms, 50), "p95": percentile(server_ms, 95)},
            }
            log(f"{label}: server p50 {percentile(server_ms, 50)} ms, client p50 {percentile(client_ms, 50)} ms")

    def server_durations(self, request_ids: list[str]) -> list[float]:
        """The store's own request timing (``duration_ms`` of its request log line) for these ids."""
        wanted = set(request_ids)
        found: list[float] = []
        time.sleep(0.3)
        with self.servers["app"].stdout_path.open() as handle:
            for line in handle:
                if '"request_id"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("request_id") in wanted and "duration_ms" in record:
                    found.append(float(record["duration_ms"]))
        return found

    def query_counts(self) -> None:
        counts = self.fixture("query-counts", "--term", self.fixtures["search"]["selective"])
        self.result["query_counts"] = counts
        for name in ("admin_changelist", "admin_dashboard"):
            if name in self.result["scenarios"]:
                self.result["scenarios"][name]["queries"] = counts[name]["queries"]
        if "list" in self.result["scenarios"]:
            constant = counts["list_20"]["queries"] == counts["list_100"]["queries"]
            self.result["scenarios"]["list"]["constant_queries"] = constant
            self.result["scenarios"]["list"]["queries"] = counts["list_20"]["queries"]

    def soak(self) -> None:
        """Worker RSS over ``--soak-requests`` requests with worker recycling off (GUNICORN_MAX_REQUESTS=0)."""
        self.servers["app"].stop()
        server = self.app_server(GUNICORN_MAX_REQUESTS="0")
        self.servers["app"] = server
        server.start()
        pids = server.worker_pids()
        start = server.worker_rss()
        f = self.fixtures
        paths = (
            self.detail_paths()[:500]
            + [f"/api/v1/books?page={n}" for n in range(1, 51)]
            + [f"/api/v1/books?search={_q(f['search']['selective'])}"] * 20
        )
        load = Load(paths=paths, connections=self.args.connections)
        total = 0
        warm_requests = 0
        warm: dict[int, int] = {}
        samples = []
        deadline = time.monotonic() + self.args.soak_seconds
        while total < self.args.soak_requests and time.monotonic() < deadline:
            chunk = loadgen.run_wrk(self.wrk, server.base_url, load, 10 if warm else 3)
            total += chunk.requests
            rss = server.worker_rss()
            samples.append({"requests": total, "rss_kib": rss})
            if not warm:
                warm, warm_requests = rss, total
        end = server.worker_rss()
        recycled = server.worker_pids() != pids

        def mib(values: dict[int, int]) -> float:
            return round(max(values.values()) / 1024, 1) if values else 0.0

        growth = (mib(end) - mib(warm)) / mib(warm) * 100 if warm else 0.0
        self.result["memory"]["soak"] = {
            "requests": total,
            "start_mib": mib(start),
            "warm_mib": mib(warm),
            "warm_requests": warm_requests,
            "end_mib": mib(end),
            "growth_pct": round(growth, 2),
            "workers_recycled": recycled,
            "reached_requests_goal": total >= self.args.soak_requests,
            "samples": samples,
            "met": mib(end) <= 80 and growth < 5 and not recycled,
        }
        log(f"memory soak: {mib(start)} → {mib(warm)} → {mib(end)} MiB over {total:,} requests ({growth:+.1f} %)")

    # --- the run ----------------------------------------------------------------------------------

    def execute(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        t0 = time.monotonic()
        self.result.update(
            started_at=started.isoformat(timespec="seconds"),
            command=" ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
            git=report.git_info(),
            machine=report.machine_info(),
        )
        self.setup()
        self.start_servers()
        self.ceilings("before")
        self.run_scenarios()
        self.ceilings("after")
        main_rss = self.servers["app"].worker_rss()
        if any(n in self.args.scenario_list for n in ("list", "admin", "search_selective")):
            self.query_counts()
        mem = self.result["memory"]["main"]
        mem.update(
            end_kib=main_rss,
            requests=self.app_requests,
            start_mib=round(max(mem["start_kib"].values()) / 1024, 1),
            end_mib=round(max(main_rss.values()) / 1024, 1),
        )
        if "memory" in self.args.scenario_list:
            self.soak()
        self.finish(t0)
        return self.result

    def finish(self, t0: float) -> None:
        s = self.result["scenarios"]
        j = [s[k]["rps"] for k in ("ceiling_j_before", "ceiling_j_after")]
        p = [s[k]["rps"] for k in ("ceiling_p_before", "ceiling_p_after")]
        j_rps, p_rps = statistics.mean(j), statistics.mean(p)
        self.result["ceilings"] = {
            "J_rps": round(j_rps, 1),
            "P_rps": round(p_rps, 1),
            "J_drift_pct": round((j[1] - j[0]) / j[0] * 100, 1),
            "P_drift_pct": round((p[1] - p[0]) / p[0] * 100, 1),
        }
        for name, row in s.items():
            if "headline_rps" not in row or name.startswith("ceiling_"):
                continue
            row["ratio_j"] = round(row["headline_rps"] / j_rps, 3)
            row["ratio_p"] = round(row["headline_rps"] / p_rps, 3)
            target, met = report.evaluate(name, row, self.args.books)
            row["target"], row["met"] = target, met
        for name in ("ceiling_j_before", "ceiling_j_after", "ceiling_p_before", "ceiling_p_after"):
            s[name]["ratio_j"] = round(s[name]["rps"] / j_rps, 3)
            s[name]["ratio_p"] = round(s[name]["rps"] / p_rps, 3)
        # Ceilings first in the table.
        order = ["ceiling_j_before", "ceiling_p_before", *[k for k in s if not k.startswith("ceiling_")]]
        self.result["scenarios"] = {k: s[k] for k in [*order, "ceiling_j_after", "ceiling_p_after"] if k in s}
        secret = ("detail_ids", "api_key", "staff_jwt", "password")
        fixtures = {k: v for k, v in self.fixtures.items() if k not in secret}
        self.result["settings"] = {
            "books": self.args.books,
            "orders_seeded": self.args.orders,
            "seed": self.args.seed,
            "db": self.args.db,
            "redis": bool(self.args.redis_url),
            "workers": self.workers,
            "workers_from": "gunicorn.conf.py" if self.args.workers is None else "--workers",
            "worker_class": "sync (gunicorn.conf.py)",
            "venv": self.args.venv,
            "duration_s": self.args.duration,
            "warmup_s": self.args.warmup,
            # detail, list and list_filtered: every path requested once before the warm-up (steady state).
            "prime_read_set": not self.args.no_prime,
            "connections": self.args.connections,
            "order_connections": self.args.order_connections,
            "order_delivery_share": self.args.order_delivery_share,
            "scenarios": self.args.scenario_list,
            "django_settings": "bookstore.settings, DEBUG=false, ALLOWED_HOSTS=127.0.0.1, CONN_MAX_AGE default",
            "wrk": loadgen.wrk_version(self.wrk),
            "fixtures": fixtures,
        }
        self.result["elapsed_s"] = round(time.monotonic() - t0, 1)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = self.args.out or RESULTS / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        out.write_text(json.dumps(self.result, indent=2) + "\n")
        table = report.markdown_table(self.result) + "\n\n" + report.extra_lines(self.result)
        print("\n" + table + "\n")
        log(f"results written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")

    def cleanup(self) -> None:
        for server in self.servers.values():
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {server.name}: {exc}", file=sys.stderr)
        try:
            self.db.drop()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _q(term: str) -> str:
    from urllib.parse import quote

    return quote(term)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = BenchRun(args)
    try:
        run.execute()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        run.cleanup()
    return 0


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
