"""OAuth clients with their purposes, authorization codes, tokens, consent records and used client
assertions.

Secrets we generate (client secrets, codes, refresh tokens) are stored as HMAC-SHA-256 only.
Access tokens are signed JWTs (RFC 9068); their row, found by ``jti``, says whether they were revoked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import SmallInteger
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idsvc import crypto
from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow
from idsvc.identity.models import Account

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
#: Why a purpose may process the data: the person's consent, or a law (then no consent page).
LEGAL_BASES = ("consent", "statutory")
#: What a consent record says happened.
CONSENT_EVENTS = ("granted", "narrowed", "withdrawn", "expired")
#: Signing algorithms a client may register for its userinfo answers (``application/jwt``).
USERINFO_ALGORITHMS = ("ES256",)


class OAuthClient(Base, ClientMixin):
    """A relying party (agency app) or a machine client (programme, agency back-end)."""

    __tablename__ = "oauth_client"
    __table_args__ = (
        CheckConstraint("min_level IN (1, 2)", name="min_level"),
        CheckConstraint(f"token_endpoint_auth_method IN {AUTH_METHODS!r}", name="auth_method"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: HMAC-SHA-256 of the secret (``crypto.keyed_hash("client-secret", …)``); NULL without one.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(30))
    #: Exact redirect URIs (no wildcard, no prefix match: RFC 9700 §2.1).
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Scopes this client may ask for.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Lowest assurance level any of its logins may have (1 or 2).
    min_level: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: Pairwise sector: clients of one agency share it and see the same ``sub``.
    sector: Mapped[str] = mapped_column(String(200))
    #: First-party client: no consent screen, may receive the ID number.
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: May introspect tokens issued to other clients (an API that accepts our tokens).
    is_resource_server: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Public keys (JWKS) for ``private_key_jwt``.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(10), default="ES256")
    #: Claims this client may ever receive, whatever it asks (sorted names of the catalogue).
    allowed_claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: "ES256": userinfo answers as a JWT signed with the service key; NULL: plain JSON.
    userinfo_signed_response_alg: Mapped[str | None] = mapped_column(String(10))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # --- Authlib ClientMixin ---
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only when exactly one is registered; otherwise the request must name it.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scopes)
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return crypto.compare(self.secret_hash, crypto.keyed_hash("client-secret", client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return self.disabled_at is None and method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class ClientPurpose(Base):
    """A purpose a client registered for the data it asks: what for, on what legal basis, how long
    the agency keeps the data, how long a consent to it lasts."""

    __tablename__ = "client_purpose"
    __table_args__ = (
        UniqueConstraint("client_pk", "code"),
        CheckConstraint(f"legal_basis IN {LEGAL_BASES!r}", name="legal_basis"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"))
    code: Mapped[str] = mapped_column(String(64))
    description_vi: Mapped[str] = mapped_column(String(1000))
    description_en: Mapped[str] = mapped_column(String(1000))
    legal_basis: Mapped[str] = mapped_column(String(10))
    #: How long the agency keeps what it receives (days); NULL: not stated.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    #: How long a consent to this purpose lasts (days); NULL: until withdrawn.
    consent_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[OAuthClient] = relationship()

    def text(self, language: str) -> str:
        return self.description_vi if language == "vi" else self.description_en


class AuthorizationCode(Base, AuthorizationCodeMixin):
    """An authorization code: valid 60 s, single use; a replay revokes what it produced."""

    __tablename__ = "authorization_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    login_session_id: Mapped[int | None] = mapped_column(ForeignKey("login_session.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    #: Assurance level of the login behind the code (1 or 2).
    level: Mapped[int] = mapped_column(SmallInteger)
    amr: Mapped[str] = mapped_column(String(40))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Set when redeemed; a second redemption is a replay.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The purpose the request named (or the client's first).
    purpose_id: Mapped[int | None] = mapped_column(ForeignKey("client_purpose.id"))
    #: The request's ``claims`` parameter, normalised (``ClaimsRequest.to_json()``); NULL: none.
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    client: Mapped[OAuthClient] = relationship()
    account: Mapped[Account] = relationship()

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str:
        return acr_for_level(self.level)

    def get_amr(self) -> list[str]:
        return self.amr.split()


class OAuthToken(Base, TokenMixin):
    """One issuance at the token endpoint: the access token's ``jti`` and, maybe, a refresh token.

    Rotated refresh tokens stay as rows of the same ``family``: presenting one again revokes
    the family (RFC 9700 §4.14.2).
    """

    __tablename__ = "oauth_token"
    __table_args__ = (
        Index("ix_oauth_token_account_active", "account_id", "revoked_at"),
        Index("ix_oauth_token_family", "family"),
        Index("ix_oauth_token_code", "code_id"),
        # The purge walks it (housekeeping): rows with a refresh token in the order of its expiry,
        # access-only rows (refresh_expires_at NULL) in the order of the access token's.
        Index("ix_oauth_token_expiry", "refresh_expires_at", "access_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: ``jti`` of the access token (JWT).
    jti: Mapped[str] = mapped_column(String(43), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"))
    #: NULL for ``client_credentials`` tokens (no person).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    grant_type: Mapped[str] = mapped_column(String(30))
    #: The access token's scope.
    scope: Mapped[str] = mapped_column(String(500))
    #: The refresh token's scope when the access token was given less at a refresh: a refresh
    #: token keeps the scope of the grant (RFC 6749 §6). NULL: the same as ``scope``.
    refresh_scope: Mapped[str | None] = mapped_column(String(500))
    level: Mapped[int | None] = mapped_column(SmallInteger)
    amr: Mapped[str | None] = mapped_column(String(40))
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Refresh-token family: every token descended from one authorization.
    family: Mapped[str] = mapped_column(String(43))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("authorization_code.id"))
    #: The refresh token was exchanged for a new one (a second use is a reuse).
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The grant's purpose and ``claims`` parameter, from its code (NULL for machine tokens).
    purpose_id: Mapped[int | None] = mapped_column(ForeignKey("client_purpose.id"))
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    client: Mapped[OAuthClient] = relationship()
    account: Mapped[Account | None] = relationship()

    # --- Authlib TokenMixin ---
    def check_client(self, client: OAuthClient) -> bool:
        return self.client_pk == client.id

    def get_scope(self) -> str:
        """The scope of the token presented: the refresh token's when found by it."""
        return self.grant_scope() if self.presented_refresh else self.scope

    def grant_scope(self) -> str:
        """The scope of the refresh token (the grant's)."""
        return self.refresh_scope or self.scope

    def get_expires_in(self) -> int:
        return int((self.access_expires_at - self.issued_at).total_seconds())

    #: Set (not stored) when the row was found by its refresh token (refresh, introspection,
    #: revocation): then the refresh token's own life and scope count, not the access token's.
    presented_refresh = False

    def expires_at(self) -> datetime:
        if self.presented_refresh:
            return self.refresh_expires_at or self.access_expires_at
        return self.access_expires_at

    def is_expired(self) -> bool:
        return self.expires_at() <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or (self.presented_refresh and self.rotated_at is not None)

    def get_user(self) -> Account | None:
        return self.account

    def get_client(self) -> OAuthClient:
        return self.client

    @property
    def actor(self) -> str:
        """Who calls with this token, for the audit trail: the person behind it, or the machine client."""
        return f"account:{self.account_id}" if self.account_id else f"client:{self.client.client_id}"


class ConsentRecord(Base):
    """One event of a person's consent to a client's purpose: appended, never updated. The newest
    record of (account, client, purpose) is the consent's current state."""

    __tablename__ = "consent_record"
    __table_args__ = (
        Index("ix_consent_record_current", "account_id", "client_pk", "purpose_id", "id"),
        CheckConstraint(f"event IN {CONSENT_EVENTS!r}", name="event"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("client_purpose.id"))
    event: Mapped[str] = mapped_column(String(10))
    #: The granted claim names, sorted; [] once withdrawn or expired.
    claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Claims the person was shown and left unticked (not asked again while the consent lives).
    declined: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Assurance level of the login that gave it.
    level: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedAssertion(Base):
    """A ``private_key_jwt`` client assertion already seen (its ``jti``), kept until it expires."""

    __tablename__ = "used_assertion"
    __table_args__ = (UniqueConstraint("client_pk", "jti"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


ACR_PREFIX = "urn:idsvc:loa:"


def acr_for_level(level: int) -> str:
    return f"{ACR_PREFIX}{level}"


def level_for_acr(acr: str) -> int | None:
    return {acr_for_level(1): 1, acr_for_level(2): 2}.get(acr)
