"""Discovery and the JWKS: the two public documents of the provider, served in front of Flask
(:mod:`idsvc.publicdocs`): the same bytes for everyone until the keys change."""

from __future__ import annotations

from typing import Any

from flask import Flask

from idsvc.oidc import discovery
from idsvc.oidc.keys import get_keystore
from idsvc.publicdocs import Document
from idsvc.publicdocs import serve

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"


def init_app(app: Flask) -> None:
    def metadata(_: Any) -> dict[str, Any]:
        with app.app_context():
            return discovery.metadata()

    serve(app, {
        DISCOVERY_PATH: Document(source=lambda: None, build=metadata),  # the configuration is fixed at start
        JWKS_PATH: Document(source=lambda: get_keystore(app).public_jwks(), build=lambda keys: keys),
    })
