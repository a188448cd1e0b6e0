"""Messages (the admin's "Saved." notes): made on first use, kept and shown as Django's middleware does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from bookstore.middleware import LazyMessageMiddleware

pytestmark = pytest.mark.django_db


def _run(view: Callable[[HttpRequest], HttpResponse], cookies: dict[str, str] | None = None):
    request = RequestFactory().get("/admin/")
    request.COOKIES.update(cookies or {})
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    return request, LazyMessageMiddleware(view)(request)


def _add(request: HttpRequest) -> HttpResponse:
    messages.success(request, "Saved.")
    return HttpResponse("added")


def _show(request: HttpRequest) -> HttpResponse:
    return HttpResponse(" | ".join(str(message) for message in messages.get_messages(request)))


def test_a_message_added_in_one_request_is_shown_in_the_next_and_then_gone():
    _request, added = _run(_add)
    cookie = added.cookies["messages"].value
    assert cookie

    _request, shown = _run(_show, {"messages": cookie})
    assert shown.content == b"Saved."
    # Shown messages are consumed: the cookie is cleared.
    assert shown.cookies["messages"].value == ""

    _request, again = _run(_show)
    assert again.content == b""


def test_a_request_that_never_uses_messages_builds_no_storage_and_sets_no_cookie(api_client):
    response = api_client.get("/api/v1/books")
    assert response.status_code == 200
    assert response.wsgi_request._messages._wrapped is empty
    assert "messages" not in response.cookies

    request, plain = _run(lambda r: HttpResponse("plain"))
    assert request._messages._wrapped is empty
    assert "messages" not in plain.cookies
