"""The browser side of login sessions: the cookie, the current login, and guarded pages.

Flask's signed cookie carries only the random session token (and the CSRF token); the session
itself is a server-side row (``LoginSession``), so it can be listed and revoked per person.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g
from flask import redirect
from flask import request
from flask import session
from flask import url_for

from idsvc.identity import service
from idsvc.identity.models import LoginSession
from idsvc.web import local_path

#: ``login_required(level=ACCOUNT_LEVEL)``: the account's own level (its settings are no easier to
#: reach than the agencies' pages: a level-2 account needs its second factor there too).
ACCOUNT_LEVEL = 0

#: Paths a login may return to (never another site: no open redirect); ``/office`` is the
#: registry staff's console.
NEXT_PREFIXES = ("/authorize", "/account", "/login/otp", "/office")


def current_login() -> LoginSession | None:
    if "login_session" not in g:
        g.login_session = service.session_from_token(session.get("sid"))
    return g.login_session


def begin(login: LoginSession, token: str) -> None:
    """Bind the browser to a new session: a fresh cookie (and CSRF token) at every login/step-up."""
    session.clear()
    session["sid"] = token
    g.login_session = login


def forget() -> None:
    session.clear()
    g.login_session = None


def client_info() -> dict[str, Any]:
    return {"ip": request.remote_addr, "user_agent": request.headers.get("User-Agent")}


def safe_next(target: str | None, default: str = "/account") -> str:
    """A local path among ``NEXT_PREFIXES``, else ``default`` (also for what is no URL at all)."""
    return local_path(target, default=default, prefixes=NEXT_PREFIXES)


def own_level(login: LoginSession) -> int:
    """The level the account can reach: 2 once verified in person (with its second factor), else 1."""
    account = login.account
    return 2 if account.level >= 2 and account.totp_secret is not None else 1


def login_required(level: int = 1) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Send the browser to log in (or to the second factor) first; staff pages use ``level=2``,
    the account's own pages ``level=ACCOUNT_LEVEL``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            login = current_login()
            here = request.full_path.rstrip("?")
            if login is None:
                return redirect(url_for("identity.login", next=here))
            if login.level < (own_level(login) if level == ACCOUNT_LEVEL else level):
                return redirect(url_for("identity.second_factor", next=here))
            return view(*args, **kwargs)

        return wrapped

    return decorator
