"""The decisions of the authorization endpoint, between Authlib's validation and the code.

Given a validated request and the browser's login, :func:`decide` says what happens next: log in,
step up to level 2, ask consent, fail (closed, with a standard error) or issue the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
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

from idsvc import crypto
from idsvc.db import utcnow
from idsvc.identity.models import LoginSession
from idsvc.oidc import claims
from idsvc.oidc import claimsrequest
from idsvc.oidc import consents
from idsvc.oidc import purposes
from idsvc.oidc import subjects
from idsvc.oidc import tokens
from idsvc.oidc.grants import UnmetAuthenticationRequirements
from idsvc.oidc.models import ClientPurpose
from idsvc.oidc.models import level_for_acr


@dataclass(frozen=True)
class Decision:
    #: "login", "second_factor", "verify_in_person" (a level-1 account asked for level 2: the page
    #: says how to get verified before the error goes back), "consent" or "issue".
    step: str
    #: For "login": the ID number hint.
    detail: Any = None
    #: For "consent" and "issue": what the request would share (``consents.Offer``).
    offer: consents.Offer | None = None


def required_level(grant: Any, login: LoginSession | None) -> int:
    """The level this request needs: the client's floor, the ``acr_values`` asked, staff (a staff
    account, or a scope of staff work) = 2.

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
    if claims.LEVEL_2_SCOPES.intersection(scope_to_list(grant.request.payload.scope) or []):
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
    purpose, request_claims = _purpose_and_claims(grant)

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
    the_offer = consents.offer(account, client, purpose, claimsrequest.asked(
        scope_to_list(grant.request.scope) or [], request_claims))
    if consent_given:
        return Decision("issue", offer=the_offer)
    if consents.must_ask(account, the_offer, prompt_consent="consent" in prompts):
        if silent:
            raise ConsentRequiredError(redirect_uri=redirect_uri, state=state)
        return Decision("consent", offer=the_offer)
    return Decision("issue", offer=the_offer)


def _purpose_and_claims(grant: Any) -> tuple[ClientPurpose, Any]:
    """The request's purpose (``purpose``, else the client's first) and ``claims`` parameter.

    :raises InvalidRequestError: an unknown purpose, or a ``claims`` parameter that is not valid.
    """
    data = grant.request.payload.data
    try:
        request_claims = claimsrequest.parse(data.get("claims"))
        purpose = purposes.resolve(grant.request.client, data.get("purpose"))
    except claimsrequest.ClaimsRequestInvalid as error:
        raise InvalidRequestError(f"claims: {error}", redirect_uri=grant.redirect_uri,
                                  state=data.get("state")) from None
    except purposes.UnknownPurpose:
        raise InvalidRequestError("purpose: the client registered no such purpose", redirect_uri=grant.redirect_uri,
                                  state=data.get("state")) from None
    return purpose, request_claims


#: The parameter that carries, through the login page and back, "this request needs a login at or
#: after T", bound to the request by a keyed hash (see ``return_path``).
LOGIN_AFTER = "login_after"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _needs_login(data: Any, login: LoginSession | None, client: Any) -> bool:
    try:
        max_age = None if data.get("max_age") is None else int(data["max_age"])
    except ValueError:
        raise InvalidRequestError("max_age must be a number of seconds") from None
    if login is None:
        return True
    required = _login_after(data)
    if required is not None:
        # We sent this browser to log in for this request: only a login since then satisfies
        # ``prompt=login`` and ``max_age`` (not the URL, which the browser can replay or edit).
        if login.auth_time < required:
            return True
    elif "login" in (data.get("prompt") or "").split():
        return True
    elif max_age is not None and (utcnow() - login.auth_time).total_seconds() > max_age:
        return True
    hint = data.get("id_token_hint")
    if hint:
        try:
            claims = tokens.decode_id_token_hint(hint, client.client_id)
        except tokens.TokenInvalid:
            raise InvalidRequestError("id_token_hint is not an ID token this server issued to this client") from None
        if claims.get("sub") != subjects.pairwise_sub(client, login.account):
            return True
    return False


def _marker_mac(stamp: str, args: Any) -> str:
    """Binds the time to this request: its client and its PKCE challenge (new for every request)."""
    return crypto.keyed_hash("login-after", f"{stamp}|{args.get('client_id')}|{args.get('code_challenge')}")


def _login_after(args: Any) -> datetime | None:
    """The time of the request's login marker, when it is one of ours for this request; else None."""
    stamp, _, mac = (args.get(LOGIN_AFTER) or "").partition(".")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 17):
        return None
    if not crypto.compare(mac, _marker_mac(stamp, args)):
        return None
    return _EPOCH + timedelta(microseconds=int(stamp))


def return_path(args: Any, *, after_login: bool) -> str:
    """The authorization request to come back to after the next step, as it was sent.

    Before a login, it gets a new marker (``LOGIN_AFTER``): "a login at or after now is needed".
    Back here, a session whose ``auth_time`` is that late satisfies ``prompt=login`` and
    ``max_age`` (which would otherwise send the browser round again, for ever with ``max_age=0``);
    an older one logs in again, whatever was done to the URL.
    """
    params = [(k, v) for k, v in args.items(multi=True) if k not in ("csrf_token", "decision", LOGIN_AFTER)]
    marker = args.get(LOGIN_AFTER)
    if after_login:
        stamp = str((utcnow() - _EPOCH) // timedelta(microseconds=1))
        marker = f"{stamp}.{_marker_mac(stamp, args)}"
    if marker:
        params.append((LOGIN_AFTER, marker))
    return "/authorize?" + urlencode(params)


def error_redirect(error: OAuth2Error) -> str | None:
    """The client redirect for an error, with ``iss`` (RFC 9207); None when the redirect URI is
    unknown or unverified (then the person gets an error page, never a redirect)."""
    if not error.redirect_uri:
        return None
    _, _, headers = error()
    location = dict(headers)["Location"]
    return add_params_to_uri(location, [("iss", current_app.config["ISSUER"])])
