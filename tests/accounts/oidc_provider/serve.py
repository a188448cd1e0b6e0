"""Start the test provider: ``python -m tests.accounts.oidc_provider.serve PORT DB_FILE CLIENT_SECRET REDIRECT_URI``.

Creates its SQLite database, registers the store as a confidential client
(authorization code, PKCE, RS256, approval skipped) and serves on
127.0.0.1:PORT until killed.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    port, db_file, client_secret, redirect_uri = sys.argv[1:5]
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.accounts.oidc_provider.settings"
    os.environ["OIDC_PROVIDER_DB"] = db_file
    os.environ["OIDC_PROVIDER_ISSUER"] = f"http://127.0.0.1:{port}/o"

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    Application.objects.update_or_create(
        client_id="bookstore",
        defaults={
            "name": "Bookstore",
            "client_secret": client_secret,
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": redirect_uri,
            "skip_authorization": True,
            "algorithm": Application.RS256_ALGORITHM,
        },
    )
    run("127.0.0.1", int(port), get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()
