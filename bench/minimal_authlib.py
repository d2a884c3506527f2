"""A minimal Flask + Authlib client_credentials token endpoint: the baseline of ``bench_oidc.py``.

One in-memory confidential client (``client_secret_basic``), no database, no audit; the access
token is an ES256 JWT (RFC 9068 claims) signed with PyJWT, as idsvc signs its own. What idsvc
does on top of this (client row, token row, audit event, commit) is what the ratio measures.

    BENCH_CLIENT_SECRET=... gunicorn -w 2 -b 127.0.0.1:5101 --chdir bench minimal_authlib:app

``BENCH_SIGNING_KEY`` (PEM) shares one key between the workers; without it each worker makes its own.

With ``BENCH_DATABASE_URL`` (the idsvc database) and ``BENCH_DB_CLIENT_ID`` (a client registered
there), each token also does, through plain psycopg and nothing else, the durable work idsvc does
for it: read the client row, insert the token row and an audit event, commit. That baseline
separates the cost of the writes themselves from the cost of our code around them.

``GET /hello`` answers a constant: the ceiling of Flask under gunicorn, for JWKS and discovery.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import time
from typing import Any

import jwt
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.util import scope_to_list
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

ISSUER = os.environ.get("BENCH_ISSUER", "https://minimal.bench.invalid")
CLIENT_ID = os.environ.get("BENCH_CLIENT_ID", "bench-machine")
CLIENT_SECRET = os.environ.get("BENCH_CLIENT_SECRET") or secrets.token_urlsafe(32)
SCOPES = ("registry.verify",)
ACCESS_TOKEN_SECONDS = 600
KID = "es256-minimal"


def _signing_key() -> Any:
    pem = os.environ.get("BENCH_SIGNING_KEY")
    if pem:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    return ec.generate_private_key(ec.SECP256R1())


SIGNING_KEY = _signing_key()


class Client(ClientMixin):
    def __init__(self, client_id: str, secret: str, scopes: tuple[str, ...]) -> None:
        self.client_id, self.secret, self.scopes = client_id, secret, scopes

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in scope_to_list(scope) or [] if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


CLIENTS = {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, SCOPES)}


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]  # noqa: RUF012


DATABASE_URL = os.environ.get("BENCH_DATABASE_URL")
DB_CLIENT_ID = os.environ.get("BENCH_DB_CLIENT_ID", "")
_local = threading.local()  # one connection per thread (gunicorn's gthread worker)


def _store(jti: str, scope: str) -> None:
    """The same durable writes as idsvc's token endpoint, as lean as Python gets (one connection
    a thread, no ORM): client row, token row, audit event, commit."""
    import psycopg

    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = psycopg.connect(DATABASE_URL)  # type: ignore[arg-type]  # set when called
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM oauth_client WHERE client_id = %s", (DB_CLIENT_ID,))
        (client_pk,) = cur.fetchone()  # type: ignore[misc]  # the client is there
        cur.execute("INSERT INTO oauth_token (jti, client_pk, grant_type, scope, issued_at, access_expires_at, "
                    "family) VALUES (%s, %s, 'client_credentials', %s, now(), now() + interval '600 seconds', %s) "
                    "RETURNING id", (jti, client_pk, scope, secrets.token_urlsafe(32)))
        (token_id,) = cur.fetchone()  # type: ignore[misc]  # RETURNING gives a row
        cur.execute("INSERT INTO audit_event (at, action, actor, subject_type, subject_id, ip, data) "
                    "VALUES (now(), 'oidc:token:issue', %s, 'client', %s, '127.0.0.1', %s)",
                    (f"client:{DB_CLIENT_ID}", DB_CLIENT_ID,
                     json.dumps({"grant_type": "client_credentials", "scope": scope, "token": token_id})))
    connection.commit()


def generate_token(grant_type: str, client: Client, user: Any = None, scope: str | None = None,
                   expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": ISSUER, "iat": now, "exp": now + ACCESS_TOKEN_SECONDS,
              "jti": secrets.token_urlsafe(32), "client_id": client.client_id, "sub": client.client_id,
              "scope": scope or ""}
    if DATABASE_URL:
        _store(claims["jti"], claims["scope"])
    token = jwt.encode(claims, SIGNING_KEY, algorithm="ES256", headers={"kid": KID, "typ": "at+jwt"})
    return {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS, "scope": scope or ""}


app = Flask(__name__)
server = AuthorizationServer(app, query_client=CLIENTS.get, save_token=lambda token, request: None)
server.scopes_supported = list(SCOPES)
server.register_grant(ClientCredentialsGrant)
server.register_token_generator("default", generate_token)


@app.post("/token")
def token() -> Any:
    return server.create_token_response()


@app.get("/hello")
def hello() -> str:
    return "hello"
