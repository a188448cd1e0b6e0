"""The Celery application: ``celery -A bookstore worker`` / ``celery -A bookstore beat``.

Configuration comes from Django's settings (the ``CELERY_`` names); every
installed app's ``tasks.py`` is found automatically.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

app = Celery("bookstore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _create_filesystem_broker_folders(sender: Celery, **kwargs: object) -> None:
    """The embedded filesystem broker needs its folders before the first message."""
    if str(sender.conf.broker_url).startswith("filesystem:"):
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            folder = (sender.conf.broker_transport_options or {}).get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
