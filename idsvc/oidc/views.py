"""OpenID Connect endpoints: authorize, token, userinfo, revocation, introspection and
RP-initiated logout. One-liners around ``authorization`` and the services. Discovery and the
JWKS are served in front of Flask (``documents.py``).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

from authlib.integrations.flask_oauth2 import current_token
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from idsvc import unit_of_work
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.errors import error_page
from idsvc.identity import service as identity
from idsvc.identity import sessions
from idsvc.oidc import authorize as authz
from idsvc.oidc import claims
from idsvc.oidc import consents
from idsvc.oidc import logout
from idsvc.oidc import subjects
from idsvc.oidc import tokens
from idsvc.oidc.server import authorization
from idsvc.oidc.server import require_oauth
from idsvc.web import csrf

bp = Blueprint("oidc", __name__)

#: What a person reads when a request cannot even be sent back to the app (RFC 6749 §4.1.2.1).
ERROR_PAGES = {
    "invalid_client": (_l("Unknown application"),
                       _l("The application that sent you here is not registered with us.")),
    "invalid_request": (_l("Invalid request"),
                        _l("The application sent a malformed login request; nothing happened to your account. "
                           "Go back to the application.")),
}


def _error(error: OAuth2Error) -> Any:
    location = authz.error_redirect(error)
    if location:
        return redirect(location)
    key = error.error if error.error in ERROR_PAGES else "invalid_request"
    title, message = ERROR_PAGES[key]
    return error_page(error.status_code or 400, str(title), f"{message} ({error.description or error.error})",
                      code=error.error)


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


@bp.route("/authorize", methods=["GET", "POST"])
@unit_of_work.read_write
@csrf.exempt  # a client may POST the request itself; the consent decision is checked below
def authorize() -> ResponseReturnValue:
    login = sessions.current_login()
    try:
        grant = authorization.get_consent_grant(end_user=login.account if login else None)
        decided = (request.method == "POST" and request.form.get("decision") in ("allow", "deny")
                   and login is not None and _csrf_ok())
        explained = (request.method == "POST" and request.form.get("decision") == "back" and login is not None
                     and _csrf_ok())
        if decided and request.form["decision"] == "deny":
            audit.record(AuditAction.OIDC_AUTHORIZE_DENY,
                         actor=f"account:{login.account_id}",  # type: ignore[union-attr]  # decided: logged in
                         subject_type="client", subject_id=grant.request.client.client_id)
            return authorization.create_authorization_response(grant_user=None, grant=grant)
        decision = authz.decide(grant, login, consent_given=decided, explained=explained)
    except OAuth2Error as error:
        return _error(error)
    except ValueError:  # Authlib refuses to put control characters from the request into an error
        return _error(InvalidRequestError("the request holds control characters"))
    back = authz.return_path(request.values, after_login=decision.step == "login")
    if decision.step == "login":
        return redirect(url_for("identity.login", next=back, login_hint=decision.detail or None))
    if decision.step == "second_factor":
        return redirect(url_for("identity.second_factor", next=back))
    if decision.step == "verify_in_person":
        return render_template("oidc/level2_needed.html", client=grant.request.client, action=back)
    assert login is not None and decision.offer is not None
    offer = decision.offer
    if decision.step == "consent":
        return render_template("oidc/consent.html", client=grant.request.client, action=back, offer=offer,
                               values=claims.display(login.account.citizen_id, offer.shown),
                               catalogue=claims.CATALOGUE, language=get_locale().language if get_locale() else "vi")
    try:
        if decided:
            consents.give(login.account, offer, ticked=request.form.getlist("claim"), level=login.level)
        elif offer.purpose.legal_basis == "statutory":
            consents.record_statutory(login.account, offer, level=login.level)
    except consents.EssentialRefused as refused:
        audit.record(AuditAction.OIDC_AUTHORIZE_DENY, actor=f"account:{login.account_id}", subject_type="client",
                     subject_id=grant.request.client.client_id, data={"essential_refused": refused.args[0]})
        return authorization.create_authorization_response(grant_user=None, grant=grant)
    audit.record(AuditAction.OIDC_AUTHORIZE, actor=f"account:{login.account_id}", subject_type="client",
                 subject_id=grant.request.client.client_id,
                 data={"scope": grant.request.scope, "level": login.level, "purpose": offer.purpose.code})
    # The login session itself is the grant's user: the code keeps how and when the person logged in.
    return authorization.create_authorization_response(grant_user=login, grant=grant)


def _client_endpoint(view: Callable[[], Response]) -> Callable[[], Response]:
    """An endpoint where clients authenticate: Basic credentials that are not UTF-8 text are an
    ``invalid_client`` answer (Authlib's decoding would raise)."""

    @functools.wraps(view)
    def wrapper() -> Response:
        kind, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if kind.lower() == "basic":
            try:
                base64.b64decode(credentials.strip(), validate=False).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                error = InvalidClientError(description="the Basic credentials are not UTF-8 text", status_code=401)
                return authorization.handle_error_response(None, error)
        return view()

    return wrapper


@bp.post("/token")
@unit_of_work.read_write(persist_on=(400,), group_commit=True)  # a spent code, a revoked family stand
@csrf.exempt
@_client_endpoint
def token() -> Response:
    return authorization.create_token_response()


@bp.post("/revoke")
@unit_of_work.read_write
@csrf.exempt
@_client_endpoint
def revoke() -> Response:
    return authorization.create_endpoint_response("revocation")


@bp.post("/introspect")
@unit_of_work.read_write  # a person's claims it answers with are a release, audited
@csrf.exempt
@_client_endpoint
def introspect() -> Response:
    return authorization.create_endpoint_response("introspection")


@bp.route("/userinfo", methods=["GET", "POST"])
@unit_of_work.read_write
@csrf.exempt
@require_oauth("openid")
def userinfo() -> Response:
    """The claims the person granted the token's client, current values; a JWT signed with the
    service key (``application/jwt``) for a client registered with ``userinfo_signed_response_alg``."""
    token = current_token
    account = token.account  # a person's token of an active account (AccessTokenValidator)
    client = token.client
    body = {"sub": subjects.pairwise_sub(client, account), **consents.release(
        account=account, client=client, purpose_id=token.purpose_id, scope=token.scope,
        claims_request=token.claims_request, target="userinfo", via="userinfo", reader=f"client:{client.client_id}")}
    if client.userinfo_signed_response_alg:
        response = Response(tokens.encode_userinfo(body, audience=client.client_id,
                                                   alg=client.userinfo_signed_response_alg),
                            mimetype="application/jwt")
    else:
        response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["GET", "POST"])
@unit_of_work.read_write
@csrf.exempt  # an RP may POST the logout request; our own confirmation carries a token
def end_session() -> ResponseReturnValue:
    """RP-initiated logout 1.0: with a valid ``id_token_hint`` at once, otherwise after the person
    confirms (a form with a CSRF token), so a third-party page cannot log people out."""
    target = logout.logout_target(request.values)
    if target.hint_invalid:  # RP-Initiated Logout §4: a hint that fails validation is an error
        return _error(InvalidRequestError("id_token_hint is not an ID token this server issued"))
    login = sessions.current_login()
    confirmed = request.method == "POST" and _csrf_ok()
    if login is not None and not (confirmed or target.hint_matches(login.account)):
        return render_template("oidc/logout.html", values=request.values)
    if login is not None:
        identity.end_session(login)
        sessions.forget()
    if target.redirect_uri:
        return redirect(target.redirect_uri)
    return redirect(url_for("identity.login", notice="logged-out"))


# --- the person's connected services -----------------------------------------------------------

@bp.get("/account/apps", endpoint="consents")
@unit_of_work.read_write
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def list_consents() -> ResponseReturnValue:
    login = sessions.current_login()
    assert login is not None
    return render_template("oidc/apps.html", consents=consents.current_consents(login.account),
                           catalogue=claims.CATALOGUE, withdrawn=request.args.get("withdrawn"),
                           language=get_locale().language if get_locale() else "vi")


@bp.post("/account/apps/<client_id>/withdraw")
@unit_of_work.read_write
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def withdraw_consent(client_id: str) -> ResponseReturnValue:
    """Withdraw the consent to one purpose of a client (the form's ``purpose``; without it, the
    client's only consent-based purpose the person shares with)."""
    login = sessions.current_login()
    assert login is not None
    purpose = request.form.get("purpose") or next(
        (c.purpose_code for c in consents.current_consents(login.account)
         if c.client_id == client_id and c.legal_basis == "consent"), "")
    try:
        consents.withdraw(login.account, client_id, purpose)
    except consents.NoConsent as exc:
        return error_page(exc.status, _("No such consent"), _("You do not share data with this app."), code=exc.code)
    except consents.StatutoryPurpose as exc:
        return error_page(exc.status, _("Required by law"),
                          _("This service receives your data under a law, not by your consent: it cannot be "
                            "withdrawn here."), code=exc.code)
    return redirect(url_for("oidc.consents", withdrawn=client_id))
