"""ID tokens with the claims the store needs, and on request the faults the store must catch."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator

#: Faults for the next ID tokens, set through POST /test/mode: "foreign_key" (signed by another key, same kid),
#: "foreign_kid" (another key with its own kid), "expired", "wrong_nonce", "wrong_issuer", "wrong_audience".
#: Empty: a correct token.
MODE: dict[str, Any] = {"fault": ""}
#: Usernames whose email the provider has not verified.
UNVERIFIED: set[str] = set()


class TestProviderValidator(OAuth2Validator):
    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "email_verified": user.username not in UNVERIFIED,
            "given_name": user.first_name,
            "family_name": user.last_name,
        }

    def finalize_id_token(self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any) -> str:
        fault = MODE.get("fault") or ""
        if not fault:
            return str(super().finalize_id_token(id_token, token, token_handler, request))
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = request.client.jwk_key
        header = {"typ": "JWT", "alg": "RS256", "kid": key.thumbprint()}
        if fault in ("foreign_key", "foreign_kid"):
            key = jwk.JWK.from_pem(settings.FOREIGN_KEY_PEM.encode())
            if fault == "foreign_kid":
                header["kid"] = key.thumbprint()
        elif fault == "expired":
            now = int(time.time())
            id_token.update(iat=now - 7200, auth_time=now - 7200, exp=now - 3600)
        elif fault == "wrong_nonce":
            id_token["nonce"] = "not-the-nonce-the-store-sent"
        elif fault == "wrong_issuer":
            id_token["iss"] = "http://127.0.0.1:1/another-issuer"
        elif fault == "wrong_audience":
            id_token["aud"] = "another-client"
        signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        request.id_token = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = request.id_token
        return str(signed.serialize())
