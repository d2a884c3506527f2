"""The demo programme back-end: a machine client registered for every demo programme, so that the
API can be tried at once (``idsvc seed``). Its secret joins the other demo secrets in
``instance/demo-credentials.json``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from flask import current_app

from idsvc import db
from idsvc.eligibility import access
from idsvc.eligibility import service
from idsvc.oidc import clients
from idsvc.oidc.schemas import client_settings

CLIENT_ID = "demo-programme"


def run(*, echo: Callable[[str], None]) -> None:
    """Register the demo programme client (once) and register it for every programme; safe to re-run."""
    secret: str | None = None
    with db.transaction():
        if clients.find_client(CLIENT_ID) is None:
            _, secret = clients.register_client(client_settings({
                "name": "Phòng Lao động - TBXH (demo) / Social-assistance office (demo)",
                "auth_method": "client_secret_basic", "redirect_uris": [], "grant_types": ["client_credentials"],
                "scopes": ["eligibility.lookup"]}), client_id=CLIENT_ID, actor="system:seed")
            echo(f"demo client {CLIENT_ID} registered")
        for programme in service.list_programmes():
            access.grant(programme, CLIENT_ID, actor="system:seed")
    if secret is not None:
        path = Path(current_app.instance_path) / "demo-credentials.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved[CLIENT_ID] = secret
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(saved, fh, indent=2)
        echo(f"demo secret in {path}: {CLIENT_ID}={secret}")
