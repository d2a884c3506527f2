"""End-to-end fixtures: the real service in a subprocess, as an operator would run it.

Everything is set up through the ``idsvc`` command on a temporary SQLite database and key
directory: migrations, keys, units, the named demo citizens, accounts opened at the "counter"
(``idsvc identity create-account`` / ``verify-in-person``) and activated through the web page,
and clients registered with ``idsvc clients create``. The service runs under gunicorn on a free
127.0.0.1 port, with the issuer set to that address. It never touches ``instance/`` or ``keys/``.

These tests need Node.js with the relying party's packages (``npm ci --prefix tests/e2e/rp``),
axe-core (``npm ci --prefix tests/e2e/a11y``) and Debian's Chromium, which ``make test`` installs
when missing (``tests/e2e/install-deps.sh``); they fail, never skip, without them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser
from playwright.sync_api import sync_playwright

from tests.e2e.harness import Account
from tests.e2e.harness import Agency
from tests.e2e.harness import Client
from tests.e2e.harness import Provider
from tests.e2e.harness import WebUser
from tests.processes import free_port
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]
RP_DIR = Path(__file__).resolve().parent / "rp"
CHROMIUM = os.environ.get("IDSVC_E2E_CHROMIUM", "/usr/bin/chromium")
#: Two of the named demo citizens, with the passwords ``idsvc seed`` gives them; the TOTP seed is
#: the one the counter hands out, read back from ``verify-in-person``.
LEVEL1_ID, LEVEL1_PASSWORD = "001080012345", "an-demo-password-2026"
LEVEL2_ID, LEVEL2_PASSWORD = "001185004321", "binh-demo-password-2026"
#: The demo registry staff of fixtures/demo_citizens.csv, given roles at the "counter" as
#: ``idsvc seed`` would: (ID number, password, roles as (role, unit)).
OFFICE_STAFF = {
    "clerk": ("001190008801", "lan-clerk-e2e-password-2026", (("clerk", "00070"),)),
    "supervisor": ("001078008802", "minh-supervisor-e2e-password-2026", (("supervisor", "01"),)),
    # A supervisor who also works as a clerk of 00070: the second clerk editing a person.
    "second_clerk": ("001183008803", "trang-clerk-e2e-password-2026", (("supervisor", "01"), ("clerk", "00070"))),
    "auditor": ("001075008804", "tam-auditor-e2e-password-2026", (("auditor", "*"),)),
}


def _bin(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}: run `pip install -e '.[test]'`")
    return str(path)


def idsvc(env: dict[str, str], *args: str) -> str:
    """Run one ``idsvc`` command; returns its output, or fails the test with it."""
    done = subprocess.run([_bin("idsvc"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"`idsvc {' '.join(args)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}\s+(\S+)", output, re.MULTILINE)
    assert match, f"no {name} in:\n{output}"
    return match.group(1)


def _create_client(env: dict[str, str], *args: str) -> tuple[str, str | None]:
    output = idsvc(env, "clients", "create", *args)
    secret = re.search(r"^client_secret\s+(\S+)", output, re.MULTILINE)
    return _field(output, "client_id"), secret.group(1) if secret else None


def _open_account(env: dict[str, str], id_number: str) -> str:
    output = idsvc(env, "identity", "create-account", id_number)
    match = re.search(r"activation code \(hand it over\): (\S+)", output)
    assert match, output
    return match.group(1)


def _wait_until_healthy(issuer: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited with {process.returncode} before answering:\n{log.read_text()}")
        try:
            if requests.get(f"{issuer}/healthz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or the worker still booting
            pass
        time.sleep(0.2)
    pytest.fail(f"the service did not answer {issuer}/healthz within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def node_rp() -> list[str]:
    """The command running the openid-client relying party; fails with the fix when it cannot run."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is missing: the interoperability test drives openid-client with `node` "
                    "(`make test` installs it: tests/e2e/install-deps.sh).")
    if not (RP_DIR / "node_modules" / "openid-client" / "package.json").exists():
        pytest.fail("The relying party's packages are not installed: run `npm ci --prefix tests/e2e/rp` "
                    "(`make test` and .ci/run do it).")
    return [node, str(RP_DIR / "rp.mjs")]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, which Playwright drives (it cannot download a browser of its own here)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: `make test` installs it (tests/e2e/install-deps.sh), "
                    "or run `apt-get install -y chromium` (or point IDSVC_E2E_CHROMIUM at a Chromium binary).")
    return CHROMIUM


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """Headless Chromium, driven by Playwright."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def agency() -> Iterator[Agency]:
    """The relying parties' web server: their redirect URIs point at it."""
    server = Agency()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def office_staff(provider: Provider) -> dict[str, Account]:
    """The registry staff's level-2 accounts, opened, verified in person and given their roles
    through the ``idsvc`` commands, then activated on the web page."""
    staff = {}
    for name, (number, password, roles) in OFFICE_STAFF.items():
        code = _open_account(provider.env, number)
        uri = idsvc(provider.env, "identity", "verify-in-person", number)
        for role, unit in roles:
            idsvc(provider.env, "identity", "grant-role", number, role, unit)
        WebUser(provider.issuer).activate(number, code, password)
        staff[name] = Account(number, password, parse_qs(urlsplit(uri.strip().rsplit(" ", 1)[-1]).query)["secret"][0])
    return staff


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory, agency: Agency) -> Iterator[Provider]:
    """The service under gunicorn on its own database, keys and port, with accounts and clients."""
    workdir = tmp_path_factory.mktemp("e2e")
    rp_base = agency.base
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSVC_")}
    env.update({
        "IDSVC_ENV": "development",
        "IDSVC_DATABASE_URL": f"sqlite:///{workdir / 'idsvc.sqlite3'}",
        "IDSVC_ISSUER": issuer,
        "IDSVC_KEYS_DIR": str(workdir / "keys"),
        "IDSVC_SECRET_KEY": secrets.token_urlsafe(48),
        "IDSVC_LOGIN_RATE_LIMIT": "1000 per minute",
        "IDSVC_RATELIMIT_STORAGE_URI": "memory://",
    })
    idsvc(env, "db", "upgrade")
    idsvc(env, "keys", "generate")
    idsvc(env, "units", "sync")
    idsvc(env, "registry", "import", str(ROOT / "fixtures" / "demo_citizens.csv"),
          "--rejects", str(workdir / "demo_citizens.rejects.csv"))
    codes = {number: _open_account(env, number) for number in (LEVEL1_ID, LEVEL2_ID)}
    uri = idsvc(env, "identity", "verify-in-person", LEVEL2_ID)
    totp_seed = parse_qs(urlsplit(uri.strip().rsplit(" ", 1)[-1]).query)["secret"][0]

    interop_id, interop_secret = _create_client(
        env, "--name", "Interop RP", "--auth-method", "client_secret_basic",
        "--redirect-uri", f"{rp_base}/callback", "--scope", "openid", "--scope", "profile",
        "--grant-type", "authorization_code", "--grant-type", "refresh_token")
    browser_id, browser_secret = _create_client(
        env, "--name", "Cổng dịch vụ mức 2 / Level 2 portal", "--auth-method", "client_secret_basic",
        "--redirect-uri", f"{rp_base}/browser-callback", "--scope", "openid", "--scope", "profile",
        "--min-level", "2")

    log = workdir / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_bin("gunicorn"), "--chdir", str(ROOT), "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "5", "wsgi:app"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(issuer, process, log)
        accounts = {"level1": Account(LEVEL1_ID, LEVEL1_PASSWORD), "level2": Account(LEVEL2_ID, LEVEL2_PASSWORD,
                                                                                     totp_seed)}
        for account in accounts.values():
            WebUser(issuer).activate(account.id_number, codes[account.id_number], account.password)
        yield Provider(
            issuer=issuer, env=env, log=log, accounts=accounts,
            clients={"interop": Client(interop_id, interop_secret, f"{rp_base}/callback"),
                     "browser": Client(browser_id, browser_secret, f"{rp_base}/browser-callback")})
    finally:
        stop(process)
