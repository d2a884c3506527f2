"""Assurance levels (acr / amr, step-up with TOTP), RP-initiated logout (OpenID Connect
RP-Initiated Logout 1.0) and revocation of a person's tokens when their sessions are revoked."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.identity import service as identity
from idsvc.registry.models import Citizen
from tests.browser import Browser
from tests.browser import query
from tests.browser import totp_now
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import assert_invalid_token
from tests.oidc.helpers import assert_oauth_error
from tests.oidc.helpers import authorize
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import introspect
from tests.oidc.helpers import refresh
from tests.oidc.helpers import userinfo
from tests.oidc.helpers import verify_jwt

LOA1, LOA2 = "urn:idsvc:loa:1", "urn:idsvc:loa:2"
LOGGED_OUT_URI = "https://rp.example.vn/logged-out"


@pytest.fixture()
def rp(setup_data):
    """Clients and a level-2 person: {"rp", "strict"} -> (client_id, secret), "number"."""
    def create():
        rp_client, secret = make_client(post_logout_redirect_uris=[LOGGED_OUT_URI])
        strict, strict_secret = make_client(name="Land registry app", min_level=2)
        return {"rp": (rp_client.client_id, secret), "strict": (strict.client_id, strict_secret),
                "number": make_account(level=2).citizen.id_number}
    return setup_data(create)


def _id_claims(client, client_id, body):
    return verify_jwt(client, body["id_token"], audience=client_id)[1]


# --- step-up ----------------------------------------------------------------------------------

def test_acr_values_level_two_means_password_then_totp(client, rp) -> None:
    client_id, secret = rp["rp"]
    browser = Browser(client)
    request, response = browser.start(client_id, acr_values=LOA2)
    assert urlsplit(response.headers["Location"]).path == "/login"
    response = browser.follow(response, id_number=rp["number"], otp=totp_now())
    params = query(response.headers["Location"])
    body = browser.redeem(request, params["code"], (client_id, secret)).get_json()

    claims = _id_claims(client, client_id, body)
    assert claims["acr"] == LOA2
    assert "otp" in claims["amr"] and "pwd" in claims["amr"]
    assert introspect(client, (client_id, secret), body["access_token"])["acr"] == LOA2
    _, access = verify_jwt(client, body["access_token"])
    assert access["acr"] == LOA2


def test_a_level_one_session_steps_up_with_totp_only(client, rp) -> None:
    client_id, secret = rp["rp"]
    browser = Browser(client)
    assert browser.login(rp["number"]).status_code == 302  # password only: a level-1 session
    request, response = browser.start(client_id, acr_values=LOA2)
    location = response.headers["Location"]
    assert urlsplit(location).path == "/login/otp", location
    assert query(location)["next"].startswith("/authorize?")

    response = browser.follow(response, otp=totp_now())  # no id_number: a new login would stop here
    params = query(response.headers["Location"])
    assert "code" in params, response.headers["Location"]
    claims = _id_claims(client, client_id, browser.redeem(request, params["code"], (client_id, secret)).get_json())
    assert claims["acr"] == LOA2 and "otp" in claims["amr"]


def test_a_wrong_totp_code_issues_nothing(client, rp) -> None:
    client_id, _ = rp["rp"]
    browser = Browser(client)
    browser.login(rp["number"])
    _, response = browser.start(client_id, acr_values=LOA2)
    code = totp_now()
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    response = browser.follow(response, otp=wrong)
    assert response.status_code == 401
    assert "Location" not in response.headers


def test_a_client_with_min_level_two_gets_level_two_without_asking(client, rp) -> None:
    client_id, secret = rp["strict"]
    body = code_tokens(client, client_id, secret, rp["number"], otp=totp_now())
    claims = _id_claims(client, client_id, body)
    assert claims["acr"] == LOA2 and "otp" in claims["amr"]


def test_a_level_two_account_logs_in_at_level_one_when_that_is_enough(client, rp) -> None:
    client_id, secret = rp["rp"]
    body = code_tokens(client, client_id, secret, rp["number"], acr_values=LOA1)
    claims = _id_claims(client, client_id, body)
    assert claims["acr"] == LOA1 and claims["amr"] == ["pwd"]


def test_the_level_survives_a_refresh(client, rp) -> None:
    client_id, secret = rp["strict"]
    body = code_tokens(client, client_id, secret, rp["number"], otp=totp_now())
    refreshed = refresh(client, client_id, secret, body["refresh_token"]).get_json()
    assert verify_jwt(client, refreshed["access_token"])[1]["acr"] == LOA2


# --- RP-initiated logout ----------------------------------------------------------------------

def _logged_in_with_tokens(client, rp):
    client_id, secret = rp["rp"]
    browser, request, code = authorize(client, client_id, rp["number"])
    body = browser.redeem(request, code, (client_id, secret)).get_json()
    assert _session_alive(client)
    return browser, body


def _session_alive(client) -> bool:
    """Logged in: the account page, or (a level-2 account at level 1) its second factor first."""
    response = client.get("/account")
    return response.status_code == 200 or response.headers["Location"].startswith("/login/otp?")


def test_logout_with_an_id_token_hint_ends_the_session_and_returns_to_the_client(client, rp) -> None:
    _, body = _logged_in_with_tokens(client, rp)
    response = client.get("/logout", query_string={"id_token_hint": body["id_token"], "state": "st-1",
                                                   "post_logout_redirect_uri": LOGGED_OUT_URI})
    assert response.status_code == 302  # a valid hint from the RP: at once, no confirmation
    assert response.headers["Location"] == f"{LOGGED_OUT_URI}?state=st-1"
    assert not _session_alive(client)


def test_logout_without_a_hint_asks_for_confirmation_first(client, rp) -> None:
    browser, _ = _logged_in_with_tokens(client, rp)
    params = {"client_id": rp["rp"][0], "post_logout_redirect_uri": LOGGED_OUT_URI, "state": "st-2"}
    page = client.get("/logout", query_string=params)
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert _session_alive(client)  # a third-party page cannot log people out with a link

    forged = client.post("/logout", data=params)  # no CSRF token: not a confirmation
    assert forged.status_code == 200 and _session_alive(client)

    response = client.post("/logout", data={**params, "csrf_token": browser.csrf(page.text)})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{LOGGED_OUT_URI}?state=st-2"
    assert not _session_alive(client)


def test_an_unregistered_post_logout_redirect_uri_is_not_followed(client, rp) -> None:
    _, body = _logged_in_with_tokens(client, rp)
    evil = "https://evil.example/after-logout"
    response = client.get("/logout", query_string={"id_token_hint": body["id_token"],
                                                   "post_logout_redirect_uri": evil, "state": "x"})
    assert response.status_code == 302  # a valid hint logs out at once
    location = response.headers["Location"]
    assert not location.startswith(evil) and "evil.example" not in location
    assert urlsplit(location).path == "/login"


def test_logout_with_a_valid_hint_and_no_session_still_returns_to_the_client(client, app, rp) -> None:
    _, body = _logged_in_with_tokens(client, rp)
    elsewhere = app.test_client()  # the RP sends a browser that has no session with us
    response = elsewhere.get("/logout", query_string={"id_token_hint": body["id_token"], "state": "st-3",
                                                      "post_logout_redirect_uri": LOGGED_OUT_URI})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{LOGGED_OUT_URI}?state=st-3"
    assert _session_alive(client)


def test_a_hint_of_one_client_cannot_unlock_another_clients_logout_uri(client, rp, setup_data) -> None:
    other_uri = "https://other.example.vn/bye"
    other_id = setup_data(lambda: make_client(name="Other app", redirect_uris=["https://other.example.vn/cb"],
                                              post_logout_redirect_uris=[other_uri])[0].client_id)
    _, body = _logged_in_with_tokens(client, rp)
    params = {"id_token_hint": body["id_token"], "client_id": other_id, "post_logout_redirect_uri": other_uri}
    response = client.get("/logout", query_string=params)
    assert response.status_code == 302  # a valid hint logs out at once, but stays with us
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert not _session_alive(client)


def test_a_hint_for_someone_else_does_not_log_out_without_confirmation(client, app, rp, setup_data) -> None:
    other_number = setup_data(lambda: make_account().citizen.id_number)
    other_browser = app.test_client()
    other_body = code_tokens(other_browser, *rp["rp"], other_number)
    _logged_in_with_tokens(client, rp)
    response = client.get("/logout", query_string={"id_token_hint": other_body["id_token"],
                                                   "post_logout_redirect_uri": LOGGED_OUT_URI})
    assert response.status_code == 200 and _session_alive(client)


@pytest.mark.parametrize("hint", [
    pytest.param("not-a-jwt", id="garbage"),
    pytest.param("eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.", id="alg-none"),
])
def test_an_invalid_id_token_hint_gets_an_error_page(client, rp, hint) -> None:
    _logged_in_with_tokens(client, rp)
    response = client.get("/logout", query_string={"id_token_hint": hint, "client_id": rp["rp"][0],
                                                   "post_logout_redirect_uri": LOGGED_OUT_URI, "state": "s"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"] and 'name="csrf_token"' not in response.text
    assert _session_alive(client)


def test_a_tampered_id_token_hint_gets_an_error_page(client, rp) -> None:
    _, body = _logged_in_with_tokens(client, rp)
    header, payload, signature = body["id_token"].split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    response = client.get("/logout", query_string={"id_token_hint": tampered,
                                                   "post_logout_redirect_uri": LOGGED_OUT_URI})
    assert response.status_code == 400 and "Location" not in response.headers
    assert _session_alive(client)


# --- revoking a person's sessions -------------------------------------------------------------

def test_logging_out_everywhere_revokes_the_persons_tokens(client, rp, setup_data) -> None:
    client_id, secret = rp["rp"]
    strict_id, strict_secret = rp["strict"]
    body = code_tokens(client, client_id, secret, rp["number"])
    strict = code_tokens(client, strict_id, strict_secret, rp["number"], otp=totp_now())

    def revoke():
        citizen = db.session().scalar(select(Citizen).where(Citizen.id_number == rp["number"]))
        account = identity.account_for_citizen(citizen)
        return identity.revoke_sessions(account, actor="test", reason="logout-everywhere")
    assert setup_data(revoke) >= 1

    for client_id_, secret_, tokens in ((client_id, secret, body), (strict_id, strict_secret, strict)):
        assert_oauth_error(refresh(client, client_id_, secret_, tokens["refresh_token"]), "invalid_grant")
        assert_invalid_token(userinfo(client, tokens["access_token"]))
    assert not _session_alive(client)


def test_the_logout_everywhere_button_revokes_the_persons_tokens(client, rp) -> None:
    client_id, secret = rp["rp"]
    browser, body = _logged_in_with_tokens(client, rp)
    assert browser.second_factor(totp_now()).status_code == 302  # the account's settings are at its level, 2
    page = client.get("/account")
    response = client.post("/account/logout-everywhere", data={"csrf_token": browser.csrf(page.text)})
    assert response.status_code == 302
    assert_oauth_error(refresh(client, client_id, secret, body["refresh_token"]), "invalid_grant")
    assert introspect(client, (client_id, secret), body["access_token"]) == {"active": False}
