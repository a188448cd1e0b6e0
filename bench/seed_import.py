"""Benchmark of the bulk commands: seed_demo, import_books and the memory of a large import.

Measures, on SQLite and on PostgreSQL, each command run as a fresh process on a
freshly migrated database (wall time and peak RSS of that process):

- ``seed_demo --books 100000`` (with its default 500 orders);
- ``import_books`` of a 100,000-row CSV file into an empty catalog (all rows
  created), then of the same file again (all rows updated);
- peak RSS of ``import_books`` of a 1,000,000-row CSV file (SQLite by
  default; ``--million-on postgresql`` or ``both``), next to the 100,000-row
  figure: flat memory means the two are close.

Writes ``bench/results/commands.json`` and ``bench/results/commands.md``.

``--onix`` measures instead ``import_books`` of a 100,000-product ONIX 3.0
feed (``write_onix_file``, about 220 MB) into an empty catalog on PostgreSQL:
wall time and peak RSS, written to ``bench/results/onix.json``.

    .venv/bin/python bench/seed_import.py --onix --pg-database bench_onix

    .venv/bin/python bench/seed_import.py                  # everything (about 15 minutes on 2 cores)
    .venv/bin/python bench/seed_import.py --skip-million   # the 100,000 figures only (keeps the
                                                           # million-row figures of the last full run)

PostgreSQL: a scratch database (``--pg-database``, default ``bookstore_cmdbench``)
on ``--pg-url`` is dropped and created for each measurement, then dropped.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.importing import COLUMNS  # noqa: E402  (pure modules: no Django set-up needed)
from catalog.isbn import isbn13_check_digit  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "bench" / "results"
GENRES = ["fiction", "science-fiction", "fantasy", "mystery", "history", "poetry", "biography", "travel"]
LANGUAGES = ["en"] * 6 + ["fr", "de", "es", "it"]
WORDS = [
    "river",
    "garden",
    "house",
    "ocean",
    "mountain",
    "kingdom",
    "shadow",
    "letter",
    "island",
    "library",
    "forest",
    "city",
    "road",
    "storm",
    "sky",
    "star",
    "clock",
    "mirror",
    "door",
    "bridge",
    "harbor",
    "empire",
    "promise",
    "secret",
    "journey",
    "memory",
    "dream",
    "song",
    "fire",
    "winter",
    "summer",
    "light",
]


def write_book_file(path: Path, rows: int, *, seed: int = 1) -> None:
    """A valid CSV book file of ``rows`` distinct books (one author per ten rows, shared names)."""
    rng = random.Random(seed)
    firsts = ["Ann", "Ben", "Cleo", "Dara", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kit", "Lena", "Milo", "Nia"]
    lasts = ["Moreau", "Okafor", "Silva", "Tanaka", "Novak", "Berg", "Quinn", "Rossi", "Haddad", "Walsh", "Kowal"]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        # The columns of the original file format; the later optional ones (contributors, series, ...) are left out.
        columns = [
            "isbn", "title", "subtitle", "description", "authors", "genres", "publisher", "published_date",
            "language", "page_count", "price", "stock", "is_active",
        ]  # fmt: skip
        assert set(columns) <= set(COLUMNS)
        writer.writerow(columns)
        for n in range(rows):
            body = f"979{n:09d}"
            author = f"{firsts[n // 10 % len(firsts)]} {lasts[n // 140 % len(lasts)]} {n // 1540}"
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))).capitalize()
            writer.writerow(
                [
                    body + isbn13_check_digit(body),
                    title,
                    "",
                    " ".join(rng.choice(WORDS) for _ in range(30)),
                    author if n % 7 else f"{author};{firsts[n % len(firsts)]} Coauthor",
                    rng.choice(GENRES),
                    "Bench Press",
                    f"{rng.randint(1950, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    rng.choice(LANGUAGES),
                    rng.randint(50, 900),
                    f"{rng.randint(1, 60)}.{rng.choice(['00', '49', '99'])}",
                    rng.randint(0, 100),
                    "true",
                ]
            )


ONIX_FORMS = [("BB", ""), ("BC", ""), ("BC", "B104"), ("BH", ""), ("AC", "")]
ONIX_ROLES = ["B01", "B06", "A12", "E07", "A23"]
ONIX_LANGUAGES = ["eng"] * 6 + ["fre", "ger", "spa", "ita"]
ONIX_SERIES = [f"The {word.capitalize()} Cycle" for word in WORDS]


def write_onix_file(path: Path, products: int, *, seed: int = 1) -> None:
    """An ONIX 3.0 message (reference tags) of ``products`` distinct, valid products, about 2.4 KB each.

    Each product carries what a publisher's feed does: ISBN-13 and GTIN, title
    and subtitle, one or two authors plus another contributor role on some,
    a series with its number on two in three, format, language, page count,
    description, publisher, status and date, stock, and an EUR price (with a
    GBP price beside it on some, which the store reports and leaves out).
    """
    rng = random.Random(seed)
    firsts = ["Ann", "Ben", "Cleo", "Dara", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kit", "Lena", "Milo", "Nia"]
    lasts = ["Moreau", "Okafor", "Silva", "Tanaka", "Novak", "Berg", "Quinn", "Rossi", "Haddad", "Walsh", "Kowal"]
    with path.open("w", encoding="utf-8") as file:
        file.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ONIXMessage release="3.0" xmlns="http://ns.editeur.org/onix/3.0/reference">\n'
            "<Header><Sender><SenderName>Bench Press</SenderName></Sender><SentDateTime>20261130</SentDateTime>"
            "<DefaultCurrencyCode>EUR</DefaultCurrencyCode></Header>\n"
        )
        for n in range(products):
            body = f"979{n:09d}"
            isbn = body + isbn13_check_digit(body)
            author = f"{firsts[n // 10 % len(firsts)]} {lasts[n // 140 % len(lasts)]} {n // 1540}"
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))).capitalize()
            form, detail = ONIX_FORMS[n % len(ONIX_FORMS)]
            status, year = (
                ("02", 2031) if n % 20 == 3 else ("07", 1990) if n % 20 == 7 else ("04", rng.randint(1950, 2025))
            )
            credits = [
                "<Contributor><SequenceNumber>1</SequenceNumber><ContributorRole>A01</ContributorRole>"
                f"<NamesBeforeKey>{author.split(' ', 1)[0]}</NamesBeforeKey><KeyNames>{author.split(' ', 1)[1]}</KeyNames>"
                "</Contributor>"
            ]
            if n % 7 == 0:
                credits.append(
                    "<Contributor><SequenceNumber>2</SequenceNumber><ContributorRole>A01</ContributorRole>"
                    f"<PersonName>{firsts[n % len(firsts)]} Coauthor</PersonName></Contributor>"
                )
            if n % 3 == 0:
                credits.append(
                    f"<Contributor><SequenceNumber>3</SequenceNumber><ContributorRole>{ONIX_ROLES[n % 5]}"
                    f"</ContributorRole><PersonNameInverted>Helper, {firsts[n % len(firsts)]}</PersonNameInverted>"
                    "</Contributor>"
                )
            collection = (
                "<Collection><CollectionType>10</CollectionType><TitleDetail><TitleType>01</TitleType><TitleElement>"
                f"<TitleElementLevel>02</TitleElementLevel><PartNumber>{n // 30 % 12 + 1}</PartNumber>"
                f"<TitleText>{ONIX_SERIES[n % len(ONIX_SERIES)]} {n // 3000}</TitleText></TitleElement></TitleDetail>"
                "</Collection>"
                if n % 3 != 1
                else ""
            )
            gbp = (
                f"<Price><PriceType>02</PriceType><PriceAmount>{rng.randint(1, 50)}.99</PriceAmount>"
                "<CurrencyCode>GBP</CurrencyCode></Price>"
                if n % 10 == 0
                else ""
            )
            file.write(
                "<Product>\n"
                f"<RecordReference>bench.{n}</RecordReference><NotificationType>03</NotificationType>\n"
                f"<ProductIdentifier><ProductIDType>03</ProductIDType><IDValue>{isbn}</IDValue></ProductIdentifier>\n"
                f"<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn}</IDValue></ProductIdentifier>\n"
                "<DescriptiveDetail>\n"
                f"<ProductComposition>00</ProductComposition><ProductForm>{form}</ProductForm>"
                + (f"<ProductFormDetail>{detail}</ProductFormDetail>" if detail else "")
                + f"\n{collection}\n"
                "<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
                f"<TitleText>{title}</TitleText><Subtitle>A {rng.choice(WORDS)} story</Subtitle></TitleElement>"
                "</TitleDetail>\n" + "\n".join(credits) + "\n"
                f"<Language><LanguageRole>01</LanguageRole><LanguageCode>{rng.choice(ONIX_LANGUAGES)}</LanguageCode>"
                "</Language>\n"
                f"<Extent><ExtentType>00</ExtentType><ExtentValue>{rng.randint(50, 900)}</ExtentValue>"
                "<ExtentUnit>03</ExtentUnit></Extent>\n"
                "</DescriptiveDetail>\n"
                "<CollateralDetail><TextContent><TextType>03</TextType><ContentAudience>00</ContentAudience>"
                f"<Text>{' '.join(rng.choice(WORDS) for _ in range(30))}</Text></TextContent></CollateralDetail>\n"
                "<PublishingDetail><Publisher><PublishingRole>01</PublishingRole><PublisherName>Bench Press"
                f"</PublisherName></Publisher><PublishingStatus>{status}</PublishingStatus>"
                "<PublishingDate><PublishingDateRole>01</PublishingDateRole>"
                f"<Date>{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}</Date></PublishingDate>"
                "</PublishingDetail>\n"
                "<ProductSupply><SupplyDetail><Supplier><SupplierRole>01</SupplierRole><SupplierName>Bench Press"
                "</SupplierName></Supplier><ProductAvailability>21</ProductAvailability>"
                f"<Stock><OnHand>{0 if status == '02' else rng.randint(0, 100)}</OnHand></Stock>"
                f"<Price><PriceType>02</PriceType><PriceAmount>{rng.randint(1, 60)}.{rng.choice(['00', '49', '99'])}"
                f"</PriceAmount><CurrencyCode>EUR</CurrencyCode></Price>{gbp}</SupplyDetail></ProductSupply>\n"
                "</Product>\n"
            )
        file.write("</ONIXMessage>\n")


def run(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a manage.py command as its own process: wall seconds, output and that process's peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdout=out, stderr=err)
        # wait4 reports the resource usage of this one child (getrusage would mix in the others).
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{err.read().decode()[-3000:]}")
        return {
            "seconds": round(elapsed, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
            # CPU time of the command itself: on a busy machine, wall time mostly measures the queue for the cores.
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "output": out.read().decode().strip(),
        }


class Database:
    def __init__(self, vendor: str, pg_url: str, pg_database: str, workdir: Path) -> None:
        self.vendor = vendor
        self.pg_url = pg_url.rstrip("/")
        self.pg_database = pg_database
        self.sqlite_path = workdir / "bench.sqlite3"

    @property
    def url(self) -> str:
        if self.vendor == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{self.pg_url}/{self.pg_database}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.url,
            "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }

    def _psql(self, sql: str) -> None:
        subprocess.run(["psql", f"{self.pg_url}/postgres", "-qc", sql], check=True, capture_output=True)

    def fresh(self) -> None:
        """An empty, migrated database."""
        if self.vendor == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
        else:
            self._psql(f'DROP DATABASE IF EXISTS "{self.pg_database}"')
            self._psql(f'CREATE DATABASE "{self.pg_database}"')
        run(["migrate", "--noinput", "-v", "0"], self.env())

    def drop(self) -> None:
        if self.vendor == "postgresql":
            self._psql(f'DROP DATABASE IF EXISTS "{self.pg_database}"')


def measured(label: str, args: list[str], database: Database) -> dict[str, Any]:
    print(f"  {label} ...", end=" ", flush=True)
    # Other work on the machine slows every figure; the load average says how busy it was.
    load_before = os.getloadavg()[0]
    result = run(args, database.env())
    result["load_average_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    result["command"] = f"DATABASE_URL={database.url} .venv/bin/python manage.py {' '.join(args)}"
    print(f"{result['seconds']} s, peak RSS {result['peak_rss_mb']} MB, load {result['load_average_1min']}", flush=True)
    return result


def server_versions(pg_url: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    found = subprocess.run(
        ["psql", f"{pg_url.rstrip('/')}/postgres", "-tAc", "SHOW server_version"], capture_output=True, text=True
    )
    if found.returncode == 0:
        versions["postgresql"] = found.stdout.strip()
    return versions


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| measurement | SQLite | PostgreSQL | target |",
        "|---|---|---|---|",
    ]
    by_vendor = results["databases"]

    def cell(vendor: str, key: str, field: str = "seconds", unit: str = " s") -> str:
        value = by_vendor.get(vendor, {}).get(key, {}).get(field)
        return "n/a" if value is None else f"{value}{unit}"

    lines.append(
        f"| `seed_demo --books 100000` | {cell('sqlite', 'seed_demo_100000')} | "
        f"{cell('postgresql', 'seed_demo_100000')} | < 20 s (PostgreSQL) |"
    )
    lines.append(
        f"| `import_books` 100,000 rows (create) | {cell('sqlite', 'import_100000_create')} | "
        f"{cell('postgresql', 'import_100000_create')} | < 10 s (PostgreSQL) |"
    )
    lines.append(
        f"| `import_books` 100,000 rows (update) | {cell('sqlite', 'import_100000_update')} | "
        f"{cell('postgresql', 'import_100000_update')} | |"
    )
    lines.append(
        f"| peak RSS, import of 100,000 rows | {cell('sqlite', 'import_100000_create', 'peak_rss_mb', ' MB')} | "
        f"{cell('postgresql', 'import_100000_create', 'peak_rss_mb', ' MB')} | |"
    )
    lines.append(
        f"| peak RSS, import of 1,000,000 rows | {cell('sqlite', 'import_1000000', 'peak_rss_mb', ' MB')} | "
        f"{cell('postgresql', 'import_1000000', 'peak_rss_mb', ' MB')} | < 300 MB |"
    )
    lines.append(
        f"| time, import of 1,000,000 rows | {cell('sqlite', 'import_1000000')} | "
        f"{cell('postgresql', 'import_1000000')} | < 90 s (PostgreSQL) |"
    )
    machine = results["machine"]
    lines += [
        "",
        f"Measured {results['measured_at']} on {machine['cpus']} CPUs, Python {machine['python']}, "
        f"SQLite {machine['sqlite']}, PostgreSQL {machine.get('postgresql', '?')}; each command a fresh process "
        "on a freshly migrated database, while the machine's 1-minute load average was "
        f"{results['load_average_range'][0]}-{results['load_average_range'][1]} (other work running)."
        + "".join(
            f" The 1,000,000-row figures for {vendor} are from the run of {figures['import_1000000']['measured_at']}."
            for vendor, figures in by_vendor.items()
            if "measured_at" in figures.get("import_1000000", {})
        )
        + " Reproduce with `.venv/bin/python bench/seed_import.py`; "
        "the exact commands are in `bench/results/commands.json`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql", help="Comma-separated: sqlite, postgresql.")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-database", default="bookstore_cmdbench")
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--million-rows", type=int, default=1_000_000)
    parser.add_argument("--million-on", default="sqlite", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--output", default=str(RESULTS / "commands.json"))
    parser.add_argument("--onix", action="store_true", help="Measure the ONIX import only (PostgreSQL).")
    parser.add_argument("--onix-products", type=int, default=100_000)
    options = parser.parse_args()
    if options.onix:
        onix_main(options)
        return

    results: dict[str, Any] = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), **server_versions(options.pg_url)},
        "reproduce": "cd <project> && .venv/bin/python bench/seed_import.py",
        "files": "<tmp>/books-N.csv are valid CSV book files written by write_book_file() in bench/seed_import.py",
        "databases": {},
    }
    with tempfile.TemporaryDirectory(prefix="bookstore-cmdbench-") as tmp:
        workdir = Path(tmp)
        small = workdir / f"books-{options.rows}.csv"
        write_book_file(small, options.rows)
        big = workdir / f"books-{options.million_rows}.csv"
        if not options.skip_million:
            print(f"writing {big.name} ...", flush=True)
            write_book_file(big, options.million_rows)
        for vendor in options.databases.split(","):
            database = Database(vendor, options.pg_url, options.pg_database, workdir)
            print(f"{vendor}:", flush=True)
            figures: dict[str, Any] = {}
            try:
                database.fresh()
                figures["seed_demo_100000"] = measured(
                    f"seed_demo --books {options.books}", ["seed_demo", "--books", str(options.books)], database
                )
                database.fresh()
                figures["import_100000_create"] = measured(
                    f"import_books {options.rows} rows (create)", ["import_books", str(small)], database
                )
                figures["import_100000_update"] = measured(
                    f"import_books {options.rows} rows (update)", ["import_books", str(small)], database
                )
                if not options.skip_million and options.million_on in (vendor, "both"):
                    database.fresh()
                    figures["import_1000000"] = measured(
                        f"import_books {options.million_rows} rows", ["import_books", str(big)], database
                    )
            finally:
                database.drop()
            for figure in figures.values():
                for key in ("command", "output"):
                    figure[key] = figure[key].replace(str(workdir), "<tmp>")
            results["databases"][vendor] = figures
        results["file_rows"] = {"small": options.rows, "big": options.million_rows}
        loads = [
            load
            for figures in results["databases"].values()
            for figure in figures.values()
            for load in figure["load_average_1min"]
        ]
        results["load_average_range"] = [min(loads), max(loads)]
    output = Path(options.output)
    if options.skip_million and output.exists():
        # Keep the million-row figures of the previous full run, saying when they were measured.
        previous = json.loads(output.read_text())
        for vendor, figures in results["databases"].items():
            kept = previous.get("databases", {}).get(vendor, {}).get("import_1000000")
            if kept:
                figures["import_1000000"] = {"measured_at": previous.get("measured_at"), **kept}
    output.parent.mkdir(parents=True, exist_ok=True)
    Path(options.output).write_text(json.dumps(results, indent=2) + "\n")
    Path(options.output).with_suffix(".md").write_text(markdown(results))
    print(markdown(results))


def onix_main(options: argparse.Namespace) -> None:
    """``import_books`` of an ONIX feed of ``--onix-products`` products into an empty PostgreSQL catalog."""
    results: dict[str, Any] = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), **server_versions(options.pg_url)},
        "reproduce": "cd <project> && .venv/bin/python bench/seed_import.py --onix --pg-database bench_onix",
        "file": "<tmp>/onix-N.xml is an ONIX 3.0 message (reference tags) written by write_onix_file() "
        "in bench/seed_import.py",
        "targets": {"seconds": 90, "peak_rss_mb": 300},
    }
    with tempfile.TemporaryDirectory(prefix="bookstore-onixbench-") as tmp:
        workdir = Path(tmp)
        feed = workdir / f"onix-{options.onix_products}.xml"
        print(f"writing {feed.name} ...", flush=True)
        write_onix_file(feed, options.onix_products)
        results["file_bytes"] = feed.stat().st_size
        results["products"] = options.onix_products
        database = Database("postgresql", options.pg_url, options.pg_database, workdir)
        print("postgresql:", flush=True)
        try:
            database.fresh()
            figure = measured(
                f"import_books {options.onix_products} ONIX products (create)", ["import_books", str(feed)], database
            )
        finally:
            database.drop()
        for key in ("command", "output"):
            figure[key] = figure[key].replace(str(workdir), "<tmp>")
        results["import_create"] = figure
    results["met"] = figure["seconds"] < 90 and figure["peak_rss_mb"] < 300
    output = RESULTS / "onix.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
