"""Registry tables: administrative units, citizens, their numbers, relatives, households, history."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import SmallInteger
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow
from idsvc.registry.dates import PartialDate


class Province(Base):
    """A province-level unit after the 1 July 2025 reform (34 in all)."""

    __tablename__ = "province"

    #: 2-digit code of Decision 19/2025/QĐ-TTg.
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: "tỉnh" or "thành phố trung ương".
    kind: Mapped[str] = mapped_column(String(40))


class Commune(Base):
    """A commune, ward or special zone after the 2025 reform (3,321 in all); no districts."""

    __tablename__ = "commune"

    #: 5-digit code, never reused.
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: "xã", "phường" or "đặc khu".
    kind: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[str] = mapped_column(ForeignKey("province.code"), index=True)


class LegacyProvince(Base):
    """One of the 63 pre-2025 provinces, whose 3-digit code ID numbers carry for life."""

    __tablename__ = "legacy_province"

    #: 3-digit birth-registration prefix of ID numbers ("001" Hà Nội ... "096" Cà Mau).
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The 2025 province it was merged into.
    successor_code: Mapped[str] = mapped_column(ForeignKey("province.code"))


class Household(Base):
    """A registered household (hộ gia đình) with its head and address."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The household's registration number, unique nationwide.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizen.id", use_alter=True, name="fk_household_head_id_citizen"))
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("commune.code"))
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the household stopped existing (merged into another, or its last member left); a
    #: closed household keeps its row and number for the records that name it.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The household it was merged into (``closed_at`` is then set).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))

    head: Mapped[Citizen | None] = relationship(foreign_keys=[head_id], post_update=True)

    def is_open(self) -> bool:
        return self.closed_at is None


class ImportBatch(Base):
    """One bulk import of a file; a re-run of the same file resumes the same batch."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of the file's bytes: the same file is the same batch.
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Totals of the last complete run (rows read, imported, already present, rejected).
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_present: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class Citizen(Base):
    """A person in the National Population Database (the 26 information groups, Law 26/2023 Art. 9)."""

    __tablename__ = "citizen"
    __table_args__ = (
        Index("ix_citizen_name_folded_birth_year", "name_folded", "birth_year"),
        CheckConstraint("sex IN ('M', 'F')", name="sex"),
        CheckConstraint("status IN ('alive', 'deceased', 'missing')", name="status"),
        CheckConstraint("birth_day IS NULL OR birth_month IS NOT NULL", name="birth_day_needs_month"),
        CheckConstraint("birth_month IS NULL OR birth_month BETWEEN 1 AND 12", name="birth_month"),
        CheckConstraint("(status = 'alive') = (date_of_death IS NULL)", name="death_date_iff_not_alive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The current 12-digit personal ID number; all numbers ever held are in ``citizen_number``.
    id_number: Mapped[str] = mapped_column(String(12), unique=True)
    #: Birth name (surname, middle, given), NFC-normalised.
    full_name: Mapped[str] = mapped_column(String(200))
    #: ``full_name`` folded for search (lower case, no diacritics, đ -> d).
    name_folded: Mapped[str] = mapped_column(String(200))
    other_names: Mapped[str | None] = mapped_column(String(200))
    #: Date of birth; month and day are NULL when unknown (precision = what is filled in).
    birth_year: Mapped[int] = mapped_column(SmallInteger)
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)
    #: "M" or "F".
    sex: Mapped[str] = mapped_column(String(1))
    place_of_birth: Mapped[str | None] = mapped_column(String(200))
    #: Where the birth was registered: 3-digit pre-2025 province code or country code (ID prefix).
    birth_registration_code: Mapped[str] = mapped_column(String(3))
    #: Native place (quê quán), free text with the names in force when recorded.
    hometown: Mapped[str | None] = mapped_column(String(200))
    ethnicity: Mapped[str | None] = mapped_column(String(40))
    religion: Mapped[str | None] = mapped_column(String(60))
    #: ISO 3166-1 alpha-2.
    nationality: Mapped[str] = mapped_column(String(2), default="VN")
    blood_type: Mapped[str | None] = mapped_column(String(3))
    marital_status: Mapped[str | None] = mapped_column(String(20))
    #: Permanent residence (thường trú): the commune that serves the person; indexed.
    permanent_commune_code: Mapped[str | None] = mapped_column(ForeignKey("commune.code"), index=True)
    #: Where the person actually lives now (nơi ở hiện tại).
    current_commune_code: Mapped[str | None] = mapped_column(ForeignKey("commune.code"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    #: Relationship to the household head, a key of ``reference.RELATIONSHIPS``.
    relationship_to_head: Mapped[str | None] = mapped_column(String(20))
    #: "alive", "deceased" or "missing" (declared disappeared).
    status: Mapped[str] = mapped_column(String(10), default="alive")
    #: Date of death or of the declared disappearance.
    date_of_death: Mapped[date | None] = mapped_column(Date)
    #: Mobile number (field 25), used to deliver e-ID activation codes.
    phone: Mapped[str | None] = mapped_column(String(20))
    #: E-mail address (field 25), as the person declared it (not verified by the registry).
    email: Mapped[str | None] = mapped_column(String(254))
    #: The identity card in force (field 14): issue date, issuing authority, expiry (None: no expiry).
    id_card_issued_on: Mapped[date | None] = mapped_column(Date)
    id_card_issued_by: Mapped[str | None] = mapped_column(String(200))
    id_card_expires_on: Mapped[date | None] = mapped_column(Date)
    #: Residence file number (số hồ sơ cư trú, field 20).
    residence_file_number: Mapped[str | None] = mapped_column(String(30))
    #: Set when this record was found to be a duplicate of another person's and merged into it:
    #: the survivor's id. A merged record stays (with its history) but is no one's current record.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    #: The bulk import this record came from, and its line in the file (provenance).
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    import_line: Mapped[int | None] = mapped_column(Integer)
    #: Optimistic-locking counter; every update increments it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it as is)

    household: Mapped[Household | None] = relationship(foreign_keys=[household_id])
    numbers: Mapped[list[CitizenNumber]] = relationship(
        back_populates="citizen", order_by="CitizenNumber.issued_at")
    relatives: Mapped[list[Relative]] = relationship(back_populates="citizen", order_by="Relative.id")

    @property
    def date_of_birth(self) -> PartialDate:
        return PartialDate(self.birth_year, self.birth_month, self.birth_day)

    @date_of_birth.setter
    def date_of_birth(self, value: PartialDate) -> None:
        self.birth_year, self.birth_month, self.birth_day = value.year, value.month, value.day

    def is_alive(self) -> bool:
        return self.status == "alive"


class CitizenNumber(Base):
    """Every ID number ever issued or recorded; never deleted, so a number is never reused."""

    __tablename__ = "citizen_number"

    number: Mapped[str] = mapped_column(String(12), primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the number was cancelled and replaced (Circular 59/2021 Art. 6).
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_reason: Mapped[str | None] = mapped_column(String(300))

    citizen: Mapped[Citizen] = relationship(back_populates="numbers")


class Relative(Base):
    """Father, mother, spouse, child, guardian, legal representative or represented person as the
    database records them (field 15).

    The relative is identified by ID number and name and may or may not be in the registry
    (a foreign parent, a parent who died before the database existed). A link that ends (a
    divorce, a representation that ends) gets ``ended_on`` and is never deleted.
    """

    __tablename__ = "citizen_relative"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    #: A key of ``reference.RELATIVE_KINDS``.
    kind: Mapped[str] = mapped_column(String(20))
    #: The relative's ID number, when they have one; indexed to find a person's children.
    id_number: Mapped[str | None] = mapped_column(String(12), index=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    nationality: Mapped[str | None] = mapped_column(String(2))
    #: The day the link ended (divorce, end of a representation); None while it holds.
    ended_on: Mapped[date | None] = mapped_column(Date)

    citizen: Mapped[Citizen] = relationship(back_populates="relatives")

    def is_current(self) -> bool:
        return self.ended_on is None


class CitizenRevision(Base):
    """Append-only history: one row per change of a citizen record, in the change's transaction."""

    __tablename__ = "citizen_revision"
    __table_args__ = (Index("ix_citizen_revision_citizen_id_at", "citizen_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who made the change: a staff account reference, or "system:<job>".
    actor: Mapped[str] = mapped_column(String(100))
    #: Where the change came from: birth_registration, death_registration, clerk_correction,
    #: citizen_request, civil_status_sync, residence_sync.
    source: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    #: The record version this revision produced.
    version: Mapped[int] = mapped_column(Integer)
    #: {field: [old, new]} for every field that changed (old is null on creation).
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The document the change rests on (a civil-status extract, a court decision ...), when given.
    document_number: Mapped[str | None] = mapped_column(String(100))
    document_date: Mapped[date | None] = mapped_column(Date)
    #: Who approved the change when it went through review (a staff actor), else None.
    approved_by: Mapped[str | None] = mapped_column(String(100))


class TemporaryResidence(Base):
    """A registered temporary residence (tạm trú, field 17); ended, never deleted."""

    __tablename__ = "citizen_temporary_residence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("commune.code"))
    address: Mapped[str] = mapped_column(String(300))
    registered_on: Mapped[date] = mapped_column(Date)
    #: The end of the registered period (None: open-ended).
    expires_on: Mapped[date | None] = mapped_column(Date)
    #: The day the person left or the registration was cancelled; None while it holds.
    ended_on: Mapped[date | None] = mapped_column(Date)

    def is_current(self, on: date) -> bool:
        return self.ended_on is None and (self.expires_on is None or self.expires_on >= on)


class Absence(Base):
    """A declared temporary absence (khai báo tạm vắng, field 19); ended, never deleted."""

    __tablename__ = "citizen_absence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    #: The declared end (None: not known).
    ends_on: Mapped[date | None] = mapped_column(Date)
    #: Where the person went, as declared (free text).
    destination: Mapped[str] = mapped_column(String(300))
    #: The day the person came back or the declaration was closed; None while it holds.
    ended_on: Mapped[date | None] = mapped_column(Date)


class CitizenOldNumber(Base):
    """An old identity-card (CMND) number a person held: 9 digits, information group 13.

    Not unique: CMND numbers were issued per province, and a few were issued twice; resolution
    treats a number held by two people as pointing to neither.
    """

    __tablename__ = "citizen_old_number"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(9), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)


class LegacyCommune(Base):
    """A commune of before 1 July 2025 (10,000-odd, with districts), whose 5-digit code people
    keep writing on forms for years."""

    __tablename__ = "legacy_commune"

    #: 5-digit code of the pre-reform list (Decision 124/2004/QĐ-TTg and its amendments).
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(100))
    #: 2-digit pre-reform province code (the ID-number prefix without its leading 0).
    legacy_province_code: Mapped[str] = mapped_column(String(2))


class LegacyCommuneSuccessor(Base):
    """Which 2025 commune(s) a pre-reform commune became. One row: merged whole into it; several:
    split between them (a *weak* agreement when matching), ``is_default`` marking the part that
    kept the commune's centre."""

    __tablename__ = "legacy_commune_successor"

    legacy_code: Mapped[str] = mapped_column(ForeignKey("legacy_commune.code"), primary_key=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("commune.code"), primary_key=True, index=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
