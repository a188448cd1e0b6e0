"""The periodic JWT flush: expired refresh tokens and their blacklist entries go, live ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tasks import flush_expired_tokens

pytestmark = pytest.mark.django_db


def _token(user, jti: str, expires_in: timedelta, *, blacklisted: bool) -> OutstandingToken:
    token = OutstandingToken.objects.create(
        user=user, jti=jti, token=f"token-{jti}", created_at=timezone.now(), expires_at=timezone.now() + expires_in
    )
    if blacklisted:
        BlacklistedToken.objects.create(token=token)
    return token


def test_expired_tokens_and_their_blacklist_entries_are_deleted_live_ones_stay(user):
    _token(user, "expired", -timedelta(seconds=1), blacklisted=False)
    _token(user, "expired-blacklisted", -timedelta(days=3), blacklisted=True)
    _token(user, "live", timedelta(minutes=1), blacklisted=False)
    _token(user, "live-blacklisted", timedelta(days=6), blacklisted=True)

    assert flush_expired_tokens() == 3  # two tokens and one blacklist entry

    assert sorted(OutstandingToken.objects.values_list("jti", flat=True)) == ["live", "live-blacklisted"]
    assert list(BlacklistedToken.objects.values_list("token__jti", flat=True)) == ["live-blacklisted"]
