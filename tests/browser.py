"""A scripted browser over Flask's test client: forms with CSRF tokens, PKCE, the code flow."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pyotp

from tests.factories import TEST_PASSWORD
from tests.factories import TEST_TOTP_SEED

REDIRECT_URI = "https://rp.example.vn/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def totp_now(offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(TEST_TOTP_SEED)
    return totp.generate_otp(totp.timecode(__import__("datetime").datetime.now()) + offset_steps)


@dataclass
class AuthorizationRequest:
    client_id: str
    verifier: str
    state: str
    nonce: str
    params: dict[str, str]


class Browser:
    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def csrf(html: str) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert match, "no CSRF token in the page"
        return match.group(1)

    @staticmethod
    def ticked(html: str) -> list[str]:
        """The claims a consent page sends as it opens: its checked boxes that are not disabled."""
        boxes = re.findall(r'<input type="checkbox"[^>]*>', html)
        return [re.search(r'value="([^"]+)"', box).group(1) for box in boxes
                if " checked" in box and " disabled" not in box]

    def login(self, id_number: str, password: str = TEST_PASSWORD, next_url: str = "/account") -> Any:
        page = self.client.get("/login", query_string={"next": next_url})
        return self.client.post("/login", data={"id_number": id_number, "password": password, "next": next_url,
                                                "csrf_token": self.csrf(page.text)})

    def second_factor(self, code: str, next_url: str = "/account") -> Any:
        page = self.client.get("/login/otp", query_string={"next": next_url})
        return self.client.post("/login/otp", data={"code": code, "next": next_url,
                                                    "csrf_token": self.csrf(page.text)})

    def start(self, client_id: str, scope: str = "openid profile", redirect_uri: str = REDIRECT_URI,
              **extra: str) -> tuple[AuthorizationRequest, Any]:
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
                  "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
                  "code_challenge": challenge, "code_challenge_method": "S256", **extra}
        params = {k: v for k, v in params.items() if v is not None}
        request = AuthorizationRequest(client_id, verifier, params.get("state", ""), params.get("nonce", ""), params)
        return request, self.client.get("/authorize?" + urlencode(params))

    def follow(self, response: Any, *, id_number: str | None = None, password: str = TEST_PASSWORD,
               otp: str | None = None, consent: str | None = "allow", limit: int = 8) -> Any:
        """Follow redirects through login, second factor and consent until the client redirect."""
        for _ in range(limit):
            if response.status_code == 200 and 'name="decision"' in response.text and consent:
                action = re.search(r'<form method="post" action="([^"]+)"', response.text).group(1)
                # The page telling a level-1 person how to get verified has one button: back to the app.
                decision = "back" if 'value="back"' in response.text else consent
                # As a browser: the ticked (and enabled) claim boxes are sent with the decision.
                response = self.client.post(action.replace("&amp;", "&"),
                                            data={"decision": decision, "csrf_token": self.csrf(response.text),
                                                  "claim": self.ticked(response.text)})
                continue
            if response.status_code != 302:
                return response
            location = response.headers["Location"]
            parts = urlsplit(location)
            if parts.netloc and parts.netloc != "localhost":
                return response  # back at the client
            if parts.path == "/login" and id_number:
                response = self.login(id_number, password, query(location).get("next", "/account"))
                id_number = None
                continue
            if parts.path == "/login/otp" and otp:
                response = self.second_factor(otp, query(location).get("next", "/account"))
                otp = None
                continue
            response = self.client.get(location)
        return response

    def token(self, auth: tuple[str, str] | None, **form: str) -> Any:
        headers = {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        return self.client.post("/token", data=form, headers=headers)

    def redeem(self, request: AuthorizationRequest, code: str, auth: tuple[str, str] | None,
               **extra: str | None) -> Any:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": request.params["redirect_uri"],
                "code_verifier": request.verifier, **extra}
        if auth is None:
            form["client_id"] = request.client_id
        return self.token(auth, **{k: v for k, v in form.items() if v is not None})
