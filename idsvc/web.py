"""Service-wide web concerns: probes, security headers, CSRF protection and the per-source limiter."""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text

from idsvc import db

bp = Blueprint("web", __name__)
csrf = CSRFProtect()
#: Limits per client address; counts live in RATELIMIT_STORAGE_URI (Redis in production).
limiter = Limiter(get_remote_address, default_limits=[])

#: Pages: no framing (clickjacking on login and consent), no referrer leaking codes, no caching.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> dict[str, str]:
    """Readiness: the database answers."""
    db.session().execute(text("SELECT 1"))
    return {"status": "ready"}


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        for name, value in PAGE_HEADERS.items():
            response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf.init_app(app)
    limiter.init_app(app)
    app.after_request(_security_headers)
