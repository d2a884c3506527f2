"""The clerk console in a real browser (Chromium, Playwright) against the service under gunicorn:
a clerk records a death, a supervisor approves it, and the person's e-ID stops working (login
refused, the agency's refresh token refused); two clerks editing one person, the second one sees
the conflict with the current values. Keyboard and tablet width are checked on the way.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page

from tests.e2e.conftest import _open_account
from tests.e2e.harness import CODES
from tests.e2e.harness import Account
from tests.e2e.harness import Provider
from tests.e2e.harness import WebUser

pytestmark = pytest.mark.slow

#: Demo citizens of commune 00070 (household DEMO-00070-0001), which the demo clerk serves.
HOA = "001152000333"  # Lê Thị Hoa: has an e-ID account in this test, and dies
DUNG = "001216000222"  # Nguyễn Đức Dũng: edited by two clerks at once
HOA_PASSWORD = "hoa-e2e-password-2026"


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Two browsers side by side (two desks), in English, at a desk screen's size."""
    opened = [browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}) for _ in range(2)]
    yield opened
    for context in opened:
        context.close()


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return problems


def _log_in(page: Page, provider: Provider, account: Account) -> None:
    """Staff log in with the ordinary login, password then code, and land in the console."""
    page.goto(f"{provider.issuer}/login?next=/office/")
    page.fill("#id_number", account.id_number)
    page.fill("#password", account.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url.startswith(f"{provider.issuer}/login/otp"), page.url
    assert account.totp_seed
    page.fill("#code", CODES.fresh(account.totp_seed))
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{provider.issuer}/office/", page.url


def _open_person(page: Page, name: str, number: str) -> None:
    """Search by name without accents, with the keyboard, and open the person."""
    page.fill("#name", name)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with page.expect_navigation():
        page.click(f"a[href='/office/people/{number}']")
    assert page.url.endswith(f"/office/people/{number}")


def _agency_tokens(provider: Provider) -> dict[str, str]:
    """The agency (a relying party allowed refresh tokens) logs Hoa in and keeps her tokens."""
    client = provider.clients["interop"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = f"{provider.issuer}/authorize?" + urlencode({
        "response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
        "scope": "openid profile", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256"})
    back = WebUser(provider.issuer).authorize(url, client.redirect_uri, id_number=HOA, password=HOA_PASSWORD)
    code = parse_qs(urlsplit(back).query)["code"][0]
    response = requests.post(f"{provider.issuer}/token", auth=(client.client_id, client.secret or ""), timeout=10,
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": client.redirect_uri, "code_verifier": verifier})
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens.get("refresh_token"), tokens
    return tokens


def _refresh(provider: Provider, refresh_token: str) -> requests.Response:
    client = provider.clients["interop"]
    return requests.post(f"{provider.issuer}/token", auth=(client.client_id, client.secret or ""), timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def test_a_death_recorded_by_a_clerk_and_approved_by_a_supervisor_ends_the_persons_e_id(
        contexts: list[BrowserContext], provider: Provider, office_staff: dict[str, Account]) -> None:
    code = _open_account(provider.env, HOA)
    WebUser(provider.issuer).activate(HOA, code, HOA_PASSWORD)
    tokens = _agency_tokens(provider)
    refreshed = _refresh(provider, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text  # the agency's refresh token works for now
    refresh_token = refreshed.json().get("refresh_token") or tokens["refresh_token"]

    # The clerk of 00070 records the death from the person's page.
    clerk = contexts[0].new_page()
    problems = _watch(clerk)
    _log_in(clerk, provider, office_staff["clerk"])
    _open_person(clerk, "le thi hoa", HOA)
    with clerk.expect_navigation():
        clerk.click(f"a[href='/office/people/{HOA}/death']")
    clerk.fill("#p_date_of_death", "2026-12-04")
    clerk.fill("#reason", "Trích lục khai tử")
    clerk.fill("#document_number", "112/TLKT-2026")
    clerk.fill("#document_date", "2026-12-05")
    with clerk.expect_navigation():
        clerk.click("button[type=submit]")
    assert "waits for a supervisor" in clerk.locator("#outcome").inner_text()
    proposal_url = clerk.url.split("?")[0]
    with clerk.expect_navigation():
        clerk.click("nav.office >> text=My proposals")
    assert clerk.locator(f"a[href='{urlsplit(proposal_url).path}']").count() == 1

    # The province's supervisor finds it in the queue, sees the change side by side, approves.
    supervisor = contexts[1].new_page()
    problems += _watch(supervisor)
    _log_in(supervisor, provider, office_staff["supervisor"])
    with supervisor.expect_navigation():
        supervisor.click("nav.office >> text=Approval queue")
    row = supervisor.locator("#proposals tbody tr", has_text="Lê Thị Hoa")
    assert row.count() == 1, (supervisor.url, supervisor.content()[:3000])
    with supervisor.expect_navigation():
        row.locator("a").first.click()
    diff = supervisor.locator("table.diff").inner_text()
    assert "Date of death" in diff and "2026-12-04" in diff and "112/TLKT-2026" in supervisor.content()
    supervisor.set_viewport_size({"width": 768, "height": 1024})  # a tablet: nothing scrolls sideways
    assert supervisor.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    supervisor.focus("#approve")
    with supervisor.expect_navigation():
        supervisor.keyboard.press("Enter")
    assert "Recorded" in supervisor.locator("#outcome").inner_text()
    with supervisor.expect_navigation():
        supervisor.click(f"a[href='/office/people/{HOA}']")
    history = supervisor.locator("ol.timeline > li").first.inner_text()
    assert "Date of death" in history and "2026-12-04" in history
    assert "Đỗ Thị Lan" in history and "Bùi Quang Minh" in history and "112/TLKT-2026" in history

    # Her e-ID no longer works: the login is refused, and so is the agency's refresh token.
    login_page = requests.Session()
    form = login_page.get(f"{provider.issuer}/login", timeout=10)
    refused = login_page.post(f"{provider.issuer}/login", allow_redirects=False, timeout=10, data={
        "id_number": HOA, "password": HOA_PASSWORD, "next": "/account",
        "csrf_token": WebUser._form(form)[1]["csrf_token"]})
    assert refused.status_code == 401
    after = _refresh(provider, refresh_token)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant", after.text
    assert problems == []


def test_two_clerks_edit_one_person_and_the_second_sees_the_conflict(
        contexts: list[BrowserContext], provider: Provider, office_staff: dict[str, Account]) -> None:
    first, second = (context.new_page() for context in contexts)
    problems = _watch(first) + _watch(second)
    _log_in(first, provider, office_staff["clerk"])
    _log_in(second, provider, office_staff["second_clerk"])
    for page in (first, second):  # both open the correction form of the same version
        _open_person(page, "nguyen duc dung", DUNG)
        with page.expect_navigation():
            page.click(f"a[href='/office/people/{DUNG}/correction']")

    first.fill("#p_place_of_birth", "Hải Phòng")
    first.fill("#reason", "Giấy khai sinh bản chính")
    with first.expect_navigation():
        first.click("button[type=submit]")
    assert "Recorded" in first.locator("#outcome").inner_text()

    second.set_viewport_size({"width": 768, "height": 1024})
    second.fill("#p_place_of_birth", "Huế")
    second.fill("#reason", "Đơn đề nghị của công dân")
    with second.expect_navigation():
        second.click("button[type=submit]")
    assert second.locator("h1").inner_text() == "The record has changed"
    assert second.locator("#conflict").get_attribute("role") == "alert"
    compared = second.locator("table.diff").inner_text()
    assert "Huế" in compared and "Hải Phòng" in compared  # hers beside the current value
    meanwhile = second.locator("ol.timeline").inner_text()
    assert "Hải Phòng" in meanwhile and "Đỗ Thị Lan" in meanwhile
    assert second.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    # Nothing of hers was recorded: the person's page still says Hải Phòng.
    second.goto(f"{provider.issuer}/office/people/{DUNG}")
    assert "Hải Phòng" in second.locator("#record").locator("..").inner_text()
    assert problems == []
