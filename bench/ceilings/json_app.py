"""WSGI entry point of ceiling J: ``gunicorn bench.ceilings.json_app:application``."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.ceilings.json_settings"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
