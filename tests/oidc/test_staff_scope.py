"""The ``registry.staff`` scope: a person's scope (never a machine's), of trusted clients only,
granted to a level-2 login only, and refused at the API to a token of a level-1 login."""

from __future__ import annotations

import pytest
from flask import jsonify

from idsvc import api
from idsvc import db
from idsvc.errors import ValidationFailed
from idsvc.oidc import issuance
from idsvc.oidc.claims import STAFF_SCOPE
from tests.browser import totp_now
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import assert_oauth_error
from tests.oidc.helpers import bearer
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import machine_token
from tests.oidc.helpers import verify_jwt

OFFICE_SCOPES = ["openid", STAFF_SCOPE]


def test_only_a_trusted_client_may_be_allowed_the_staff_scope(app_ctx) -> None:
    with pytest.raises(ValidationFailed, match=f"only a trusted .* {STAFF_SCOPE} scope"):
        make_client(scopes=OFFICE_SCOPES)
    client, _ = make_client(scopes=OFFICE_SCOPES, trusted=True)
    assert STAFF_SCOPE in client.scopes


def test_a_machine_client_never_gets_the_staff_scope(client, setup_data) -> None:
    made, secret = setup_data(lambda: make_client(grant_types=["client_credentials"], redirect_uris=[],
                                                  scopes=["registry.verify", STAFF_SCOPE], trusted=True))
    assert_oauth_error(machine_token(client, made.client_id, secret, STAFF_SCOPE), "invalid_scope")


def test_a_staff_login_is_at_level_two_even_for_an_account_without_a_role(client, setup_data) -> None:
    def create():
        office, secret = make_client(scopes=OFFICE_SCOPES, trusted=True)
        return office.client_id, secret, make_account(level=2).citizen.id_number
    client_id, secret, number = setup_data(create)
    body = code_tokens(client, client_id, secret, number, scope="openid registry.staff", otp=totp_now())
    assert body["scope"] == "openid registry.staff"
    assert verify_jwt(client, body["id_token"], audience=client_id)[1]["acr"] == "urn:idsvc:loa:2"


@pytest.mark.parametrize(("level", "status"), [(1, 401), (2, 200)])
def test_the_api_refuses_a_staff_token_of_a_level_one_login(app, setup_data, level: int, status: int) -> None:
    @app.get("/api/v1/test-staff")
    @api.require_scope(STAFF_SCOPE)
    def staff_only():
        return jsonify({"actor": api.actor()})

    def issue():
        office, _ = make_client(scopes=OFFICE_SCOPES, trusted=True)
        account = make_account(level=2)
        return issuance.issue_tokens(client=office, account=account, scope="openid registry.staff",
                                     grant_type="authorization_code", include_refresh=False, level=level,
                                     amr="pwd otp" if level == 2 else "pwd", auth_time=db.utcnow())["access_token"]
    response = app.test_client().get("/api/v1/test-staff", headers=bearer(setup_data(issue)))
    assert response.status_code == status, response.text
    if level == 1:
        assert response.mimetype == "application/problem+json"
        assert "level-2 login" in response.get_json()["detail"]
        assert 'error="insufficient_user_authentication"' in response.headers["WWW-Authenticate"]
