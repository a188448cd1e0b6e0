"""Sign-in with OpenID Connect providers (Google, Microsoft, Keycloak ...): the client side of the code flow.

The providers come from ``settings.OIDC_PROVIDERS`` (configured by
environment, see the README). A sign-in has two steps:

1. ``oidc_authorization_url``: a fresh ``state``, ``nonce`` and PKCE
   verifier (S256) are kept in the shared cache under the state for
   ``OIDC_STATE_SECONDS``, so any app server can finish the sign-in; the
   browser is sent to the provider's authorization endpoint.
2. ``oidc_sign_in``: the frontend sends back ``code`` and ``state``. The state
   is used up (it works once), the code is exchanged with the verifier at the
   token endpoint (Authlib), and the ID token is verified (joserfc): its
   signature against the provider's JWKS, ``iss``, ``aud``, ``exp`` and the
   ``nonce``. The account is matched by the *verified* email, or created.

Provider metadata (``/.well-known/openid-configuration``) and JWKS are cached
in the shared cache for ``OIDC_METADATA_SECONDS``; an ID token signed with a
key id the cached JWKS does not know refetches the JWKS once (key rotation).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.core.cache import cache
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, InvalidKeyIdError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from accounts.exceptions import OidcProviderUnavailable, OidcProviderUnknown, OidcSignInRejected

logger = logging.getLogger(__name__)

#: Signature algorithms accepted for ID tokens: asymmetric only (never ``none``, never HMAC with a public key).
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
#: Clock skew tolerated on ``exp``, ``iat`` and ``nbf``, in seconds.
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class OidcProvider:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    redirect_uri: str


@dataclass(frozen=True)
class OidcIdentity:
    """What a verified ID token says about the person signing in."""

    subject: str
    email: str
    first_name: str
    last_name: str


def provider_get(name: str) -> OidcProvider:
    """The configured provider called ``name``; ``OidcProviderUnknown`` (404) otherwise."""
    config = settings.OIDC_PROVIDERS.get(name) if isinstance(name, str) else None
    if not config:
        raise OidcProviderUnknown()
    return OidcProvider(name=name, **config)


def _cache_key(kind: str, value: str) -> str:
    return f"oidc-{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _state_key(state: str) -> str:
    # Hashed: the state comes from the client and may hold anything.
    return _cache_key("state", state)


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=settings.OIDC_HTTP_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OIDC provider unreachable", extra={"url": url, "error": exc.__class__.__name__})
        raise OidcProviderUnavailable() from exc
    if not isinstance(data, dict):
        raise OidcProviderUnavailable()
    return data


def provider_metadata(provider: OidcProvider) -> dict[str, Any]:
    """The provider's discovery document, cached; its ``issuer`` must be the configured one."""
    key = _cache_key("metadata", provider.issuer)
    metadata = cache.get(key)
    if metadata is None:
        metadata = _get_json(provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
        required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if metadata.get("issuer") != provider.issuer or not all(isinstance(metadata.get(f), str) for f in required):
            logger.warning("OIDC discovery document rejected", extra={"provider": provider.name})
            raise OidcProviderUnavailable()
        cache.set(key, metadata, timeout=settings.OIDC_METADATA_SECONDS)
    return dict(metadata)


def _provider_keys(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    key = _cache_key("jwks", jwks_uri)
    jwks = None if refresh else cache.get(key)
    if jwks is None:
        jwks = _get_json(jwks_uri)
        cache.set(key, jwks, timeout=settings.OIDC_METADATA_SECONDS)
    try:
        return KeySet.import_key_set(cast(Any, jwks))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OidcProviderUnavailable() from exc


def _session(provider: OidcProvider) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=provider.scopes,
        redirect_uri=provider.redirect_uri,
        code_challenge_method="S256",
    )


def oidc_authorization_url(*, provider: OidcProvider) -> str:
    """Start a sign-in: where to send the browser; the attempt's secrets stay in the shared cache."""
    metadata = provider_metadata(provider)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    cache.set(
        _state_key(state),
        {"provider": provider.name, "nonce": nonce, "verifier": verifier},
        timeout=settings.OIDC_STATE_SECONDS,
    )
    url, _ = _session(provider).create_authorization_url(
        metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    return str(url)


def _attempt_take(*, provider: OidcProvider, state: str) -> dict[str, str]:
    """The sign-in attempt ``state`` stands for, used up: a state works once, for its own provider."""
    key = _state_key(state)
    attempt = cache.get(key)
    # delete() tells whether this request removed it: of two concurrent callbacks only one goes on.
    if not isinstance(attempt, dict) or not cache.delete(key) or attempt.get("provider") != provider.name:
        raise OidcSignInRejected("Unknown, used or expired sign-in attempt; start again.", field="state")
    return attempt


def _exchange_code(*, provider: OidcProvider, metadata: dict[str, Any], code: str, verifier: str) -> dict[str, Any]:
    session = _session(provider)
    try:
        token = session.fetch_token(
            metadata["token_endpoint"],
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            timeout=settings.OIDC_HTTP_TIMEOUT,
        )
    except OAuthError as exc:
        logger.info("OIDC code refused", extra={"provider": provider.name, "error": exc.error})
        raise OidcSignInRejected("The provider refused the code.", field="code") from exc
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OIDC token endpoint failed", extra={"provider": provider.name, "error": type(exc).__name__})
        raise OidcProviderUnavailable() from exc
    return dict(token)


def _verify_id_token(*, provider: OidcProvider, metadata: dict[str, Any], id_token: str, nonce: str) -> dict[str, Any]:
    def rejected(reason: str) -> OidcSignInRejected:
        return OidcSignInRejected(f"The provider's ID token was rejected: {reason}.", field="code")

    try:
        try:
            decoded = jwt.decode(id_token, _provider_keys(metadata["jwks_uri"]), algorithms=ID_TOKEN_ALGORITHMS)
        except InvalidKeyIdError:  # a new signing key: the provider rotated its keys since we cached them
            decoded = jwt.decode(
                id_token, _provider_keys(metadata["jwks_uri"], refresh=True), algorithms=ID_TOKEN_ALGORITHMS
            )
    except InvalidKeyIdError as exc:
        raise rejected("it is signed with a key the provider does not publish") from exc
    except JoseError as exc:
        raise rejected("its signature is invalid") from exc
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    claims = dict(decoded.claims)
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise rejected("it has expired") from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        raise rejected(f"claim “{exc.claim}” is missing or wrong") from exc
    except JoseError as exc:
        raise rejected("its claims are invalid") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise rejected("claim “azp” is missing or wrong")
    return claims


def _userinfo(*, metadata: dict[str, Any], access_token: str) -> dict[str, Any]:
    endpoint = metadata.get("userinfo_endpoint")
    if not isinstance(endpoint, str) or not access_token:
        return {}
    try:
        response = requests.get(
            endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=settings.OIDC_HTTP_TIMEOUT
        )
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcProviderUnavailable() from exc
    return data if isinstance(data, dict) else {}


def _is_true(value: Any) -> bool:
    # Some providers send the boolean claims as strings.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def oidc_identity(*, provider: OidcProvider, code: str, state: str) -> OidcIdentity:
    """Finish a sign-in at the provider: the verified identity behind ``code``; ``OidcSignInRejected`` otherwise."""
    attempt = _attempt_take(provider=provider, state=state)
    metadata = provider_metadata(provider)
    token = _exchange_code(provider=provider, metadata=metadata, code=code, verifier=attempt["verifier"])
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcSignInRejected("The provider sent no ID token; is the “openid” scope configured?", field="code")
    claims = _verify_id_token(provider=provider, metadata=metadata, id_token=id_token, nonce=attempt["nonce"])
    if "email" not in claims:  # some providers put the email only in the userinfo answer
        info = _userinfo(metadata=metadata, access_token=str(token.get("access_token") or ""))
        if info.get("sub") == claims["sub"]:
            claims = {**info, **claims, "email": info.get("email"), "email_verified": info.get("email_verified")}
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise OidcSignInRejected("The provider did not share an email address.", field="code")
    if not _is_true(claims.get("email_verified")):
        raise OidcSignInRejected("The provider has not verified this email address.", field="code")
    return OidcIdentity(
        subject=str(claims["sub"]),
        email=email,
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
    )
