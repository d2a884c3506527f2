"""Development seed: the demo agency client (confidential) and a demo public client.

The demo client's secret is generated here and written, with the demo activation code, to
``instance/demo-credentials.json`` (mode 0600): never committed, shown by ``make run``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from flask import current_app

from idsvc import db
from idsvc.oidc import claims
from idsvc.oidc import clients
from idsvc.oidc import purposes
from idsvc.oidc.schemas import client_settings

DEMO_REDIRECT = "http://127.0.0.1:8000/callback"
#: Every scope a person can release except the ID number (only for trusted clients).
DEMO_SCOPES = [scope for scope in claims.USER_SCOPES if scope not in claims.TRUSTED_ONLY_SCOPES]
#: The demo agency may receive the claims of its scopes and, when the person ticks it, their ethnicity
#: (a sensitive claim: allowed by name, never through a scope).
DEMO_AGENCY_CLAIMS = [*purposes.default_allowed_claims(DEMO_SCOPES), "vn_ethnicity"]
DEMO_AGENCY_PURPOSE = {
    "code": "public-services", "legal_basis": "consent", "retention_days": 1825, "consent_days": 365,
    "description_vi": "Giải quyết thủ tục hành chính trực tuyến của bạn trên Cổng dịch vụ công",
    "description_en": "Handling your online administrative procedures on the public service portal"}
DEMO_PUBLIC_PURPOSE = {
    "code": "mobile-login", "legal_basis": "consent", "retention_days": 30, "consent_days": 180,
    "description_vi": "Đăng nhập vào ứng dụng di động và hiển thị thông tin cơ bản của bạn",
    "description_en": "Logging in to the mobile app and showing your basic information"}


def save_demo_secrets(secrets: dict[str, str], *, echo: Callable[[str], None]) -> None:
    """Add ``secrets`` to ``instance/demo-credentials.json`` (mode 0600), keeping what it holds, and
    show all of them."""
    path = Path(current_app.instance_path) / "demo-credentials.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    saved.update(secrets)
    if not saved:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(saved, fh, indent=2)
    echo(f"demo secrets in {path}: " + ", ".join(f"{k}={v}" for k, v in saved.items()))


def run(*, echo: Callable[[str], None], extra: dict[str, str]) -> None:
    saved: dict[str, str] = {}
    with db.transaction():
        if clients.find_client("demo-agency") is None:
            _, secret = clients.register_client(client_settings({
                "name": "Cổng dịch vụ công (demo) / Public service portal (demo)",
                "auth_method": "client_secret_basic", "redirect_uris": [DEMO_REDIRECT],
                "post_logout_redirect_uris": ["http://127.0.0.1:8000/"],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "scopes": [*DEMO_SCOPES, "registry.verify"], "allowed_claims": DEMO_AGENCY_CLAIMS,
                "purposes": [DEMO_AGENCY_PURPOSE]}), client_id="demo-agency", actor="system:seed")
            if secret is not None:
                saved["demo-agency"] = secret
            echo("demo client demo-agency registered")
        if clients.find_client("demo-public") is None:
            clients.register_client(client_settings({
                "name": "Ứng dụng di động (demo) / Mobile app (demo)", "auth_method": "none",
                "redirect_uris": ["http://127.0.0.1:8000/app-callback"],
                "grant_types": ["authorization_code", "refresh_token"], "scopes": DEMO_SCOPES,
                "purposes": [DEMO_PUBLIC_PURPOSE]}),
                client_id="demo-public", actor="system:seed")
            echo("demo client demo-public registered")
    saved.update({f"activation-code-{number}": code for number, code in extra.items()})
    save_demo_secrets(saved, echo=echo)
