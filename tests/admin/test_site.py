"""The store's admin site: installed as the default site, branded from settings."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client

from bookstore.admin import StoreAdminSite

pytestmark = pytest.mark.django_db


def test_the_store_site_is_the_default_admin_site() -> None:
    assert isinstance(admin.site, StoreAdminSite)


def test_login_page_and_index_are_branded_with_the_store_name(admin_client: Client, settings: Any) -> None:
    settings.STORE_NAME = "Chapter & Verse"

    login = Client().get("/admin/login/").content.decode()
    index = admin_client.get("/admin/").content.decode()

    for html in (login, index):
        assert "<title>" in html
        assert "Chapter &amp; Verse admin</title>" in html
        assert '<a href="/admin/">Chapter &amp; Verse</a>' in html
        assert "Django administration" not in html
    assert "View site" not in index


def test_anonymous_users_are_sent_to_the_login_page() -> None:
    response = Client().get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
