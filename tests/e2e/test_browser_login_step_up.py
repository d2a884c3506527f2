"""A real browser (Debian's headless Chromium, driven by Playwright) through the pages a person
sees: login, step-up to level 2 with a TOTP code, consent, and back to the agency with a code.

The agency's redirect URI is served by a small local web server (Playwright does not intercept
the redirected request of a navigation), so the browser really lands there. Any console error
fails the test: CSP violations appear there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from playwright.sync_api import Browser
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Page
from playwright.sync_api import ViewportSize

from tests.e2e.harness import Agency
from tests.e2e.harness import Provider

pytestmark = pytest.mark.slow

def _jwt_claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_login_step_up_and_back_to_the_agency_with_a_code(browser: Browser, provider: Provider,
                                                           agency: Agency) -> None:
    client = provider.clients["browser"]  # requires level 2
    account = provider.accounts["level2"]
    assert account.totp_seed
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    url = f"{provider.issuer}/authorize?" + urlencode({
        "response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
        "scope": "openid profile", "state": state, "nonce": nonce, "acr_values": "urn:idsvc:loa:2",
        "code_challenge": challenge, "code_challenge_method": "S256", "ui_locales": "vi"})

    context = browser.new_context(locale="vi-VN")
    page: Page = context.new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    try:
        page.goto(url)
        page.wait_for_url(f"{provider.issuer}/login?**")
        # The login page speaks the language asked (ui_locales=vi), and only that one.
        assert page.locator("h1").inner_text() == "Đăng nhập"
        body = page.locator("body").inner_text()
        assert "Số định danh cá nhân" in body and "Mật khẩu" in body
        assert "Personal ID number" not in body and "Password" not in body
        page.fill("#id_number", account.id_number)
        page.fill("#password", account.password)
        page.click("button[type=submit]")

        page.wait_for_url(f"{provider.issuer}/login/otp?**")
        assert page.locator("h1").inner_text() == "Xác thực mức độ 2"
        page.fill("#code", pyotp.TOTP(account.totp_seed).now())
        with page.expect_navigation():
            page.click("button[type=submit]")
        if not page.url.startswith(client.redirect_uri):  # a consent page first
            allow = page.locator("button[value=allow]")
            assert allow.inner_text() == "Đồng ý"
            with page.expect_navigation():
                allow.click()

        back = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert page.url.split("?")[0] == client.redirect_uri
        assert back["code"]
        assert back["state"] == state
        assert back["iss"] == provider.issuer
        assert "back at the agency" in page.locator("body").inner_text()
        assert urlsplit(page.url).path + "?" + urlsplit(page.url).query in agency.requests

        # The agency redeems the code: the person authenticated at level 2, with a second factor.
        assert client.secret
        tokens = requests.post(f"{provider.issuer}/token", auth=(client.client_id, client.secret), timeout=10,
                               data={"grant_type": "authorization_code", "code": back["code"],
                                     "redirect_uri": client.redirect_uri, "code_verifier": verifier})
        assert tokens.status_code == 200, tokens.text
        claims = _jwt_claims(tokens.json()["id_token"])
        assert claims["acr"] == "urn:idsvc:loa:2"
        assert claims["nonce"] == nonce
        assert "otp" in claims["amr"]
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        assert requests.get(f"{provider.issuer}/userinfo", headers=bearer, timeout=10).status_code == 200

        # The person withdraws the consent from their account: the agency's token stops working.
        page.goto(f"{provider.issuer}/account")
        with page.expect_navigation():
            page.click("text=Dịch vụ đã kết nối")
        service = page.locator("li.service", has_text="Level 2 portal")
        assert "Họ và tên" in service.inner_text()
        with page.expect_navigation():
            service.locator("button", has_text="Rút lại").click()
        assert "Đã rút lại sự đồng ý" in page.locator("body").inner_text()
        assert page.locator("li.service", has_text="Level 2 portal").count() == 0
        assert requests.get(f"{provider.issuer}/userinfo", headers=bearer, timeout=10).status_code == 401
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


#: What a phone shows: a 360-pixel-wide screen (the narrowest common Android width).
PHONE: ViewportSize = {"width": 360, "height": 740}


@pytest.mark.parametrize("path", ["/login", "/activate"])
def test_pages_fit_a_phone_and_every_field_has_a_label(browser: Browser, provider: Provider, path: str) -> None:
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{provider.issuer}{path}")
    layout = page.evaluate("""() => ({
        lang: document.documentElement.lang,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        unlabelled: [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => el.labels.length === 0).map(el => el.name),
        english: document.querySelectorAll('[lang=en]').length,
        fieldHeights: [...document.querySelectorAll('input:not([type=hidden]), button')]
            .map(el => el.getBoundingClientRect().height),
    })""")
    context.close()
    assert layout["lang"] == "vi" and layout["english"] == 1  # Vietnamese page; only the switch to English is English
    assert layout["overflow"] <= 0, "the page scrolls sideways on a phone"
    assert layout["unlabelled"] == [], "fields without a label cannot be read out by a screen reader"
    assert min(layout["fieldHeights"]) >= 24, "touch targets are too small"
