"""E-ID accounts, staff roles, activation codes, login sessions and the notification outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import SmallInteger
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow
from idsvc.registry.models import Citizen

#: The staff roles, also the database's check on ``StaffRole.role``.
STAFF_ROLES = ("clerk", "supervisor", "auditor", "admin")


class Account(Base):
    """The e-ID account of one registry citizen (Decree 69/2024); staff accounts have roles too."""

    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("level IN (1, 2)", name="level"),
        CheckConstraint("status IN ('pending', 'active', 'disabled')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The registry person; one account per person, whatever their ID number becomes.
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), unique=True)
    #: Verified assurance: 1 = self-service, 2 = the person was verified in person by a clerk.
    level: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: "pending" until activated, "active", or "disabled" (``disabled_reason`` says why).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    disabled_reason: Mapped[str | None] = mapped_column(String(40))
    #: argon2id PHC string; NULL until activation.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: TOTP seed, AES-GCM encrypted under a key derived from HASH_KEY; NULL until enrolled.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigId)
    #: Failed attempts (password or second factor) in the current window.
    failed_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Lockouts so far without a successful login: each one doubles the next lock's duration.
    lockouts: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    citizen: Mapped[Citizen] = relationship()
    roles: Mapped[list[StaffRole]] = relationship(back_populates="account", cascade="all, delete-orphan")

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class StaffRole(Base):
    """A staff role held by an account, scoped to an administrative unit."""

    __tablename__ = "staff_role"
    __table_args__ = (
        UniqueConstraint("account_id", "role", "unit_code"),
        CheckConstraint("role IN ({})".format(", ".join(f"'{role}'" for role in STAFF_ROLES)), name="role"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    #: Province (2 digits) or commune (5 digits) code the role covers; "*" for the whole country.
    unit_code: Mapped[str] = mapped_column(String(5))
    granted_by: Mapped[str] = mapped_column(String(100))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(back_populates="roles")


class ActivationCode(Base):
    """A one-time code that lets a person set the password of their account."""

    __tablename__ = "activation_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    #: HMAC-SHA-256 of the code (``crypto.keyed_hash("activation", …)``).
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[str] = mapped_column(String(100))
    #: "clerk" (handed over at the counter) or "sms" (sent to the registered phone).
    channel: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Spent, or replaced by a newer code. (Wrong codes count towards the account's lockout.)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginSession(Base):
    """A browser login, server-side: the cookie carries a random token, we keep its HMAC."""

    __tablename__ = "login_session"
    __table_args__ = (Index("ix_login_session_account_active", "account_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    #: Assurance reached in this session: 1 after the password, 2 after the second factor.
    level: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: Authentication methods used (RFC 8176 values: "pwd", "otp"), space-separated.
    amr: Mapped[str] = mapped_column(String(40), default="pwd")
    #: When the person last authenticated (OIDC ``auth_time``); step-up moves it.
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Absolute end of the session, whatever the activity.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Wrong second-factor codes in this session; the session ends at the limit.
    totp_failures: Mapped[int] = mapped_column(SmallInteger, default=0)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class OutboxMessage(Base):
    """A message for a person (SMS in production); development reads them from this table."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    #: Where it goes, masked except the last 3 digits.
    recipient: Mapped[str] = mapped_column(String(40))
    #: The text, encrypted (base64 of AES-GCM): read it through ``service.outbox``.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
