"""Cover fixtures: a media folder of the test's own, the thumbnail task run as the worker runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import current_app

from catalog import covers
from catalog import tasks as catalog_tasks  # noqa: F401  (registers the thumbnail task with Celery)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Every cover test stores its files under a fresh folder (the filesystem storage)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def queued_thumbnail_tasks() -> Callable[[], list[dict[str, Any]]]:
    """Read the thumbnail tasks sent to the (in-memory) broker back, as a worker would receive them."""

    def drain() -> list[dict[str, Any]]:
        found = []
        with current_app.connection_for_read() as connection:
            queue = connection.SimpleQueue(current_app.conf.task_default_queue)
            try:
                while True:
                    try:
                        message = queue.get(block=False)
                    except queue.Empty:
                        break
                    message.ack()
                    if message.headers.get("task") == covers.THUMBNAIL_TASK:
                        _args, kwargs, _ = message.decode()
                        found.append(kwargs)
            finally:
                queue.close()
        return found

    drain()  # whatever earlier tests left behind
    return drain


@pytest.fixture
def run_thumbnail_tasks(
    queued_thumbnail_tasks: Callable[[], list[dict[str, Any]]],
) -> Callable[[], list[str]]:
    """Run every queued thumbnail task through Celery's task object (the worker's code path)."""

    def run() -> list[str]:
        task = current_app.tasks[covers.THUMBNAIL_TASK]
        return [task.apply(kwargs=kwargs).get() for kwargs in queued_thumbnail_tasks()]

    return run
