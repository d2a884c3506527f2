"""JWT encoding and decoding with PyJWT: the only module that imports ``jwt``.

Access tokens follow RFC 9068 (``typ: at+jwt``); ID tokens follow OpenID Connect Core §2. Both
are signed with the active key of ``keys.py`` and carry its ``kid``; verification accepts the
active and the retired keys, and only the algorithm that key was made for (no ``none``, no
algorithm confusion).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jwt
from flask import current_app

from idsvc import crypto
from idsvc.oidc.keys import get_keystore


class TokenInvalid(Exception):
    """The token is malformed, forged, expired or not for us."""


def _sign(claims: dict[str, Any], alg: str, typ: str) -> str:
    key = get_keystore().active(alg)
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})


def encode_access_token(claims: dict[str, Any]) -> str:
    return _sign(claims, "ES256", "at+jwt")


def encode_id_token(claims: dict[str, Any], alg: str = "ES256") -> str:
    return _sign(claims, alg, "JWT")


def encode_userinfo(claims: dict[str, Any], *, audience: str, alg: str = "ES256") -> str:
    """A userinfo answer as a signed JWT (OIDC Core §5.3.2): ``iss``, ``aud`` = the client, ``iat``."""
    return _sign({**claims, "iss": current_app.config["ISSUER"], "aud": audience, "iat": now()}, alg, "JWT")


def _verify(token: str, *, typ: str | None, audience: str | list[str] | None,
            verify_exp: bool = True) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("malformed token") from exc
    key = get_keystore().get(str(header.get("kid", "")))
    if key is None or header.get("alg") != key.alg:
        raise TokenInvalid("unknown key or wrong algorithm")
    if typ is not None and str(header.get("typ", "")).lower() != typ:
        raise TokenInvalid("wrong token type")
    try:
        return jwt.decode(
            token, key.private_key.public_key(), algorithms=[key.alg], issuer=current_app.config["ISSUER"],
            audience=audience, leeway=5,
            options={"verify_exp": verify_exp, "verify_aud": audience is not None,
                     "require": ["iss", "exp", "iat"]})
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify an access token of ours; :raises TokenInvalid:."""
    claims = _verify(token, typ="at+jwt", audience=current_app.config["ISSUER"])
    if "jti" not in claims:
        raise TokenInvalid("no jti")
    return claims


def decode_id_token_hint(token: str, client_id: str | None = None) -> dict[str, Any]:
    """Verify an ID token we issued, accepting an expired one (OIDC ``id_token_hint``)."""
    return _verify(token, typ=None, audience=client_id, verify_exp=False)


def half_hash(value: str, alg: str) -> str:
    """``at_hash`` / ``c_hash``: left half of the SHA-256 of the value (ES256 and RS256)."""
    return crypto.b64url(hashlib.sha256(value.encode()).digest()[:16])


def now() -> int:
    return int(time.time())
