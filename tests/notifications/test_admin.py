"""Staff see each email's state in the admin and can send one again."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from notifications.models import Email
from notifications.services import email_deliver, email_queue
from tests.factories import UserFactory
from tests.notifications.test_outbox import TEMPLATE, _context

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_browser() -> Client:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_email", "change_email"]))
    client = Client()
    client.force_login(staff)
    return client


def _email(to: str, state: str, last_error: str = "") -> Email:
    email = email_queue(to=to, template=TEMPLATE, context=_context())
    Email.objects.filter(pk=email.pk).update(state=state, last_error=last_error)
    return email


def test_the_changelist_shows_state_and_last_error(staff_browser):
    _email("sent@example.com", Email.State.SENT)
    _email("failed@example.com", Email.State.FAILED, "SMTPRecipientsRefused: mailbox unavailable")
    page = staff_browser.get(reverse("admin:notifications_email_changelist")).content.decode()
    assert "sent@example.com" in page
    assert "failed@example.com" in page
    assert "SMTPRecipientsRefused: mailbox unavailable" in page
    assert ">Failed<" in page
    assert ">Sent<" in page
    filtered = staff_browser.get(reverse("admin:notifications_email_changelist"), {"state__exact": "failed"})
    assert "sent@example.com" not in filtered.content.decode()


def test_resend_action_delivers_a_failed_email_to_the_smtp_server(staff_browser, smtp_server, monkeypatch):
    from notifications import services

    monkeypatch.setattr(services, "email_dispatch", lambda *, email_id: True)  # the worker is played below
    failed = _email("failed@example.com", Email.State.FAILED, "timed out")
    response = staff_browser.post(
        reverse("admin:notifications_email_changelist"),
        {"action": "resend", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert "1 email(s) queued to be sent again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.state, failed.last_error) == (Email.State.QUEUED, "")
    email_deliver(email_id=failed.pk)
    [message] = smtp_server.wait_for(1, timeout=10)
    assert message["To"] == "failed@example.com"
    failed.refresh_from_db()
    assert failed.state == Email.State.SENT


def test_emails_cannot_be_added_or_edited_in_the_admin(staff_browser):
    email = _email("x@example.com", Email.State.SENT)
    assert staff_browser.get(reverse("admin:notifications_email_add")).status_code == 403
    page = staff_browser.get(reverse("admin:notifications_email_change", args=[email.pk])).content.decode()
    assert 'name="to"' not in page  # read-only


def test_an_email_rendered_by_the_worker_shows_its_template_until_then(staff_browser, smtp_server):
    from notifications.services import email_build_deferred
    from tests.notifications.test_outbox import _snapshot_context

    email = email_build_deferred(to="later@example.com", template=TEMPLATE, context=_snapshot_context())
    email.save()
    page = staff_browser.get(reverse("admin:notifications_email_changelist")).content.decode()
    assert f"({TEMPLATE}: rendered when sent)" in page
    email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.subject
    page = staff_browser.get(reverse("admin:notifications_email_changelist")).content.decode()
    assert escape(email.subject) in page
    assert "rendered when sent" not in page
