"""The ledger's public JWK Set at ``/.well-known/ledger-keys.json``, served in front of Flask
(:mod:`idsvc.publicdocs`) as the OpenID Connect documents are: the same bytes for everyone until a
key is added, cacheable for five minutes with an ETag, readable from any origin. It lists every
ledger key, active and retired: a retired key's heads stay checkable for ever."""

from __future__ import annotations

from typing import Any

from flask import Flask

from idsvc.audit.ledgerkeys import get_ledger_keys
from idsvc.publicdocs import Document
from idsvc.publicdocs import serve

KEYS_PATH = "/.well-known/ledger-keys.json"


def init_app(app: Flask) -> None:
    def keys() -> Any:
        store = get_ledger_keys(app)
        if store.create_on_first_use:  # development: the first key is made on first use, as a seal would
            store.active()
        return store.public_jwks()  # a new object when the keys change

    serve(app, {KEYS_PATH: Document(source=keys, build=lambda jwks: jwks)})
