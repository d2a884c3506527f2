"""What the end-to-end tests share: the running service as the fixtures set it up, and a person
at a browser played over HTTP with ``requests`` (the provider's own pages and forms, CSRF tokens
included, up to the redirect back to the relying party, which is caught, not followed)."""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import pyotp
import requests


@dataclass
class Account:
    id_number: str
    password: str
    totp_seed: str | None = None


@dataclass
class Client:
    client_id: str
    secret: str | None
    redirect_uri: str


@dataclass
class Provider:
    issuer: str
    env: dict[str, str]
    log: Path
    accounts: dict[str, Account] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)


class Agency(ThreadingHTTPServer):
    """The agency's web server on 127.0.0.1, where the provider sends the browser back: it
    answers every GET with a small page and remembers the paths it was asked for."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _AgencyHandler)
        self.requests: list[str] = []
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, name="agency", daemon=True).start()


class _AgencyHandler(BaseHTTPRequestHandler):
    server: Agency
    PAGE = b"<!doctype html><html lang='en'><title>Agency</title><p>back at the agency</p></html>"

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


class WebUser:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.session = requests.Session()

    @staticmethod
    def _form(page: requests.Response) -> tuple[str, dict[str, str]]:
        """The page's form: its absolute action and its hidden fields (CSRF token, next)."""
        form = re.search(r'<form method="post" action="([^"]*)"', page.text)
        assert form, f"no form on {page.url}:\n{page.text[:2000]}"
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        assert "csrf_token" in hidden, f"no CSRF token on {page.url}"
        return urljoin(page.url, html.unescape(form.group(1))), {k: html.unescape(v) for k, v in hidden.items()}

    def activate(self, id_number: str, code: str, password: str) -> None:
        page = self.session.get(f"{self.issuer}/activate", timeout=10)
        action, fields = self._form(page)
        done = self.session.post(action, data={**fields, "id_number": id_number, "code": code,
                                               "password": password, "password2": password},
                                 allow_redirects=False, timeout=10)
        assert done.status_code == 302 and "notice=activated" in done.headers["Location"], done.text[:2000]

    def authorize(self, url: str, redirect_uri: str, *, id_number: str, password: str,
                  totp_seed: str | None = None, consent: str = "allow", limit: int = 12) -> str:
        """Follow the authorization request through login, second factor and consent; returns
        the URL the provider sends the browser back to (at ``redirect_uri``)."""
        response = self.session.get(url, allow_redirects=False, timeout=10)
        for _ in range(limit):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if location.startswith(redirect_uri):
                    return location
                assert location.startswith(self.issuer + "/"), f"redirected off the provider to {location}"
                response = self.session.get(location, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, f"{response.status_code} at {response.url}:\n{response.text[:2000]}"
            action, fields = self._form(response)
            path = action[len(self.issuer):].split("?")[0]
            if path == "/login":
                fields.update(id_number=id_number, password=password)
            elif path == "/login/otp":
                assert totp_seed, "the provider asked for a second factor"
                fields["code"] = pyotp.TOTP(totp_seed).now()
            elif 'name="decision"' in response.text:
                fields["decision"] = consent
                # As a browser: the ticked (and enabled) claim boxes go with the decision.
                boxes = re.findall(r'<input type="checkbox"[^>]*>', response.text)
                fields["claim"] = [re.search(r'value="([^"]+)"', box).group(1) for box in boxes  # type: ignore[assignment]
                                   if " checked" in box and " disabled" not in box]
            else:
                raise AssertionError(f"unexpected page {response.url}:\n{response.text[:2000]}")
            response = self.session.post(action, data=fields, allow_redirects=False, timeout=10)
        raise AssertionError(f"no redirect to {redirect_uri} after {limit} steps")


class Codes:
    """TOTP codes for the people of a test session: a code is accepted once per account, so one
    asked for again within the same 30-second step waits for the next step."""

    def __init__(self) -> None:
        self._used: dict[str, int] = {}

    def fresh(self, seed: str) -> str:
        totp = pyotp.TOTP(seed)
        while self._used.get(seed) == totp.timecode(datetime.now()):
            time.sleep(0.5)
        self._used[seed] = totp.timecode(datetime.now())
        return totp.now()


CODES = Codes()
