"""API keys cannot create, list or revoke API keys; that needs a JWT (issue 20, point 16).

The attack: a key created another key, and the new key outlived the revocation
of its parent, so a leaked key could mint its own successor.
"""

from __future__ import annotations

import pytest

from accounts.models import ApiKey
from tests.helpers import assert_envelope
from tests.security.conftest import World

pytestmark = pytest.mark.django_db


def test_a_key_cannot_mint_its_successor(world: World) -> None:
    client = world.client("api_key")  # a superuser's key: permissions are not what stops it
    keys_before = set(ApiKey.objects.values_list("pk", flat=True))

    response = client.post("/api/v1/api-keys", {"name": "successor"}, format="json")

    assert_envelope(response, 403, "permission_denied")
    assert "JWT" in response.json()["error"]["message"]
    assert set(ApiKey.objects.values_list("pk", flat=True)) == keys_before


def test_a_key_cannot_list_or_revoke_keys(world: World) -> None:
    client = world.client("api_key")

    assert_envelope(client.get("/api/v1/api-keys"), 403, "permission_denied")
    assert_envelope(client.get(f"/api/v1/api-keys/{world.api_key_id}"), 403, "permission_denied")
    assert_envelope(client.delete(f"/api/v1/api-keys/{world.api_key_id}"), 403, "permission_denied")
    assert ApiKey.objects.get(pk=world.api_key_id).revoked_at is None


def test_the_owner_manages_keys_with_a_jwt(world: World) -> None:
    client = world.client("staff")

    created = client.post("/api/v1/api-keys", {"name": "successor"}, format="json")
    assert created.status_code == 201
    assert client.delete(f"/api/v1/api-keys/{world.api_key_id}").status_code == 204
