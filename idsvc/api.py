"""REST API plumbing shared by every ``/api/v1`` blueprint: bearer-token access and JSON bodies.

It sits below every subdomain, so an API of any of them (the registry's, eligibility's) protects
itself with :func:`require_scope` without importing ``oidc``: the token is checked by the
:class:`TokenVerifier` that ``create_app`` registers (:func:`idsvc.oidc.server.verify_access_token`).

Errors leave as RFC 9457 problem documents (``idsvc.errors``); an authentication failure also
carries the RFC 6750 ``WWW-Authenticate`` challenge, so standard OAuth clients understand it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any
from typing import Protocol
from typing import TypeVar

from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from marshmallow import Schema
from marshmallow import ValidationError

from idsvc.errors import TooLarge
from idsvc.errors import ValidationFailed
from idsvc.errors import problem

F = TypeVar("F", bound=Callable[..., Any])

_AUTH_PROBLEMS = {
    "missing_authorization": (401, "Authentication needed / Cần xác thực",
                              "Send an access token: 'Authorization: Bearer <token>'."),
    "invalid_token": (401, "Invalid access token / Mã truy cập không hợp lệ",
                      "The access token is expired, revoked or not one of ours; get a new one from /token."),
    "insufficient_scope": (403, "Not allowed / Không được phép",
                           "The access token lacks the scope this API needs: {scope}."),
    "insufficient_user_authentication": (
        401, "Stronger login needed / Cần đăng nhập mức cao hơn",
        "The scope {scope} needs a level-2 login (password and one-time code): log in again at level 2 "
        "and get a new token. / Phạm vi {scope} cần đăng nhập mức 2 (mật khẩu và mã một lần): hãy đăng nhập "
        "lại ở mức 2 và lấy mã truy cập mới."),
}


class AccessToken(Protocol):
    """What an API view may ask of a valid access token."""

    @property
    def actor(self) -> str:
        """Who calls, for the audit trail: ``account:<id>`` (a person) or ``client:<client_id>`` (a machine)."""
        ...


class TokenVerifier(Protocol):
    def __call__(self, scope: str) -> AccessToken:
        """The request's access token, when it is valid and grants ``scope``.

        :raises OAuth2Error: ``missing_authorization``, ``invalid_token`` or ``insufficient_scope``.
        """
        ...


def init_app(app: Flask, *, verify_token: TokenVerifier) -> None:
    """Say how this app checks the access tokens sent to its APIs."""
    app.extensions["idsvc.api.verify_token"] = verify_token


def _verifier() -> TokenVerifier:
    try:
        return current_app.extensions["idsvc.api.verify_token"]
    except KeyError:
        raise RuntimeError("this app checks no access token: create_app calls idsvc.api.init_app") from None


def require_scope(scope: str) -> Callable[[F], F]:
    """The view needs a valid access token with ``scope``; the token is on ``g.api_token``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                g.api_token = _verifier()(scope)
            except OAuth2Error as error:
                return _auth_problem(error, scope)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # wraps keeps the view's signature

    return decorator


def _auth_problem(error: OAuth2Error, scope: str) -> Response:
    kind = error.error if error.error in _AUTH_PROBLEMS else "invalid_token"
    status, title, detail = _AUTH_PROBLEMS[kind]
    response = problem(status, kind.replace("_", "-"), title, detail.format(scope=scope))
    challenge = 'Bearer realm="idsvc"'
    if kind != "missing_authorization":
        challenge += f', error="{kind}"' + (f', scope="{scope}"' if kind == "insufficient_scope" else "")
    response.headers["WWW-Authenticate"] = challenge
    return response


def actor() -> str:
    """Who is calling, for the audit trail: the person behind the token, or the machine client."""
    token: AccessToken = g.api_token
    return token.actor


#: The most bytes a JSON body of the API may carry, unless its endpoint says otherwise.
BODY_BYTES = 1024 * 1024
_READ_SIZE = 64 * 1024


def _read_at_most(limit: int) -> bytes | None:
    """The request's body, or None when it is longer than ``limit`` bytes (read no further)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    pieces: list[bytes] = []
    size = 0
    while piece := request.stream.read(min(_READ_SIZE, limit + 1 - size)):
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            return None
    return b"".join(pieces)


def body(schema: Schema, *, max_bytes: int | None = None, too_large: str | None = None) -> dict[str, Any]:
    """The request's JSON body loaded through ``schema``.

    The body is read up to ``max_bytes`` (default :data:`BODY_BYTES`), whether it comes with a
    Content-Length or in chunks (which have none to refuse it by).

    :raises TooLarge: the body is longer (``too_large``: what to tell the caller).
    :raises ValidationFailed: not JSON, or the fields do not validate (``errors`` lists them per field).
    """
    limit = BODY_BYTES if max_bytes is None else max_bytes
    raw = _read_at_most(limit)
    if raw is None:
        raise TooLarge(too_large or f"The body takes at most {limit:,} bytes.")
    data = None
    if request.is_json:
        try:
            data = json.loads(raw)
        except RecursionError:
            raise ValidationFailed("The JSON body is nested too deeply.") from None
        except ValueError:
            data = None
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object with 'Content-Type: application/json'.")
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed("Some fields are not valid; see 'errors'.", errors=exc.normalized_messages()) from None
