"""One language at a time: Vietnamese by default; English by the switch on every page, by the
``ui_locales`` of the agency's request (through login and second factor), or by the browser."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from idsvc import i18n
from tests.browser import Browser
from tests.factories import make_client


def _lang(html: str) -> str:
    return re.search(r'<html lang="(\w+)">', html).group(1)


def _switch(html: str) -> str:
    return re.search(r'<a class="language" href="([^"]+)"', html).group(1).replace("&amp;", "&")


@pytest.fixture()
def agency_app(setup_data):
    return setup_data(lambda: make_client(name="Cổng dịch vụ công tỉnh")[0].client_id)


def _authorize(client_id: str, **extra: str) -> str:
    return "/authorize?" + urlencode({"response_type": "code", "client_id": client_id, "scope": "openid",
                                      "redirect_uri": "https://rp.example.vn/callback", "state": "s",
                                      "code_challenge": "x" * 43, "code_challenge_method": "S256", **extra})


def test_vietnamese_unless_the_browser_prefers_english(client) -> None:
    assert _lang(client.get("/login").text) == "vi"
    assert _lang(client.get("/login", headers={"Accept-Language": "fr, en-US;q=0.8, vi;q=0.5"}).text) == "en"
    assert _lang(client.get("/login", headers={"Accept-Language": "fr"}).text) == "vi"


def test_the_agencys_ui_locales_carry_through_the_login(client, agency_app) -> None:
    response = client.get(_authorize(agency_app, ui_locales="en-US vi"))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?")
    page = client.get(response.headers["Location"]).text
    assert _lang(page) == "en" and "Personal ID number" in page
    wrong = Browser(client).login("001090999999", "not my password", next_url=_authorize(agency_app, ui_locales="en"))
    assert _lang(wrong.text) == "en" and "The ID number or password is wrong" in wrong.text


def test_the_switch_returns_to_the_same_page_and_wins(client, agency_app) -> None:
    login = client.get(client.get(_authorize(agency_app, ui_locales="en")).headers["Location"])
    target = _switch(login.text)
    assert target.startswith("/language/vi?")
    response = client.get(target)
    assert response.status_code == 302
    assert "idsvc_lang=vi" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    back = client.get(response.headers["Location"])  # the same login, still on its way to the agency
    assert back.request.path == "/login" and "client_id" in back.request.args["next"]
    assert _lang(back.text) == "vi"  # the person's choice beats the agency's ui_locales
    assert '<a class="language" href="/language/en?' in back.text and ">English</a>" in back.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x",
                                    "///evil.example/", "//["])
def test_the_switch_never_leaves_the_site(client, target) -> None:
    response = client.get("/language/en", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_an_unknown_language_is_not_found(client) -> None:
    assert client.get("/language/fr").status_code == 404


def test_messages_of_the_services_show_one_language(app) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.one_language("Hai mật khẩu không khớp. / The two passwords differ.") == "The two passwords differ."
    with app.test_request_context():
        assert i18n.one_language("Hai mật khẩu không khớp. / The two passwords differ.") == "Hai mật khẩu không khớp."
        assert i18n.one_language("no separator") == "no separator"


def test_the_switch_on_a_posted_page_returns_to_that_page(client, agency_app) -> None:
    asked = _authorize(agency_app)
    wrong = Browser(client).login("001090999999", "not my password", next_url=asked)
    back = client.get(client.get(_switch(wrong.text)).headers["Location"])
    assert back.request.path == "/login" and back.request.args["next"] == asked
    assert _lang(back.text) == "en" and "Personal ID number" in back.text


def test_an_error_page_for_a_body_too_large_still_renders(app) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = app.test_client().post("/login", data={"next": "x" * 500}, headers={"Accept": "text/html"})
    assert response.status_code == 413 and '<html lang="vi">' in response.text


def test_the_switch_on_a_consent_page_posted_to_keeps_the_request(client, agency_app, citizen_number) -> None:
    assert Browser(client).login(citizen_number).status_code == 302
    page = client.post(_authorize(agency_app), data={"decision": "allow"})  # no CSRF token: asked again
    assert page.status_code == 200 and 'name="decision"' in page.text
    again = client.get(client.get(_switch(page.text)).headers["Location"])
    assert again.request.path == "/authorize" and again.request.args["client_id"] == agency_app
    assert _lang(again.text) == "en" and 'name="decision"' in again.text
