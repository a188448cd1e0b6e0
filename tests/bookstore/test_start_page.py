"""`/` is a start page: links to the admin, the API docs and the API root, and the demo staff email (never a password)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from bookstore.demo import DEMO_STAFF_EMAIL, demo_staff_create

pytestmark = pytest.mark.django_db


def _links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def test_start_page_links_the_admin_the_docs_and_the_api_root(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert {"/admin/", "/api/docs/", "/api/v1/", "/api/schema/"} <= _links(html)
    assert "<script" not in html


@pytest.mark.parametrize("path", ["/admin/", "/api/docs/", "/api/v1/", "/api/schema/"])
def test_every_link_on_the_start_page_leads_somewhere(client, path):
    assert path in _links(client.get("/").content.decode())
    response = client.get(path)
    assert response.status_code in {200, 302}, path
    if response.status_code == 302:  # the admin sends a visitor to its login page
        assert client.get(response["Location"]).status_code == 200


def test_start_page_shows_the_demo_staff_email_but_never_its_password(client):
    out = StringIO()
    call_command("demo_setup", books=5, orders=0, stdout=out)
    password = next(
        line.split(":", 1)[1].strip()
        for line in out.getvalue().splitlines()
        if "password:" in line and "customer" not in line
    )
    html = client.get("/").content.decode()
    assert DEMO_STAFF_EMAIL in html
    assert password not in html
    assert "make staff-password" in html


def test_start_page_without_the_demo_account_shows_no_email(client):
    assert DEMO_STAFF_EMAIL not in client.get("/").content.decode()
    demo_staff_create()
    assert DEMO_STAFF_EMAIL in client.get("/").content.decode()


def test_start_page_answers_head_and_refuses_writes(client):
    assert client.head("/").status_code == 200
    assert client.post("/").status_code == 405
