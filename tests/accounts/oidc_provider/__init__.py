"""A real OpenID Connect provider for the sign-in tests: django-oauth-toolkit in a process of its own.

``serve.py`` starts it (``python -m tests.accounts.oidc_provider.serve <port> <sqlite file>``);
``tests/accounts/conftest.py`` runs it for the session. Besides the standard
endpoints under ``/o/`` it has test-only helpers: ``POST /test/users``
(create a user), ``POST /login`` (start a browser session) and
``POST /test/mode`` (make the next ID tokens misbehave: signed by another key,
expired, or with another nonce).
"""
