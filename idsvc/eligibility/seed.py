"""The demo programme back-end: a machine client registered for every demo programme, so that the
API can be tried at once (``idsvc seed``). Its secret joins the other demo secrets in
``instance/demo-credentials.json``."""

from __future__ import annotations

from collections.abc import Callable

from idsvc import db
from idsvc.eligibility import access
from idsvc.eligibility import service
from idsvc.oidc import clients
from idsvc.oidc import seed as oidc_seed
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
        oidc_seed.save_demo_secrets({CLIENT_ID: secret}, echo=echo)
