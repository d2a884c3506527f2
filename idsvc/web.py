"""Service-wide web concerns: probes, security headers, CSRF protection and the per-source limiter."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from flask_wtf.csrf import CSRFProtect
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import text
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from idsvc import db
from idsvc import unit_of_work

bp = Blueprint("web", __name__)
csrf = CSRFProtect()

#: Pages: no framing (clickjacking on login and consent), no referrer leaking codes, no caching.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@bp.get("/healthz")
@unit_of_work.read_only
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
@unit_of_work.read_only
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


@functools.cache
def _rate(text: str) -> Any:
    """The parsed rate (e.g. "30 per minute"), once per distinct setting."""
    return parse(text)


def per_source_limit(config_key: str, methods: tuple[str, ...] = ("POST",)) -> Callable[[Any], Any]:
    """Limit the view per client address to the rate in ``config[config_key]`` (e.g. "30 per
    minute"), counted per view in RATELIMIT_STORAGE_URI (Redis in production, shared by workers).

    Only the decorated views pay for it (the ``limits`` library, without a hook on every request).
    """

    def decorator(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method in methods:
                rate = _rate(current_app.config[config_key])
                limiter: FixedWindowRateLimiter = current_app.extensions["idsvc.limiter"]
                source = request.remote_addr or "unknown"
                if not limiter.hit(rate, request.endpoint or "", source):
                    reset = limiter.get_window_stats(rate, request.endpoint or "", source).reset_time
                    raise TooManyRequests(retry_after=max(1, int(reset - time.time())))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:  # behind that many reverse proxies: the client's address and scheme are theirs to tell
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app
            app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.register_blueprint(bp)
    csrf.init_app(app)
    app.extensions["idsvc.limiter"] = FixedWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
    app.after_request(_security_headers)


def local_path(target: str | None, *, default: str = "/", prefixes: tuple[str, ...] = ("/",)) -> str:
    """``target`` if it is a path on this site starting with one of ``prefixes``, else ``default``:
    never another site (``//host``, ``///host``, a scheme), nothing a ``Location`` header cannot
    carry, nothing that is no URL at all (``//[`` makes ``urlsplit`` raise)."""
    if not target or "\\" in target or not target.isprintable() or target.startswith("//"):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith(prefixes):
        return default
    return target


def authorization_request_in(target: str | None) -> dict[str, list[str]]:
    """The parameters of the authorization request a page returns to (``next`` =
    ``/authorize?...``); empty for any other target, or one that is no URL at all."""
    try:
        parts = urlsplit(target or "")
    except ValueError:
        return {}
    return parse_qs(parts.query) if parts.path == "/authorize" else {}
