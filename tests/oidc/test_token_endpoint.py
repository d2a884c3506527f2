"""The token endpoint: redeeming codes (single use, 60 s, PKCE, redirect URI, client binding) and
refresh tokens (rotation, reuse detection, scope), each with the exact RFC 6749 §5.2 error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.db import utcnow
from idsvc.oidc.models import AuthorizationCode
from tests.browser import REDIRECT_URI
from tests.browser import pkce_pair
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

OTHER_REDIRECT_URI = "https://rp.example.vn/other"


@pytest.fixture()
def rp(setup_data):
    """A confidential client with two redirect URIs, a second client and a citizen:
    (client_id, secret, other_client_id, other_secret, id_number)."""
    def create():
        client, secret = make_client(redirect_uris=[REDIRECT_URI, OTHER_REDIRECT_URI])
        other, other_secret = make_client(name="Another agency app")
        account = make_account()
        return client.client_id, secret, other.client_id, other_secret, account.citizen.id_number
    return setup_data(create)


# --- authorization codes ----------------------------------------------------------------------

def test_a_replayed_code_is_refused_and_revokes_the_tokens_of_its_first_redemption(client, rp) -> None:
    client_id, secret, _, _, number = rp
    browser, request, code = authorize(client, client_id, number)
    first = browser.redeem(request, code, (client_id, secret))
    assert first.status_code == 200
    tokens = first.get_json()
    assert userinfo(client, tokens["access_token"]).status_code == 200

    replay = browser.redeem(request, code, (client_id, secret))
    assert_oauth_error(replay, "invalid_grant")

    # RFC 6749 §4.1.2: a code used twice means it leaked; what it produced is revoked.
    assert_oauth_error(refresh(client, client_id, secret, tokens["refresh_token"]), "invalid_grant")
    assert introspect(client, (client_id, secret), tokens["access_token"]) == {"active": False}
    assert_invalid_token(userinfo(client, tokens["access_token"]))


def test_a_code_lives_60_seconds_and_an_expired_one_is_refused(client, rp, setup_data) -> None:
    client_id, secret, _, _, number = rp
    browser, request, code = authorize(client, client_id, number)

    def age_the_code():
        row = db.session().scalar(select(AuthorizationCode))
        assert row.expires_at - row.created_at == timedelta(seconds=60)
        db.session().execute(update(AuthorizationCode).values(
            created_at=utcnow() - timedelta(seconds=61), expires_at=utcnow() - timedelta(seconds=1)))
    setup_data(age_the_code)

    assert_oauth_error(browser.redeem(request, code, (client_id, secret)), "invalid_grant")


def test_a_wrong_code_verifier_is_refused(client, rp) -> None:
    client_id, secret, _, _, number = rp
    browser, request, code = authorize(client, client_id, number)
    wrong_verifier, _ = pkce_pair()
    response = browser.redeem(request, code, (client_id, secret), code_verifier=wrong_verifier)
    assert_oauth_error(response, "invalid_grant")
    # One try per code: the right verifier is too late now.
    assert_oauth_error(browser.redeem(request, code, (client_id, secret)), "invalid_grant")


def test_a_missing_code_verifier_is_refused(client, rp) -> None:
    client_id, secret, _, _, number = rp
    browser, request, code = authorize(client, client_id, number)
    response = browser.redeem(request, code, (client_id, secret), code_verifier=None)
    assert_oauth_error(response, "invalid_request")
    assert "code_verifier" in response.get_json()["error_description"]


@pytest.mark.parametrize("redirect_uri", [OTHER_REDIRECT_URI, None])
def test_the_redirect_uri_must_be_the_one_of_the_authorization_request(client, rp, redirect_uri) -> None:
    client_id, secret, _, _, number = rp
    browser, request, code = authorize(client, client_id, number)
    response = browser.redeem(request, code, (client_id, secret), redirect_uri=redirect_uri)
    assert_oauth_error(response, "invalid_grant")
    assert_oauth_error(browser.redeem(request, code, (client_id, secret)), "invalid_grant")  # spent


def test_a_code_issued_to_one_client_cannot_be_redeemed_by_another(client, rp) -> None:
    client_id, secret, other_id, other_secret, number = rp
    browser, request, code = authorize(client, client_id, number)
    assert_oauth_error(browser.redeem(request, code, (other_id, other_secret)), "invalid_grant")
    # The attempt did not spend the code for its rightful client.
    assert browser.redeem(request, code, (client_id, secret)).status_code == 200


def test_an_unknown_grant_type_is_refused(client, rp) -> None:
    client_id, secret, _, _, _ = rp
    response = client.post("/token", data={"grant_type": "password", "username": "x", "password": "y"},
                           auth=(client_id, secret))
    assert_oauth_error(response, "unsupported_grant_type")


# --- refresh tokens ---------------------------------------------------------------------------

def test_refresh_rotates_the_refresh_token(client, rp) -> None:
    client_id, secret, _, _, number = rp
    first = code_tokens(client, client_id, secret, number)
    response = refresh(client, client_id, secret, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "openid profile"
    _, claims = verify_jwt(client, second["access_token"])
    assert claims["client_id"] == client_id and claims["acr"] == "urn:idsvc:loa:1"
    assert userinfo(client, second["access_token"]).status_code == 200
    third = refresh(client, client_id, secret, second["refresh_token"])
    assert third.status_code == 200


def test_the_previous_access_token_stops_working_after_a_refresh(client, rp) -> None:
    client_id, secret, _, _, number = rp
    first = code_tokens(client, client_id, secret, number)
    assert userinfo(client, first["access_token"]).status_code == 200
    second = refresh(client, client_id, secret, first["refresh_token"]).get_json()
    # One row per issuance holds both tokens: rotating the refresh token revokes its access token.
    assert_invalid_token(userinfo(client, first["access_token"]))
    assert introspect(client, (client_id, secret), first["access_token"]) == {"active": False}
    assert userinfo(client, second["access_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, rp) -> None:
    client_id, secret, _, _, number = rp
    first = code_tokens(client, client_id, secret, number)
    second = refresh(client, client_id, secret, first["refresh_token"]).get_json()
    third = refresh(client, client_id, secret, second["refresh_token"]).get_json()
    assert userinfo(client, third["access_token"]).status_code == 200

    # RFC 9700 §4.14.2: a rotated token coming back means two parties hold the family.
    assert_oauth_error(refresh(client, client_id, secret, first["refresh_token"]), "invalid_grant")

    assert_oauth_error(refresh(client, client_id, secret, third["refresh_token"]), "invalid_grant")
    assert_invalid_token(userinfo(client, third["access_token"]))
    assert introspect(client, (client_id, secret), third["access_token"]) == {"active": False}


def test_two_refreshes_with_the_same_token_at_once_are_one_rotation_and_one_reuse(app, client, rp) -> None:
    client_id, secret, _, _, number = rp
    for _ in range(3):
        tokens = code_tokens(client, client_id, secret, number)

        def send(token: str, start: threading.Barrier):
            browser = app.test_client()
            start.wait()
            return refresh(browser, client_id, secret, token)

        start = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(send, [tokens["refresh_token"]] * 2, [start] * 2))
        assert sorted(a.status_code for a in answers) == [200, 400]
        loser = next(a for a in answers if a.status_code == 400)
        assert_oauth_error(loser, "invalid_grant")
        # The loser was a reuse: the winner's new tokens are revoked with the family.
        winner = next(a for a in answers if a.status_code == 200).get_json()
        assert_oauth_error(refresh(client, client_id, secret, winner["refresh_token"]), "invalid_grant")
        assert_invalid_token(userinfo(client, winner["access_token"]))


def test_a_wider_scope_than_granted_is_refused_and_a_narrower_one_is_given(client, rp) -> None:
    client_id, secret, _, _, number = rp
    tokens = code_tokens(client, client_id, secret, number, scope="openid profile")
    wider = refresh(client, client_id, secret, tokens["refresh_token"], scope="openid profile birthdate")
    assert_oauth_error(wider, "invalid_scope")
    # The refused request did not spend the refresh token.
    narrower = refresh(client, client_id, secret, tokens["refresh_token"], scope="openid")
    assert narrower.status_code == 200, narrower.text
    assert narrower.get_json()["scope"] == "openid"
    assert "name" not in userinfo(client, narrower.get_json()["access_token"]).get_json()
    # Less was for that access token only: the new refresh token keeps the grant (RFC 6749 §6).
    new_refresh = narrower.get_json()["refresh_token"]
    assert introspect(client, (client_id, secret), new_refresh)["scope"] == "openid profile"
    full = refresh(client, client_id, secret, new_refresh)
    assert full.status_code == 200 and full.get_json()["scope"] == "openid profile"
    assert "name" in userinfo(client, full.get_json()["access_token"]).get_json()


def test_a_refresh_refused_after_its_checks_does_not_spend_the_token(client, rp, setup_data) -> None:
    """The token view commits its 400 answers (a spent code, a revoked family), so a refresh
    token is rotated only once nothing can refuse the request: a refusal leaves it as it was."""
    from idsvc.identity.models import Account
    from idsvc.oidc.models import OAuthToken

    client_id, secret, _, _, number = rp
    tokens = code_tokens(client, client_id, secret, number)

    def set_status(status: str) -> None:  # behind the service's back: no revocation with it
        setup_data(lambda: db.session().execute(update(Account).values(status=status)))

    set_status("disabled")
    assert_oauth_error(refresh(client, client_id, secret, tokens["refresh_token"]), "invalid_request")
    assert setup_data(lambda: db.session().scalar(select(OAuthToken.rotated_at).where(
        OAuthToken.refresh_hash.is_not(None)))) is None
    set_status("active")
    assert refresh(client, client_id, secret, tokens["refresh_token"]).status_code == 200  # not a reuse


def test_a_refresh_token_is_bound_to_its_client(client, rp) -> None:
    client_id, secret, other_id, other_secret, number = rp
    tokens = code_tokens(client, client_id, secret, number)
    assert_oauth_error(refresh(client, other_id, other_secret, tokens["refresh_token"]), "invalid_grant")


def test_an_unknown_refresh_token_is_refused(client, rp) -> None:
    client_id, secret, _, _, _ = rp
    assert_oauth_error(refresh(client, client_id, secret, "not-a-refresh-token"), "invalid_grant")


def test_a_client_without_the_refresh_grant_gets_no_refresh(client, setup_data) -> None:
    def create():
        rp_client, secret = make_client(grant_types=["authorization_code"])
        return rp_client.client_id, secret, make_account().citizen.id_number
    client_id, secret, number = setup_data(create)
    browser, request, code = authorize(client, client_id, number)
    response = browser.redeem(request, code, (client_id, secret))
    assert response.status_code == 200, response.text
    tokens = response.get_json()
    assert "access_token" in tokens and "refresh_token" not in tokens
    assert_oauth_error(refresh(client, client_id, secret, "any-refresh-token"), "unauthorized_client")
