"""The demo agency against the real provider in the same process: Authlib's HTTP calls
(discovery, JWKS, token, userinfo) go to the provider's test client through a requests adapter,
and the person's browser is played by two test clients, one per site."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from idsvc.demo_agency.app import create_demo_agency
from tests.browser import Browser
from tests.browser import query
from tests.factories import make_account
from tests.factories import make_client

AGENCY = "https://agency.example.vn"
LOA1, LOA2 = "urn:idsvc:loa:1", "urn:idsvc:loa:2"


class ProviderAdapter(BaseAdapter):
    """Answers every HTTP request of ``requests`` with the provider's test client."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.client = app.test_client()
        self.down = False

    def send(self, request: requests.PreparedRequest,  # type: ignore[override]  # called with keywords only
             **kwargs: Any) -> requests.Response:
        if self.down:
            raise requests.ConnectionError("connection refused")
        url = urlsplit(request.url or "")
        answer = self.client.open(url.path, query_string=url.query, method=request.method,
                                  headers=dict(request.headers), data=request.body)
        response = requests.Response()
        response.status_code, response.url, response.request = answer.status_code, request.url, request
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.get_data()
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


@pytest.fixture()
def provider(app: Any, monkeypatch: pytest.MonkeyPatch) -> ProviderAdapter:
    adapter = ProviderAdapter(app)
    monkeypatch.setattr(requests.Session, "get_adapter", lambda self, url: adapter)
    return adapter


@pytest.fixture()
def people(setup_data: Any) -> dict[str, Any]:
    """The agency's client (registered for ``AGENCY``) and a level-1 and a level-2 person."""
    def create() -> dict[str, Any]:
        client, secret = make_client(redirect_uris=[f"{AGENCY}/callback"], post_logout_redirect_uris=[f"{AGENCY}/"])
        return {"client": (client.client_id, secret), "level1": make_account().citizen.id_number,
                "level2": make_account(level=2, full_name="Trần Thị Bình", sex="F").citizen.id_number}
    return setup_data(create)


class Agency:
    """The person's browser at the agency (its own cookie jar, at the agency's address)."""

    def __init__(self, app: Any, people: dict[str, Any]) -> None:
        client_id, secret = people["client"]
        self.app = create_demo_agency(app.config["ISSUER"], client_id, secret, base_url=AGENCY)
        self.client = self.app.test_client()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, base_url=AGENCY, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, base_url=AGENCY, **kwargs)


@pytest.fixture()
def agency(app: Any, people: dict[str, Any], provider: ProviderAdapter) -> Agency:
    return Agency(app, people)


def _at_provider(location: str) -> str:
    """A provider URL as the provider's test client asks for it (its path and query)."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def _log_in(agency: Agency, client: Any, number: str, *, level: str = "1", otp: str | None = None,
            consent: str = "allow", tamper: Any = None) -> Any:
    """Press a login button at the agency and play the person at the provider; returns the
    agency's answer at its redirect URI."""
    start = agency.get(f"/login?level={level}")
    assert start.status_code == 302
    location = tamper(start.headers["Location"]) if tamper else start.headers["Location"]
    back = Browser(client).follow(client.get(_at_provider(location)), id_number=number, otp=otp, consent=consent)
    assert back.status_code == 302 and back.headers["Location"].startswith(f"{AGENCY}/callback?")
    return agency.get(back.headers["Location"][len(AGENCY):])


def test_home_page_offers_both_levels_in_both_languages(agency: Agency) -> None:
    page = agency.get("/")
    assert page.status_code == 200 and '<html lang="vi">' in page.text
    assert "Đăng nhập bằng định danh điện tử – mức 1" in page.text and "Log in with national ID – level 2" in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_login_sends_the_browser_with_pkce_state_nonce_and_the_level(agency: Agency, people: dict[str, Any],
                                                                     app: Any) -> None:
    one = agency.get("/login?level=1")
    params = query(one.headers["Location"])
    assert one.headers["Location"].startswith(f"{app.config['ISSUER']}/authorize?")
    assert params["client_id"] == people["client"][0] and params["redirect_uri"] == f"{AGENCY}/callback"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and "acr_values" not in params
    assert query(agency.get("/login?level=2").headers["Location"])["acr_values"] == LOA2
    # Its own cookie: on 127.0.0.1 the provider's idsvc_session (and Flask's "session") live beside it.
    assert agency.client.get_cookie("demo_agency_session", domain="agency.example.vn") is not None


def test_level_1_login_shows_the_verified_claims_and_logout_ends_it_at_the_provider(
        agency: Agency, client: Any, people: dict[str, Any], app: Any) -> None:
    answer = _log_in(agency, client, people["level1"])
    assert answer.status_code == 302 and answer.headers["Location"] == f"{AGENCY}/"
    page = agency.get("/")
    assert "Xin chào, Nguyễn Văn An" in page.text and f'<strong id="acr">{LOA1}</strong>' in page.text
    assert "1990-05-17" in page.text  # the birthdate, from userinfo
    assert people["level1"] not in page.text
    assert client.get("/account").status_code == 200  # logged in at the provider

    logout = agency.post("/logout")
    params = query(logout.headers["Location"])
    assert logout.headers["Location"].startswith(f"{app.config['ISSUER']}/logout?")
    assert params["post_logout_redirect_uri"] == f"{AGENCY}/" and params["id_token_hint"] and params["state"]
    assert "Xin chào" not in agency.get("/").text  # forgotten here at once
    back = client.get(_at_provider(logout.headers["Location"]))
    assert back.headers["Location"] == f"{AGENCY}/?state={params['state']}"
    assert "You are logged out of this agency and of idsvc" in agency.get(back.headers["Location"]).text
    assert client.get("/account").status_code == 302  # and at the provider


def test_level_2_login_with_the_second_factor(agency: Agency, client: Any, people: dict[str, Any]) -> None:
    from tests.browser import totp_now

    assert _log_in(agency, client, people["level2"], level="2", otp=totp_now()).status_code == 302
    page = agency.get("/")
    assert f'<strong id="acr">{LOA2}</strong>' in page.text and "Trần Thị Bình" in page.text


def test_a_login_stripped_of_acr_values_is_refused(agency: Agency, client: Any, people: dict[str, Any]) -> None:
    """Someone removes ``acr_values`` from the address: the provider gives level 1, the agency,
    which asked for level 2, refuses the ID token."""
    def strip_acr(location: str) -> str:
        parts = urlsplit(location)
        params = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "acr_values"}
        return parts._replace(query=urlencode(params)).geturl()

    answer = _log_in(agency, client, people["level1"], level="2", tamper=strip_acr)
    assert answer.status_code == 400 and "invalid_id_token" in answer.text and "acr" in answer.text
    assert "Xin chào" not in agency.get("/").text


def test_the_providers_refusals_are_shown(agency: Agency, client: Any, people: dict[str, Any]) -> None:
    refused = _log_in(agency, client, people["level1"], level="2")  # a level-1 account
    assert '<code id="error-code">unmet_authentication_requirements</code>' in refused.text
    assert "not level 2" in refused.text and 'id="error-description"' in refused.text
    denied = _log_in(agency, client, people["level2"], consent="deny")
    assert '<code id="error-code">access_denied</code>' in denied.text


def test_an_answer_to_no_login_started_here_shows_nothing_from_the_address(agency: Agency) -> None:
    forged = agency.get("/callback?" + urlencode({"error": "access_denied", "state": "made-up",
                                                "error_description": "Call 0900 000 000 to unlock"}))
    assert forged.status_code == 400 and "invalid_state" in forged.text and "0900" not in forged.text


def test_an_answer_from_another_issuer_is_refused(agency: Agency) -> None:
    state = query(agency.get("/login?level=1").headers["Location"])["state"]
    answer = agency.get("/callback?" + urlencode({"code": "x", "state": state, "iss": "https://evil.example"}))
    assert answer.status_code == 400 and "invalid_issuer" in answer.text
    state = query(agency.get("/login?level=1").headers["Location"])["state"]
    answer = agency.get("/callback?" + urlencode({"code": "x", "state": state}))  # our provider always sends it
    assert answer.status_code == 400 and "invalid_issuer" in answer.text


def test_an_unreachable_provider_is_said_plainly(agency: Agency, provider: ProviderAdapter) -> None:
    provider.down = True
    answer = agency.get("/login?level=1")
    assert answer.status_code == 502 and "provider_unreachable" in answer.text and "idsvc run" in answer.text


def test_another_host_name_is_sent_to_the_registered_address(agency: Agency) -> None:
    answer = agency.client.get("/login?level=1", base_url="https://localhost")
    assert answer.status_code == 302 and answer.headers["Location"] == f"{AGENCY}/login?level=1"


def test_logins_left_pending_do_not_grow_the_cookie(agency: Agency) -> None:
    first = query(agency.get("/login?level=1").headers["Location"])["state"]
    for _ in range(20):
        agency.get("/login?level=2")
    cookie = agency.client.get_cookie("demo_agency_session", domain="agency.example.vn")
    assert cookie is not None and len(cookie.value) < 2500
    stale = agency.get("/callback?" + urlencode({"code": "x", "state": first, "iss": "https://x"}))
    assert "invalid_state" in stale.text  # the oldest pending login was dropped
