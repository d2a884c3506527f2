"""Accessibility (WCAG 2.2 AA) of every page a person sees, in both languages, in Chromium.

axe-core (``npm ci --prefix tests/e2e/a11y``) is injected into each page and must find no
violation of the WCAG 2.0, 2.1 and 2.2 A/AA rules; the pages' CSP forbids scripts, so the test's
browser context bypasses it (the pages themselves never run one). Login and consent are also
done with the keyboard alone, with a visible focus on every stop.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import pytest
from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page

from tests.e2e.harness import CODES
from tests.e2e.harness import Account
from tests.e2e.harness import Client
from tests.e2e.harness import Provider

pytestmark = pytest.mark.slow

AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
UNKNOWN_ID = "001090999999"  # nobody's number: a failed login that locks no account


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `npm ci --prefix tests/e2e/a11y` (`make test` does it).")
    return AXE


def _violations(page: Page, axe: Path) -> list[str]:
    page.add_script_tag(path=str(axe))
    result = page.evaluate("options => axe.run(document, {runOnly: {type: 'tag', values: options}})", WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in result["violations"]]


def _authorize_url(provider: Provider, client: Client, **extra: str) -> str:
    return f"{provider.issuer}/authorize?" + urlencode({
        "response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
        "scope": "openid profile", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256", **extra})


@pytest.fixture()
def context(browser: Browser) -> Iterator[Callable[[str], BrowserContext]]:
    opened: list[BrowserContext] = []

    def open_context(lang: str) -> BrowserContext:
        # The other language in Accept-Language: the page's language must come from the switch's cookie.
        created = browser.new_context(bypass_csp=True, locale="en-US" if lang == "vi" else "vi-VN")
        opened.append(created)
        return created

    yield open_context
    for created in opened:
        created.close()


def _choose(page: Page, provider: Provider, lang: str) -> None:
    """Pick the language with the switch on the page, as a person would."""
    page.goto(f"{provider.issuer}/")
    if page.locator("html").get_attribute("lang") != lang:
        with page.expect_navigation():
            page.locator("a.language").click()
    assert page.locator("html").get_attribute("lang") == lang


def _log_in(page: Page, account: Account) -> None:
    page.fill("#id_number", account.id_number)
    page.fill("#password", account.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_passes_axe_in_both_languages(context, provider: Provider, axe_script: Path, lang: str) -> None:
    issuer = provider.issuer
    level1, level2 = provider.accounts["level1"], provider.accounts["level2"]
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == lang, name
        found[name] = _violations(page, axe_script)

    # Pages without a login.
    page = context(lang).new_page()
    _choose(page, provider, lang)
    check("landing")
    page.goto(f"{issuer}/activate")
    check("activate")
    page.fill("#id_number", UNKNOWN_ID)
    page.fill("#code", "ABCD-EFGH-JKMN")
    page.fill("#password", "a long enough phrase 1")
    page.fill("#password2", "a long enough phrase 1")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("[role=alert]").count() == 1
    check("activate, refused")
    page.goto(f"{issuer}/no/such/page")
    check("error page")
    page.goto(_authorize_url(provider, provider.clients["interop"], prompt="consent"))
    page.wait_for_url(f"{issuer}/login?**")
    assert page.locator(".asking").count() == 1  # names the agency
    check("login")
    page.fill("#id_number", UNKNOWN_ID)
    page.fill("#password", "not the password")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("#id_number").get_attribute("aria-invalid") == "true"
    check("login, refused")

    # A level-1 person: consent, the level-2 explanation, the account's pages, logout.
    _log_in(page, level1)
    assert page.locator("button[value=allow]").count() == 1
    check("consent")
    page.goto(_authorize_url(provider, provider.clients["browser"]))  # an agency needing level 2
    assert page.locator("button[value=back]").count() == 1
    check("level 2 needed")
    page.goto(f"{issuer}/account")
    check("account")
    page.goto(f"{issuer}/account/password")
    check("password")
    page.goto(f"{issuer}/account/apps")
    check("apps")
    page.goto(f"{issuer}/account/activity")
    assert page.locator("li.entry").count() >= 1
    check("who used my data")
    page.goto(f"{issuer}/account/activity?kind=login&since=2020-01-01")
    check("who used my data, filtered")
    page.goto(f"{issuer}/account/activity?kind=nothing")
    assert page.locator("[role=alert]").count() == 1
    check("who used my data, bad filter")
    page.goto(f"{issuer}/logout")
    check("logout")

    # A level-2 person: the second factor, then a wrong code.
    page = context(lang).new_page()
    _choose(page, provider, lang)
    page.goto(f"{issuer}/login")
    _log_in(page, level2)
    page.wait_for_url(f"{issuer}/login/otp?**")
    check("second factor")
    assert level2.totp_seed
    right = pyotp.TOTP(level2.totp_seed).now()
    page.fill("#code", "000000" if right != "000000" else "111111")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    check("second factor, refused")

    assert {name: problems for name, problems in found.items() if problems} == {}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_registry_office_console_passes_axe_in_both_languages(context, provider: Provider, axe_script: Path,
                                                                  office_staff: dict[str, Account], lang: str) -> None:
    issuer = provider.issuer
    supervisor = office_staff["supervisor"]  # reads, proposes and decides in Hà Nội
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == lang, name
        found[name] = _violations(page, axe_script)

    page = context(lang).new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    _choose(page, provider, lang)
    page.goto(f"{issuer}/login?next=/office/")
    _log_in(page, supervisor)
    assert supervisor.totp_seed
    page.fill("#code", CODES.fresh(supervisor.totp_seed))
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{issuer}/office/"
    check("console: search")
    page.goto(f"{issuer}/office/?name=nguyen+van+an")
    assert page.locator("table.data tbody tr").count() >= 1
    check("console: search results")
    page.goto(f"{issuer}/office/people/001080012345")
    check("console: person")
    page.goto(f"{issuer}/office/households/DEMO-00070-0001")
    check("console: household")
    page.goto(f"{issuer}/office/births/new")
    check("console: birth form")
    page.goto(f"{issuer}/office/people/001080012345/name_change")
    page.fill("#p_full_name", "")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.locator(".errors-summary").count() == 1
    check("console: form with errors")
    page.goto(f"{issuer}/office/people/001080012345/correction")
    page.evaluate("document.querySelector('input[name=version]').value = '0'")  # opened on an old version
    page.fill("#p_religion", "Không")
    page.fill("#reason", "Đơn đề nghị")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.locator("#conflict").count() == 1
    check("console: conflict")
    page.goto(f"{issuer}/office/people/001080012345/name_change")
    page.fill("#p_full_name", "Nguyễn Văn Ân")
    page.fill("#reason", "Quyết định thay đổi họ tên")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.locator("#outcome").count() == 1
    check("console: proposal")
    page.goto(f"{issuer}/office/proposals")
    check("console: approval queue")
    page.goto(f"{issuer}/office/proposals/mine")
    with page.expect_navigation():
        page.locator("#proposals tbody a").last.click()
    with page.expect_navigation():
        page.click("#withdraw")  # leaves the demo person's name as it is
    check("console: proposal withdrawn")
    page.goto(f"{issuer}/office/people/000000000000")
    check("console: refusal")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(f"{issuer}/office/people/001080012345")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    check("console: person on a tablet")

    assert {name: problems for name, problems in found.items() if problems} == {}


def _tab_to(page: Page, selector: str, limit: int = 12) -> None:
    """Press Tab until ``selector`` has the focus; every stop on the way shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate("""() => {
            const el = document.activeElement, style = getComputedStyle(el);
            return {outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                    tag: el.tagName, id: el.id, value: el.value || ''};
        }""")
        assert focus["outline"], f"no visible focus on {focus}"
        if page.locator(selector).evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_login_and_consent_with_the_keyboard_alone(browser: Browser, provider: Provider) -> None:
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        client = provider.clients["interop"]
        page.goto(_authorize_url(provider, client, prompt="consent"))
        page.wait_for_url(f"{provider.issuer}/login?**")
        account = provider.accounts["level1"]
        _tab_to(page, "#id_number")
        page.keyboard.type(account.id_number)
        _tab_to(page, "#password")
        page.keyboard.type(account.password)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("button[value=allow]").count() == 1, page.url  # prompt=consent: always asked
        _tab_to(page, "button[value=allow]")
        with page.expect_navigation():
            page.keyboard.press("Space")
        assert page.url.startswith(client.redirect_uri + "?") and "code=" in page.url, page.url
    finally:
        context.close()


def test_who_used_my_data_with_the_keyboard_alone(browser: Browser, provider: Provider) -> None:
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        page.goto(f"{provider.issuer}/login?next=/account/activity")
        _log_in(page, provider.accounts["level1"])
        assert page.url == f"{provider.issuer}/account/activity"
        _tab_to(page, "#kind-login", limit=20)
        page.keyboard.press("Space")
        _tab_to(page, ".filters button[type=submit]", limit=20)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "kind=login" in page.url
        kinds = page.locator("li.entry .kind").all_inner_texts()
        assert kinds and len(set(kinds)) == 1
        first = page.locator("li.entry p.ledger a").first.get_attribute("href")
        _tab_to(page, f'a[href="{first}"]', limit=30)
        with page.expect_download() as downloaded:
            page.keyboard.press("Enter")
        assert downloaded.value.suggested_filename.startswith("proof-")
    finally:
        context.close()
