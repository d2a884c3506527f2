"""OAuth clients: registration and its rules, look-up (with the per-process cache), secrets,
disabling.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import bindparam
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idsvc import crypto
from idsvc import db
from idsvc import unit_of_work
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.groupwrite import GroupWriteFailed
from idsvc.oidc import issuance
from idsvc.oidc.claims import SCOPES
from idsvc.oidc.models import AUTH_METHODS
from idsvc.oidc.models import GRANT_TYPES
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.models import UsedAssertion
from idsvc.registry import names

#: Longest redirect URI: a code keeps the one it was sent to (``AuthorizationCode.redirect_uri``).
URI_MAX_LENGTH = 500
#: Longest pairwise sector (``OAuthClient.sector``).
SECTOR_MAX_LENGTH = 200

_URI_FIELDS = {"redirect_uris": "redirect URI", "post_logout_redirect_uris": "post-logout redirect URI"}


def _invalid(field: str, message: str) -> ValidationFailed:
    """A refused setting, named as the admin API names the field."""
    return ValidationFailed(message, errors={field: [message]})


def _check_uri(uri: str, field: str) -> str:
    what = _URI_FIELDS[field]
    shown = repr(uri if len(uri) <= 80 else uri[:80] + "...")
    if len(uri) > URI_MAX_LENGTH:
        raise _invalid(field, f"{what} {shown} is longer than {URI_MAX_LENGTH} characters")
    if not (uri.isascii() and uri.isprintable()) or " " in uri:
        raise _invalid(field, f"{what} {shown} must be ASCII without spaces or control characters "
                              "(percent-encode the others)")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises for a port that is not a number up to 65535)
    except ValueError:
        raise _invalid(field, f"{what} {shown} is not a valid URL") from None
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not loopback:
        raise _invalid(field, f"{what} {shown} must use https (http only for 127.0.0.1/localhost).")
    if parts.fragment or "*" in uri or not parts.hostname:
        raise _invalid(field, f"{what} {shown} must be an absolute URI without fragment or wildcard.")
    return uri


def _check_sector(sector: str) -> str:
    if not sector or len(sector) > SECTOR_MAX_LENGTH or not sector.isprintable() or sector != sector.strip():
        raise _invalid("sector", f"the sector (by default the redirect URIs' host) is 1 to {SECTOR_MAX_LENGTH} "
                                 "printable characters, without spaces around")
    return sector


def _client_settings(*, auth_method: str, redirect_uris: list[str], grant_types: list[str],
                     scopes: list[str], min_level: int, jwks: dict[str, Any] | None,
                     post_logout_redirect_uris: list[str], id_token_alg: str, trusted: bool) -> None:
    if auth_method not in AUTH_METHODS:
        raise ValidationFailed(f"auth method is one of {', '.join(AUTH_METHODS)}")
    unknown = sorted(set(grant_types) - set(GRANT_TYPES))
    if not grant_types or unknown:
        raise ValidationFailed(f"grant types are among {', '.join(GRANT_TYPES)}; got {unknown or 'none'}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationFailed(f"unknown scopes {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if "id_number" in scopes and not trusted:
        raise ValidationFailed("only a trusted (first-party) client may be allowed the id_number scope")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ValidationFailed("a client of the authorization code flow needs at least one redirect URI")
    if auth_method == "none" and "client_credentials" in grant_types:
        raise ValidationFailed("a public client (auth method 'none') cannot use client_credentials")
    if auth_method == "private_key_jwt" and not (jwks and jwks.get("keys")):
        raise ValidationFailed("private_key_jwt needs the client's public keys (a JWKS)")
    if jwks is not None:
        _check_jwks(jwks)
    if min_level not in (1, 2):
        raise ValidationFailed("min level is 1 or 2")
    if id_token_alg not in ("ES256", "RS256"):
        raise ValidationFailed("ID token algorithm is ES256 or RS256")
    for uri in redirect_uris:
        _check_uri(uri, "redirect_uris")
    for uri in post_logout_redirect_uris:
        _check_uri(uri, "post_logout_redirect_uris")


#: Members of a private JWK (RFC 7518 §6): a client must send its public keys only.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def _check_jwks(jwks: Any) -> None:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise ValidationFailed('the JWKS is {"keys": [ ...public keys as JSON objects... ]}')
    if any(_PRIVATE_JWK_MEMBERS & set(key) for key in keys):
        raise ValidationFailed("the JWKS holds a private or secret key: send the public keys only "
                               "(and make a new key pair: this one is no longer secret)")
    try:
        KeySet.import_key_set(jwks)
    except (ValueError, TypeError, KeyError, JoseError) as exc:
        raise ValidationFailed(f"the JWKS cannot be read as public keys: {exc}") from None


def _client_name(name: str) -> str:
    name = names.canonical(name)  # spaces collapsed; control characters kept, to be refused
    if not name or len(name) > 200 or not name.isprintable():
        raise ValidationFailed("the client name is 1 to 200 printable characters")
    return name


def register_client(*, name: str, auth_method: str, redirect_uris: list[str], grant_types: list[str],
                    scopes: list[str], actor: str, min_level: int = 1, sector: str | None = None,
                    trusted: bool = False, is_resource_server: bool = False,
                    jwks: dict[str, Any] | None = None, post_logout_redirect_uris: list[str] | None = None,
                    id_token_alg: str = "ES256",  # noqa: S107 (an algorithm name)
                    client_id: str | None = None) -> tuple[OAuthClient, str | None]:
    """Register a client; returns it and its secret (shown once; we keep only its HMAC).

    :raises ValidationFailed: a setting is not allowed, with the reason.
    """
    post_logout = list(dict.fromkeys(post_logout_redirect_uris or []))
    name = _client_name(name)
    # The same value twice means nothing more: kept once.
    redirect_uris, grant_types, scopes = (list(dict.fromkeys(v)) for v in (redirect_uris, grant_types, scopes))
    _client_settings(auth_method=auth_method, redirect_uris=redirect_uris, grant_types=grant_types,
                     scopes=scopes, min_level=min_level, jwks=jwks, post_logout_redirect_uris=post_logout,
                     id_token_alg=id_token_alg, trusted=trusted)
    if client_id is not None and not (client_id and _plausible_client_id(client_id)):
        raise _invalid("client_id", "the client id is 1 to 64 printable characters")
    client_id = client_id or secrets.token_hex(16)  # hex: never starts with "-" (a CLI option)
    sector = _check_sector(sector or _default_sector(redirect_uris, client_id))
    if db.session().scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id)):
        raise ValidationFailed(f"client id {client_id!r} is taken")
    secret = crypto.new_secret() if auth_method.startswith("client_secret") else None
    client = OAuthClient(
        client_id=client_id, name=name, token_endpoint_auth_method=auth_method,
        secret_hash=crypto.keyed_hash("client-secret", secret) if secret else None,
        secret_rotated_at=utcnow() if secret else None, redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=post_logout, grant_types=list(grant_types), scopes=list(scopes),
        min_level=min_level, sector=sector, trusted=trusted,
        is_resource_server=is_resource_server, jwks=jwks, id_token_signed_response_alg=id_token_alg)
    db.session().add(client)
    db.session().flush()
    audit.record(AuditAction.OIDC_CLIENT_CREATE, actor=actor, subject_type="client", subject_id=client.client_id,
                 data={"name": name, "auth_method": auth_method, "grant_types": grant_types, "scopes": scopes,
                       "redirect_uris": redirect_uris, "min_level": min_level, "trusted": trusted})
    return client, secret


def _default_sector(redirect_uris: list[str], client_id: str) -> str:
    hosts = {urlsplit(uri).hostname for uri in redirect_uris}
    return hosts.pop() if len(hosts) == 1 else client_id  # type: ignore[return-value]


def get_client(client_id: str) -> OAuthClient:
    """The client with this id, enabled or disabled (for administration).

    :raises NotFound: no such client.
    """
    client = db.session().scalar(select(OAuthClient).where(OAuthClient.client_id == client_id)) \
        if _plausible_client_id(client_id) else None
    if client is None:
        raise NotFound(f"No client {client_id!r}.")
    return client


def requesting_client_name(next_url: str | None) -> str | None:
    """The name of the enabled client whose authorization request a login will return to
    (``next`` = ``/authorize?...client_id=...``); None for anything else or an unknown client."""
    parts = urlsplit(next_url or "")
    if parts.path != "/authorize":
        return None
    client_ids = parse_qs(parts.query).get("client_id", [])
    if len(client_ids) != 1 or not _plausible_client_id(client_ids[0]):
        return None
    client = db.session().scalar(select(OAuthClient).where(OAuthClient.client_id == client_ids[0]))
    return client.name if client is not None and client.disabled_at is None else None


def _plausible_client_id(client_id: str) -> bool:
    """Worth a query: printable (PostgreSQL refuses a NUL in text) and no longer than the column."""
    return len(client_id) <= 64 and client_id.isprintable()


#: The statement of the hottest look-up, built once (no cache-key work per request).
_CLIENT_BY_ID = select(OAuthClient).where(OAuthClient.client_id == bindparam("client_id"))


def find_client(client_id: str | None) -> OAuthClient | None:
    """The enabled client with this id, or None (what Authlib's ``query_client`` needs).

    Every token, introspection and authorization request looks its client up, so a process keeps
    the clients it has seen for ``CLIENT_CACHE_SECONDS``: a change made elsewhere (another worker,
    the CLI) reaches it within that time; one made through this process's services, at once. The
    cached object is detached and shared by the process's threads: read it, never change it.
    """
    if not client_id or not _plausible_client_id(client_id):
        return None
    cache: dict[str, tuple[float, OAuthClient]] = current_app.extensions.setdefault("idsvc.clients", {})
    hit = cache.get(client_id)
    if hit is not None and hit[0] > time.monotonic():
        client: OAuthClient | None = hit[1]
    elif db.in_transaction():
        # This request's session already has a transaction (on SQLite, the write lock): read in it.
        client = db.session().scalar(_CLIENT_BY_ID, {"client_id": client_id})
    else:
        # One read, no transaction: no BEGIN/COMMIT, and on SQLite no wait for the write lock.
        with db.get_db().read_sessionmaker() as s:
            client = s.scalar(_CLIENT_BY_ID, {"client_id": client_id})
        if client is not None:
            cache[client_id] = (time.monotonic() + current_app.config["CLIENT_CACHE_SECONDS"], client)
    return client if client is not None and client.disabled_at is None else None


def _forget_client(client: OAuthClient) -> None:
    """Changed through this process: its cached copy goes now (other processes: within the TTL).

    Until the change commits, another request of this process still reads the old row and may
    cache it again; so the copy is dropped once more when this session commits.
    """
    cache = current_app.extensions.setdefault("idsvc.clients", {})
    client_id = client.client_id
    cache.pop(client_id, None)
    event.listen(db.session(), "after_commit", lambda _session: cache.pop(client_id, None), once=True)


def list_clients() -> list[OAuthClient]:
    return list(db.session().scalars(select(OAuthClient).order_by(OAuthClient.id)))


def rotate_secret(client: OAuthClient, *, actor: str) -> str:
    """Replace the client secret; the old one stops working at once."""
    if client.disabled_at is not None:
        raise Conflict(f"client {client.client_id!r} is disabled; register a new client instead")
    if not client.token_endpoint_auth_method.startswith("client_secret"):
        raise ValidationFailed(f"client {client.client_id!r} authenticates with "
                               f"{client.token_endpoint_auth_method}; it has no secret")
    secret = crypto.new_secret()
    client.secret_hash, client.secret_rotated_at = crypto.keyed_hash("client-secret", secret), utcnow()
    _forget_client(client)
    audit.record(AuditAction.OIDC_CLIENT_ROTATE_SECRET, actor=actor, subject_type="client",
                 subject_id=client.client_id)
    return secret


def disable_client(client: OAuthClient, *, actor: str) -> int:
    """Disable the client and revoke every token it holds; returns how many were revoked."""
    client.disabled_at = client.disabled_at or utcnow()
    _forget_client(client)
    revoked = issuance.revoke_tokens_of_client(client)
    audit.record(AuditAction.OIDC_CLIENT_DISABLE, actor=actor, subject_type="client",
                 subject_id=client.client_id, data={"tokens_revoked": revoked})
    return revoked




def spend_assertion(client: OAuthClient, jti: str, lifetime: int) -> bool:
    """Record a client assertion's ``jti`` as used for its ``lifetime`` (seconds) and a minute more;
    False when it was used already (a replay).

    Committed in a transaction of its own whatever the request answers (a refused request must
    not make the assertion usable again): the one write apart from the view's policy.
    """
    used = {"client_pk": client.id, "jti": jti[:255], "expires_at": utcnow() + timedelta(seconds=lifetime + 60)}
    try:
        unit_of_work.write_apart([(UsedAssertion.__table__, used)])
    except GroupWriteFailed as exc:
        if isinstance(exc.__cause__, IntegrityError):
            return False  # the jti is there already: a replay
        raise
    return True
