"""Registering purposes and allow-lists: ``idsvc clients …``, the admin API, the seed, and the
migration of the old consents."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text

from idsvc import db
from idsvc import migrate
from idsvc.oidc.models import ClientPurpose
from idsvc.oidc.models import OAuthClient
from tests.browser import Browser
from tests.factories import make_client
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import userinfo
from tests.oidc.test_admin_api import API
from tests.oidc.test_admin_api import admin  # noqa: F401 (a fixture)


def _invoke(runner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_cli_registers_purposes_allow_lists_and_signed_userinfo(runner, client, setup_data, create_account_now):
    output = _invoke(runner, "clients", "create", "--name", "Cổng thuế", "--redirect-uri",
                     "https://rp.example.vn/callback", "--scope", "openid", "--scope", "profile",
                     "--allow-claim", "name", "--userinfo-alg", "ES256")
    client_id = next(line.split()[1] for line in output.splitlines() if line.startswith("client_id"))
    secret = next(line.split()[1] for line in output.splitlines() if line.startswith("client_secret"))
    assert "allowed claims name" in output and "purpose        login (consent" in output
    added = _invoke(runner, "clients", "add-purpose", client_id, "tax-refund", "--vi", "Hoàn thuế thu nhập",
                    "--en", "Income tax refunds", "--retention-days", "3650", "--consent-days", "90")
    assert "tax-refund (consent)" in added
    shown = _invoke(runner, "clients", "show", client_id)
    assert "tax-refund (consent; kept 3650 days; consent lasts 90 days): Income tax refunds" in shown
    refused = runner.invoke(args=["clients", "add-purpose", client_id, "tax-refund", "--vi", "x", "--en", "y"])
    assert refused.exit_code != 0 and "already" in refused.output
    unknown = runner.invoke(args=["clients", "allow-claims", client_id, "name", "shoe_size"])
    assert unknown.exit_code != 0 and "unknown claims: shoe_size" in unknown.output
    trusted_only = runner.invoke(args=["clients", "allow-claims", client_id, "personal_id_number"])
    assert trusted_only.exit_code != 0 and "trusted" in trusted_only.output

    number = create_account_now()
    tokens = code_tokens(client, client_id, secret, number, scope="openid profile", purpose="tax-refund")
    assert userinfo(client, tokens["access_token"]).mimetype == "application/jwt"
    assert "allowed claims given_name name" in _invoke(runner, "clients", "allow-claims", client_id, "name",
                                                       "given_name")
    assert "userinfo for" in _invoke(runner, "clients", "userinfo-alg", client_id, "none")
    assert userinfo(client, tokens["access_token"]).mimetype == "application/json"


@pytest.fixture()
def create_account_now(setup_data):
    from tests.factories import make_account
    return lambda: setup_data(lambda: make_account().citizen.id_number)


def test_the_admin_api_takes_and_shows_purposes_and_allow_lists(client, admin) -> None:  # noqa: F811
    headers, _ = admin
    created = client.post(API, headers=headers, json={
        "name": "Cổng dịch vụ công", "redirect_uris": ["https://rp.example.vn/callback"],
        "scopes": ["openid", "profile", "birthdate"], "allowed_claims": ["name", "birthdate", "name"],
        "userinfo_signed_response_alg": "ES256",
        "purposes": [{"code": "public-services", "description_vi": "Dịch vụ công", "description_en": "Public services",
                      "legal_basis": "consent", "retention_days": 365, "consent_days": 180}]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["allowed_claims"] == ["birthdate", "name"] and body["userinfo_signed_response_alg"] == "ES256"
    assert body["purposes"] == [{"code": "public-services", "description_vi": "Dịch vụ công",
                                 "description_en": "Public services", "legal_basis": "consent",
                                 "retention_days": 365, "consent_days": 180}]
    bad = client.post(API, headers=headers, json={
        "name": "X", "redirect_uris": ["https://rp.example.vn/callback"],
        "purposes": [{"code": "Bad Code", "description_vi": "x", "description_en": "y"}]})
    assert bad.status_code == 422 and "purposes" in json.dumps(bad.get_json())
    basis = client.post(API, headers=headers, json={
        "name": "X", "redirect_uris": ["https://rp.example.vn/callback"],
        "purposes": [{"code": "x", "description_vi": "x", "description_en": "y", "legal_basis": "interest"}]})
    assert basis.status_code == 422


def test_a_client_registered_without_purposes_gets_login_and_its_scopes_claims(app_ctx) -> None:
    agency, _ = make_client(scopes=["openid", "profile", "birthdate"])
    first_party, _ = make_client(scopes=["openid", "profile"], trusted=True)
    purposes = {c.client_id: [(p.code, p.legal_basis) for p in db.session().scalars(
        select(ClientPurpose).where(ClientPurpose.client_pk == c.id))] for c in (agency, first_party)}
    assert purposes == {agency.client_id: [("login", "consent")], first_party.client_id: [("login", "statutory")]}
    assert agency.allowed_claims == ["birthdate", "family_name", "given_name", "middle_name", "name", "updated_at"]


def test_the_seed_gives_the_demo_clients_their_purposes(runner, app) -> None:
    _invoke(runner, "seed", "--if-empty")
    with app.app_context():
        rows = db.session().execute(select(OAuthClient.client_id, OAuthClient.allowed_claims, ClientPurpose.code,
                                           ClientPurpose.legal_basis, ClientPurpose.description_vi)
                                    .join(ClientPurpose, ClientPurpose.client_pk == OAuthClient.id)
                                    .where(OAuthClient.client_id.in_(["demo-agency", "demo-public"]))).all()
    found = {row[0]: row for row in rows}
    assert found["demo-agency"][2:4] == ("public-services", "consent") and found["demo-agency"][4]
    assert "vn_ethnicity" in found["demo-agency"][1]
    assert found["demo-public"][2] == "mobile-login" and "vn_ethnicity" not in found["demo-public"][1]


def test_the_migration_turns_old_consents_into_records(app, setup_data) -> None:
    """Consent rows of the old table (one live, one revoked) become records of the purpose login."""
    from tests.factories import make_account

    account = setup_data(lambda: make_account().id)
    engine = db.get_db(app).engine
    engine.dispose()
    migrate.downgrade(engine, "b3d9e4f6a170")
    with engine.begin() as conn:
        for pk, trusted in ((901, False), (902, True)):
            conn.execute(text(
                "INSERT INTO oauth_client (id, client_id, name, token_endpoint_auth_method, redirect_uris, "
                "post_logout_redirect_uris, grant_types, scopes, min_level, sector, trusted, is_resource_server, "
                "id_token_signed_response_alg, created_at) VALUES (:pk, :cid, 'x', 'none', '[]', '[]', '[]', "
                "'[\"openid\", \"profile\", \"birthdate\"]', 1, 's', :trusted, false, 'ES256', CURRENT_TIMESTAMP)"),
                {"pk": pk, "cid": f"c{pk}", "trusted": trusted})
        conn.execute(text("INSERT INTO consent (account_id, client_pk, scopes, granted_at, revoked_at) "
                          "VALUES (:a, 901, '[\"openid\", \"birthdate\"]', CURRENT_TIMESTAMP, NULL), "
                          "(:a, 902, '[\"openid\", \"profile\"]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                     {"a": account})
    migrate.upgrade(engine)

    def loaded(value):
        return json.loads(value) if isinstance(value, str) else value
    with engine.connect() as conn:
        purposes = conn.execute(text("SELECT client_pk, code, legal_basis FROM client_purpose "
                                     "WHERE client_pk IN (901, 902) ORDER BY client_pk")).all()
        assert [tuple(p) for p in purposes] == [(901, "login", "consent"), (902, "login", "statutory")]
        allowed = loaded(conn.execute(text("SELECT allowed_claims FROM oauth_client WHERE id = 901")).scalar())
        assert allowed == ["birthdate", "family_name", "given_name", "middle_name", "name", "updated_at"]
        records = conn.execute(text("SELECT client_pk, event, claims FROM consent_record ORDER BY id")).all()
        assert [(r[0], r[1], loaded(r[2])) for r in records] == [
            (901, "granted", ["birthdate"]),
            (902, "granted", ["family_name", "given_name", "middle_name", "name", "updated_at"]),
            (902, "withdrawn", [])]
        assert "consent" not in inspect(conn).get_table_names()


def test_withdraw_without_a_purpose_field_takes_the_clients_consent(client, setup_data) -> None:
    """An older form (no purpose field) withdraws the client's one consent-based purpose."""
    def create():
        from tests.factories import make_account
        rp, secret = make_client()
        return rp.client_id, secret, make_account().citizen.id_number
    client_id, secret, number = setup_data(create)
    tokens = code_tokens(client, client_id, secret, number)
    apps = client.get("/account/apps")
    assert client.post(f"/account/apps/{client_id}/withdraw",
                       data={"csrf_token": Browser.csrf(apps.text)}).status_code == 302
    assert userinfo(client, tokens["access_token"]).status_code == 401
