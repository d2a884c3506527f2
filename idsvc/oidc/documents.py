"""Discovery and the JWKS: the two public documents, served in front of Flask.

Every relying party fetches them, often, and they are the same bytes for everyone until the keys
change. So a small WSGI layer answers them before Flask sees the request (no request context,
routing or hooks), from bytes serialised once per process and again when the key set changes
(``KeyStore.public_jwks`` returns a new object then). Clients and proxies may cache them for five
minutes and revalidate with the ETag; any origin may read them (they are public by design).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Flask

from idsvc.oidc import discovery
from idsvc.oidc.keys import get_keystore

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"


class PublicDocuments:
    """WSGI middleware: GET/HEAD of the two paths; everything else goes on to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._cache: dict[str, tuple[object, bytes, str]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "HEAD") or path not in (DISCOVERY_PATH, JWKS_PATH):
            return self.wsgi_app(environ, start_response)
        body, etag = self.document(path)
        headers = [("Content-Type", "application/json"), ("Cache-Control", "public, max-age=300"),
                   ("ETag", etag), ("Access-Control-Allow-Origin", "*"), ("X-Content-Type-Options", "nosniff")]
        if etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            start_response("304 Not Modified", headers)
            return []
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]

    def document(self, path: str) -> tuple[bytes, str]:
        """The document's bytes and ETag, serialised again only when what it is made of changed."""
        if path == JWKS_PATH:
            keys = get_keystore(self.app).public_jwks()  # a new object when the keys change
            source, build = keys, (lambda: keys)
        else:
            source, build = None, self._metadata  # the configuration is fixed at start
        cached = self._cache.get(path)
        if cached is None or cached[0] is not source:
            body = json.dumps(build(), separators=(",", ":")).encode()
            cached = self._cache[path] = (source, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        return cached[1], cached[2]

    def _metadata(self) -> dict[str, Any]:
        with self.app.app_context():
            return discovery.metadata()


def init_app(app: Flask) -> None:
    app.wsgi_app = PublicDocuments(app, app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to wrap WSGI
