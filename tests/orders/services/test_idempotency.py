"""orders.idempotency: claims, replays, in-flight duplicates, expiry and purging."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders import idempotency
from orders.exceptions import IdempotencyKeyReused, IdempotencyRequestInProgress, InvalidIdempotencyKey
from orders.idempotency import (
    idempotency_key_parse,
    idempotency_key_purge,
    idempotent_run,
    request_fingerprint,
)
from orders.models import IdempotencyKey, Order
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


class Action:
    """Stands in for order placement: counts calls, creates an order each time."""

    def __init__(self, user, fail: Exception | None = None):
        self.user = user
        self.calls = 0
        self.fail = fail

    def __call__(self):
        self.calls += 1
        if self.fail:
            raise self.fail
        order = OrderFactory(user=self.user)
        return order, {"id": order.pk, "number": order.number}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("a", "a"),
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('"8e03978e-40d5"', "8e03978e-40d5"),
        ("x" * 255, "x" * 255),
        ("with space and ~!@#", "with space and ~!@#"),
    ],
)
def test_valid_keys(raw, expected):
    assert idempotency_key_parse(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", '""', "x" * 256, "caf\u00e9", "tab\there", "nul\x00"])
def test_invalid_keys_are_400(raw):
    with pytest.raises(InvalidIdempotencyKey) as caught:
        idempotency_key_parse(raw)
    assert caught.value.status_code == 400
    assert list(caught.value.details) == ["Idempotency-Key"]


def test_fingerprint_ignores_key_order_and_whitespace():
    assert request_fingerprint({"a": 1, "b": [1, 2]}) == request_fingerprint({"b": [1, 2], "a": 1})
    assert request_fingerprint({"a": 1}) != request_fingerprint({"a": 2})
    assert len(request_fingerprint({})) == 64


def test_first_run_stores_response_and_second_replays(user):
    action = Action(user)
    first = idempotent_run(user=user, key="k", fingerprint="f", action=action)
    second = idempotent_run(user=user, key="k", fingerprint="f", action=action)
    assert action.calls == 1
    assert (first.replayed, second.replayed) == (False, True)
    assert first.status == second.status == 201
    assert second.body == first.body
    record = IdempotencyKey.objects.get()
    assert record.order_id == first.body["id"]
    assert record.response_status == 201


def test_other_body_with_same_key_is_422(user):
    idempotent_run(user=user, key="k", fingerprint="f1", action=Action(user))
    with pytest.raises(IdempotencyKeyReused) as caught:
        idempotent_run(user=user, key="k", fingerprint="f2", action=Action(user))
    assert caught.value.status_code == 422


def test_keys_are_per_user(user):
    other = UserFactory()
    first = idempotent_run(user=user, key="k", fingerprint="f", action=Action(user))
    second = idempotent_run(user=other, key="k", fingerprint="other-body", action=Action(other))
    assert not second.replayed
    assert first.body != second.body
    assert Order.objects.count() == 2


def test_failed_action_leaves_no_claim_so_the_key_can_be_retried(user):
    with pytest.raises(RuntimeError):
        idempotent_run(user=user, key="k", fingerprint="f", action=Action(user, fail=RuntimeError("boom")))
    assert not IdempotencyKey.objects.exists()
    assert not Order.objects.exists()
    retry = idempotent_run(user=user, key="k", fingerprint="f", action=Action(user))
    assert not retry.replayed
    assert IdempotencyKey.objects.get().response_status == 201


def test_failure_after_the_order_was_written_rolls_back_order_and_claim(user):
    def action():
        OrderFactory(user=user)
        raise RuntimeError("the response could not be built")

    with pytest.raises(RuntimeError):
        idempotent_run(user=user, key="k", fingerprint="f", action=action)
    assert not Order.objects.exists()
    assert not IdempotencyKey.objects.exists()


def test_leftover_claim_without_response_is_taken_over_at_once(user):
    # Claims and responses commit together, so a row without a response
    # belongs to no live request (e.g. one written by an older release).
    IdempotencyKey.objects.create(user=user, key="k", fingerprint="f")
    action = Action(user)
    result = idempotent_run(user=user, key="k", fingerprint="f", action=action)
    assert not result.replayed
    assert action.calls == 1
    assert IdempotencyKey.objects.get().response_status == 201


def test_gives_up_with_409_if_the_key_keeps_changing_hands(user, monkeypatch):
    class Vanishing:
        def filter(self, **kwargs):
            return self

        def first(self):
            return None

        def create(self, **kwargs):
            from django.db import IntegrityError

            raise IntegrityError("taken")

    monkeypatch.setattr(idempotency.IdempotencyKey, "objects", Vanishing())
    with pytest.raises(IdempotencyRequestInProgress) as caught:
        idempotent_run(user=user, key="k", fingerprint="f", action=Action(user))
    assert caught.value.status_code == 409
    assert caught.value.code == "idempotency_request_in_progress"


def test_keys_older_than_24_hours_are_ignored(user):
    first = idempotent_run(user=user, key="k", fingerprint="f", action=Action(user))
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    again = idempotent_run(user=user, key="k", fingerprint="other body is fine now", action=Action(user))
    assert not again.replayed
    assert again.body != first.body
    assert IdempotencyKey.objects.count() == 1


def test_purge_deletes_only_expired_keys(user):
    idempotent_run(user=user, key="old", fingerprint="f", action=Action(user))
    idempotent_run(user=user, key="new", fingerprint="f", action=Action(user))
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_key_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert Order.objects.count() == 2


def test_purge_command(user):
    IdempotencyKey.objects.create(user=user, key="old", fingerprint="f")
    IdempotencyKey.objects.create(user=user, key="new", fingerprint="f")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    out = StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "1" in out.getvalue()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_purge_command_older_than_option(user):
    IdempotencyKey.objects.create(user=user, key="k", fingerprint="f")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=2))
    call_command("purge_idempotency_keys", "--older-than-hours", "3", stdout=StringIO())
    assert IdempotencyKey.objects.exists()
    call_command("purge_idempotency_keys", "--older-than-hours", "1", stdout=StringIO())
    assert not IdempotencyKey.objects.exists()
