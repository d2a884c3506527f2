"""OAuth clients: registration (of settings checked by ``schemas.py``), look-up with the
per-process cache, secrets, disabling, spent client assertions.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from flask import current_app
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
from idsvc.oidc import purposes
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.models import UsedAssertion
from idsvc.oidc.schemas import ClientSettings
from idsvc.web import authorization_request_in


def register_client(settings: ClientSettings, *, actor: str,
                    client_id: str | None = None) -> tuple[OAuthClient, str | None]:
    """Register a client with settings loaded by ``schemas.ClientSettingsSchema``; returns it and
    its secret (shown once; we keep only its HMAC). ``client_id``: a chosen id (the seed's), else
    a random one.

    :raises ValidationFailed: the chosen client id is not allowed, or taken.
    """
    if client_id is not None and not (client_id and _plausible_client_id(client_id)):
        raise ValidationFailed("the client id is 1 to 64 printable characters",
                               errors={"client_id": ["the client id is 1 to 64 printable characters"]})
    client_id = client_id or secrets.token_hex(16)  # hex: never starts with "-" (a CLI option)
    if db.session().scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id)):
        raise ValidationFailed(f"client id {client_id!r} is taken")
    secret = crypto.new_secret() if settings.auth_method.startswith("client_secret") else None
    client = OAuthClient(
        client_id=client_id, name=settings.name, token_endpoint_auth_method=settings.auth_method,
        secret_hash=crypto.keyed_hash("client-secret", secret) if secret else None,
        secret_rotated_at=utcnow() if secret else None, redirect_uris=list(settings.redirect_uris),
        post_logout_redirect_uris=list(settings.post_logout_redirect_uris), grant_types=list(settings.grant_types),
        scopes=list(settings.scopes), min_level=settings.min_level, sector=settings.sector or client_id,
        trusted=settings.trusted, is_resource_server=settings.is_resource_server, jwks=settings.jwks,
        id_token_signed_response_alg=settings.id_token_alg,
        allowed_claims=(settings.allowed_claims if settings.allowed_claims is not None
                        else purposes.default_allowed_claims(settings.scopes)),
        userinfo_signed_response_alg=settings.userinfo_signed_response_alg)
    db.session().add(client)
    db.session().flush()
    audit.record(AuditAction.OIDC_CLIENT_CREATE, actor=actor, subject_type="client", subject_id=client.client_id,
                 data={"name": settings.name, "auth_method": settings.auth_method,
                       "grant_types": settings.grant_types, "scopes": settings.scopes,
                       "redirect_uris": settings.redirect_uris, "min_level": settings.min_level,
                       "trusted": settings.trusted, "allowed_claims": client.allowed_claims})
    for purpose in settings.purposes or (purposes.default_purpose(settings.trusted),):
        purposes.add_purpose(client, purpose, actor=actor)
    return client, secret


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
    client_ids = authorization_request_in(next_url).get("client_id", [])
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


def set_allowed_claims(client: OAuthClient, names: list[str], *, actor: str) -> list[str]:
    """Replace the client's claim allow-list; a claim left out is never released again, at once
    (the releases read it from the database, not from the cache).

    :raises ValidationFailed: an unknown claim, or one only a trusted client may have.
    """
    client.allowed_claims = purposes.check_allowed_claims(names, trusted=client.trusted)
    _forget_client(client)
    audit.record(AuditAction.OIDC_CLIENT_ALLOWED_CLAIMS, actor=actor, subject_type="client",
                 subject_id=client.client_id, data={"allowed_claims": client.allowed_claims})
    return client.allowed_claims


def set_userinfo_alg(client: OAuthClient, alg: str | None, *, actor: str) -> None:
    """Sign the client's userinfo answers with ``alg`` ("ES256"), or answer plain JSON (None).

    :raises ValidationFailed: an algorithm we do not sign userinfo with.
    """
    client.userinfo_signed_response_alg = purposes.check_userinfo_alg(alg)
    _forget_client(client)
    audit.record(AuditAction.OIDC_CLIENT_USERINFO_ALG, actor=actor, subject_type="client",
                 subject_id=client.client_id, data={"alg": alg})


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
