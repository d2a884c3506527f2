"""Attribute-source tables: one row per imported list (its provenance), one row per fact."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow


class SourceList(Base):
    """One imported list (a commune's poor-household list, a disability or pension register).

    The file's SHA-256 identifies it: the same file is the same list, loaded once.
    """

    __tablename__ = "source_list"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: "poverty", "disability" or "pension" (:data:`idsvc.eligibility.sources.kinds.KINDS`).
    kind: Mapped[str] = mapped_column(String(20), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(300))
    #: Who issued the list and how it came (provenance), as the operator gave it.
    issuer: Mapped[str] = mapped_column(String(300), default="")
    #: The date the list is as of: it is in force from then (poverty: 1 January of its latest year).
    valid_on: Mapped[date] = mapped_column(Date)
    #: The year a poverty list is for (its latest ``year``); None for the other kinds.
    year: Mapped[int | None] = mapped_column(Integer)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class SourceListCommune(Base):
    """A commune a poverty list covers (one it names): its households not on the list are not poor."""

    __tablename__ = "source_list_commune"

    list_id: Mapped[int] = mapped_column(ForeignKey("source_list.id"), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)


class SourceFact(Base):
    """One fact of one person from one list: a household's poverty level for a year, a disability
    grade from its certification date, a pension between its start and end dates."""

    __tablename__ = "source_fact"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("source_list.id"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    #: "poor" / "near_poor"; the grade "1" to "3"; the benefit's name.
    value: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    #: Poverty lists: the commune whose list names the household.
    commune_code: Mapped[str | None] = mapped_column(String(5))
