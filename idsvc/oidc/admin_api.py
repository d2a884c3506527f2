"""The clients admin API (``/api/v1/clients``): what ``idsvc clients`` does, over HTTP.

Callers hold an access token with the ``clients.admin`` scope (a machine client of the operations
team, registered with the CLI). Secrets appear once, in the response that creates or rotates them.
"""

from __future__ import annotations

from typing import Any
from typing import cast

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import url_for

from idsvc import api
from idsvc import unit_of_work
from idsvc.oidc import clients
from idsvc.oidc import purposes
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.schemas import ClientSettings
from idsvc.oidc.schemas import ClientSettingsSchema

bp = Blueprint("clients_api", __name__, url_prefix="/api/v1/clients")

SCOPE = "clients.admin"


def client_json(client: OAuthClient) -> dict[str, Any]:
    """A client's settings as the API shows them (never its secret, nor the secret's hash)."""
    return {
        "client_id": client.client_id, "name": client.name, "auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris, "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types, "scopes": client.scopes, "min_level": client.min_level,
        "sector": client.sector, "trusted": client.trusted, "is_resource_server": client.is_resource_server,
        "id_token_alg": client.id_token_signed_response_alg, "allowed_claims": client.allowed_claims,
        "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
        "purposes": [{"code": p.code, "description_vi": p.description_vi, "description_en": p.description_en,
                      "legal_basis": p.legal_basis, "retention_days": p.retention_days,
                      "consent_days": p.consent_days} for p in purposes.purposes_of(client)],
        "status": "disabled" if client.disabled_at else "enabled",
        "created_at": client.created_at.isoformat(),
        "secret_rotated_at": client.secret_rotated_at.isoformat() if client.secret_rotated_at else None,
        "disabled_at": client.disabled_at.isoformat() if client.disabled_at else None,
    }


def _secret_response(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
@unit_of_work.read_write
@api.require_scope(SCOPE)
def list_clients() -> Response:
    return jsonify({"clients": [client_json(c) for c in clients.list_clients()]})


@bp.post("")
@unit_of_work.read_write
@api.require_scope(SCOPE)
def create_client() -> Response:
    settings = cast(ClientSettings, api.body(ClientSettingsSchema()))  # what its post_load makes
    client, secret = clients.register_client(settings, actor=api.actor())
    response = _secret_response({**client_json(client), "client_secret": secret}, 201)
    response.headers["Location"] = url_for(".show_client", client_id=client.client_id)
    return response


@bp.get("/<client_id>")
@unit_of_work.read_write
@api.require_scope(SCOPE)
def show_client(client_id: str) -> Response:
    return jsonify(client_json(clients.get_client(client_id)))


@bp.post("/<client_id>/secret")
@unit_of_work.read_write
@api.require_scope(SCOPE)
def rotate_secret(client_id: str) -> Response:
    secret = clients.rotate_secret(clients.get_client(client_id), actor=api.actor())
    return _secret_response({"client_id": client_id, "client_secret": secret})


@bp.delete("/<client_id>")
@unit_of_work.read_write
@api.require_scope(SCOPE)
def disable_client(client_id: str) -> Response:
    """Disable (the record stays, for the audit trail) and revoke every token of the client."""
    client = clients.get_client(client_id)
    revoked = clients.disable_client(client, actor=api.actor())
    return jsonify({**client_json(client), "tokens_revoked": revoked})
