"""The Bookstore project package; loads the Celery app so ``shared_task`` binds to it."""

from bookstore.optional_imports import unavailable

# kombu registers a YAML serializer when PyYAML is importable (about 1 MiB in every process that loads the
# app). Tasks travel as JSON only (CELERY_TASK_SERIALIZER, CELERY_ACCEPT_CONTENT); PyYAML stays installed
# for the schema's YAML form, imported when that is asked for.
with unavailable("yaml"):
    from bookstore.celery import app as celery_app

__all__ = ["celery_app"]
