"""Client authentication at the token endpoint: every client uses exactly the method it was
registered with (RFC 6749 §2.3, §3.2.1), including ``private_key_jwt`` (RFC 7523 §2.2, §3)."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from idsvc.errors import ValidationFailed
from idsvc.oidc import clients
from tests.browser import Browser
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import MACHINE_SCOPE
from tests.oidc.helpers import assert_invalid_client_401
from tests.oidc.helpers import assert_oauth_error
from tests.oidc.helpers import assertion_form
from tests.oidc.helpers import authorize
from tests.oidc.helpers import basic
from tests.oidc.helpers import client_assertion
from tests.oidc.helpers import client_key
from tests.oidc.helpers import issuer
from tests.oidc.helpers import machine_token
from tests.oidc.helpers import userinfo

MACHINE = {"grant_types": ["client_credentials"], "scopes": [MACHINE_SCOPE], "redirect_uris": []}


@pytest.fixture()
def people(setup_data):
    """The ID number of a level-1 citizen with an active account."""
    return setup_data(lambda: make_account().citizen.id_number)


def _client(setup_data, **settings):
    def create():
        client, secret = make_client(**settings)
        return client.client_id, secret
    return setup_data(create)


def _cc_form(client_id: str | None = None, secret: str | None = None) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "scope": MACHINE_SCOPE}
    if client_id:
        form["client_id"] = client_id
    if secret:
        form["client_secret"] = secret
    return form


# --- client secrets ---------------------------------------------------------------------------

def test_an_unknown_client_is_refused_with_401_and_a_challenge(client) -> None:
    response = client.post("/token", data=_cc_form(), headers=basic("no-such-client", "whatever"))
    assert_invalid_client_401(response)


def test_a_wrong_secret_is_refused_with_401_and_a_challenge(client, setup_data) -> None:
    client_id, secret = _client(setup_data, **MACHINE)
    assert_invalid_client_401(client.post("/token", data=_cc_form(), headers=basic(client_id, secret + "x")))
    assert machine_token(client, client_id, secret).status_code == 200


def test_no_credentials_at_all_is_invalid_client(client, setup_data) -> None:
    client_id, _ = _client(setup_data, **MACHINE)
    assert_invalid_client_401(client.post("/token", data=_cc_form(client_id)))


def test_client_secret_basic_client_cannot_use_client_secret_post(client, setup_data) -> None:
    client_id, secret = _client(setup_data, auth_method="client_secret_basic", **MACHINE)
    assert_invalid_client_401(client.post("/token", data=_cc_form(client_id, secret)))
    assert client.post("/token", data=_cc_form(), headers=basic(client_id, secret)).status_code == 200


def test_client_secret_post_client_cannot_use_client_secret_basic(client, setup_data) -> None:
    client_id, secret = _client(setup_data, auth_method="client_secret_post", **MACHINE)
    assert_invalid_client_401(client.post("/token", data=_cc_form(), headers=basic(client_id, secret)))
    response = client.post("/token", data=_cc_form(client_id, secret))
    assert response.status_code == 200, response.text
    assert response.get_json()["token_type"] == "Bearer"


def test_client_secret_post_with_an_unknown_client_is_invalid_client(client) -> None:
    # No Authorization header was tried, so 400 is what RFC 6749 §5.2 asks (401 only MAY).
    response = client.post("/token", data=_cc_form("no-such-client", "whatever"))
    assert_oauth_error(response, "invalid_client", 400)


def test_client_secret_post_works_for_the_code_flow(client, setup_data, people) -> None:
    client_id, secret = _client(setup_data, auth_method="client_secret_post")
    browser, request, code = authorize(client, client_id, people)
    response = browser.redeem(request, code, None, client_secret=secret)
    assert response.status_code == 200, response.text
    assert userinfo(client, response.get_json()["access_token"]).status_code == 200


def test_a_confidential_client_cannot_skip_authentication(client, setup_data, people) -> None:
    client_id, _ = _client(setup_data)
    browser, request, code = authorize(client, client_id, people)
    assert_invalid_client_401(browser.redeem(request, code, None))


# --- public clients ---------------------------------------------------------------------------

def test_a_public_client_redeems_with_pkce_alone(client, setup_data, people) -> None:
    client_id, secret = _client(setup_data, auth_method="none")
    assert secret is None
    browser, request, code = authorize(client, client_id, people)
    response = browser.redeem(request, code, None)
    assert response.status_code == 200, response.text
    assert userinfo(client, response.get_json()["access_token"]).status_code == 200


def test_a_public_client_must_send_the_code_verifier(client, setup_data, people) -> None:
    client_id, _ = _client(setup_data, auth_method="none")
    browser, request, code = authorize(client, client_id, people)
    response = browser.redeem(request, code, None, code_verifier=None)
    assert_oauth_error(response, "invalid_request")
    assert "code_verifier" in response.get_json()["error_description"]


def test_a_public_client_cannot_authenticate_with_a_secret(client, setup_data, people) -> None:
    client_id, _ = _client(setup_data, auth_method="none")
    browser, request, code = authorize(client, client_id, people)
    assert_invalid_client_401(browser.redeem(request, code, (client_id, "made-up-secret")))
    assert_invalid_client_401(browser.redeem(request, code, None, client_secret="made-up-secret"))
    # Refused attempts did not spend the code.
    assert browser.redeem(request, code, None).status_code == 200


def test_a_public_client_cannot_use_client_credentials(setup_data) -> None:
    def create():
        with pytest.raises(ValidationFailed, match="public client"):
            make_client(auth_method="none", grant_types=["client_credentials"], scopes=[MACHINE_SCOPE])
    setup_data(create)


# --- disabled clients -------------------------------------------------------------------------

def test_a_disabled_client_is_refused_and_its_tokens_are_revoked(client, setup_data, people) -> None:
    client_id, secret = _client(setup_data)
    browser, request, code = authorize(client, client_id, people)
    tokens = browser.redeem(request, code, (client_id, secret)).get_json()
    setup_data(lambda: clients.disable_client(clients.get_client(client_id), actor="test"))

    assert_invalid_client_401(client.post("/token", data={"grant_type": "refresh_token",
                                                          "refresh_token": tokens["refresh_token"]},
                                          headers=basic(client_id, secret)))
    assert userinfo(client, tokens["access_token"]).status_code == 401
    _, response = Browser(client).start(client_id)
    assert response.status_code in (400, 401) and "Location" not in response.headers
    assert "invalid_client" in response.text


# --- private_key_jwt --------------------------------------------------------------------------

@pytest.fixture()
def jwt_client(setup_data):
    """A machine client that authenticates with private_key_jwt: (client_id, private key, kid)."""
    key, jwks = client_key()
    client_id, secret = _client(setup_data, auth_method="private_key_jwt", jwks=jwks, **MACHINE)
    assert secret is None
    return client_id, key, jwks["keys"][0]["kid"]


def _jwt_token(client, assertion: str):
    return client.post("/token", data=assertion_form(assertion, grant_type="client_credentials",
                                                     scope=MACHINE_SCOPE))


@pytest.mark.parametrize("audience", ["{issuer}/token", "{issuer}"])
def test_private_key_jwt_authenticates_the_client(client, jwt_client, audience) -> None:
    client_id, key, kid = jwt_client
    assertion = client_assertion(key, kid, client_id, audience.format(issuer=issuer(client)))
    response = _jwt_token(client, assertion)
    assert response.status_code == 200, response.text
    assert response.get_json()["scope"] == MACHINE_SCOPE


def test_a_replayed_client_assertion_is_refused(client, jwt_client) -> None:
    client_id, key, kid = jwt_client
    assertion = client_assertion(key, kid, client_id, f"{issuer(client)}/token")
    assert _jwt_token(client, assertion).status_code == 200
    assert_oauth_error(_jwt_token(client, assertion), "invalid_client")
    # The same jti in a freshly signed assertion is a replay too (RFC 7523 §3 item 7).
    first = client_assertion(key, kid, client_id, f"{issuer(client)}/token", jti="fixed-jti-1")
    again = client_assertion(key, kid, client_id, f"{issuer(client)}/token", jti="fixed-jti-1",
                             exp=int(time.time()) + 90)
    assert _jwt_token(client, first).status_code == 200
    assert_oauth_error(_jwt_token(client, again), "invalid_client")


def test_a_refused_token_request_still_spends_the_assertion(client, jwt_client) -> None:
    client_id, key, kid = jwt_client
    assertion = client_assertion(key, kid, client_id, f"{issuer(client)}/token")
    refused = client.post("/token", data=assertion_form(assertion, grant_type="client_credentials",
                                                        scope="clients.admin"))
    assert_oauth_error(refused, "invalid_scope")
    assert_oauth_error(_jwt_token(client, assertion), "invalid_client")


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
def test_basic_credentials_that_are_not_utf8_are_an_invalid_client(client, path) -> None:
    header = "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()
    response = client.post(path, data={"grant_type": "client_credentials", "token": "x"},
                           headers={"Authorization": header})
    assert_invalid_client_401(response)


def test_a_client_assertion_that_lives_for_years_is_refused(client, jwt_client) -> None:
    client_id, key, kid = jwt_client
    assertion = client_assertion(key, kid, client_id, f"{issuer(client)}/token", exp=253402300800)
    response = _jwt_token(client, assertion)
    assert_oauth_error(response, "invalid_client")
    assert "expires more than 3600 s from now" in response.get_json()["error_description"]


@pytest.mark.parametrize(("lifetime", "accepted"), [(59 * 60, True), (2 * 3600, False)], ids=["59-min", "2-h"])
def test_a_client_assertion_may_live_up_to_an_hour(client, jwt_client, lifetime, accepted) -> None:
    client_id, key, kid = jwt_client
    now = int(time.time())
    assertion = client_assertion(key, kid, client_id, f"{issuer(client)}/token", iat=now, exp=now + lifetime)
    response = _jwt_token(client, assertion)
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_oauth_error(response, "invalid_client")
        assert "expires more than 3600 s from now" in response.get_json()["error_description"]


def test_a_resource_server_introspects_with_private_key_jwt_once_per_assertion(client, setup_data) -> None:
    key, jwks = client_key()
    client_id, _ = _client(setup_data, auth_method="private_key_jwt", jwks=jwks, is_resource_server=True, **MACHINE)
    kid = jwks["keys"][0]["kid"]
    machine = _client(setup_data, **MACHINE)
    token = machine_token(client, *machine).get_json()["access_token"]
    assertion = client_assertion(key, kid, client_id, issuer(client))
    answer = client.post("/introspect", data=assertion_form(assertion, token=token))
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["active"] is True and answer.get_json()["client_id"] == machine[0]
    assert_oauth_error(client.post("/introspect", data=assertion_form(assertion, token=token)), "invalid_client")


@pytest.mark.parametrize("claims", [
    pytest.param({"exp": -120, "iat": -180}, id="expired"),
    pytest.param({"aud": "https://other-idp.example/token"}, id="other-audience"),
    pytest.param({"iss": "someone-else"}, id="iss-not-sub"),
    pytest.param({"jti": None}, id="no-jti"),
])
def test_an_invalid_client_assertion_is_refused(client, jwt_client, claims) -> None:
    client_id, key, kid = jwt_client
    now = int(time.time())
    overrides = {k: (now + v if k in ("exp", "iat") else v) for k, v in claims.items()}
    assertion = client_assertion(key, kid, client_id, f"{issuer(client)}/token", **overrides)
    if claims.get("jti", "") is None:
        payload = jwt.decode(assertion, options={"verify_signature": False})
        payload.pop("jti")
        assertion = jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid})
    assert_oauth_error(_jwt_token(client, assertion), "invalid_client")


@pytest.mark.parametrize("same_kid", [True, False], ids=["same-kid", "unknown-kid"])
def test_an_assertion_signed_by_another_key_is_refused(client, jwt_client, same_kid) -> None:
    client_id, _, kid = jwt_client
    intruder = ec.generate_private_key(ec.SECP256R1())
    assertion = client_assertion(intruder, kid if same_kid else "intruder-key", client_id,
                                 f"{issuer(client)}/token")
    assert_oauth_error(_jwt_token(client, assertion), "invalid_client")


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
def test_an_assertion_for_a_client_without_public_keys_is_an_invalid_client(client, setup_data, path,
                                                                             caplog) -> None:
    key, jwks = client_key()
    client_id, _ = _client(setup_data, **MACHINE)  # a client secret, no JWKS
    assertion = client_assertion(key, jwks["keys"][0]["kid"], client_id, f"{issuer(client)}/token")
    response = client.post(path, data=assertion_form(assertion, grant_type="client_credentials",
                                                     scope=MACHINE_SCOPE, token="x"))
    assert_oauth_error(response, "invalid_client", 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_secret_client_cannot_authenticate_with_an_assertion(client, setup_data) -> None:
    key, jwks = client_key()
    client_id, _ = _client(setup_data, auth_method="client_secret_basic", jwks=jwks, **MACHINE)
    assertion = client_assertion(key, jwks["keys"][0]["kid"], client_id, f"{issuer(client)}/token")
    assert_oauth_error(_jwt_token(client, assertion), "invalid_client")


def test_private_key_jwt_works_for_the_code_flow(client, setup_data, people) -> None:
    key, jwks = client_key()
    client_id, _ = _client(setup_data, auth_method="private_key_jwt", jwks=jwks)
    _, request, code = authorize(client, client_id, people)
    assertion = client_assertion(key, jwks["keys"][0]["kid"], client_id, f"{issuer(client)}/token")
    response = client.post("/token", data=assertion_form(
        assertion, grant_type="authorization_code", code=code, redirect_uri=request.params["redirect_uri"],
        code_verifier=request.verifier))
    assert response.status_code == 200, response.text
    assert "id_token" in response.get_json()

    def refresh(**form: str):
        fresh = client_assertion(key, jwks["keys"][0]["kid"], client_id, f"{issuer(client)}/token")
        return client.post("/token", data=assertion_form(
            fresh, grant_type="refresh_token", refresh_token=response.get_json()["refresh_token"], **form))

    # A refused refresh spends its assertion, not the refresh token: the retry works, and is no reuse.
    assert_oauth_error(refresh(scope="openid profile address"), "invalid_scope")
    assert refresh().status_code == 200
