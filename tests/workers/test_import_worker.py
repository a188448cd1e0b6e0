"""An admin import in a real worker: the dry run and the import through the broker, the worker killed mid-way.

The upload and the confirmation run in processes of their own (as web requests
would), so their tasks go through the embedded filesystem broker to a real
``celery worker``. Killed with SIGKILL in the middle of the import, the job
shows as failed once its heartbeat is stale, and running it again completes
the import without duplicating anything (books are matched by ISBN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog import imports
from catalog.ledger import ledger_mismatches
from catalog.models import Book, ImportJob, StockMovement
from tests.factories import UserFactory
from tests.reliability.harness import django_exec
from tests.workers.harness import eventually

pytestmark = [pytest.mark.slow]

ROWS = 20_000

UPLOAD = """
import io
from accounts.models import User
from catalog import imports
data = open(params["path"], "rb").read()
job = imports.import_job_create(
    upload=io.BytesIO(data), name="catalogue.csv", size=len(data), by=User.objects.get(pk=params["user"])
)
result = job.pk
"""

CONFIRM = """
from catalog import imports
from catalog.models import ImportJob
result = imports.import_job_confirm(job=ImportJob.objects.get(pk=params["job"]))
"""


def isbn13(number: int) -> str:
    digits = f"978{number:09d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


def job_of(pk: int) -> ImportJob:
    return ImportJob.objects.get(pk=pk)


def test_a_worker_killed_mid_import_leaves_a_failed_job_that_runs_again_to_completion(
    make_env: Any, workers: Any, transactional_db: Any, tmp_path: Path, settings: Any
) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    path = tmp_path / "catalogue.csv"
    path.write_text(
        "isbn,title,authors,price,stock\n"
        + "".join(f"{isbn13(n)},Title {n},Author {n % 97},{n % 50 + 1}.00,{n % 7}\n" for n in range(ROWS))
    )
    env = make_env(broker="filesystem://localhost//", queue="celery", IMPORTS_ROOT=str(tmp_path / "imports"))
    first = workers(env)

    pk = django_exec(env, UPLOAD, path=str(path), user=staff.pk)
    planned = eventually(lambda: job_of(pk).status == ImportJob.Status.PLANNED and job_of(pk), message="dry run")
    assert (planned.plan["new"], planned.plan["rejected"]) == (ROWS, 0)
    assert Book.objects.count() == 0  # the dry run wrote nothing

    assert django_exec(env, CONFIRM, job=pk) is True
    eventually(lambda: job_of(pk).report.get("created", 0) >= imports.BATCH_SIZE, timeout=120, message="a batch")
    first.kill()
    written = Book.objects.count()
    job = job_of(pk)
    assert job.status == ImportJob.Status.RUNNING, job.status
    assert 0 < written < ROWS, written

    # No sign of life: after IMPORT_STALE_SECONDS the job shows as failed (here checked as the admin page does).
    settings.IMPORT_STALE_SECONDS = 2
    eventually(lambda: imports.imports_mark_stale() or job_of(pk).status == ImportJob.Status.FAILED, message="stale")
    job = job_of(pk)
    assert job.status == ImportJob.Status.FAILED
    assert job.can_retry
    assert "gave no sign of life" in job.message

    workers(env)
    assert django_exec(env, CONFIRM, job=pk) is True
    done = eventually(lambda: job_of(pk).status == ImportJob.Status.DONE and job_of(pk), timeout=180, message="import")
    assert Book.objects.count() == ROWS
    assert (done.report["created"], done.report["unchanged"]) == (ROWS - written, written)
    assert done.percent == 100
    assert done.progress_bytes == done.size
    assert StockMovement.objects.filter(reference=f"import-{pk}", by=staff).count() == sum(
        1 for n in range(ROWS) if n % 7
    )
    assert ledger_mismatches() == []
