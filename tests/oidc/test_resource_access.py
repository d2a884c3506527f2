"""Access tokens at the UserInfo endpoint (OIDC Core §5.3, RFC 6750): how they may be sent, every
way a token can be bad, the claims each scope releases, and pairwise subjects."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc import unit_of_work
from idsvc.db import utcnow
from idsvc.oidc import tokens
from idsvc.oidc.models import OAuthToken
from idsvc.registry.models import Commune
from idsvc.registry.models import Province
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import assert_invalid_token
from tests.oidc.helpers import bearer
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import userinfo
from tests.oidc.helpers import verify_jwt

ALL_USER_SCOPES = "openid profile birthdate gender address"


@pytest.fixture()
def access_token(client, rp):
    client_id, secret, number = rp
    return code_tokens(client, client_id, secret, number)["access_token"]


def _resign(setup_data, token: str, **changes):
    """The same access token signed again with the server's own active key, claims changed."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return setup_data(lambda: tokens.encode_access_token(claims))


# --- how a token is presented -----------------------------------------------------------------

def test_userinfo_accepts_get_with_the_authorization_header(client, access_token) -> None:
    response = userinfo(client, access_token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["name"] == "Trần Thị Bình"


def test_userinfo_accepts_post_with_the_authorization_header(client, access_token) -> None:
    response = client.post("/userinfo", headers=bearer(access_token))
    assert response.status_code == 200
    assert response.get_json()["name"] == "Trần Thị Bình"


def test_userinfo_accepts_post_with_the_token_in_the_form(client, access_token) -> None:
    # RFC 6750 §2.2 form-encoded body parameter; OIDC Core §5.3.1 allows POST.
    response = client.post("/userinfo", data={"access_token": access_token})
    assert response.status_code == 200, response.text
    assert response.get_json()["name"] == "Trần Thị Bình"


def test_userinfo_without_a_token_is_401_with_a_bearer_challenge(client) -> None:
    for response in (client.get("/userinfo"), client.post("/userinfo")):
        assert response.status_code == 401
        assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")
        assert response.mimetype == "application/json" and response.headers.getlist("Content-Type") == [
            "application/json"]
        assert response.headers["Cache-Control"] == "no-store" and "access token" in response.get_json()[
            "error_description"]


# --- bad tokens -------------------------------------------------------------------------------

def test_an_expired_access_token_is_refused(client, access_token, setup_data) -> None:
    past = int(time.time()) - 3600
    assert_invalid_token(userinfo(client, _resign(setup_data, access_token, iat=past, exp=past + 600)))


def test_an_access_token_whose_row_expired_is_refused(client, access_token, setup_data) -> None:
    past = utcnow() - timedelta(seconds=1)
    setup_data(lambda: db.session().execute(update(OAuthToken).values(access_expires_at=past)))
    assert_invalid_token(userinfo(client, access_token))


def test_the_access_token_lives_at_most_600_seconds(client, access_token) -> None:
    _, claims = verify_jwt(client, access_token)
    assert 0 < claims["exp"] - claims["iat"] <= 600


def test_a_token_signed_by_a_key_not_in_the_jwks_is_refused(client, access_token) -> None:
    header = jwt.get_unverified_header(access_token)
    claims = jwt.decode(access_token, options={"verify_signature": False})
    forger = ec.generate_private_key(ec.SECP256R1())
    for kid in (header["kid"], "forger-key"):
        forged = jwt.encode(claims, forger, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
        assert_invalid_token(userinfo(client, forged))


def test_an_unsigned_alg_none_token_is_refused(client, access_token) -> None:
    header = jwt.get_unverified_header(access_token)
    claims = jwt.decode(access_token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": header["kid"], "typ": "at+jwt"})
    assert_invalid_token(userinfo(client, unsigned))
    # The original token with its signature stripped.
    assert_invalid_token(userinfo(client, access_token.rsplit(".", 1)[0] + "."))


@pytest.mark.parametrize("changes", [
    pytest.param({"iss": "https://other-idp.example"}, id="wrong-issuer"),
    pytest.param({"aud": "https://other-api.example"}, id="wrong-audience"),
    pytest.param({"jti": "not-a-token-we-issued"}, id="unknown-jti"),
])
def test_a_token_with_a_wrong_claim_is_refused(client, access_token, setup_data, changes) -> None:
    assert_invalid_token(userinfo(client, _resign(setup_data, access_token, **changes)))


def test_an_id_token_is_not_an_access_token(client, rp) -> None:
    client_id, secret, number = rp
    body = code_tokens(client, client_id, secret, number)
    assert_invalid_token(userinfo(client, body["id_token"]))


def test_a_garbage_token_is_refused(client) -> None:
    assert_invalid_token(userinfo(client, "not.a.jwt"))


# --- claims -----------------------------------------------------------------------------------

def test_userinfo_releases_the_claims_of_each_scope_from_the_registry(client, rp, setup_data) -> None:
    client_id, secret, number = rp
    body = code_tokens(client, client_id, secret, number, scope=ALL_USER_SCOPES)
    _, id_claims = verify_jwt(client, body["id_token"], audience=client_id)
    commune, province = setup_data(lambda: db.session().execute(
        select(Commune.name, Province.name).join(Province, Province.code == Commune.province_code)
        .where(Commune.code == "00070")).one())

    info = userinfo(client, body["access_token"]).get_json()
    assert info["sub"] == id_claims["sub"]
    assert info["name"] == "Trần Thị Bình"
    assert (info["family_name"], info["middle_name"], info["given_name"]) == ("Trần", "Thị", "Bình")
    assert isinstance(info["updated_at"], int)
    assert info["birthdate"] == "1985-05-17"
    assert info["gender"] == "female"
    assert info["address"] == {"formatted": f"{commune}, {province}", "locality": commune, "region": province,
                               "country": "VN"}
    assert "personal_id_number" not in info and number not in str(info)


def test_userinfo_releases_only_the_granted_scopes(client, rp) -> None:
    client_id, secret, number = rp
    body = code_tokens(client, client_id, secret, number, scope="openid gender")
    assert set(userinfo(client, body["access_token"]).get_json()) == {"sub", "gender"}


@pytest.mark.parametrize(("month", "day", "expected"), [
    pytest.param(None, None, "1952", id="year-only"),
    pytest.param(11, None, "1952", id="year-month-released-as-year"),
    pytest.param(2, 29, "1952-02-29", id="full-date"),
])
def test_a_partial_birth_date_is_released_with_the_precision_known(
        client, setup_data, month, day, expected) -> None:
    def create():
        rp_client, secret = make_client()
        account = make_account(full_name="Lê Thị Hoa", sex="F", birth_year=1952, birth_month=month, birth_day=day)
        return rp_client.client_id, secret, account.citizen.id_number
    client_id, secret, number = setup_data(create)
    body = code_tokens(client, client_id, secret, number, scope="openid birthdate")
    assert userinfo(client, body["access_token"]).get_json()["birthdate"] == expected


# --- pairwise subjects ------------------------------------------------------------------------

def test_subjects_are_pairwise_per_sector_and_never_the_id_number(client, setup_data) -> None:
    def create():
        tax_app, tax_secret = make_client(name="Tax app", sector="tax.example.vn")
        tax_api, tax_api_secret = make_client(name="Tax back office", sector="tax.example.vn")
        health, health_secret = make_client(name="Health app", sector="health.example.vn")
        number = make_account().citizen.id_number
        return ((tax_app.client_id, tax_secret), (tax_api.client_id, tax_api_secret),
                (health.client_id, health_secret), number)
    tax_app, tax_api, health, number = setup_data(create)

    subs = {}
    for client_id, secret in (tax_app, tax_api, health):
        body = code_tokens(client, client_id, secret, number)
        _, id_claims = verify_jwt(client, body["id_token"], audience=client_id)
        assert userinfo(client, body["access_token"]).get_json()["sub"] == id_claims["sub"]
        for token in (body["id_token"], body["access_token"]):
            assert number not in token
            assert number not in str(jwt.decode(token, options={"verify_signature": False}))
        subs[client_id] = id_claims["sub"]

    assert subs[tax_app[0]] == subs[tax_api[0]]
    assert subs[tax_app[0]] != subs[health[0]]
    assert number not in subs.values() and all(not s.isdigit() for s in subs.values())


def test_two_people_get_two_subjects_at_one_client(client, app, setup_data) -> None:
    def create():
        rp_client, secret = make_client()
        return rp_client.client_id, secret, make_account().citizen.id_number, make_account().citizen.id_number
    client_id, secret, first, second = setup_data(create)
    subs = set()
    for number in (first, second):
        body = code_tokens(app.test_client(), client_id, secret, number)
        subs.add(verify_jwt(client, body["id_token"], audience=client_id)[1]["sub"])
    assert len(subs) == 2


def test_a_read_only_view_cannot_change_a_row(app) -> None:
    """userinfo and introspection read without a transaction: a change there would not be atomic."""
    from idsvc.oidc.models import OAuthClient

    @unit_of_work.read_only
    def view() -> None:
        db.session().add(OAuthClient(client_id="x", name="x", token_endpoint_auth_method="none", sector="x"))
        db.session().flush()

    with app.test_request_context(), pytest.raises(RuntimeError, match="read_only"):
        view()
