"""The Authlib authorization server of one app, and the resource protector of our APIs.

``init_oauth(app)`` builds a fresh server per app (Authlib's registrations append, so a shared
module-level server would pile up grants when tests create many apps); views reach it through
``authorization``. ``require_oauth`` is module-level because decorators need it at import time;
its validator is stateless. The ``/api/v1`` blueprints, whatever their subdomain, reach it through
:func:`verify_access_token`, which ``create_app`` gives to :mod:`idsvc.api`.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.integrations.flask_oauth2.errors import raise_http_exception
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from flask import Flask
from flask import current_app
from flask import json
from flask import request
from werkzeug.local import LocalProxy

from idsvc.oidc import claims
from idsvc.oidc import clients
from idsvc.oidc import grants
from idsvc.oidc.models import OAuthToken


def _query_client(client_id: str) -> Any:
    return clients.find_client(client_id)


def _save_token(token: dict[str, Any], request: Any) -> None:
    """Tokens are stored when they are issued (``issuance.issue_tokens``); nothing left to do."""


def init_oauth(app: Flask) -> None:
    server = AuthorizationServer(query_client=_query_client, save_token=_save_token)
    server.init_app(app)
    server.scopes_supported = list(claims.SCOPES)
    server.register_client_auth_method(grants.PrivateKeyJWT.CLIENT_AUTH_METHOD, grants.PrivateKeyJWT())
    server.register_grant(grants.AuthorizationCodeGrant, [grants.S256Only(required=True), grants.IdToken()])
    server.register_grant(grants.RefreshTokenGrant)
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_endpoint(grants.Revocation)
    server.register_endpoint(grants.Introspection)
    server.register_extension(grants.Issuer())
    app.extensions["idsvc.oauth"] = server


def _server() -> AuthorizationServer:
    return current_app.extensions["idsvc.oauth"]


authorization: AuthorizationServer = LocalProxy(_server)

class BearerProtector(ResourceProtector):
    """Authlib's protector, plus the form-encoded ``access_token`` of RFC 6750 §2.2 and a bare
    challenge (no error code) when no token was sent (RFC 6750 §3.1)."""

    def parse_request_authorization(self, req: Any) -> Any:
        form_token = request.form.get("access_token") if request.method == "POST" else None
        if form_token and "Authorization" not in request.headers:
            return self.get_token_validator("bearer"), form_token
        return super().parse_request_authorization(req)

    def raise_error_response(self, error: OAuth2Error) -> None:
        if isinstance(error, MissingAuthorizationError):
            raise_http_exception(401, json.dumps({"error": "invalid_request",
                                                  "error_description": "Send an access token."}),
                                 [("WWW-Authenticate", 'Bearer realm="idsvc"'), ("Content-Type", "application/json"),
                                  ("Cache-Control", "no-store")])
        super().raise_error_response(error)


require_oauth = BearerProtector()
require_oauth.register_token_validator(grants.AccessTokenValidator())


def verify_access_token(scope: str) -> OAuthToken:
    """The :class:`idsvc.api.TokenVerifier` of our APIs: the request's bearer token (RFC 6750), valid
    and granting ``scope``.

    :raises OAuth2Error: no token, a token that is not valid, one without ``scope``, or one of a
        level-1 login for a scope that needs level 2.
    """
    token: OAuthToken = require_oauth.acquire_token([scope])
    if scope in claims.LEVEL_2_SCOPES and (token.account_id is None or token.level != 2):
        raise grants.InsufficientUserAuthentication(f"the scope {scope} needs a level-2 login")
    return token
