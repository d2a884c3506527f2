"""The decisions of the authorization endpoint, between Authlib's validation and the code.

Given a validated request and the browser's login, :func:`decide` says what happens next: log in,
step up to level 2, ask consent, fail (closed, with a standard error) or issue the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core.errors import ConsentRequiredError
from authlib.oidc.core.errors import InteractionRequiredError
from authlib.oidc.core.errors import LoginRequiredError
from flask import current_app

from idsvc.db import utcnow
from idsvc.identity.models import LoginSession
from idsvc.oidc import service
from idsvc.oidc import tokens
from idsvc.oidc.grants import UnmetAuthenticationRequirements
from idsvc.oidc.models import level_for_acr


@dataclass(frozen=True)
class Decision:
    #: "login", "second_factor", "verify_in_person" (a level-1 account asked for level 2: the page
    #: says how to get verified before the error goes back), "consent" or "issue".
    step: str
    #: For "login": the ID number hint; for "consent": the scopes to show.
    detail: Any = None


def required_level(grant: Any, login: LoginSession | None) -> int:
    """The level this request needs: the client's floor, the ``acr_values`` asked, staff = 2.

    :raises UnmetAuthenticationRequirements: only unknown ``acr_values`` were asked (fail closed).
    """
    data = grant.request.payload.data
    level = grant.request.client.min_level
    asked = (data.get("acr_values") or "").split()
    if asked:
        known = [lv for lv in (level_for_acr(a) for a in asked) if lv is not None]
        if not known:
            raise UnmetAuthenticationRequirements(
                "None of the requested acr_values can be met; supported: urn:idsvc:loa:1 urn:idsvc:loa:2",
                redirect_uri=grant.redirect_uri, state=data.get("state"))
        level = max(level, min(known))
    if login is not None and login.account.is_staff:
        level = 2
    return level


def decide(grant: Any, login: LoginSession | None, consent_given: bool, *, explained: bool = False) -> Decision:
    """What to do with a validated authorization request; raises the OAuth error to send back.
    ``explained``: the person has read why their account cannot log in at the level asked."""
    data = grant.request.payload.data
    state = data.get("state")
    prompts = (data.get("prompt") or "").split()
    silent = "none" in prompts
    redirect_uri = grant.redirect_uri
    client = grant.request.client
    level = required_level(grant, login)

    try:
        needs_login = _needs_login(data, login, client)
    except InvalidRequestError as error:  # told to the client, as any other error of a valid request
        raise InvalidRequestError(error.description, redirect_uri=redirect_uri, state=state) from None
    if needs_login:
        if silent:
            raise LoginRequiredError(redirect_uri=redirect_uri, state=state)
        return Decision("login", data.get("login_hint"))
    assert login is not None
    account = login.account
    if login.level < level:
        if account.level < level or account.totp_secret is None:
            if not (silent or explained):
                return Decision("verify_in_person")
            raise UnmetAuthenticationRequirements(
                "The account is not verified for the requested assurance level", redirect_uri=redirect_uri,
                state=state)
        if silent:
            raise InteractionRequiredError(redirect_uri=redirect_uri, state=state)
        return Decision("second_factor")
    scopes = scope_to_list(grant.request.scope) or []
    if consent_given:
        return Decision("issue")
    if ("consent" in prompts and not client.trusted) or not service.has_consent(account, client, scopes):
        if silent:
            raise ConsentRequiredError(redirect_uri=redirect_uri, state=state)
        return Decision("consent", scopes)
    return Decision("issue")


def _needs_login(data: Any, login: LoginSession | None, client: Any) -> bool:
    if login is None or "login" in (data.get("prompt") or "").split():
        return True
    max_age = data.get("max_age")
    if max_age is not None:
        try:
            seconds = int(max_age)
        except ValueError:
            raise InvalidRequestError("max_age must be a number of seconds") from None
        if (utcnow() - login.auth_time).total_seconds() > seconds:
            return True
    hint = data.get("id_token_hint")
    if hint:
        try:
            claims = tokens.decode_id_token_hint(hint, client.client_id)
        except tokens.TokenInvalid:
            raise InvalidRequestError("id_token_hint is not an ID token this server issued to this client") from None
        if claims.get("sub") != service.pairwise_sub(client, login.account):
            return True
    return False


def return_path(args: Any, *, after_login: bool) -> str:
    """The authorization request to come back to after the next step. After a login, without
    ``prompt=login`` and ``max_age``: that login satisfies them (kept, they would send the browser
    round again, for ever with ``max_age=0``); after any other step they still hold."""
    dropped = ("csrf_token", "decision", "max_age") if after_login else ("csrf_token", "decision")
    params = [(k, v) for k, v in args.items(multi=True) if k not in dropped]
    cleaned = []
    for key, value in params:
        if key == "prompt" and after_login:
            value = " ".join(p for p in value.split() if p != "login")
            if not value:
                continue
        cleaned.append((key, value))
    return "/authorize?" + urlencode(cleaned)


def error_redirect(error: OAuth2Error) -> str | None:
    """The client redirect for an error, with ``iss`` (RFC 9207); None when the redirect URI is
    unknown or unverified (then the person gets an error page, never a redirect)."""
    if not error.redirect_uri:
        return None
    _, _, headers = error()
    location = dict(headers)["Location"]
    return add_params_to_uri(location, [("iss", current_app.config["ISSUER"])])
