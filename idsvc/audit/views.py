"""The ledger's public JWK Set: anyone checks a signed head or an inclusion proof with it."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from idsvc import unit_of_work
from idsvc.audit.ledgerkeys import get_ledger_keys

bp = Blueprint("audit", __name__)


@bp.get("/.well-known/ledger-keys.json")
@unit_of_work.read_only
def ledger_keys() -> Response:
    """Every ledger key, active and retired (a retired key's heads stay checkable)."""
    keys = get_ledger_keys()
    if keys.create_on_first_use:  # development: made on first use, as the first seal would
        keys.active()
    response = jsonify(keys.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
