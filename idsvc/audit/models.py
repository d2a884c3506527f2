"""The audit event table (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow


class AuditEvent(Base):
    """One security-relevant action: who did what to whom, when, from where."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject", "subject_type", "subject_id", "at"),)

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
