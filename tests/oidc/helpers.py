"""Small helpers shared by the OpenID Connect tests: basic auth, the code flow in one call, the
protected endpoints, client assertions (RFC 7523) and verifying our JWTs against /jwks.json."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tests.browser import AuthorizationRequest
from tests.browser import Browser
from tests.browser import query

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MACHINE_SCOPE = "registry.verify"


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issuer(client: Any) -> str:
    return client.application.config["ISSUER"]


def authorize(client: Any, client_id: str, number: str | None, *, scope: str = "openid profile",
              otp: str | None = None, **extra: str) -> tuple[Browser, AuthorizationRequest, str]:
    """Run the browser through login (when ``number`` is given), second factor and consent; returns
    the browser, the request and the code sent to the client."""
    browser = Browser(client)
    request, response = browser.start(client_id, scope=scope, **extra)
    response = browser.follow(response, id_number=number, otp=otp)
    assert response.status_code == 302, response.text
    params = query(response.headers["Location"])
    assert "code" in params, params
    return browser, request, params["code"]


def code_tokens(client: Any, client_id: str, secret: str | None, number: str, *,
                scope: str = "openid profile", otp: str | None = None, **extra: str) -> dict[str, Any]:
    """The token response of a complete, successful code flow (``secret=None``: a public client)."""
    browser, request, code = authorize(client, client_id, number, scope=scope, otp=otp, **extra)
    response = browser.redeem(request, code, (client_id, secret) if secret else None)
    assert response.status_code == 200, response.text
    return response.get_json()


def refresh(client: Any, client_id: str, secret: str, refresh_token: str, **form: str) -> Any:
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token, **form},
                       headers=basic(client_id, secret))


def machine_token(client: Any, client_id: str, secret: str, scope: str = MACHINE_SCOPE) -> Any:
    return client.post("/token", data={"grant_type": "client_credentials", "scope": scope},
                       headers=basic(client_id, secret))


def userinfo(client: Any, access_token: str) -> Any:
    return client.get("/userinfo", headers=bearer(access_token))


def introspect(client: Any, auth: tuple[str, str], token: str, **form: str) -> dict[str, Any]:
    response = client.post("/introspect", data={"token": token, **form}, headers=basic(*auth))
    assert response.status_code == 200, response.text
    return response.get_json()


def assert_oauth_error(response: Any, error: str, status: int = 400) -> None:
    """An RFC 6749 §5.2 error body with exactly this ``error`` and status, never cached."""
    assert response.status_code == status, response.text
    assert response.get_json()["error"] == error, response.text
    assert response.headers.get("Cache-Control") == "no-store"


def assert_invalid_client_401(response: Any) -> None:
    """invalid_client for a client that tried the Authorization header: 401 + WWW-Authenticate."""
    assert_oauth_error(response, "invalid_client", 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def assert_invalid_token(response: Any) -> None:
    """RFC 6750 §3.1: 401, ``invalid_token`` in the body and the Bearer challenge."""
    assert response.status_code == 401, response.text
    assert response.get_json()["error"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.lower().startswith("bearer ") and 'error="invalid_token"' in challenge


def verify_jwt(client: Any, token: str, *, audience: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a JWT of ours with the key /jwks.json publishes for its kid; returns (header, claims)."""
    header = jwt.get_unverified_header(token)
    keys = client.get("/jwks.json").get_json()["keys"]
    key = next(k for k in keys if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], issuer=issuer(client),
                        audience=audience, options={"verify_aud": audience is not None})
    return header, claims


# --- private_key_jwt (RFC 7523 §2.2) ----------------------------------------------------------

def client_key() -> tuple[Any, dict[str, Any]]:
    """A new P-256 key of a client and the public JWKS it registers."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    public.update({"kid": f"rp-{secrets.token_hex(4)}", "alg": "ES256", "use": "sig"})
    return key, {"keys": [public]}


def client_assertion(key: Any, kid: str, client_id: str, audience: str, **overrides: Any) -> str:
    """A client assertion: iss = sub = client_id, aud = the token endpoint, 60 s, a fresh jti."""
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60,
              "jti": secrets.token_urlsafe(16), **overrides}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def assertion_form(assertion: str, **form: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **form}
