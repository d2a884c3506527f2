"""The demo agency's pages: home (the two login buttons, or the person's claims), the redirect
URI ``/callback``, and logout. What a relying party must check, Authlib checks or we do here:
state (bound to this browser's session), PKCE S256, nonce, the ID token's signature against the
provider's JWKS, ``iss``, ``aud``, the RFC 9207 ``iss`` of the response, and the level reached."""

from __future__ import annotations

import secrets
from datetime import UTC
from datetime import datetime
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

bp = Blueprint("demo_agency", __name__, template_folder="templates")

#: ``acr`` values of the provider, by level.
ACR = {1: "urn:idsvc:loa:1", 2: "urn:idsvc:loa:2"}
#: What a person reads for the refusals a newcomer meets (the provider's own words follow).
EXPLAINED = {
    "access_denied": ("Bạn đã không đồng ý chia sẻ thông tin với cơ quan này.",
                      "You did not allow this agency to receive your information."),
    "unmet_authentication_requirements": (
        "Dịch vụ này cần tài khoản định danh mức 2; tài khoản này chưa đạt mức 2.",
        "This service needs a level-2 e-ID account; this account is not level 2."),
    "login_required": ("Bạn cần đăng nhập tại idsvc.", "You need to log in at idsvc."),
}


def _provider() -> FlaskOAuth2App:
    return current_app.extensions["demo_agency"]


def _url(path: str) -> str:
    return current_app.config["DEMO_AGENCY_URL"] + path


@bp.before_app_request
def canonical_host() -> ResponseReturnValue | None:
    """Serve from the registered address only: a page opened at ``localhost:8000`` would keep
    its session cookie there, and the provider sends the browser back to ``127.0.0.1:8000``."""
    if request.host_url.rstrip("/") != current_app.config["DEMO_AGENCY_URL"] and request.method == "GET":
        return redirect(_url(request.full_path.rstrip("?")))
    return None


@bp.after_app_request
def headers(response: Response) -> Response:
    provider = current_app.config["PROVIDER_URL"]
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; "
        f"form-action 'self' {provider}")  # the login and logout forms end at the provider
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"  # the pages show personal data
    return response


@bp.app_template_filter("utc")
def utc(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    context.setdefault("login", session.get("login"))
    return render_template("demo_agency/home.html", provider=current_app.config["PROVIDER_URL"],
                           explained=EXPLAINED, asked=_asked(), **context), status


def _asked() -> list[tuple[str, str]]:
    """What the agency asks with its ``claims`` parameter at userinfo: (claim, essential or voluntary)."""
    return [(name, "essential" if (ask or {}).get("essential") else "voluntary")
            for name, ask in current_app.config["DEMO_AGENCY_CLAIMS"]["userinfo"].items()]


def _unreachable(exc: requests.RequestException) -> tuple[str, int]:
    current_app.logger.warning("the provider did not answer: %s", exc)
    return _page(502, error="provider_unreachable",
                 description=f"{current_app.config['PROVIDER_URL']} did not answer ({type(exc).__name__}). "
                             "Is `idsvc run` running?")


@bp.get("/")
def home() -> ResponseReturnValue:
    logged_out = False
    if request.args.get("state"):  # back from the provider's logout
        try:
            _provider().validate_logout_response()
            logged_out = True
        except OAuthError:
            pass  # not a logout we started: nothing to say
    return _page(logged_out=logged_out)


@bp.get("/login")
def login() -> ResponseReturnValue:
    """Send the browser to the provider: code flow with PKCE S256, state and nonce (Authlib makes
    and keeps them in this session), and level 2 asked with ``acr_values``."""
    provider = _provider()
    level = 2 if request.args.get("level") == "2" else 1
    state = secrets.token_urlsafe(24)
    # A few logins may be pending (two tabs); each remembers the level it asked for. Older ones
    # are dropped, so the session cookie stays far below the 4 KB browsers keep.
    # A list, oldest first: Flask's session serialiser sorts the keys of a dict.
    pending = [pair for pair in session.get("levels", []) if isinstance(pair, list)]
    for old, _ in pending[:-2]:
        provider.framework.clear_state_data(session, old)
    session["levels"] = [*pending[-2:], [state, level]]
    extra = {"acr_values": ACR[2]} if level == 2 else {}
    try:
        return provider.authorize_redirect(_url("/callback"), state=state, **extra)
    except requests.RequestException as exc:
        return _unreachable(exc)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    """The redirect URI: the provider's answer, checked, then the claims kept in the session."""
    provider = _provider()
    state = request.args.get("state", "")
    level = dict(session.get("levels", [])).get(state)
    if not state or level is None or not provider.framework.get_state_data(session, state):
        # Not a login this browser started (or already finished): show no text from the URL.
        return _page(400, error="invalid_state",
                     description="This answer does not match a login started here. Start again.")
    session["levels"] = [pair for pair in session["levels"] if pair[0] != state]
    metadata = provider.load_server_metadata()
    issuer, sent = metadata["issuer"], request.args.get("iss")
    # RFC 9207: the answer comes from our provider (a provider that announces ``iss`` must send it).
    if sent != issuer and (sent is not None or metadata.get("authorization_response_iss_parameter_supported")):
        provider.framework.clear_state_data(session, state)
        return _page(400, error="invalid_issuer", description=f"The answer does not come from {issuer}.")
    if request.args.get("error"):
        provider.framework.clear_state_data(session, state)
        return _page(error=request.args["error"], description=request.args.get("error_description", ""))
    allowed = [ACR[2]] if level == 2 else [ACR[1], ACR[2]]
    try:
        token = provider.authorize_access_token(claims_options={
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [provider.client_id]},
            "acr": {"essential": True, "values": allowed},  # never accept less than we asked
        })
        if "id_token" not in token:  # Authlib checks the nonce only when there is an ID token
            return _page(400, error="invalid_id_token", description="The token response holds no ID token.")
        userinfo = provider.userinfo(token=token)
    except OAuthError as exc:
        return _page(400, error=exc.error, description=exc.description or "")
    except JoseError as exc:
        return _page(400, error="invalid_id_token", description=f"The ID token was refused: {exc}")
    except requests.RequestException as exc:
        return _unreachable(exc)
    session["login"] = {"id_token": token["id_token"], "claims": dict(token["userinfo"]),
                        "userinfo": dict(userinfo)}
    return redirect(_url("/"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Forget the person here, then log them out at the provider (RP-initiated logout), which
    sends the browser back to ``/`` with the state Authlib checks there."""
    login = session.pop("login", None)
    if login is None:
        return redirect(_url("/"))
    try:
        return _provider().logout_redirect(post_logout_redirect_uri=_url("/"), id_token_hint=login["id_token"])
    except requests.RequestException as exc:
        return _unreachable(exc)
