"""Imports from the admin: upload, dry run, the import in the background, its report, permissions, hostile files.

The background task runs here through Celery's own machinery, eagerly
(``apply``); ``tests/workers/test_import_worker.py`` runs it in a real worker
process, killed mid-way.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from catalog import imports
from catalog.ledger import ledger_mismatches
from catalog.models import Book, ImportJob, StockMovement
from catalog.tasks import import_files_expire, import_job_run
from tests.catalog.onix.test_reader import BILLION_LAUGHS, message, product
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/catalog/importjob/add/"
HEADER = "isbn,title,authors,price,stock,genres\n"
DUNE, EMMA, ULYSSES, NEW = "9780441013593", "9780141439587", "9780199535675", "9780140449136"


def job_url(job: ImportJob, suffix: str = "change/") -> str:
    return f"/admin/catalog/importjob/{job.pk}/{suffix}"


@pytest.fixture(autouse=True)
def imports_folder(settings: Any, tmp_path: Path) -> Path:
    """The uploaded files of this test, in a folder of its own."""
    folder = tmp_path / "imports"
    imports_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}}
    settings.STORAGES = {**settings.STORAGES, "imports": imports_storage}
    return folder


@pytest.fixture
def manager(make_staff: Callable[..., Any]) -> Any:
    return make_staff("Catalog managers")


@pytest.fixture
def client_of(manager: Any) -> Client:
    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def catalog() -> dict[str, Book]:
    """Three stored books the files below create, change or leave as they are."""
    return {
        "dune": BookFactory(isbn=DUNE, title="Dune", price=Decimal("9.99"), stock=3),
        "emma": BookFactory(isbn=EMMA, title="Emma", price=Decimal("7.50"), stock=2),
        "ulysses": BookFactory(isbn=ULYSSES, title="Ulysses", price=Decimal("12.00"), stock=1),
    }


def authors_of(book: Book) -> str:
    return ";".join(link.author.name for link in book.author_links.order_by("position"))


def upload(client: Client, name: str, content: bytes) -> Any:
    return client.post(ADD_URL, {"file": SimpleUploadedFile(name, content)})


def uploaded(client: Client, name: str, content: bytes) -> ImportJob:
    response = upload(client, name, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-2]))


def run(job: ImportJob) -> ImportJob:
    """The queued task of ``job``, run through Celery eagerly."""
    import_job_run.apply(kwargs={"job_id": job.pk}).get()
    job.refresh_from_db()
    return job


def catalog_snapshot() -> list[tuple[Any, ...]]:
    return list(Book.objects.order_by("isbn").values_list("isbn", "title", "price", "stock", "updated_at"))


def mixed_csv(catalog: dict[str, Book]) -> bytes:
    """A new book, a price and stock change on Emma, Ulysses as stored, and two broken rows (lines 5 and 6)."""
    dune, emma, ulysses = catalog["dune"], catalog["emma"], catalog["ulysses"]
    return (
        HEADER
        + f"{NEW},The Odyssey,Homer,14.50,4,classics\n"
        + f"{EMMA},Emma,{authors_of(emma)},8.25,6,\n"
        + f"{ULYSSES},Ulysses,{authors_of(ulysses)},12.00,1,\n"
        + "9780000000000,Broken,Someone,1.00,1,\n"
        + f"{DUNE},Dune,{authors_of(dune)},not-a-price,3,\n"
    ).encode()


# --- the dry run ----------------------------------------------------------------------------------------


def test_the_dry_run_reports_new_updated_and_unchanged_books_and_line_numbered_errors_and_writes_nothing(
    client_of: Client, catalog: dict[str, Book]
) -> None:
    before = catalog_snapshot()
    movements, history = StockMovement.objects.count(), LogEntry.objects.count()

    job = run(uploaded(client_of, "books.csv", mixed_csv(catalog)))

    assert job.status == ImportJob.Status.PLANNED
    plan = job.plan
    assert (plan["new"], plan["updated"], plan["unchanged"], plan["rejected"]) == (1, 1, 1, 2)
    assert [(added["isbn"], added["line"], added["title"]) for added in plan["additions"]] == [(NEW, 2, "The Odyssey")]
    changes = {change["isbn"]: change for change in plan["changes"]}
    assert list(changes) == [EMMA]
    assert changes[EMMA]["line"] == 3
    # Genres were given empty on Emma's row: the column is in the file, and Emma has no genres, so no change.
    assert changes[EMMA]["fields"] == {"price": ["7.50", "8.25"], "stock": ["2", "6"]}
    assert plan["fields"] == {"price": 1, "stock": 1}
    errors = {error["line"]: error["reason"] for error in plan["errors"]}
    assert set(errors) == {5, 6}
    assert "isbn" in errors[5]
    assert "price: not a number" in errors[6]
    # Nothing was written: books, ledger and history as they were.
    assert catalog_snapshot() == before
    assert Book.objects.filter(isbn=NEW).count() == 0
    assert (StockMovement.objects.count(), LogEntry.objects.count()) == (movements, history)

    page = client_of.get(job_url(job)).content.decode()
    assert 'id="plan-new">1<' in page
    assert 'id="plan-updated">1<' in page
    assert 'id="plan-rejected">2<' in page
    assert "Import 1 new and 1 updated book, skipping 2 rows with errors" in page
    assert '<tr data-line="6"><td class="desk-num">6</td>' in page
    assert "<strong>price</strong>: 7.50 → 8.25" in page


def test_a_jsonl_dry_run_names_the_lines_of_its_errors(client_of: Client, catalog: dict[str, Book]) -> None:
    lines = [
        json.dumps({"isbn": NEW, "title": "The Odyssey", "authors": ["Homer"], "price": "14.50"}),
        "",
        "{not json",
        json.dumps({"isbn": EMMA, "title": "Emma", "authors": [authors_of(catalog["emma"])], "price": "7.50"}),
        json.dumps({"isbn": DUNE, "title": "Dune", "price": "9.99"}),
    ]
    job = run(uploaded(client_of, "books.jsonl", "\n".join(lines).encode()))

    assert (job.plan["new"], job.plan["updated"], job.plan["unchanged"], job.plan["rejected"]) == (1, 0, 1, 2)
    errors = {error["line"]: error["reason"] for error in job.plan["errors"]}
    assert set(errors) == {3, 5}
    assert errors[3].startswith("invalid JSON")
    assert "authors: at least one author" in errors[5]


def test_an_onix_dry_run_names_each_rejected_product_by_line_record_reference_and_isbn(
    client_of: Client, catalog: dict[str, Book]
) -> None:
    no_price = "<Price><PriceType>02</PriceType><PriceAmount>5.00</PriceAmount><CurrencyCode>GBP</CurrencyCode></Price>"
    feed = message(product("rec-new", NEW) + product("rec-dune", DUNE, supply=no_price))

    job = run(uploaded(client_of, "feed.xml", feed.encode()))

    assert job.status == ImportJob.Status.PLANNED
    assert (job.plan["new"], job.plan["rejected"]) == (1, 1)
    [error] = job.plan["errors"]
    assert (error["record"], error["isbn"]) == ("rec-dune", DUNE)
    assert error["line"] == feed.splitlines().index("<Product>", 4) + 1
    assert "price: required" in error["reason"]
    assert job.plan["noticed"] >= 1  # the GBP price is reported and left out
    page = client_of.get(job_url(job)).content.decode()
    assert "rec-dune" in page
    assert 'id="import-notices"' in page


# --- the import -------------------------------------------------------------------------------------------


def test_the_confirmed_import_runs_in_the_background_reaches_100_percent_and_keeps_its_report(
    client_of: Client, manager: Any, catalog: dict[str, Book]
) -> None:
    job = run(uploaded(client_of, "books.csv", mixed_csv(catalog)))
    ulysses_updated_at = catalog["ulysses"].updated_at

    confirmed = client_of.post(job_url(job, "confirm/"))
    assert confirmed.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    assert client_of.get(job_url(job, "status/")).json()["percent"] == 0
    job = run(job)

    assert job.status == ImportJob.Status.DONE
    status = client_of.get(job_url(job, "status/")).json()
    assert (status["status"], status["percent"], status["active"]) == ("done", 100, False)
    assert (status["created"], status["updated"], status["rejected"]) == (1, 1, 2)
    assert job.progress_bytes == job.size
    assert job.rows_read == 5
    report = job.report
    assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (1, 1, 1, 2)
    odyssey = Book.objects.get(isbn=NEW)
    assert (odyssey.title, odyssey.price, odyssey.stock, authors_of(odyssey)) == (
        "The Odyssey",
        Decimal("14.50"),
        4,
        "Homer",
    )
    assert list(odyssey.genres.values_list("slug", flat=True)) == ["classics"]
    emma = Book.objects.get(isbn=EMMA)
    assert (emma.price, emma.stock) == (Decimal("8.25"), 6)
    assert Book.objects.get(isbn=ULYSSES).updated_at == ulysses_updated_at  # unchanged: not written at all
    assert Book.objects.get(isbn=DUNE).price == Decimal("9.99")  # its row was rejected

    # Attributed to the staff user who uploaded it: the stock ledger and the admin history.
    moves = StockMovement.objects.filter(reference=f"import-{job.pk}").order_by("book__isbn")
    assert [(m.book.isbn, m.delta, m.by_id) for m in moves] == [(NEW, 4, manager.pk), (EMMA, 4, manager.pk)]
    assert ledger_mismatches() == []
    entries = {e.object_id: e for e in LogEntry.objects.filter(user=manager)}
    assert entries[str(odyssey.pk)].action_flag == ADDITION
    assert entries[str(emma.pk)].action_flag == CHANGE
    assert entries[str(emma.pk)].change_message == f"Changed by import #{job.pk} (books.csv): price, stock."
    assert len(entries) == 2

    # The report stays: on the job's page and in the list of jobs.
    page = client_of.get(job_url(job)).content.decode()
    assert 'id="report-created">1<' in page
    assert 'id="report-updated">1<' in page
    assert 'id="report-rejected">2<' in page
    assert 'value="100"' in page
    listing = client_of.get("/admin/catalog/importjob/").content.decode()
    assert "1 created, 1 updated, 1 unchanged, 2 rejected" in listing


def test_importing_the_same_file_again_changes_nothing(client_of: Client, catalog: dict[str, Book]) -> None:
    content = mixed_csv(catalog)
    first = run(uploaded(client_of, "books.csv", content))
    client_of.post(job_url(first, "confirm/"))
    run(first)
    before, movements = catalog_snapshot(), StockMovement.objects.count()

    again = run(uploaded(client_of, "books.csv", content))
    assert (again.plan["new"], again.plan["updated"], again.plan["unchanged"]) == (0, 0, 3)
    assert "Nothing to import" in client_of.get(job_url(again)).content.decode()
    client_of.post(job_url(again, "confirm/"))  # no button is offered; a forged confirmation is harmless
    assert run(again).report["unchanged"] == 3
    assert catalog_snapshot() == before
    assert StockMovement.objects.count() == movements


def test_a_job_runs_once_however_often_its_task_is_delivered(client_of: Client, catalog: dict[str, Book]) -> None:
    job = run(uploaded(client_of, "books.csv", mixed_csv(catalog)))
    assert imports.import_job_run(job_id=job.pk) == "skipped"  # the dry run is done
    client_of.post(job_url(job, "confirm/"))
    assert imports.import_job_run(job_id=job.pk) == "done"
    assert imports.import_job_run(job_id=job.pk) == "skipped"
    assert StockMovement.objects.filter(reference=f"import-{job.pk}").count() == 2


def test_a_job_whose_worker_stopped_shows_as_failed_and_runs_again(
    client_of: Client, catalog: dict[str, Book], settings: Any
) -> None:
    settings.IMPORT_STALE_SECONDS = 60
    job = run(uploaded(client_of, "books.csv", mixed_csv(catalog)))
    client_of.post(job_url(job, "confirm/"))
    # A worker claimed the job, then died: its heartbeat stops.
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=30), progress_bytes=40
    )
    assert client_of.get(job_url(job, "status/")).json()["status"] == "running"  # still within the minute

    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    status = client_of.get(job_url(job, "status/")).json()
    assert (status["status"], status["active"]) == ("failed", False)
    assert "gave no sign of life" in status["message"]
    page = client_of.get(job_url(job)).content.decode()
    assert 'id="import-retry"' in page
    assert imports.import_job_run(job_id=job.pk) == "skipped"  # a late redelivery of the lost task does nothing

    client_of.post(job_url(job, "confirm/"))
    job = run(job)
    assert job.status == ImportJob.Status.DONE
    assert job.report["created"] == 1
    assert Book.objects.filter(isbn=NEW).count() == 1


def test_a_worker_declared_stale_stops_writing(client_of: Client, catalog: dict[str, Book]) -> None:
    """A worker that was only slow, not dead, finds its job marked failed at its next heartbeat and stops."""
    job = run(uploaded(client_of, "books.csv", mixed_csv(catalog)))
    client_of.post(job_url(job, "confirm/"))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    progress = imports._Progress(job.pk, ImportJob.Status.QUEUED)  # the job is no longer in the worker's phase
    with pytest.raises(imports._Abandoned):
        progress.beat(force=True)


# --- permissions ---------------------------------------------------------------------------------------------


def test_a_catalog_manager_finds_the_import_from_the_books_list_and_the_dashboard(client_of: Client) -> None:
    assert 'id="import-books-link"' in client_of.get("/admin/catalog/book/").content.decode()
    assert 'id="dashboard-import-link"' in client_of.get("/admin/").content.decode()
    assert client_of.get(ADD_URL).status_code == 200


@pytest.mark.parametrize("groups", [("Order managers",), ()])
def test_staff_who_may_not_add_and_change_books_cannot_import(
    make_staff: Callable[..., Any], manager: Any, catalog: dict[str, Book], groups: tuple[str, ...]
) -> None:
    own = Client()
    own.force_login(manager)
    job = uploaded(own, "books.csv", mixed_csv(catalog))
    client = Client()
    client.force_login(make_staff(*groups))

    assert 'id="dashboard-import-link"' not in client.get("/admin/").content.decode()
    for url in (ADD_URL, "/admin/catalog/importjob/", job_url(job), job_url(job, "status/")):
        assert client.get(url).status_code == 403, url
    assert upload(client, "books.csv", mixed_csv(catalog)).status_code == 403
    assert client.post(job_url(job, "confirm/")).status_code == 403
    assert ImportJob.objects.count() == 1


def test_a_user_who_may_only_view_books_cannot_import(make_staff: Callable[..., Any]) -> None:
    from django.contrib.auth.models import Permission

    user = make_staff()
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_book", "change_book"]))
    client = Client()
    client.force_login(user)
    assert client.get(ADD_URL).status_code == 403
    assert 'id="import-books-link"' not in client.get("/admin/catalog/book/").content.decode()


def test_anonymous_visitors_are_sent_to_the_login(client: Client) -> None:
    response = client.get(ADD_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- hostile and broken files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("books.csv", "isbn,title\n".encode("utf-16"), "not UTF-8 text"),
        ("books.csv", b"PK\x03\x04" + b"\x00" * 100, "a ZIP archive"),
        ("books.csv", b"%PDF-1.7\n", "a PDF document"),
        ("books.csv", b"<html><script>alert(1)</script></html>", "XML or HTML"),
        ("feed.xml", HEADER.encode(), "is not XML"),
        ("books.jsonl", HEADER.encode(), "not JSON Lines"),
        ("books.exe", b"MZ\x90\x00", "must end in .csv"),
        ("books.csv", b"", "empty"),
        ("books.csv", b"   \n\n", "empty"),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused_before_anything_is_stored(
    client_of: Client, imports_folder: Path, name: str, content: bytes, reason: str
) -> None:
    response = upload(client_of, name, content)
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert 'id="import-upload-errors"' in response.content.decode()
    assert ImportJob.objects.count() == 0
    assert not imports_folder.exists() or not any(imports_folder.rglob("*.*"))


def test_a_file_over_the_size_cap_is_refused(client_of: Client, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 1000
    body = (HEADER + f"{NEW},The Odyssey,Homer,14.50,4,\n" * 3000).encode()  # 100 KB: over the cap and envelope
    response = upload(client_of, "books.csv", body)
    assert response.status_code == 413  # the whole request is over the cap: refused before it is read
    small = upload(client_of, "books.csv", body[:1200])  # a body just under the request limit, a file over the cap
    assert small.status_code == 200
    assert "the limit is 1,000 bytes" in small.content.decode()
    assert ImportJob.objects.count() == 0


def test_non_utf8_rows_are_line_numbered_errors_and_a_non_utf8_header_fails_the_job_cleanly(
    client_of: Client,
) -> None:
    rows = (HEADER + f"{NEW},The Odyssey,Homer,14.50,4,\n").encode() + "9780140449143,Café,Émile,3.00,1,\n".encode(
        "latin-1"
    )
    job = run(uploaded(client_of, "books.csv", rows))
    assert (job.plan["new"], job.plan["rejected"]) == (1, 1)
    assert job.plan["errors"][0]["line"] == 3
    assert "not valid UTF-8" in job.plan["errors"][0]["reason"]

    header = run(uploaded(client_of, "latin.csv", "isbn,títle\n".encode("latin-1")))
    assert header.status == ImportJob.Status.FAILED
    assert not header.can_retry
    assert header.message.startswith("The file cannot be read: header, line 1: not valid UTF-8")
    page = client_of.get(job_url(header)).content.decode()
    assert 'id="import-message"' in page
    assert "Traceback" not in page
    assert 'id="import-retry"' not in page


@pytest.mark.parametrize(
    ("prolog", "body"),
    [
        (BILLION_LAUGHS, "&lol9;"),
        ('<!DOCTYPE ONIXMessage [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n', "&xxe;"),
    ],
    ids=["billion-laughs", "external-entity"],
)
def test_xml_bombs_and_external_entities_fail_the_dry_run_cleanly_and_write_nothing(
    client_of: Client, prolog: str, body: str
) -> None:
    feed = message(product().replace("Dune", body), prolog=prolog)
    job = run(uploaded(client_of, "feed.xml", feed.encode()))
    assert job.status == ImportJob.Status.FAILED
    assert re.search("declares XML entities|entity amplification", job.message)
    assert "lollol" not in job.message
    assert "root:" not in job.message
    assert Book.objects.count() == 0
    assert client_of.post(job_url(job, "confirm/")).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED  # cannot be confirmed


def test_malformed_xml_fails_with_its_line(client_of: Client) -> None:
    job = run(uploaded(client_of, "feed.xml", message(product()).replace("</Product>", "</Prod>").encode()))
    assert job.status == ImportJob.Status.FAILED
    assert "not well-formed XML" in job.message
    assert "line " in job.message


def test_the_stored_file_gets_a_random_name_and_is_never_under_the_media_root(client_of: Client, settings: Any) -> None:
    job = uploaded(client_of, "../../evil name.csv", (HEADER + f"{NEW},The Odyssey,Homer,14.50,4,\n").encode())
    assert job.original_name == "evil name.csv"
    assert job.file.endswith(".csv")
    assert "evil" not in job.file
    assert ".." not in job.file
    stored = Path(imports.imports_storage().path(job.file))
    assert stored.is_file()
    assert Path(settings.MEDIA_ROOT) not in stored.parents


def test_the_plan_lists_at_most_max_listed_entries_but_counts_everything(
    client_of: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_LISTED", 3)
    body = HEADER + "".join(f"97801404491{n:02d},Title {n},Author,1.00,1,\n" for n in range(10))
    job = run(uploaded(client_of, "books.csv", body.encode()))
    assert job.plan["rejected"] + job.plan["new"] == 10
    assert len(job.plan["additions"]) <= 3
    assert len(job.plan["errors"]) <= 3


def test_the_plan_service_reads_any_file_object(catalog: dict[str, Book]) -> None:
    plan = imports.import_plan(file=io.BytesIO(mixed_csv(catalog)), fmt="csv")
    assert (plan["new"], plan["updated"], plan["unchanged"], plan["rejected"]) == (1, 1, 1, 2)


def test_the_books_are_written_in_the_name_of_the_staff_member_who_starts_the_import(
    client_of: Client, make_staff: Callable[..., Any], catalog: dict[str, Book]
) -> None:
    job = run(uploaded(client_of, "books.csv", mixed_csv(catalog)))
    colleague = make_staff("Catalog managers")
    other = Client()
    other.force_login(colleague)
    other.post(job_url(job, "confirm/"))
    job = run(job)

    assert job.started_by == colleague
    assert set(StockMovement.objects.filter(reference=f"import-{job.pk}").values_list("by", flat=True)) == {
        colleague.pk
    }
    assert set(
        LogEntry.objects.filter(change_message__contains=f"import #{job.pk}").values_list("user", flat=True)
    ) == {colleague.pk}
    assert 'id="import-started-by"' in other.get(job_url(job)).content.decode()


def test_a_job_waiting_for_a_worker_says_so_when_none_reports_in(client_of: Client, catalog: dict[str, Book]) -> None:
    job = uploaded(client_of, "books.csv", mixed_csv(catalog))
    page = client_of.get(job_url(job)).content.decode()
    assert 'id="import-waiting"' in page
    assert 'id="worker-status"' in page
    assert "No background worker has reported in" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "import_job.js" in page


@pytest.mark.parametrize("flavour", ["reference", "short"])
def test_the_onix_test_feed_imports_from_the_admin_upload_as_from_the_command(client_of: Client, flavour: str) -> None:
    from tests.catalog.onix.feeds import PRODUCTS, feed_path

    job = run(uploaded(client_of, f"feed-{flavour}.xml", feed_path(flavour).read_bytes()))
    assert (job.plan["new"], job.plan["rejected"]) == (len(PRODUCTS), 0)
    assert Book.objects.count() == 0
    client_of.post(job_url(job, "confirm/"))
    job = run(job)
    assert job.status == ImportJob.Status.DONE
    assert job.report["created"] == len(PRODUCTS)
    assert set(Book.objects.values_list("isbn", flat=True)) == {item.isbn for item in PRODUCTS}
    assert ledger_mismatches() == []


def test_an_unreachable_queue_fails_the_job_visibly_and_it_can_be_queued_again(
    client_of: Client,
    catalog: dict[str, Book],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from celery import current_app

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(current_app, "send_task", down)
    with django_capture_on_commit_callbacks(execute=True):
        job = uploaded(client_of, "books.csv", mixed_csv(catalog))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.can_retry
    assert "could not be reached" in client_of.get(job_url(job)).content.decode()

    monkeypatch.undo()
    client_of.post(job_url(job, "confirm/"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKING  # the dry run is queued again, then runs
    assert run(job).status == ImportJob.Status.PLANNED


def test_a_megabyte_long_line_is_one_clean_row_error(client_of: Client) -> None:
    body = HEADER + f"{NEW}," + "x" * 1_000_000 + ",Homer,1.00,1,\n" + "9780140449143,Short,Homer,2.00,1,\n"
    job = run(uploaded(client_of, "books.csv", body.encode()))
    assert job.status == ImportJob.Status.PLANNED
    assert (job.plan["new"], job.plan["rejected"]) == (1, 1)
    [error] = job.plan["errors"]
    assert error["line"] == 2
    assert "field larger than field limit" in error["reason"]  # csv's own cap, reported on its line


def test_confirming_needs_a_post(client_of: Client, catalog: dict[str, Book]) -> None:
    job = run(uploaded(client_of, "books.csv", mixed_csv(catalog)))
    assert client_of.get(job_url(job, "confirm/")).status_code == 405
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PLANNED


def _aged(job: ImportJob, days: int, **fields: Any) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=days), **fields)
    job.refresh_from_db()
    return job


def test_uploaded_files_are_deleted_after_the_keep_days_and_the_jobs_and_reports_stay(
    client_of: Client, catalog: dict[str, Book], imports_folder: Path, settings: Any
) -> None:
    settings.IMPORT_FILES_KEEP_DAYS = 30
    done = run(uploaded(client_of, "done.csv", mixed_csv(catalog)))
    client_of.post(job_url(done, "confirm/"))
    done = _aged(run(done), 31)
    unconfirmed = _aged(run(uploaded(client_of, "later.csv", mixed_csv(catalog))), 31)
    retryable = _aged(run(uploaded(client_of, "lost.csv", mixed_csv(catalog))), 40, status="failed", can_retry=True)
    running = _aged(run(uploaded(client_of, "running.csv", mixed_csv(catalog))), 31, status="running")
    recent = _aged(run(uploaded(client_of, "recent.csv", mixed_csv(catalog))), 29)
    assert done.status == ImportJob.Status.DONE
    assert unconfirmed.status == ImportJob.Status.PLANNED
    files = {job.pk: imports_folder / job.file for job in (done, unconfirmed, retryable, running, recent)}
    assert all(path.exists() for path in files.values())

    assert import_files_expire.apply().get() == 3
    for job in (done, unconfirmed, retryable, running, recent):
        job.refresh_from_db()

    assert not files[done.pk].exists()
    assert not files[unconfirmed.pk].exists()
    assert not files[retryable.pk].exists()
    assert files[running.pk].exists()
    assert files[recent.pk].exists()
    assert (done.file, done.status, done.report["created"]) == ("", ImportJob.Status.DONE, 1)
    assert (unconfirmed.status, unconfirmed.file) == (ImportJob.Status.FAILED, "")
    assert "Not confirmed within 30 days" in unconfirmed.message
    assert (retryable.file, retryable.can_retry) == ("", False)
    # The closed jobs can no longer be started, and their pages still show the report.
    assert imports.import_job_confirm(job=unconfirmed) is False
    assert imports.import_job_confirm(job=retryable) is False
    assert 'id="import-retry"' not in client_of.get(job_url(retryable)).content.decode()
    assert client_of.get(job_url(done)).status_code == 200
    assert import_files_expire.apply().get() == 0  # nothing left to delete


def test_a_job_whose_file_expired_after_it_was_read_is_not_confirmed(
    client_of: Client, catalog: dict[str, Book], settings: Any
) -> None:
    """The confirmation checks the file in its claim: a page opened before the expiry cannot start the import."""
    job = _aged(run(uploaded(client_of, "books.csv", mixed_csv(catalog))), 31)
    stale_copy = ImportJob.objects.get(pk=job.pk)
    assert imports.import_files_expire() == 1
    assert imports.import_job_confirm(job=stale_copy) is False
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.FAILED
