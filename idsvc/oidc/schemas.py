"""A client's settings, checked once, whoever registers the client: the admin API, ``idsvc clients
create``, the seed. Authlib validates the protocol's parameters itself; this is about what we store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate

from idsvc.errors import ValidationFailed
from idsvc.oidc import purposes
from idsvc.oidc.claims import SCOPES
from idsvc.oidc.claims import TRUSTED_ONLY_SCOPES
from idsvc.oidc.keys import ALGORITHMS
from idsvc.oidc.models import AUTH_METHODS
from idsvc.oidc.models import GRANT_TYPES
from idsvc.oidc.models import LEGAL_BASES
from idsvc.oidc.models import USERINFO_ALGORITHMS
from idsvc.oidc.purposes import PurposeSettings
from idsvc.registry import names

#: Longest redirect URI: a code keeps the one it was sent to (``AuthorizationCode.redirect_uri``).
URI_MAX_LENGTH = 500
#: Longest pairwise sector (``OAuthClient.sector``).
SECTOR_MAX_LENGTH = 200
#: Longest client name (``OAuthClient.name``).
NAME_MAX_LENGTH = 200

_NAME_RULE = f"the client name is 1 to {NAME_MAX_LENGTH} printable characters"
_SECTOR_RULE = (f"the sector (by default the redirect URIs' host) is 1 to {SECTOR_MAX_LENGTH} printable "
                "characters, without spaces around")
_URI_FIELDS = {"redirect_uris": "redirect URI", "post_logout_redirect_uris": "post-logout redirect URI"}
#: Members of a private JWK (RFC 7518 §6): a client must send its public keys only.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class ClientSettings:
    """A client's settings as :class:`ClientSettingsSchema` loaded them: canonical and allowed.

    ``sector`` is None when the redirect URIs do not name one host: the client id is then the sector.
    """

    name: str
    auth_method: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    min_level: int
    sector: str | None
    trusted: bool
    is_resource_server: bool
    jwks: dict[str, Any] | None
    id_token_alg: str
    #: None: the claims of the scopes, without the sensitive ones (``purposes.default_allowed_claims``).
    allowed_claims: list[str] | None = None
    userinfo_signed_response_alg: str | None = None
    #: Empty: the one purpose ``login`` (``purposes.default_purpose``).
    purposes: tuple[PurposeSettings, ...] = ()


class PurposeSchema(Schema):
    """A purpose of a client: code, what for (vi, en), legal basis, retention, consent length."""

    code = fields.String(required=True)
    description_vi = fields.String(required=True)
    description_en = fields.String(required=True)
    legal_basis = fields.String(load_default="consent", validate=validate.OneOf(
        LEGAL_BASES, error="legal basis is one of {choices}"))
    retention_days = fields.Integer(load_default=None, allow_none=True)
    consent_days = fields.Integer(load_default=None, allow_none=True)

    @post_load
    def _purpose(self, data: dict[str, Any], **_: Any) -> PurposeSettings:
        return purposes.check_purpose(PurposeSettings(**data))


class ClientSettingsSchema(Schema):
    """Loads a client's settings into :class:`ClientSettings`.

    A field of the wrong type or value is a marshmallow ``ValidationError`` listing the fields; a
    setting against the rules (an http redirect URI, a public client with client_credentials...)
    is a ``ValidationFailed`` whose detail is the reason and whose ``errors`` name the field.
    """

    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX_LENGTH, error=_NAME_RULE))
    auth_method = fields.String(load_default="client_secret_basic", validate=validate.OneOf(
        AUTH_METHODS, error="auth method is one of {choices}"))
    redirect_uris = fields.List(fields.String(), load_default=list)
    post_logout_redirect_uris = fields.List(fields.String(), load_default=list)
    grant_types = fields.List(fields.String(validate=validate.OneOf(
        GRANT_TYPES, error="grant types are among {choices}; got {input}")),
        load_default=lambda: ["authorization_code", "refresh_token"])
    scopes = fields.List(fields.String(validate=validate.OneOf(
        SCOPES, error="unknown scope {input}; known: {choices}")), load_default=lambda: ["openid"])
    min_level = fields.Integer(load_default=1, validate=validate.OneOf([1, 2], error="min level is 1 or 2"))
    sector = fields.String(load_default=None, validate=validate.Length(min=1, max=SECTOR_MAX_LENGTH,
                                                                       error=_SECTOR_RULE))
    trusted = fields.Boolean(load_default=False)
    is_resource_server = fields.Boolean(load_default=False)
    jwks = fields.Dict(load_default=None)
    id_token_alg = fields.String(load_default="ES256", validate=validate.OneOf(
        ALGORITHMS, error="ID token algorithm is one of {choices}"))
    allowed_claims = fields.List(fields.String(), load_default=None, allow_none=True)
    userinfo_signed_response_alg = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        USERINFO_ALGORITHMS, error="userinfo is signed with {choices}, or not at all"))
    purposes = fields.List(fields.Nested(PurposeSchema), load_default=list)

    @post_load
    def _settings(self, data: dict[str, Any], **_: Any) -> ClientSettings:
        """The rules between fields; canonical values (a name's spaces collapsed, each value once).

        :raises ValidationFailed: a setting is not allowed, with the reason and the field.
        """
        name = names.canonical(data["name"])  # spaces collapsed; control characters kept, to be refused
        if not name or len(name) > NAME_MAX_LENGTH or not name.isprintable():
            raise _refused("name", _NAME_RULE)
        # The same value twice means nothing more: kept once.
        lists = {key: list(dict.fromkeys(data[key]))
                 for key in ("redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes")}
        codes = [p.code for p in data["purposes"]]
        if len(set(codes)) != len(codes):
            raise _refused("purposes", "each purpose code once")
        allowed = data["allowed_claims"]
        if allowed is not None:
            allowed = purposes.check_allowed_claims(allowed, trusted=data["trusted"])
        settings = ClientSettings(**{**data, **lists, "name": name, "allowed_claims": allowed,
                                     "purposes": tuple(data["purposes"])})
        _check_rules(settings)
        sector = settings.sector or _single_host(settings.redirect_uris)
        if sector is not None:
            _check_sector(sector)
        return replace(settings, sector=sector)


def client_settings(values: Mapping[str, Any]) -> ClientSettings:
    """``values`` loaded through :class:`ClientSettingsSchema`, for a caller without a JSON body
    (the CLI, the seed); a refused field is a ``ValidationFailed`` that says why, in one line.

    :raises ValidationFailed: a field or a setting is not allowed.
    """
    try:
        return ClientSettingsSchema().load(values)
    except ValidationError as exc:
        errors = exc.normalized_messages()
        raise ValidationFailed("; ".join(_messages(errors)), errors=errors) from None


def _messages(errors: Any) -> list[str]:
    """Every message of marshmallow's errors (a list's are keyed by the item's index)."""
    if isinstance(errors, dict):
        return [message for value in errors.values() for message in _messages(value)]
    if isinstance(errors, list):
        return [message for value in errors for message in _messages(value)]
    return [str(errors)]


def _refused(field: str, message: str) -> ValidationFailed:
    """A refused setting, named as the admin API names the field."""
    return ValidationFailed(message, errors={field: [message]})


def _check_rules(s: ClientSettings) -> None:
    if not s.grant_types:
        raise _refused("grant_types", f"grant types are among {', '.join(GRANT_TYPES)}; got none")
    for scope in TRUSTED_ONLY_SCOPES:
        if scope in s.scopes and not s.trusted:
            raise _refused("scopes", f"only a trusted (first-party) client may be allowed the {scope} scope")
    if "authorization_code" in s.grant_types and not s.redirect_uris:
        raise _refused("redirect_uris", "a client of the authorization code flow needs at least one redirect URI")
    if s.auth_method == "none" and "client_credentials" in s.grant_types:
        raise _refused("grant_types", "a public client (auth method 'none') cannot use client_credentials")
    if s.auth_method == "private_key_jwt" and not (s.jwks and s.jwks.get("keys")):
        raise _refused("jwks", "private_key_jwt needs the client's public keys (a JWKS)")
    if s.jwks is not None:
        _check_jwks(s.jwks)
    for uri in s.redirect_uris:
        _check_uri(uri, "redirect_uris")
    for uri in s.post_logout_redirect_uris:
        _check_uri(uri, "post_logout_redirect_uris")


def _check_jwks(jwks: Any) -> None:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise _refused("jwks", 'the JWKS is {"keys": [ ...public keys as JSON objects... ]}')
    if any(_PRIVATE_JWK_MEMBERS & set(key) for key in keys):
        raise _refused("jwks", "the JWKS holds a private or secret key: send the public keys only "
                               "(and make a new key pair: this one is no longer secret)")
    try:
        KeySet.import_key_set(jwks)
    except (ValueError, TypeError, KeyError, JoseError) as exc:
        raise _refused("jwks", f"the JWKS cannot be read as public keys: {exc}") from None


def _check_uri(uri: str, field: str) -> None:
    what = _URI_FIELDS[field]
    shown = repr(uri if len(uri) <= 80 else uri[:80] + "...")
    if len(uri) > URI_MAX_LENGTH:
        raise _refused(field, f"{what} {shown} is longer than {URI_MAX_LENGTH} characters")
    if not (uri.isascii() and uri.isprintable()) or " " in uri:
        raise _refused(field, f"{what} {shown} must be ASCII without spaces or control characters "
                              "(percent-encode the others)")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises for a port that is not a number up to 65535)
    except ValueError:
        raise _refused(field, f"{what} {shown} is not a valid URL") from None
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not loopback:
        raise _refused(field, f"{what} {shown} must use https (http only for 127.0.0.1/localhost).")
    if parts.fragment or "*" in uri or not parts.hostname:
        raise _refused(field, f"{what} {shown} must be an absolute URI without fragment or wildcard.")


def _single_host(redirect_uris: list[str]) -> str | None:
    """The default sector: the redirect URIs' host when they name one."""
    hosts = {urlsplit(uri).hostname for uri in redirect_uris}
    return hosts.pop() if len(hosts) == 1 else None


def _check_sector(sector: str) -> None:
    if not sector or len(sector) > SECTOR_MAX_LENGTH or not sector.isprintable() or sector != sector.strip():
        raise _refused("sector", _SECTOR_RULE)
