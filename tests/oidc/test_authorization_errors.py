"""Every authorization-request rule, each with the exact error (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.db import utcnow
from idsvc.identity.models import LoginSession
from idsvc.oidc.models import AuthorizationCode
from tests.browser import REDIRECT_URI
from tests.browser import Browser
from tests.browser import query
from tests.factories import make_account
from tests.factories import make_client


@pytest.fixture()
def rp(setup_data):
    def create():
        client, secret = make_client(redirect_uris=[REDIRECT_URI, "https://rp.example.vn/other"],
                                     scopes=["openid", "profile", "birthdate", "gender", "registry.verify"])
        account = make_account()
        return client.client_id, secret, account.citizen.id_number
    return setup_data(create)


def _logged_in(client, number):
    browser = Browser(client)
    assert browser.login(number).status_code == 302
    return browser


@pytest.mark.parametrize(("change", "error", "description"), [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request", "PKCE is required"),
    ({"code_challenge_method": "plain"}, "invalid_request", "must be S256"),
    ({"code_challenge_method": None}, "invalid_request", "must be S256"),
    ({"response_type": "token"}, "unsupported_response_type", None),
    ({"scope": "openid unknown-scope"}, "invalid_scope", None),
    ({"scope": "openid address"}, "invalid_scope", "not allowed for this client: address"),
    ({"scope": "openid registry.verify"}, "invalid_scope", "not allowed for this client: registry.verify"),
    ({"acr_values": "urn:other:gold"}, "unmet_authentication_requirements", None),
    ({"request": "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9."}, "request_not_supported", None),
    ({"request_uri": "https://rp.example.vn/request.jwt"}, "request_uri_not_supported", None),
    ({"nonce": "n" * 256}, "invalid_request", "nonce is longer than 255 characters"),
    ({"nonce": "n\x00"}, "invalid_request", "nonce holds control characters"),
])
def test_bad_requests_go_back_to_the_client_with_the_error(client, rp, change, error, description) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    request, response = browser.start(client_id, **change)
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT_URI)
    assert params["error"] == error
    assert params["state"] == request.state
    assert params["iss"] == client.application.config["ISSUER"]
    if description:
        assert description in params["error_description"]


@pytest.mark.parametrize(("change", "code"), [
    ({"redirect_uri": "https://rp.example.vn/callback/extra"}, "invalid_request"),
    ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
    ({"redirect_uri": "https://RP.example.vn/callback"}, "invalid_request"),
    ({"redirect_uri": None}, "invalid_request"),
    ({"client_id": "no-such-client"}, "invalid_client"),
    ({"redirect_uri": "https://rp.example.vn/callback\n"}, "invalid_request"),
    ({"redirect_uri": "https://rp.example.vn/callback\u2028"}, "invalid_request"),
])
def test_unverifiable_redirects_get_an_error_page_never_a_redirect(client, rp, change, code) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    change = dict(change)
    _, response = browser.start(change.pop("client_id", client_id), **change)
    assert response.status_code in (400, 401)
    assert "Location" not in response.headers
    assert code in response.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_prompt_none_without_a_session_answers_login_required(client, rp) -> None:
    client_id, _, _ = rp
    _, response = Browser(client).start(client_id, prompt="none")
    assert query(response.headers["Location"])["error"] == "login_required"


def test_prompt_none_without_consent_answers_consent_required(client, rp) -> None:
    client_id, _, number = rp
    _, response = _logged_in(client, number).start(client_id, prompt="none")
    assert query(response.headers["Location"])["error"] == "consent_required"


def test_denying_consent_sends_access_denied(client, rp) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    request, response = browser.start(client_id)
    response = browser.follow(response, consent="deny")
    params = query(response.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == request.state


def test_consent_is_remembered_and_prompt_none_then_works(client, rp) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    _, response = browser.start(client_id)
    assert "code" in query(browser.follow(response).headers["Location"])
    _, response = browser.start(client_id, prompt="none")
    assert "code" in query(response.headers["Location"])


def test_prompt_login_forces_a_new_login_and_does_not_loop(client, rp) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    browser.follow(browser.start(client_id)[1])  # consent once
    _, response = browser.start(client_id, prompt="login")
    assert response.headers["Location"].startswith("/login")
    response = browser.follow(response, id_number=number)
    assert "code" in query(response.headers["Location"])


def test_max_age_zero_forces_one_login_and_does_not_loop(client, rp) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    browser.follow(browser.start(client_id)[1])
    _, response = browser.start(client_id, max_age="0")
    assert response.headers["Location"].startswith("/login")
    response = browser.follow(response, id_number=number)
    assert "code" in query(response.headers["Location"])


@pytest.mark.parametrize("fresh", [{"prompt": "login"}, {"max_age": "0"}], ids=["prompt-login", "max-age-0"])
def test_the_login_page_cannot_be_skipped_by_following_its_next(client, rp, fresh) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    browser.follow(browser.start(client_id)[1])  # consent once
    _, response = browser.start(client_id, **fresh)
    assert response.headers["Location"].startswith("/login")
    back = query(response.headers["Location"])["next"]
    response = client.get(back)  # the old session, no new login
    assert response.status_code == 302 and response.headers["Location"].startswith("/login"), response.headers
    assert "code" not in query(response.headers["Location"])


def test_the_login_marker_cannot_be_edited_nor_moved_to_another_request(client, rp) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    browser.follow(browser.start(client_id)[1])
    _, response = browser.start(client_id, prompt="login")
    back = query(response.headers["Location"])["next"]
    marker = query(back)["login_after"]
    stamp, _, mac = marker.partition(".")
    edited = back.replace(marker, f"{int(stamp) - 10**9}.{mac}")  # "a login after 1000 s before" (a forgery)
    assert client.get(edited).headers["Location"].startswith("/login")
    older = browser.start(client_id, prompt="login")[1]  # a second request; its marker on the first
    moved = query(query(older.headers["Location"])["next"])["login_after"]
    assert client.get(back.replace(marker, moved)).headers["Location"].startswith("/login")


def test_a_login_after_prompt_login_gives_a_code_with_the_new_auth_time(client, rp, setup_data) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    browser.follow(browser.start(client_id)[1])
    _, response = browser.start(client_id, prompt="login")
    response = browser.follow(response, id_number=number)
    assert "code" in query(response.headers["Location"])
    sessions, code_auth_time = setup_data(lambda: (
        list(db.session().scalars(select(LoginSession.auth_time).order_by(LoginSession.id))),
        db.session().scalar(select(AuthorizationCode.auth_time).order_by(AuthorizationCode.id.desc()).limit(1))))
    assert len(sessions) == 2 and code_auth_time == sessions[1] > sessions[0]


def test_a_consent_page_left_open_past_max_age_asks_for_a_login(client, rp, monkeypatch) -> None:
    from idsvc.oidc import authorize

    client_id, _, number = rp
    browser = _logged_in(client, number)
    _, page = browser.start(client_id, max_age="60")
    assert page.status_code == 200 and 'name="decision"' in page.text  # the first time: consent
    later = utcnow() + timedelta(seconds=120)
    monkeypatch.setattr(authorize, "utcnow", lambda: later)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    response = client.post(action, data={"decision": "allow", "csrf_token": Browser.csrf(page.text)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("max_age", ["9" * 30, "-5", "1e3"])
def test_an_odd_max_age_is_an_answer_not_a_crash(client, rp, max_age) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    browser.follow(browser.start(client_id)[1])
    _, response = browser.start(client_id, max_age=max_age)
    location = response.headers["Location"]
    if max_age == "1e3":
        assert query(location)["error"] == "invalid_request"
    elif max_age == "-5":
        assert location.startswith("/login")  # older than any negative age: a new login
    else:
        assert "code" in query(location)  # the login is younger than 10^30 seconds


def test_an_odd_max_age_is_refused_before_the_login_too(client, rp) -> None:
    client_id, _, _ = rp
    _, response = Browser(client).start(client_id, max_age="1e3")  # no session: not sent to log in first
    assert query(response.headers["Location"])["error"] == "invalid_request"


def test_login_hint_fills_the_id_number(client, rp) -> None:
    client_id, _, number = rp
    _, response = Browser(client).start(client_id, login_hint=number)
    page = client.get(response.headers["Location"])
    assert f'value="{number}"' in page.text


def test_level_two_request_explains_then_fails_closed_for_a_level_one_account(client, rp) -> None:
    client_id, _, number = rp
    browser = _logged_in(client, number)
    _, page = browser.start(client_id, acr_values="urn:idsvc:loa:2", ui_locales="en")
    # The person is told how to reach level 2 before being sent back, in the language asked.
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "Go in person to the police of your commune or ward." in page.text
    assert "Bring your chip ID card." in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert client.post(action, data={"decision": "back"}).status_code == 200  # no CSRF token: the page again
    response = client.post(action, data={"decision": "back", "csrf_token": Browser.csrf(page.text)})
    params = query(response.headers["Location"])
    assert params["error"] == "unmet_authentication_requirements"
    assert "code" not in params


def test_level_two_request_without_interaction_fails_at_once(client, rp) -> None:
    client_id, _, number = rp
    _, response = _logged_in(client, number).start(client_id, acr_values="urn:idsvc:loa:2", prompt="none")
    assert query(response.headers["Location"])["error"] == "unmet_authentication_requirements"
