"""The ledger's public JWK Set at ``/.well-known/ledger-keys.json``, served in front of Flask as the
OpenID Connect documents are (:mod:`idsvc.oidc.documents`): the same bytes for everyone until a
key is added, cacheable for five minutes with an ETag, readable from any origin. It lists every
ledger key, active and retired: a retired key's heads stay checkable for ever."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Flask

from idsvc.audit.ledgerkeys import get_ledger_keys

KEYS_PATH = "/.well-known/ledger-keys.json"


class LedgerKeysDocument:
    """WSGI middleware: GET/HEAD of :data:`KEYS_PATH`; everything else goes on to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._cache: tuple[object, bytes, str] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if environ.get("PATH_INFO", "") != KEYS_PATH or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        body, etag = self.document()
        headers = [("Content-Type", "application/json"), ("Cache-Control", "public, max-age=300"),
                   ("ETag", etag), ("Access-Control-Allow-Origin", "*"), ("X-Content-Type-Options", "nosniff")]
        if etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            start_response("304 Not Modified", headers)
            return []
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]

    def document(self) -> tuple[bytes, str]:
        store = get_ledger_keys(self.app)
        if store.create_on_first_use:  # development: the first key is made on first use, as a seal would
            store.active()
        keys = store.public_jwks()  # a new object when the keys change
        if self._cache is None or self._cache[0] is not keys:
            body = json.dumps(keys, separators=(",", ":")).encode()
            self._cache = (keys, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        return self._cache[1], self._cache[2]


def init_app(app: Flask) -> None:
    app.wsgi_app = LedgerKeysDocument(app, app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to wrap WSGI
