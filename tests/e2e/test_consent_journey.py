"""A citizen's consent from start to end, in Chromium: grant an agency all it asks but one voluntary
claim, see exactly the granted claims at userinfo, find that release in "Who used my data" with an
inclusion proof that checks against the published ledger keys, withdraw the consent on the
connected services page, and see that agency's token fail while another agency's still works."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser
from playwright.sync_api import Page

from idsvc.audit import ledger
from tests.e2e.conftest import idsvc
from tests.e2e.harness import Agency
from tests.e2e.harness import Client
from tests.e2e.harness import Provider

pytestmark = pytest.mark.slow

#: The claim the person leaves unticked: a voluntary, basic one (checked by default, untickable).
DECLINED = "birthdate"


def _create(provider: Provider, agency: Agency, name: str, path: str, *scopes: str) -> Client:
    args = ["clients", "create", "--name", name, "--auth-method", "client_secret_basic",
            "--redirect-uri", f"{agency.base}{path}", "--grant-type", "authorization_code"]
    for scope in scopes:
        args += ["--scope", scope]
    output = idsvc(provider.env, *args)
    client_id = re.search(r"^client_id\s+(\S+)", output, re.MULTILINE)
    secret = re.search(r"^client_secret\s+(\S+)", output, re.MULTILINE)
    assert client_id and secret, output
    return Client(client_id.group(1), secret.group(1), f"{agency.base}{path}")


@pytest.fixture(scope="module")
def agencies(provider: Provider, agency: Agency) -> dict[str, Client]:
    return {"tax": _create(provider, agency, "Cổng thuế thử nghiệm / Test tax portal", "/journey-tax",
                           "openid", "profile", "birthdate"),
            "health": _create(provider, agency, "Cổng y tế thử nghiệm / Test health portal", "/journey-health",
                              "openid", "profile")}


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-US", accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _authorize(page: Page, provider: Provider, client: Client, scope: str, *,
               untick: tuple[str, ...] = ()) -> tuple[set[str], str]:
    """Through the consent page to the agency; returns the claims left ticked and the access token."""
    verifier, challenge = _pkce()
    page.goto(f"{provider.issuer}/authorize?" + urlencode({
        "response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
        "scope": scope, "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    if page.url.startswith(f"{provider.issuer}/login"):
        account = provider.accounts["level1"]
        page.fill("#id_number", account.id_number)
        page.fill("#password", account.password)
        with page.expect_navigation():
            page.click("button[type=submit]")
    for name in untick:
        page.uncheck(f"#claim-{name}")
    ticked = {box.get_attribute("value") or "" for box in page.locator("input[name=claim]:checked").all()}
    with page.expect_request(lambda r: r.url.startswith(client.redirect_uri)) as sent:
        page.click("button[value=allow]")
    code = parse_qs(urlsplit(sent.value.url).query)["code"][0]
    response = requests.post(f"{provider.issuer}/token", auth=(client.client_id, client.secret or ""), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri,
        "code_verifier": verifier}, timeout=10)
    assert response.status_code == 200, response.text
    return ticked, response.json()["access_token"]


def _userinfo(provider: Provider, token: str) -> requests.Response:
    return requests.get(f"{provider.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_grant_see_prove_and_withdraw(page: Page, provider: Provider, agencies: dict[str, Client]) -> None:
    tax, health = agencies["tax"], agencies["health"]

    # Grant: every claim asked but the one left unticked.
    granted, tax_token = _authorize(page, provider, tax, "openid profile birthdate", untick=(DECLINED,))
    assert DECLINED not in granted and "name" in granted
    released = _userinfo(provider, tax_token)
    assert released.status_code == 200, released.text
    assert set(released.json()) - {"sub"} == granted  # exactly the granted claims (the demo person has them all)
    _, health_token = _authorize(page, provider, health, "openid profile")

    # The release in "Who used my data", and its proof.
    page.goto(f"{provider.issuer}/account/activity?kind=release")
    entry = page.locator("li.entry", has_text="Test tax portal").first
    assert "Full name" in entry.inner_text()
    assert "Date of birth" not in entry.inner_text()
    with page.expect_download() as downloaded:
        entry.locator("p.ledger a").click()
    proof = json.loads(open(downloaded.value.path(), encoding="utf-8").read())
    assert proof["event"]["action"] == "oidc:claims:release"
    assert proof["event"]["data"]["client"] == tax.client_id
    assert DECLINED not in proof["event"]["data"]["claims"]
    keys = requests.get(f"{provider.issuer}/.well-known/ledger-keys.json", timeout=10).json()
    assert ledger.check_proof(proof, keys)
    page.reload()  # now sealed
    assert "Sealed in the ledger" in page.locator("li.entry", has_text="Test tax portal").first.inner_text()

    # Withdraw the tax portal's consent: its token stops, the health portal's goes on.
    page.goto(f"{provider.issuer}/account/apps")
    with page.expect_navigation():
        page.locator(f"#service-{tax.client_id}-login button[type=submit]").click()
    assert page.locator("[role=status]").count() == 1
    assert _userinfo(provider, tax_token).status_code == 401
    assert _userinfo(provider, health_token).status_code == 200

    page.goto(f"{provider.issuer}/account/activity?kind=consent")
    assert "Consent withdrawn" in page.locator("li.entry", has_text="Test tax portal").first.inner_text()
