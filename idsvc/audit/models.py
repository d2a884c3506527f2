"""The audit event table (append-only) and the ledger blocks that seal it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow


class AuditEvent(Base):
    """One security-relevant action: who did what to whom, when, from where."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_subject", "subject_type", "subject_id", "at"),
        # The sealer's queue: only the rows not yet in the ledger, in id order (a few at any time).
        Index("ix_audit_event_unsealed", "id", sqlite_where=text("seq IS NULL"),
              postgresql_where=text("seq IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: "source:subject:action" tag, a value of ``audit.tags.AuditAction``.
    action: Mapped[str] = mapped_column(String(60))
    #: Staff or citizen account reference, client id, or "system:<job>".
    actor: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str | None] = mapped_column(String(30))
    #: Internal id of the subject (never a full ID number).
    subject_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Position in the ledger (1, 2, ...), given by the sealer; None until sealed.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class LedgerBlock(Base):
    """A signed tree head over the events of seq ``first_seq`` .. ``first_seq + size - 1``
    (see :mod:`idsvc.audit.ledger`)."""

    __tablename__ = "ledger_block"

    #: 1, 2, ...; never two blocks with one number.
    number: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    size: Mapped[int] = mapped_column(Integer)
    #: Hex RFC 6962 Merkle tree hash of the block's leaves.
    root: Mapped[str] = mapped_column(String(64))
    #: Hex head hash of the previous block (64 zeros for block 1).
    prev_head_hash: Mapped[str] = mapped_column(String(64))
    #: Hex SHA-256 of this block's head (the JWS payload bytes).
    head_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The head, signed: compact JWS (ES256) whose payload is the canonical head JSON.
    signed_head: Mapped[str] = mapped_column(Text)
    #: Key id of the ledger key that signed it (published at /.well-known/ledger-keys.json).
    kid: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The leaf hashes (32 bytes each, in seq order): they give ``root``, and name the event that
    #: no longer matches its leaf.
    leaves: Mapped[bytes] = mapped_column(LargeBinary)
