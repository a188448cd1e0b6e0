"""An admin import in a real browser: upload, the dry run's changes and errors, then the import with its progress bar.

The live server sends the tasks through the embedded filesystem broker to a
real ``celery worker`` process on the same test database, as ``make run`` does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from catalog.models import Book, ImportJob, StockMovement
from tests.e2e.conftest import sign_in
from tests.factories import BookFactory, UserFactory
from tests.workers.harness import Worker, app_env

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NEW_BOOKS = 15000  # 30 batches of 500: enough for the bar to be seen under way on an idle machine
EMMA = "9780141439587"


def isbn13(number: int) -> str:
    digits = f"979{number:09d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


@pytest.fixture
def imports_folder(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "imports"
    storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}}
    settings.STORAGES = {**settings.STORAGES, "imports": storage}
    return folder


@pytest.fixture
def worker(
    live_server: Any, django_db_serialized_rollback: None, tmp_path: Path, imports_folder: Path
) -> Iterator[Worker]:
    """A real worker on this test's database; the live server's tasks reach it through a broker folder of its own."""
    from bookstore.celery import app

    env = app_env(
        broker="filesystem://localhost//",
        queue="celery",
        email_url="smtp://127.0.0.1:9",
        var=tmp_path,
        IMPORTS_ROOT=str(imports_folder),
    )
    folder = str(tmp_path / "celery" / "queue")
    saved = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_default_queue)
    app.conf.broker_url = "filesystem://localhost//"
    app.conf.broker_transport_options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "control_folder": str(tmp_path / "celery" / "control"),
    }
    for key in ("data_folder_in", "control_folder"):
        Path(app.conf.broker_transport_options[key]).mkdir(parents=True, exist_ok=True)
    _fresh_connections(app)
    started = Worker(env).start()
    yield started
    started.stop()
    app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_default_queue = saved
    _fresh_connections(app)


def _fresh_connections(app: Any) -> None:
    """The next task sent opens a connection to the broker now configured (as after a fork)."""
    app._pool = None
    app.amqp._producer_pool = None


def test_an_admin_import_with_dry_run_then_the_real_run_with_progress_reaching_100_percent(
    laptop: Page, worker: Worker
) -> None:
    page = laptop
    manager = UserFactory(email="catalog@example.com", is_staff=True, first_name="Cat")
    manager.groups.add(Group.objects.get(name="Catalog managers"))
    emma = BookFactory(isbn=EMMA, title="Emma", price=Decimal("7.50"), stock=2)
    author = emma.author_links.get().author.name
    rows = [f"{isbn13(n)},New title {n},Author {n % 40},{n % 30 + 5}.00,{n % 4}" for n in range(NEW_BOOKS)]
    rows.insert(10, f"{EMMA},Emma,{author},8.25,5")
    rows.insert(20, "9780000000000,A book with a bad ISBN,Someone,3.00,1")  # file line 22
    content = ("isbn,title,authors,price,stock\n" + "\n".join(rows) + "\n").encode()

    sign_in(page, manager)
    page.locator("#dashboard-import-link").click()
    expect(page.locator("#content h1")).to_have_text("Import books")
    page.goto("/admin/catalog/book/")
    page.locator("#import-books-link").click()
    page.set_input_files("#id_file", files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": content}])
    page.locator("#import-upload-submit").click()

    # The dry run: what would change, with the line of each rejected row, and nothing written yet.
    expect(page.locator("#import-plan")).to_be_visible(timeout=90_000)
    expect(page.locator("#import-status")).to_have_text("Checked, waiting for confirmation")
    expect(page.locator("#plan-new")).to_have_text(str(NEW_BOOKS))
    expect(page.locator("#plan-updated")).to_have_text("1")
    expect(page.locator("#plan-rejected")).to_have_text("1")
    expect(page.locator(f"#import-changes tr[data-isbn='{EMMA}']")).to_contain_text("price: 7.50 → 8.25")
    expect(page.locator("#import-errors tr[data-line='22']")).to_contain_text("isbn")
    assert Book.objects.count() == 1
    assert Book.objects.get(isbn=EMMA).price == Decimal("7.50")

    # The real run: the bar fills while the worker writes the batches, and ends at 100 %.
    confirm = page.locator("#import-confirm")
    expect(confirm).to_have_value(re.compile(rf"^Import {NEW_BOOKS} new and 1 updated book, skipping 1 row"))
    confirm.click()
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while not page.locator("#import-report").is_visible() and time.monotonic() < deadline:
        value = page.locator("#import-progress-bar").get_attribute("value")
        if value is not None and (not seen or seen[-1] != int(float(value))):
            seen.append(int(float(value)))
        time.sleep(0.05)
    expect(page.locator("#import-report")).to_be_visible()
    expect(page.locator("#import-status")).to_have_text("Done")
    expect(page.locator("#import-progress-bar")).to_have_attribute("value", "100")
    expect(page.locator("#import-percent")).to_have_text("100 %")
    expect(page.locator("#report-created")).to_have_text(str(NEW_BOOKS))
    expect(page.locator("#report-updated")).to_have_text("1")
    expect(page.locator("#report-rejected")).to_have_text("1")
    assert seen == sorted(seen), seen
    assert seen[-1] == 100, seen
    assert any(0 < value < 100 for value in seen), f"the bar never showed the import under way: {seen}"
    page.screenshot(path=str(SCREENSHOTS / "admin-import.png"))

    assert Book.objects.count() == NEW_BOOKS + 1
    assert Book.objects.get(isbn=EMMA).price == Decimal("8.25")
    job = ImportJob.objects.get()
    assert StockMovement.objects.filter(reference=f"import-{job.pk}", by=manager).exists()

    # The report stays: the list of jobs shows it later.
    page.goto("/admin/catalog/importjob/")
    expect(page.locator("#result_list")).to_contain_text(f"{NEW_BOOKS} created, 1 updated, 0 unchanged, 1 rejected")
