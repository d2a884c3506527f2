"""Public JSON documents served in front of Flask: discovery, the JWKS, the ledger's keys.

Every relying party and auditor fetches them, often, and they are the same bytes for everyone until
what they are made of changes. So a small WSGI layer answers them before Flask sees the request (no
request context, routing or hooks), from bytes serialised once per process and again when their
source changes (a new object: ``KeyStore.public_jwks`` returns one when the key set changes).
Clients and proxies may cache them for five minutes and revalidate with the ETag; any origin may
read them (they are public by design).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask


@dataclass(frozen=True)
class Document:
    #: What the document is made of: the same object while it is unchanged (``None``: fixed at start).
    source: Callable[[], object]
    #: The document's JSON value, made from the source.
    build: Callable[[Any], Any]


class PublicDocuments:
    """WSGI middleware: GET/HEAD of the documents' paths; everything else goes on to ``wsgi_app``."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], documents: Mapping[str, Document]) -> None:
        self.wsgi_app = wsgi_app
        self.documents = dict(documents)
        self._cache: dict[str, tuple[object, bytes, str]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "HEAD") or path not in self.documents:
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
        """The document's bytes and ETag, serialised again only when its source changed."""
        document = self.documents[path]
        source = document.source()
        cached = self._cache.get(path)
        if cached is None or cached[0] is not source:
            body = json.dumps(document.build(source), separators=(",", ":")).encode()
            cached = self._cache[path] = (source, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        return cached[1], cached[2]


def serve(app: Flask, documents: Mapping[str, Document]) -> None:
    """Answer ``documents`` (path -> document) in front of the app."""
    app.wsgi_app = PublicDocuments(app.wsgi_app, documents)  # type: ignore[method-assign]  # Flask's way to wrap WSGI
