"""OIDC business operations: clients, pairwise subjects, token issuance and revocation, consent.

Authlib (``grants.py``) handles the protocol; it calls these functions for everything stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import event
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import joinedload

from idsvc import crypto
from idsvc import db
from idsvc import unit_of_work
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.identity.models import Account
from idsvc.oidc import tokens
from idsvc.oidc.claims import SCOPES
from idsvc.oidc.models import AUTH_METHODS
from idsvc.oidc.models import GRANT_TYPES
from idsvc.oidc.models import AuthorizationCode
from idsvc.oidc.models import Consent
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.models import OAuthToken
from idsvc.oidc.models import acr_for_level
from idsvc.registry import names

# --- clients ----------------------------------------------------------------------------------

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
    return hosts.pop() if len(hosts) == 1 else client_id  # type: ignore[return-value]  # each has a host (_check_uri)


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


#: The statements of the hottest look-ups, built once (no cache-key work per request).
_CLIENT_BY_ID = select(OAuthClient).where(OAuthClient.client_id == bindparam("client_id"))
_TOKEN_BY_JTI = select(OAuthToken).where(OAuthToken.jti == bindparam("jti")).options(
    joinedload(OAuthToken.client),
    # What token checks need of the person, and not their password hash or TOTP seed.
    joinedload(OAuthToken.account).load_only(Account.id, Account.citizen_id, Account.status, Account.level))
_CONSENTED = select(Consent.scopes).where(Consent.account_id == bindparam("account_id"),
                                          Consent.client_pk == bindparam("client_pk"), Consent.revoked_at.is_(None))


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
    revoked = _revoke_where(OAuthToken.client_pk == client.id)
    audit.record(AuditAction.OIDC_CLIENT_DISABLE, actor=actor, subject_type="client",
                 subject_id=client.client_id, data={"tokens_revoked": revoked})
    return revoked


# --- subjects ---------------------------------------------------------------------------------

def pairwise_sub(client: OAuthClient, account: Account) -> str:
    """The person's ``sub`` for this client's sector: HMAC(sector, citizen), not reversible, and
    different for every sector so two agencies cannot join their users on it.
    """
    key = str(current_app.config["PAIRWISE_KEY"]).encode()
    mac = hmac.new(key, f"{client.sector}|{account.citizen_id}".encode(), hashlib.sha256).digest()
    return crypto.b64url(mac)


# --- tokens -----------------------------------------------------------------------------------

_TOKENS: Table = OAuthToken.__table__


def issue_tokens(*, client: OAuthClient, account: Account | None, scope: str, grant_type: str,
                 include_refresh: bool, level: int | None = None, amr: str | None = None,
                 auth_time: Any = None, family: str | None = None, code_id: int | None = None,
                 refresh_scope: str | None = None) -> dict[str, Any]:
    """Issue an access token (JWT) and maybe a refresh token; store the row with its audit event.

    ``refresh_scope``: the refresh token's scope, when wider than the access token's (a refresh
    that asked for less). Returns the RFC 6749 token response body. A client_credentials request
    has begun no transaction before this, so its row and event go through the group writer
    (the token endpoint declares ``group_commit``; see ``idsvc.unit_of_work``).
    """
    cfg = current_app.config
    now = utcnow()
    access_ttl = cfg["ACCESS_TOKEN_SECONDS"]
    jti = crypto.new_secret()
    claims: dict[str, Any] = {
        "iss": cfg["ISSUER"], "aud": cfg["ISSUER"], "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + access_ttl, "jti": jti, "client_id": client.client_id,
        "sub": pairwise_sub(client, account) if account else client.client_id, "scope": scope,
    }
    if account is not None and level is not None:
        claims["acr"] = acr_for_level(level)
        claims["auth_time"] = int(auth_time.timestamp())
    row: dict[str, Any] = {
        "jti": jti, "client_pk": client.id, "account_id": account.id if account else None,
        "grant_type": grant_type, "scope": scope, "level": level, "amr": amr, "auth_time": auth_time,
        "issued_at": now, "access_expires_at": now + timedelta(seconds=access_ttl),
        "family": family or crypto.new_secret(), "code_id": code_id, "refresh_hash": None,
        "refresh_expires_at": None, "refresh_scope": None,
    }
    body: dict[str, Any] = {"access_token": tokens.encode_access_token(claims), "token_type": "Bearer",
                            "expires_in": access_ttl, "scope": scope}
    if include_refresh and account is not None:
        refresh = crypto.new_secret()
        row["refresh_hash"] = crypto.keyed_hash("refresh-token", refresh)
        row["refresh_expires_at"] = now + timedelta(days=cfg["REFRESH_TOKEN_DAYS"])
        row["refresh_scope"] = refresh_scope if refresh_scope and refresh_scope != scope else None
        body["refresh_token"] = refresh
    # The jti names the token in the audit trail; it is an identifier, not the token.
    issued = audit.event(AuditAction.OIDC_TOKEN_ISSUE, actor=f"client:{client.client_id}",
                         subject_type="account" if account else "client",
                         subject_id=account.id if account else client.client_id,
                         data={"grant_type": grant_type, "scope": scope, "jti": jti})
    # The token and its event in one write: one transaction, and for client_credentials one
    # round trip to the group writer.
    unit_of_work.write_rows([(_TOKENS, row), issued])
    return body


def token_by_jti(jti: str) -> OAuthToken | None:
    """The token row with its client and account, in one round trip (every API call needs them)."""
    return db.session().scalar(_TOKEN_BY_JTI, {"jti": jti})


def token_by_refresh(refresh_token: str) -> OAuthToken | None:
    return db.session().scalar(select(OAuthToken).where(
        OAuthToken.refresh_hash == crypto.keyed_hash("refresh-token", refresh_token)))


def access_token_row(token: str) -> OAuthToken | None:
    """The stored row of a valid-looking access token (signature, issuer, expiry checked)."""
    try:
        claims = tokens.decode_access_token(token)
    except tokens.TokenInvalid:
        return None
    return token_by_jti(claims["jti"])


def _revoke_where(*conditions: Any) -> int:
    """Revoke the live tokens that match, in one statement; returns how many."""
    return db.session().execute(update(OAuthToken).where(*conditions, OAuthToken.revoked_at.is_(None))
                                .values(revoked_at=utcnow())).rowcount  # type: ignore[attr-defined]  # an UPDATE: CursorResult


def revoke_family(family: str, *, reason: str, actor: str) -> int:
    """Revoke every token of a refresh family (reuse detected, or the client revoked one)."""
    count = _revoke_where(OAuthToken.family == family)
    audit.record(AuditAction.OIDC_TOKEN_REVOKE, actor=actor, subject_type="token-family",
                 subject_id=family[:12], data={"reason": reason, "tokens": count})
    return count


def revoke_tokens_of_code(code_id: int) -> int:
    """A replayed code: revoke everything that was issued from it (RFC 6749 §4.1.2)."""
    families = select(OAuthToken.family).where(OAuthToken.code_id == code_id).scalar_subquery()
    return _revoke_where(or_(OAuthToken.code_id == code_id, OAuthToken.family.in_(families)))


def revoke_tokens_of_account(account_id: int) -> int:
    """Revoke every live token of a person (log out everywhere, password change, death)."""
    return _revoke_where(OAuthToken.account_id == account_id)


# --- consent ----------------------------------------------------------------------------------

def consented_scopes(account: Account, client: OAuthClient, scopes: list[str]) -> list[str]:
    """Of ``scopes``, those the person agreed (and still agrees) to release to the client.

    A trusted (first-party) client needs no consent. Without consent only ``openid`` (the
    pairwise ``sub``) remains, so a withdrawn consent stops the release of claims at once.
    """
    if client.trusted:
        return list(scopes)
    agreed = _agreed(account, client) or []
    return [s for s in scopes if s in agreed or s == "openid"]


def has_consent(account: Account, client: OAuthClient, scopes: list[str]) -> bool:
    if client.trusted:
        return True
    agreed = _agreed(account, client)
    return agreed is not None and set(scopes) <= set(agreed)


def _agreed(account: Account, client: OAuthClient) -> list[str] | None:
    """The scopes of the person's live consent to the client; None without one."""
    return db.session().scalar(_CONSENTED, {"account_id": account.id, "client_pk": client.id})


def grant_consent(account: Account, client: OAuthClient, scopes: list[str]) -> Consent:
    s = db.session()
    consent = s.scalar(select(Consent).where(Consent.account_id == account.id, Consent.client_pk == client.id))
    if consent is None:
        consent = Consent(account_id=account.id, client_pk=client.id, scopes=[])
        s.add(consent)
    consent.scopes = sorted(set(scopes) | (set(consent.scopes) if consent.revoked_at is None else set()))
    consent.granted_at, consent.revoked_at = utcnow(), None
    s.flush()
    return consent


def consents_of(account: Account) -> list[tuple[Consent, OAuthClient]]:
    """The person's live consents with their clients, most recent first. (A trusted first-party
    client needs none, so it is not listed: withdrawing would not change what it receives.)"""
    return [(consent, client) for consent, client in db.session().execute(
        select(Consent, OAuthClient).join(OAuthClient, OAuthClient.id == Consent.client_pk)
        .where(Consent.account_id == account.id, Consent.revoked_at.is_(None), OAuthClient.trusted.is_(False))
        .order_by(Consent.granted_at.desc()))]


def withdraw_consent(account: Account, client_id: str) -> int:
    """Withdraw the person's consent to a client: userinfo releases nothing more to it (it checks
    consent at every read), the tokens it holds for the person are revoked, and the next login
    asks again. Returns how many tokens were revoked.

    :raises NotFound: the person has no live consent to that client.
    """
    found = next(((consent, client) for consent, client in consents_of(account) if client.client_id == client_id),
                 None)
    if found is None:
        raise NotFound("Bạn không chia sẻ dữ liệu với ứng dụng này. / You do not share data with this app.")
    consent, client = found
    now = utcnow()
    consent.revoked_at = now
    revoked = _revoke_where(OAuthToken.account_id == account.id, OAuthToken.client_pk == client.id)
    # A code the app has not redeemed yet would still give it tokens: spent too.
    db.session().execute(update(AuthorizationCode).where(
        AuthorizationCode.account_id == account.id, AuthorizationCode.client_pk == client.id,
        AuthorizationCode.used_at.is_(None)).values(used_at=now))
    audit.record(AuditAction.OIDC_CONSENT_WITHDRAW, actor=f"account:{account.id}", subject_type="client",
                 subject_id=client.client_id, data={"scopes": consent.scopes, "tokens_revoked": revoked})
    return revoked


# --- logout -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogoutTarget:
    """Where RP-initiated logout may send the browser, and whose ``id_token_hint`` came with it."""

    redirect_uri: str | None
    client: OAuthClient | None
    hint_sub: str | None
    #: An ``id_token_hint`` was sent but is not an ID token of ours (nothing in the request is used).
    hint_invalid: bool = False

    def hint_matches(self, account: Account) -> bool:
        return (self.client is not None and self.hint_sub is not None
                and self.hint_sub == pairwise_sub(self.client, account))


def logout_target(values: Any) -> LogoutTarget:
    """Read ``id_token_hint``, ``client_id``, ``post_logout_redirect_uri`` and ``state``; the URI
    is used only when it is registered, exactly, for that client (else the person stays with us)."""
    client, hint_sub = None, None
    hint = values.get("id_token_hint")
    if hint:
        try:
            claims = tokens.decode_id_token_hint(hint)
        except tokens.TokenInvalid:
            return LogoutTarget(None, None, None, hint_invalid=True)
        audience = claims.get("aud")
        client = find_client(audience[0] if isinstance(audience, list) else audience)
        hint_sub = claims.get("sub") if client else None
    if client is None:
        client = find_client(values.get("client_id"))
    uri = values.get("post_logout_redirect_uri")
    if not uri or client is None or uri not in client.post_logout_redirect_uris:
        return LogoutTarget(None, client, hint_sub)
    state = values.get("state")
    if state:
        uri = add_params_to_uri(uri, [("state", state)])
    return LogoutTarget(uri, client, hint_sub)
