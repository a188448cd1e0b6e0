"""Logout across two app servers sharing PostgreSQL and Redis: a signed-out access token is refused by both.

The access token's id goes into Redis (the shared cache) when its session
logs out, so the other server refuses it on its next request, well within
the 60 s the store promises; sign out everywhere holds across servers too.
"""

from __future__ import annotations

import pytest

from tests.reliability.http import call

pytestmark = [pytest.mark.slow, pytest.mark.requires_postgres, pytest.mark.requires_redis]


def test_logout_on_one_server_ends_the_access_token_on_the_other(stack):
    seed = stack.seed(stocks=[1])
    first, second = stack.start_server(), stack.start_server()
    credentials = {"email": seed.customers[0]["email"], "password": seed.password}

    def sign_in() -> dict[str, str]:
        issued = call("POST", f"{first.url}/api/v1/auth/token", json=credentials)
        assert issued.status_code == 200, issued.text
        return issued.json()

    session, other_session = sign_in(), sign_in()
    assert call("GET", f"{second.url}/api/v1/users/me", token=session["access"]).status_code == 200

    logout = call(
        "POST", f"{first.url}/api/v1/auth/logout", token=session["access"], json={"refresh": session["refresh"]}
    )
    assert logout.status_code == 204

    for server in (first, second):
        assert call("GET", f"{server.url}/api/v1/users/me", token=session["access"]).status_code == 401
    assert call("GET", f"{second.url}/api/v1/users/me", token=other_session["access"]).status_code == 200

    # Sign out everywhere on the second server: the first refuses every older token, and the new pair works.
    assert call("POST", f"{second.url}/api/v1/auth/logout-all", token=other_session["access"]).status_code == 204
    assert call("GET", f"{first.url}/api/v1/users/me", token=other_session["access"]).status_code == 401
    refresh = call("POST", f"{first.url}/api/v1/auth/token/refresh", json={"refresh": other_session["refresh"]})
    assert refresh.status_code == 401
    fresh = sign_in()
    assert call("GET", f"{second.url}/api/v1/users/me", token=fresh["access"]).status_code == 200
