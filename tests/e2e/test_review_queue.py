"""The review queue in Chromium: a clerk decides an uncertain match with the keyboard alone, and the
queue's pages pass axe (WCAG 2.2 AA) in both languages."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import _create_client
from tests.e2e.conftest import idsvc
from tests.e2e.harness import Account
from tests.e2e.harness import Provider
from tests.e2e.test_accessibility import _violations
from tests.e2e.test_accessibility import axe_script  # noqa: F401 (a fixture)
from tests.e2e.test_accessibility import context  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROGRAMME = "social-pension-2025"
#: The codes already used (a second login within one 30-second step waits for the next code).
_USED: set[str] = set()


@pytest.fixture(scope="module")
def clerk(provider: Provider, office_staff: dict[str, Account]) -> Account:
    """The demo list checked as a batch (rows left to a clerk), and the demo clerk of 00070."""
    env = provider.env
    idsvc(env, "eligibility", "programmes", "load")
    client_id, _ = _create_client(env, "--name", "Phòng LĐTBXH", "--auth-method", "client_secret_basic",
                                  "--grant-type", "client_credentials", "--scope", "eligibility.lookup")
    idsvc(env, "eligibility", "programmes", "grant", PROGRAMME, client_id)
    idsvc(env, "eligibility", "submit", "--programme", PROGRAMME, "--client", client_id,
          str(ROOT / "fixtures" / "applicants" / "review-demo.csv"), "--on", "2026-12-05")
    idsvc(env, "eligibility", "worker", "--once")
    return office_staff["clerk"]


def _log_in(page: Page, provider: Provider, account: Account) -> None:
    page.goto(f"{provider.issuer}/office/reviews/")
    page.wait_for_url(f"{provider.issuer}/login?**")
    page.fill("#id_number", account.id_number)
    page.fill("#password", account.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_url(f"{provider.issuer}/login/otp?**")
    assert account.totp_seed
    totp = pyotp.TOTP(account.totp_seed)
    for _ in range(3):  # a code is taken once (other tests log this clerk in too): then the next one
        while totp.now() in _USED:
            time.sleep(1)
        code = totp.now()
        _USED.add(code)
        page.fill("#code", code)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if "/login/otp" not in page.url:
            break
    page.goto(f"{provider.issuer}/office/reviews/")
    assert page.locator("h1").count() == 1 and "/office/reviews/" in page.url, page.url


def _choose(page: Page, lang: str) -> None:
    if page.locator("html").get_attribute("lang") != lang:
        with page.expect_navigation():
            page.locator("a.language").click()
    assert page.locator("html").get_attribute("lang") == lang


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_queue_pages_pass_axe_and_a_decision_needs_only_the_keyboard(
        context: Callable[[str], object], provider: Provider, clerk: Account, axe_script: Path,  # noqa: F811
        lang: str) -> None:
    page = context(lang).new_page()  # type: ignore[attr-defined]
    _log_in(page, provider, clerk)
    _choose(page, lang)
    found = {"queue": _violations(page, axe_script)}
    links = page.locator("table a")
    assert links.count() >= 1, page.locator("main").inner_text()
    with page.expect_navigation():
        links.first.click()
    found["item"] = _violations(page, axe_script)

    # The keyboard alone: Tab to the first choice, Space to pick it, Tab to the button, Enter.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") == "candidate":
            break
    else:
        raise AssertionError("no choice is reachable with Tab")
    page.keyboard.press("Space")
    assert page.locator("input[name=candidate]:checked").count() == 1
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type") == "submit":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/office/reviews/\?decided=", page.url), page.url
    assert page.locator("[role=status]").count() >= 1
    found["queue, decided"] = _violations(page, axe_script)
    assert {name: problems for name, problems in found.items() if problems} == {}

