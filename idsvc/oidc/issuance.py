"""Codes and token rows: authorization codes (stored, redeemed once), token issuance, look-up by
access or refresh token, refresh-token rotation, and revocation.

The signed access token itself is made by ``tokens.py`` (the only PyJWT user); what is stored
about it, and when it stops working, is here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Table
from sqlalchemy import bindparam
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
from idsvc.identity.models import Account
from idsvc.identity.models import LoginSession
from idsvc.oidc import tokens
from idsvc.oidc.models import AuthorizationCode
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.models import OAuthToken
from idsvc.oidc.models import acr_for_level
from idsvc.oidc.subjects import pairwise_sub

# --- authorization codes ----------------------------------------------------------------------

def store_code(code: str, *, client: OAuthClient, login: LoginSession, redirect_uri: str, scope: str,
               nonce: str | None, code_challenge: str, code_challenge_method: str, purpose_id: int | None = None,
               claims_request: dict[str, Any] | None = None) -> AuthorizationCode:
    """Keep a new authorization code (its keyed hash only) with how the person logged in, the
    purpose and the ``claims`` parameter of the request."""
    now = utcnow()
    row = AuthorizationCode(
        code_hash=crypto.keyed_hash("authorization-code", code), client_pk=client.id,
        account_id=login.account_id, login_session_id=login.id, redirect_uri=redirect_uri, scope=scope,
        nonce=nonce, code_challenge=code_challenge, code_challenge_method=code_challenge_method,
        level=login.level, amr=login.amr, auth_time=login.auth_time, created_at=now, purpose_id=purpose_id,
        claims_request=claims_request,
        expires_at=now + timedelta(seconds=current_app.config["AUTHORIZATION_CODE_SECONDS"]))
    db.session().add(row)
    db.session().flush()
    return row


def redeem_code(code: str, client: OAuthClient) -> AuthorizationCode | None:
    """The client's unexpired code, now spent; None for anything else.

    A code is claimed atomically: of two concurrent redemptions, exactly one wins. A code
    presented again (a replay) revokes every token issued from it, with its audit event.
    """
    s = db.session()
    row = s.scalar(select(AuthorizationCode).where(
        AuthorizationCode.code_hash == crypto.keyed_hash("authorization-code", code)))
    if row is None or row.client_pk != client.id:
        return None
    now = utcnow()
    claimed = s.execute(update(AuthorizationCode).where(  # type: ignore[attr-defined]  # an UPDATE: CursorResult
        AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None)).values(used_at=now)).rowcount
    if not claimed:  # the revocation stands although the answer is 400 (the token view's policy)
        revoked = revoke_tokens_of_code(row.id)
        audit.record(AuditAction.OIDC_CODE_REPLAY, actor=f"client:{client.client_id}",
                     subject_type="account", subject_id=row.account_id, data={"tokens_revoked": revoked})
        return None
    # Spent even if the redemption then fails (wrong code_verifier or redirect_uri, expired):
    # one try per code (RFC 6749 §4.1.2, RFC 9700 §2.1.1). The token view commits its 400s.
    if row.expires_at <= now:
        return None
    return row


# --- tokens -----------------------------------------------------------------------------------

_TOKENS: Table = OAuthToken.__table__

#: The statement of the hottest look-up, built once (no cache-key work per request).
_TOKEN_BY_JTI = select(OAuthToken).where(OAuthToken.jti == bindparam("jti")).options(
    joinedload(OAuthToken.client),
    # What token checks need of the person, and not their password hash or TOTP seed.
    joinedload(OAuthToken.account).load_only(Account.id, Account.citizen_id, Account.status, Account.level))


def issue_tokens(*, client: OAuthClient, account: Account | None, scope: str, grant_type: str,
                 include_refresh: bool, level: int | None = None, amr: str | None = None,
                 auth_time: Any = None, family: str | None = None, code_id: int | None = None,
                 refresh_scope: str | None = None, purpose_id: int | None = None,
                 claims_request: dict[str, Any] | None = None) -> dict[str, Any]:
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
        "refresh_expires_at": None, "refresh_scope": None, "purpose_id": purpose_id,
        "claims_request": claims_request,
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


def rotate_refresh(row: OAuthToken) -> bool:
    """Rotate a presented refresh token, atomically: of two requests with the same token, exactly
    one wins (the other waits for its row lock, then finds it rotated: a reuse, see
    :func:`refresh_reused`). False when it was rotated or revoked meanwhile.
    """
    now = utcnow()
    if db.session().execute(update(OAuthToken).where(  # type: ignore[attr-defined]  # an UPDATE: CursorResult
            OAuthToken.id == row.id, OAuthToken.rotated_at.is_(None), OAuthToken.revoked_at.is_(None))
            .values(rotated_at=now, revoked_at=now)).rowcount:
        return True
    if db.session().scalar(select(OAuthToken.rotated_at).where(OAuthToken.id == row.id)) is not None:
        refresh_reused(row)
    # else revoked meanwhile (logout, withdrawn consent), not rotated: no reuse
    return False


def refresh_reused(row: OAuthToken) -> None:
    """A rotated refresh token came back: someone holds a copy. Revoke the whole family, with
    the reuse's audit event (both stand although the answer is 400: the token view's policy)."""
    actor = f"client:{row.client.client_id}"
    revoke_family(row.family, reason="refresh-token-reuse", actor=actor)
    audit.record(AuditAction.OIDC_REFRESH_REUSE, actor=actor, subject_type="account", subject_id=row.account_id)


def access_token_row(token: str) -> OAuthToken | None:
    """The stored row of a valid-looking access token (signature, issuer, expiry checked)."""
    try:
        claims = tokens.decode_access_token(token)
    except tokens.TokenInvalid:
        return None
    return token_by_jti(claims["jti"])


def _revoke_where(*conditions: Any) -> int:
    """Revoke the live tokens that match, in one statement; returns how many."""
    return db.session().execute(update(OAuthToken).where(*conditions, OAuthToken.revoked_at.is_(None))  # type: ignore[attr-defined]  # an UPDATE: CursorResult
                                .values(revoked_at=utcnow())).rowcount


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


def revoke_tokens_of_client(client: OAuthClient) -> int:
    """Revoke every live token a client holds (the client is disabled)."""
    return _revoke_where(OAuthToken.client_pk == client.id)


def end_grant(account: Account, client: OAuthClient) -> int:
    """End what a person granted a client: its live tokens are revoked and the codes it has not
    redeemed yet (which would still give it tokens) are spent. Returns how many tokens."""
    revoked = _revoke_where(OAuthToken.account_id == account.id, OAuthToken.client_pk == client.id)
    db.session().execute(update(AuthorizationCode).where(
        AuthorizationCode.account_id == account.id, AuthorizationCode.client_pk == client.id,
        AuthorizationCode.used_at.is_(None)).values(used_at=utcnow()))
    return revoked
