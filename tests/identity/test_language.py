"""One language at a time: Vietnamese by default; English by the switch on every page, by the
``ui_locales`` of the agency's request (through login and second factor), or by the browser."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from idsvc.identity import service
from idsvc.identity import views
from idsvc.identity.passwords import PasswordRefusal
from idsvc.identity.passwords import PasswordRefused
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


#: Every refusal of a password, as a person reads it in Vietnamese and in English, and its field.
REFUSALS = {
    PasswordRefusal.TOO_SHORT: ("Mật khẩu cần ít nhất 12 ký tự; một cụm từ dễ nhớ là lựa chọn tốt.",
                                "The password needs at least 12 characters; a memorable phrase works well.",
                                "password"),
    PasswordRefusal.TOO_LONG: ("Mật khẩu tối đa 128 ký tự.", "The password can have at most 128 characters.",
                               "password"),
    PasswordRefusal.PERSONAL_DATA: ("Mật khẩu không được chứa số định danh, họ tên hay ngày sinh của bạn.",
                                    "The password must not contain your ID number, full name or date of birth.",
                                    "password"),
    PasswordRefusal.TOO_GUESSABLE: (
        "Mật khẩu này dễ bị đoán: mật khẩu phổ biến, hàng phím, dãy ký tự liên tiếp hay lặp lại, dù có thêm số hoặc "
        "ký hiệu. Hãy dùng một câu của riêng bạn, từ bốn từ trở lên.",
        "This password is easy to guess: a common password, a keyboard row, a sequence or a repetition, even with "
        "digits or symbols added. Use a sentence of your own, of four words or more.", "password"),
    PasswordRefusal.REPEAT_DIFFERS: ("Hai mật khẩu không khớp.", "The two passwords differ.", "password"),
    PasswordRefusal.SAME_AS_CURRENT: ("Mật khẩu mới phải khác mật khẩu cũ.",
                                      "The new password must differ from the current one.", "password"),
    PasswordRefusal.WRONG_CURRENT: ("Mật khẩu hiện tại không đúng.", "The current password is wrong.", "current"),
    PasswordRefusal.LOCKED: ("Số định danh hoặc mật khẩu không đúng, hoặc tài khoản đang tạm khóa. "
                             "Hãy thử lại sau ít phút.",
                             "The ID number or password is wrong, or the account is locked for a while. "
                             "Try again in a few minutes.", "current"),
}


@pytest.mark.parametrize("reason", list(PasswordRefusal))
def test_every_refusal_of_a_password_is_said_in_the_pages_language(app, reason) -> None:
    vietnamese, english, field = REFUSALS[reason]
    refused = PasswordRefused(reason, min_length=12, max_length=128)
    with app.test_request_context():
        assert views._refusal(refused) == (vietnamese, field)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert views._refusal(refused) == (english, field)


def test_a_refused_activation_is_said_in_the_pages_language(app) -> None:
    with app.test_request_context():
        assert views._refusal(service.ActivationFailed()) == (
            "Số định danh hoặc mã kích hoạt không đúng, hoặc mã đã hết hạn.", "code")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert views._refusal(service.ActivationFailed()) == (
            "The ID number or activation code is wrong, or the code has expired.", "code")


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
