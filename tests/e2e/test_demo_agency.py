"""The demo agency of ``make run`` in a real browser: ``idsvc demo-agency`` as a process of its
own, logging people in at the real provider (under gunicorn) with Authlib's Flask client.

Each test gets a fresh agency, with a client registered for its port through ``idsvc clients
create`` (the seeded ``demo-agency`` is bound to 127.0.0.1:8000), so each person meets the
consent page. Any console error fails the test: the agency's CSP violations appear there.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page

from tests.e2e.conftest import ROOT
from tests.e2e.conftest import _bin
from tests.e2e.conftest import _create_client
from tests.e2e.conftest import _open_account
from tests.e2e.conftest import idsvc
from tests.e2e.harness import Account
from tests.e2e.harness import Provider
from tests.e2e.harness import WebUser
from tests.processes import free_port
from tests.processes import stop

pytestmark = pytest.mark.slow


@dataclass
class DemoAgency:
    base: str
    client_id: str
    log: Path


@pytest.fixture
def demo_agency(provider: Provider, tmp_path: Path) -> Iterator[DemoAgency]:
    """``idsvc demo-agency`` on a free port, with a client of its own registered at the provider."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client_id, secret = _create_client(
        provider.env, "--name", "Cổng dịch vụ công (demo)", "--auth-method", "client_secret_basic",
        "--redirect-uri", f"{base}/callback", "--post-logout-redirect-uri", f"{base}/",
        "--scope", "openid", "--scope", "profile", "--scope", "birthdate", "--scope", "gender",
        "--scope", "address", "--grant-type", "authorization_code")
    assert secret
    log = tmp_path / "demo-agency.log"
    env = {**provider.env, "IDSVC_DEMO_AGENCY_SECRET": secret}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_bin("idsvc"), "demo-agency", "--port", str(port), "--provider-url", provider.issuer,
             "--client-id", client_id], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the demo agency exited:\n{log.read_text()}"
            try:
                if requests.get(f"{base}/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"the demo agency did not answer:\n{log.read_text()}"
            time.sleep(0.2)
        yield DemoAgency(base, client_id, log)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def level2(provider: Provider) -> Account:
    """A level-2 person of this module's own: a TOTP code is good once, so sharing the level-2
    account of the other browser test would have the tests spend each other's codes."""
    number, password = "079172000666", "phuong-e2e-password-2026"
    code = _open_account(provider.env, number)
    uri = idsvc(provider.env, "identity", "verify-in-person", number)
    seed = parse_qs(urlsplit(uri.strip().rsplit(" ", 1)[-1]).query)["secret"][0]
    WebUser(provider.issuer).activate(number, code, password)
    return Account(number, password, seed)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="vi-VN")
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield page
    assert problems == [], "\n".join(problems)


def _log_in_at_the_provider(page: Page, provider: Provider, account: Account, *, decision: str = "allow") -> None:
    """The person at the provider: the login form, the second factor when asked, the consent."""
    page.wait_for_url(f"{provider.issuer}/login?**")
    page.fill("#id_number", account.id_number)
    page.fill("#password", account.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if page.url.startswith(f"{provider.issuer}/login/otp"):
        assert account.totp_seed, "the provider asked for a second factor"
        page.fill("#code", pyotp.TOTP(account.totp_seed).now())
        with page.expect_navigation():
            page.click("button[type=submit]")
    if page.url.startswith(f"{provider.issuer}/authorize"):  # the consent page
        with page.expect_navigation():
            page.click(f"button[value={decision}]")


def _rows(page: Page, table: str) -> dict[str, str]:
    cells = page.locator(f"#{table} tbody tr").evaluate_all(
        "rows => rows.map(r => [r.querySelector('th').innerText, r.querySelector('td').innerText])")
    return dict(cells)


def test_level_1_login_shows_the_claims_then_logout_ends_both_sessions(
        page: Page, context: BrowserContext, provider: Provider, demo_agency: DemoAgency) -> None:
    account = provider.accounts["level1"]
    page.goto(f"{demo_agency.base}/")
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert "Log in with national ID" in page.locator("#login-level-1").inner_text()
    page.click("#login-level-1")
    _log_in_at_the_provider(page, provider, account)

    page.wait_for_url(f"{demo_agency.base}/")
    assert "Nguyễn Văn An" in page.locator("#welcome").inner_text()
    id_token = _rows(page, "id-token")
    assert id_token["acr"] == "urn:idsvc:loa:1" == page.locator("#acr").inner_text()
    assert id_token["iss"] == provider.issuer and id_token["aud"] == demo_agency.client_id
    assert id_token["sub"] and id_token["auth_time"].endswith("UTC)")
    assert account.id_number not in page.content()  # a pairwise sub, never the ID number
    userinfo = _rows(page, "userinfo")
    assert userinfo["name"] == "Nguyễn Văn An" and userinfo["birthdate"] == "1980-03-15"
    assert userinfo["sub"] == id_token["sub"]
    # Asked with the claims parameter: two essential claims arrived; the voluntary ethnicity, which
    # this client's allow-list leaves out, did not.
    assert _rows(page, "asked") == {"name": "essential", "birthdate": "essential", "vn_ethnicity": "voluntary"}
    assert page.locator("#asked td.not-received").count() == 1 and "vn_ethnicity" not in userinfo
    page.set_viewport_size({"width": 360, "height": 740})  # a phone: the long claims wrap
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    # Cookies ignore ports: the agency's session cookie must not be the provider's.
    names = {cookie["name"] for cookie in context.cookies() if cookie["domain"] == "127.0.0.1"}
    assert {"demo_agency_session", "idsvc_session"} <= names

    with page.expect_navigation(url=f"{demo_agency.base}/?state=*"):
        page.click("#logout")
    assert "You are logged out of this agency and of idsvc" in page.locator("#logged-out").inner_text()
    assert page.locator("#login-level-1").is_visible() and page.locator("#logout").count() == 0
    page.goto(f"{provider.issuer}/account")  # the provider's session ended too
    assert page.url.startswith(f"{provider.issuer}/login")


def test_level_2_login_passes_the_second_factor(page: Page, provider: Provider, demo_agency: DemoAgency,
                                                level2: Account) -> None:
    page.goto(f"{demo_agency.base}/")
    page.click("#login-level-2")
    _log_in_at_the_provider(page, provider, level2)
    page.wait_for_url(f"{demo_agency.base}/")
    id_token = _rows(page, "id-token")
    assert id_token["acr"] == "urn:idsvc:loa:2"
    assert "otp" in id_token["amr"]


def test_a_level_1_account_asked_for_level_2_sees_the_providers_refusal(
        page: Page, provider: Provider, demo_agency: DemoAgency) -> None:
    page.goto(f"{demo_agency.base}/")
    page.click("#login-level-2")
    # The provider first tells the person how to get verified; its one button goes back to the app.
    _log_in_at_the_provider(page, provider, provider.accounts["level1"], decision="back")
    page.wait_for_url(f"{demo_agency.base}/callback?**")
    assert page.locator("#error-code").inner_text() == "unmet_authentication_requirements"
    assert page.locator("#error-description").inner_text()
    assert "not level 2" in page.locator("#error").inner_text()
    assert page.locator("#logout").count() == 0


def test_a_refused_consent_is_shown_as_access_denied(page: Page, provider: Provider,
                                                     demo_agency: DemoAgency) -> None:
    page.goto(f"{demo_agency.base}/")
    page.click("#login-level-1")
    _log_in_at_the_provider(page, provider, provider.accounts["level1"], decision="deny")
    page.wait_for_url(f"{demo_agency.base}/callback?**")
    assert page.locator("#error-code").inner_text() == "access_denied"
    assert "did not allow" in page.locator("#error").inner_text()
