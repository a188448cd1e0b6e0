"""A web worker imports the libraries of rare paths only when such a request comes (README, "Worker memory").

stripe, Authlib/joserfc, Pillow and lxml cost about 28 MiB per worker
together; they are imported inside the functions that use them. A module-level
import of one of them anywhere on the worker's start-up path fails this test.
requests (with urllib3 and charset_normalizer) is only wanted by DRF's test
client and PyYAML by kombu's YAML serializer: ``bookstore.optional_imports``
keeps those optional imports from loading them. drf-spectacular's views
(generator, renderers) load with the first request for the schema or the docs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.reliability.harness import ROOT, server_env

DEFERRED = (
    "stripe",
    "authlib",
    "joserfc",
    "PIL",
    "lxml",
    "requests",
    "urllib3",
    "charset_normalizer",
    "yaml",
    "drf_spectacular.views",
)

# What a gunicorn worker does before and at its first request: the WSGI app (settings, apps, admin
# autodiscovery), then the URLconf, which imports every view module.
WORKER = f"""
import json, sys
from bookstore.wsgi import application
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps(sorted(name for name in {DEFERRED!r} if name in sys.modules)))
"""


def _then(code: str) -> str:
    """``WORKER`` running ``code`` after the start-up, before it lists what is imported."""
    return WORKER.replace("print(json.dumps(", code + "print(json.dumps(", 1)


def _printed(env: dict[str, str], script: str) -> Any:
    """What ``script``, run in a fresh Python process, printed as JSON on its last line."""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _imported_by_a_worker(env: dict[str, str], script: str = WORKER) -> list[str]:
    return list(_printed(env, script))


def test_a_worker_starts_and_loads_its_urls_without_the_libraries_of_rare_paths(tmp_path):
    env = server_env(database=f"sqlite:///{tmp_path / 'db.sqlite3'}", redis="")
    assert _imported_by_a_worker(env) == []


def test_the_check_sees_a_library_imported_at_start_up(tmp_path):
    """The probe itself works: Pillow imported on the way to the app shows up."""
    (tmp_path / "pil_at_startup.py").write_text("import PIL.Image\n")
    env = server_env(database=f"sqlite:///{tmp_path / 'db.sqlite3'}", redis="")
    env["PYTHONPATH"] = str(tmp_path)
    probe = WORKER.replace("import json, sys", "import json, sys, pil_at_startup", 1)
    assert _imported_by_a_worker(env, probe) == ["PIL"]


def test_requests_still_imports_after_start_up(tmp_path):
    """Only DRF's optional import during set-up is turned away: stripe's own ``import requests`` works later."""
    env = server_env(database=f"sqlite:///{tmp_path / 'db.sqlite3'}", redis="")
    probe = _then(
        "import requests, rest_framework.compat as compat\nassert compat.requests is None and requests.Session\n"
    )
    assert _imported_by_a_worker(env, probe) == ["charset_normalizer", "requests", "urllib3"]


def test_the_schema_and_its_yaml_load_on_the_first_request_for_them(tmp_path):
    """The lazily imported docs views answer, and kombu still works without its YAML serializer."""
    env = server_env(database=f"sqlite:///{tmp_path / 'db.sqlite3'}", redis="")
    probe = _then(
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "from kombu.serialization import dumps\n"
        "assert dumps({'a': 1}, serializer='json')[0] == 'application/json'\n"
        "schema = Client().get('/api/schema/?format=yaml', HTTP_HOST='localhost')\n"
        "assert schema.status_code == 200 and schema.content.startswith(b'openapi:'), schema.status_code\n"
        # The docs page links its static files; without collectstatic, as the test settings do.
        "from django.test import override_settings\n"
        "plain = {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}\n"
        "with override_settings(STORAGES={**settings.STORAGES, 'staticfiles': plain}):\n"
        "    docs = Client().get('/api/docs/', HTTP_HOST='localhost')\n"
        "assert docs.status_code == 200, docs.status_code\n"
    )
    assert _imported_by_a_worker(env, probe) == ["drf_spectacular.views", "yaml"]


# The admin modules of the store's apps and of the libraries with a model admin.
ADMIN_MODULES = (
    "accounts.admin",
    "bookstore.admin",
    "catalog.admin",
    "django.contrib.auth.admin",
    "django_celery_beat.admin",
    "notifications.admin",
    "orders.admin",
    "rest_framework_simplejwt.token_blacklist.admin",
)

REGISTERED = "sorted(f'{model._meta.label}:{type(model_admin).__qualname__}' for model, model_admin in admin.site._registry.items())"


def test_a_worker_loads_the_admin_with_its_first_admin_request(tmp_path):
    """The API never loads the model admins; the first admin URL does, with every model admin registered.

    What a worker registers then equals what a management command registers at start (``AdminConfig``'s
    discovery), and reversing an admin URL from outside the admin (an email's link) works too.
    """
    env = server_env(database=f"sqlite:///{tmp_path / 'db.sqlite3'}", redis="")
    modules = repr(ADMIN_MODULES)
    probe = (
        "import json, sys\n"
        "from bookstore.wsgi import application\n"
        "from django.urls import get_resolver, reverse\n"
        "from django.test import Client\n"
        "from django.contrib import admin\n"
        "get_resolver().url_patterns\n"
        f"at_start = [name for name in {modules} if name in sys.modules]\n"
        "api = Client().get('/healthz', HTTP_HOST='localhost')\n"
        f"after_api = [name for name in {modules} if name in sys.modules]\n"
        "index = Client().get('/admin/', HTTP_HOST='localhost')\n"
        f"after_admin = [name for name in {modules} if name in sys.modules]\n"
        f"print(json.dumps([api.status_code, index.status_code, index['Location'], at_start, after_api, after_admin,"
        f" reverse('admin:catalog_book_changelist'), {REGISTERED}]))\n"
    )
    api, index, location, at_start, after_api, after_admin, changelist, registered = _printed(env, probe)
    assert (api, at_start, after_api) == (200, [], [])
    assert (index, location) == (302, "/admin/login/?next=/admin/")
    assert after_admin == list(ADMIN_MODULES)
    assert changelist == "/admin/catalog/book/"

    eager = f"import json, django\ndjango.setup()\nfrom django.contrib import admin\nprint(json.dumps({REGISTERED}))\n"
    assert registered == _printed(env, eager)
    assert len(registered) > 20  # every app's, not an empty registry


def test_reversing_any_url_in_a_worker_discovers_the_admin(tmp_path):
    """``reverse`` indexes every URL pattern, so an admin link built outside the admin resolves in a worker."""
    env = server_env(database=f"sqlite:///{tmp_path / 'db.sqlite3'}", redis="")
    probe = _then(
        "from django.urls import reverse\n"
        "assert reverse('admin:orders_order_change', args=[7]) == '/admin/orders/order/7/change/'\n"
        "assert 'catalog.admin' in sys.modules\n"
    )
    assert _imported_by_a_worker(env, probe) == []
