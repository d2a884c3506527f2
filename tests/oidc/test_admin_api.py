"""The clients admin API: bearer token with ``clients.admin``, problem+json errors, secrets shown once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from tests.browser import Browser
from tests.browser import query
from tests.factories import make_account
from tests.factories import make_client

API = "/api/v1/clients"
MACHINE = {"auth_method": "client_secret_basic", "redirect_uris": [], "grant_types": ["client_credentials"]}


def _token(client, client_id: str, secret: str, scope: str) -> str:
    response = Browser(client).token((client_id, secret), grant_type="client_credentials", scope=scope)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


@pytest.fixture()
def admin(client, setup_data):
    """Headers of the operations team's machine client (scope ``clients.admin``), and its id."""
    admin_client, secret = setup_data(lambda: make_client(name="Ops console", scopes=["clients.admin"], **MACHINE))
    token = _token(client, admin_client.client_id, secret, "clients.admin")
    return {"Authorization": f"Bearer {token}"}, admin_client.client_id


def test_client_lifecycle_over_the_api(client, admin, app) -> None:
    headers, admin_id = admin
    created = client.post(API, headers=headers, json={
        "name": "  Cổng dịch vụ  công tỉnh ", "scopes": ["registry.verify", "registry.verify"],
        "grant_types": ["client_credentials", "client_credentials"]})
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    body = created.get_json()
    client_id, secret = body["client_id"], body["client_secret"]
    assert created.headers["Location"].endswith(f"{API}/{client_id}")
    assert len(secret) >= 43 and body["status"] == "enabled"
    _token(client, client_id, secret, "registry.verify")  # the new client works at once

    shown = client.get(f"{API}/{client_id}", headers=headers).get_json()
    assert shown["name"] == "Cổng dịch vụ công tỉnh" and "client_secret" not in shown
    assert shown["scopes"] == ["registry.verify"] and shown["grant_types"] == ["client_credentials"]
    assert all("secret_hash" not in c for c in client.get(API, headers=headers).get_json()["clients"])
    assert client_id in {c["client_id"] for c in client.get(API, headers=headers).get_json()["clients"]}

    rotated = client.post(f"{API}/{client_id}/secret", headers=headers)
    new_secret = rotated.get_json()["client_secret"]
    assert rotated.status_code == 200 and new_secret != secret
    old = Browser(client).token((client_id, secret), grant_type="client_credentials", scope="registry.verify")
    assert old.status_code == 401 and old.get_json()["error"] == "invalid_client"
    _token(client, client_id, new_secret, "registry.verify")

    disabled = client.delete(f"{API}/{client_id}", headers=headers)
    assert disabled.status_code == 200 and disabled.get_json()["status"] == "disabled"
    assert disabled.get_json()["tokens_revoked"] == 2  # the two it held, both still unexpired
    after = Browser(client).token((client_id, new_secret), grant_type="client_credentials", scope="registry.verify")
    assert after.status_code == 401 and after.get_json()["error"] == "invalid_client"

    again = client.post(f"{API}/{client_id}/secret", headers=headers)
    assert again.status_code == 409 and "disabled" in again.get_json()["detail"]
    assert client.get(f"{API}/{client_id}", headers=headers).get_json()["status"] == "disabled"

    with app.app_context():
        events = db.session().execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.subject_id == client_id, AuditEvent.action.like("oidc:client:%"))).all()
    assert sorted(events) == [("oidc:client:add-purpose", f"client:{admin_id}"),  # "login", by default
                              ("oidc:client:create", f"client:{admin_id}"),
                              ("oidc:client:disable", f"client:{admin_id}"),
                              ("oidc:client:rotate-secret", f"client:{admin_id}")]


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "name"),
    ({"name": "x", "scopes": ["everything"]}, "scopes"),
    ({"name": "x", "auth_method": "client_secret_jwt"}, "auth_method"),
    ({"name": "x", "grant_types": ["password"]}, "grant_types"),
    ({"name": "x", "min_level": 3}, "min_level"),
    ({"name": "x", "redirect_uris": ["https://a.vn/cb"], "colour": "red"}, "colour"),
])
def test_invalid_fields_are_listed_one_by_one(client, admin, payload, field) -> None:
    response = client.post(API, headers=admin[0], json=payload)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(("payload", "detail"), [
    ({"name": "x", "redirect_uris": ["http://agency.example.vn/cb"]}, "must use https"),
    ({"name": "x", "redirect_uris": ["https://agency.example.vn/*"]}, "without fragment or wildcard"),
    ({"name": "x", "redirect_uris": []}, "needs at least one redirect URI"),
    ({"name": "x", "redirect_uris": ["https://a.vn/cb"], "scopes": ["openid", "id_number"]}, "trusted"),
    ({"name": "x", "auth_method": "none", "grant_types": ["client_credentials"]}, "cannot use client_credentials"),
    ({"name": "x", "auth_method": "private_key_jwt", "redirect_uris": ["https://a.vn/cb"]}, "JWKS"),
    ({"name": "x", "auth_method": "private_key_jwt", "redirect_uris": ["https://a.vn/cb"], "jwks": {"keys": "x"}},
     '"keys": ['),
    ({"name": "x", "auth_method": "private_key_jwt", "redirect_uris": ["https://a.vn/cb"],
      "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}}, "cannot be read as public keys"),
    ({"name": "x", "auth_method": "private_key_jwt", "redirect_uris": ["https://a.vn/cb"],
      "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "private or secret key"),
    ({"name": "Cổng\u202e ứng dụng", "redirect_uris": ["https://a.vn/cb"]}, "printable characters"),
    ({"name": "A\x00B", "redirect_uris": ["https://a.vn/cb"]}, "printable characters"),
    ({"name": "A\x1fB", "redirect_uris": ["https://a.vn/cb"]}, "printable characters"),
])
def test_settings_that_break_the_rules_are_refused_with_the_reason(client, admin, payload, detail) -> None:
    response = client.post(API, headers=admin[0], json=payload)
    assert response.status_code == 422 and detail in response.get_json()["detail"]
    listed = client.get(API, headers=admin[0]).get_json()["clients"]
    assert [c["name"] for c in listed] == ["Ops console"]  # nothing half-registered


LONG_HOST = "a" * 210 + ".example.vn"


@pytest.mark.parametrize(("payload", "field"), [
    pytest.param({"redirect_uris": ["http://[::1/cb"]}, "redirect_uris", id="unclosed-ipv6"),
    pytest.param({"redirect_uris": ["https://a.vn:99999/cb"]}, "redirect_uris", id="port-out-of-range"),
    pytest.param({"redirect_uris": ["https://a.vn/" + "x" * 488]}, "redirect_uris", id="501-characters"),
    pytest.param({"redirect_uris": ["https://a.vn/c\x00b"]}, "redirect_uris", id="nul"),
    pytest.param({"redirect_uris": ["https://a.vn/c\nb"]}, "redirect_uris", id="newline"),
    pytest.param({"redirect_uris": ["https://a.vn/c b"]}, "redirect_uris", id="space"),
    pytest.param({"redirect_uris": ["https://a.vn/cb"], "post_logout_redirect_uris": ["https://[::1/bye"]},
                 "post_logout_redirect_uris", id="logout-unclosed-ipv6"),
    pytest.param({"redirect_uris": ["https://a.vn/cb"], "sector": "agency\x00"}, "sector", id="sector-nul"),
    pytest.param({"redirect_uris": ["https://a.vn/cb"], "sector": "s" * 201}, "sector", id="sector-201"),
    pytest.param({"redirect_uris": [f"https://{LONG_HOST}/cb"]}, "sector", id="default-sector-too-long"),
])
def test_what_would_break_later_is_refused_naming_the_field(client, admin, payload, field) -> None:
    response = client.post(API, headers=admin[0], json={"name": "x", **payload})
    assert response.status_code == 422 and response.mimetype == "application/problem+json", response.text
    assert field in response.get_json()["errors"], response.get_json()
    listed = client.get(API, headers=admin[0]).get_json()["clients"]
    assert [c["name"] for c in listed] == ["Ops console"]


def test_a_redirect_uri_of_500_characters_works_at_authorize(client, admin, setup_data) -> None:
    uri = "https://a.vn/" + "x" * 487
    created = client.post(API, headers=admin[0], json={"name": "x", "redirect_uris": [uri], "scopes": ["openid"]})
    assert created.status_code == 201, created.text
    account = setup_data(lambda: make_account().citizen.id_number)
    browser = Browser(client)
    assert browser.login(account).status_code == 302
    _, response = browser.start(created.get_json()["client_id"], redirect_uri=uri, scope="openid")
    response = browser.follow(response)
    assert response.status_code == 302 and "code" in query(response.headers["Location"]), response.text


def test_a_body_that_is_not_json_is_refused(client, admin) -> None:
    response = client.post(API, headers=admin[0], data="name=x")
    assert response.status_code == 422 and "JSON object" in response.get_json()["detail"]


def test_a_body_nested_too_deeply_is_refused(client, admin) -> None:
    response = client.post(API, headers={**admin[0], "Content-Type": "application/json"},
                           data="[" * 100_000 + "]" * 100_000)
    assert response.status_code == 422 and "nested too deeply" in response.get_json()["detail"]


@pytest.mark.parametrize("client_id", ["no-such-client", "nul%00byte", "x" * 300])
def test_unknown_client_is_a_404_problem(client, admin, client_id) -> None:
    response = client.get(f"{API}/{client_id}", headers=admin[0])
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_a_client_id_with_a_nul_byte_at_the_token_endpoint_is_an_unknown_client(client) -> None:
    response = client.post("/token", data={"grant_type": "client_credentials", "client_id": "a\x00b",
                                           "client_secret": "x"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_client"


def test_without_a_token_the_api_asks_for_one(client) -> None:
    response = client.get(API)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.get_json()["detail"]


def test_a_forged_token_is_refused(client) -> None:
    response = client.get(API, headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."})
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_without_the_admin_scope_is_forbidden(client, setup_data) -> None:
    other, secret = setup_data(lambda: make_client(scopes=["registry.verify"], **MACHINE))
    token = _token(client, other.client_id, secret, "registry.verify")
    response = client.post(API, headers={"Authorization": f"Bearer {token}"}, json={"name": "x"})
    assert response.status_code == 403 and 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert "clients.admin" in response.get_json()["detail"]


def test_a_client_named_with_twelve_digits_is_registered_and_its_event_masks_them(client, admin, setup_data) -> None:
    headers, _ = admin
    created = client.post(API, headers=headers, json={"name": "Cổng 123456789012", **MACHINE,
                                                       "scopes": ["registry.verify"]})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["name"] == "Cổng 123456789012"
    names = setup_data(lambda: [e.data["name"] for e in db.session().scalars(
        select(AuditEvent).where(AuditEvent.action == "oidc:client:create")) if e.data and "name" in e.data])
    assert "Cổng *********012" in names and not any("123456789012" in name for name in names)
