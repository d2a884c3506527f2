"""``idsvc.api`` protects an API of any subdomain with the token verifier the app registers, so a
blueprint below ``oidc`` (the registry's, eligibility's) needs no import of it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6750 import InsufficientScopeError
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Blueprint
from flask import Flask
from flask import jsonify
from flask import request

from idsvc import api


@dataclass
class _Token:
    actor: str


def _verify(scope: str) -> _Token:
    """A stand-in verifier: the token is the Authorization header's text after "Bearer "."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise MissingAuthorizationError()
    token = header.removeprefix("Bearer ")
    if token == "expired":
        raise InvalidTokenError()
    if token != scope:
        raise InsufficientScopeError()
    return _Token(actor="client:registry-test")


def _app(*, verify: bool = True) -> Flask:
    bp = Blueprint("lower_api", __name__, url_prefix="/api/v1/lower")

    @bp.get("")
    @api.require_scope("registry.verify")
    def lookup():
        return jsonify({"actor": api.actor()})

    app = Flask(__name__)
    if verify:
        api.init_app(app, verify_token=_verify)
    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize(("headers", "status", "challenge"), [
    ({}, 401, 'Bearer realm="idsvc"'),
    ({"Authorization": "Bearer expired"}, 401, 'Bearer realm="idsvc", error="invalid_token"'),
    ({"Authorization": "Bearer profile"}, 403,
     'Bearer realm="idsvc", error="insufficient_scope", scope="registry.verify"'),
])
def test_refusals_come_from_the_registered_verifier(headers: dict[str, str], status: int, challenge: str) -> None:
    response = _app().test_client().get("/api/v1/lower", headers=headers)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == challenge


def test_a_valid_token_reaches_the_view_with_its_actor() -> None:
    response = _app().test_client().get("/api/v1/lower", headers={"Authorization": "Bearer registry.verify"})
    assert response.status_code == 200 and response.get_json() == {"actor": "client:registry-test"}


def test_an_app_without_a_verifier_serves_no_protected_view() -> None:
    app = _app(verify=False)
    app.testing = True
    with pytest.raises(RuntimeError, match=r"create_app calls idsvc\.api\.init_app"):
        app.test_client().get("/api/v1/lower", headers={"Authorization": "Bearer registry.verify"})


def test_create_app_registers_the_oidc_verifier(app: Flask) -> None:
    from idsvc.oidc.server import verify_access_token

    assert app.extensions["idsvc.api.verify_token"] is verify_access_token
