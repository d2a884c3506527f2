"""Eligibility tables: programmes and the versions of their rule sets (append-only); the clients
registered for each programme; the asynchronous list checks (batches) with their rows; the
block-key index of the registry that identity resolution searches; enrolments; clerks' decisions
on the matches the matcher left to them."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import Numeric
from sqlalchemy import PrimaryKeyConstraint
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow
from idsvc.eligibility import rules
from idsvc.registry.models import Citizen


class Programme(Base):
    """A social-assistance programme (a Decree 20/2021 group, the social pension ...), loaded from
    its file in ``fixtures/programmes``."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Stable code, the file's ``code`` ("sa-orphan-child").
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    #: Instrument and article ("Nghị định 20/2021/NĐ-CP, Điều 5 khoản 1").
    legal_basis: Mapped[str] = mapped_column(String(300))
    #: "monthly_allowance" (Decree 20) or "social_pension" (Law on Social Insurance 2024, Art. 21).
    benefit_category: Mapped[str] = mapped_column(String(40))
    #: Multiplier of the base rate (hệ số, Decree 20 Art. 6).
    coefficient: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    #: Base rate (mức chuẩn trợ giúp xã hội), VND per month, and the date it applies from.
    base_rate: Mapped[int] = mapped_column(Integer)
    base_rate_effective: Mapped[date] = mapped_column(Date)
    #: Earlier base rates, ``[{"from": "2021-07-01", "amount": 360000}, ...]``: a check as of an earlier
    #: date uses the rate then in force.
    base_rate_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    #: Coefficients that depend on the person (Decree 20 Art. 6: by age, by degree of disability):
    #: ``[{"coefficient": "2.5", "when": [rule, ...]}, ...]``; the highest that applies wins.
    coefficient_variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    #: Whether the programme's agency may receive the ID numbers of the people it looks up.
    may_receive_id_numbers: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    #: The rule-set version in force (``programme_rule_set.version``).
    rule_set_version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def monthly_amount(self) -> int:
        """VND per month at the current base rate and the base coefficient, rounded to the dong."""
        return int((self.base_rate * self.coefficient).to_integral_value())

    def amounts(self) -> rules.Amounts:
        """How this programme's amount is worked out for a person on a date (:class:`rules.Amounts`)."""
        history = [(date.fromisoformat(r["from"]), int(r["amount"])) for r in self.base_rate_history or ()]
        return rules.amounts_from([*history, (self.base_rate_effective, self.base_rate)], self.coefficient,
                                  self.coefficient_variants or ())


class ProgrammeRuleSet(Base):
    """One version of a programme's rules; rows are only ever added."""

    __tablename__ = "programme_rule_set"
    __table_args__ = (UniqueConstraint("programme_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    #: 1, 2, ... per programme.
    version: Mapped[int] = mapped_column(Integer)
    #: The rules in their stored form (:func:`idsvc.eligibility.rules.rule_from_dict`).
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: SHA-256 of the programme file this version came from: an unchanged file adds no version.
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(200))


class Enrolment(Base):
    """A person a programme enrolled (pays), from ``enrolled_at`` until ``ended_at``.

    One active enrolment (``ended_at`` NULL) per programme and person. The ``last_*`` columns are
    what the last check or recheck saw, so that a recheck reports what changed since.
    """

    __tablename__ = "enrolment"
    __table_args__ = (
        Index("uq_enrolment_active", "programme_id", "citizen_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    #: The programme's own reference of the row that enrolled the person.
    ref: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enrolled_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: "ELIGIBLE", "NOT_ELIGIBLE" or "REVIEW", and its reason codes.
    last_verdict: Mapped[str] = mapped_column(String(20))
    last_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Permanent commune and life status seen then (never shown to the programme: a recheck
    #: reports only that they changed).
    last_commune_code: Mapped[str | None] = mapped_column(String(5))
    last_status: Mapped[str] = mapped_column(String(10))


class ProgrammeClient(Base):
    """An OAuth client (a programme's back-end) registered to check lists against a programme."""

    __tablename__ = "programme_client"
    __table_args__ = (UniqueConstraint("programme_id", "client_pk"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(100))


#: A batch's states: ``queued`` (uploaded), ``running`` (a worker began), ``done``, ``failed``,
#: ``purged`` (its rows and results deleted after the retention: the status URL answers 410).
BATCH_STATES = ("queued", "running", "done", "failed", "purged")


class CheckBatch(Base):
    """A list uploaded for an asynchronous check, and where its check stands.

    The decision step over the whole list is claimed with a lease (``claimed_by``, ``lease_until``)
    like a chunk (:class:`CheckBatchChunk`).
    """

    __tablename__ = "check_batch"
    __table_args__ = (Index("ix_check_batch_state_created_at", "state", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The public, unguessable name of the batch in its URLs.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"), index=True)
    #: The client that submitted it: the only one that may read it.
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"), index=True)
    #: Who submitted it, for the audit trail of the check (``client:<client_id>``).
    actor: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    #: The date the rules are evaluated on.
    reference_date: Mapped[date] = mapped_column(Date)
    #: The date (in Vietnam) the list was submitted: a birth date after it is in the future.
    submitted_on: Mapped[date] = mapped_column(Date)
    #: Set when the results are decided.
    rule_set_version: Mapped[int | None] = mapped_column(Integer)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_resolved: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the batch failed (``failed``), for the client.
    error: Mapped[str | None] = mapped_column(Text)
    #: The worker deciding the batch, and until when its claim holds.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckBatchChunk(Base):
    """Consecutive rows of a batch that one worker resolves in one go (``pending`` → ``resolved``).

    A worker claims a pending chunk whose lease is free or expired; a worker killed mid-way leaves
    its lease to expire, and another takes the chunk over. The resolutions are stored in the
    transaction that marks the chunk resolved, only by the worker that still holds the claim.
    """

    __tablename__ = "check_batch_chunk"
    __table_args__ = (UniqueConstraint("batch_id", "number"), Index("ix_check_batch_chunk_state", "state"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("check_batch.id"))
    #: 0, 1, ... in the order of the list.
    number: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How many times a worker claimed it (1 unless a worker died or failed on it).
    claims: Mapped[int] = mapped_column(Integer, default=0)
    #: How many times resolving it raised an error; the batch fails at the limit.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckBatchRow(Base):
    """One row of an uploaded list: the values as sent, then its resolution, then its result."""

    __tablename__ = "check_batch_row"
    __table_args__ = (PrimaryKeyConstraint("batch_id", "line"), Index("ix_check_batch_row_batch_id_chunk",
                                                                      "batch_id", "chunk"),
                      Index("ix_check_batch_row_review_fingerprint", "review_fingerprint",
                            sqlite_where=text("review_fingerprint IS NOT NULL"),
                            postgresql_where=text("review_fingerprint IS NOT NULL")))

    batch_id: Mapped[int] = mapped_column(ForeignKey("check_batch.id"))
    #: The row's line in the uploaded file (CSV: 2 is the first row after the header).
    line: Mapped[int] = mapped_column(Integer)
    #: :attr:`CheckBatchChunk.number` of the chunk it belongs to.
    chunk: Mapped[int] = mapped_column(Integer)
    #: The row's values by column, as read.
    row_values: Mapped[dict[str, str]] = mapped_column("values", JSON)
    #: Why the row could not even be read (bad CSV quoting, not a JSON object), or None.
    error: Mapped[str | None] = mapped_column(String(500))
    #: ``Resolution.to_dict()``, once its chunk is resolved.
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: ``{"row": CheckedRow.as_output(), "reasons": [...]}``, once the batch is decided (the reasons
    #: as a list too: a reason of an invalid row may hold the ``;`` that joins them in ``row``).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: For a row resolved as ``review``: the fingerprint of its identifying values
    #: (:func:`idsvc.eligibility.decisions.fingerprint`) and its best candidate (``citizen.id``, no
    #: foreign key: the row is a copy of what was resolved). The review queue reads these two.
    review_fingerprint: Mapped[str | None] = mapped_column(String(64))
    review_candidate_id: Mapped[int | None] = mapped_column(BigId)


class CitizenBlockKey(Base):
    """The blocking keys of each citizen (:func:`idsvc.eligibility.matching.blocking_keys`), and one
    ``f:<surname>|<middle names>|<given name>`` key with the folded name parts the frequencies count.

    Derived data, rebuilt by ``idsvc eligibility index`` and kept current by
    :func:`idsvc.eligibility.blockindex.refresh_index`."""

    __tablename__ = "citizen_block_key"

    #: The primary key (key, citizen_id) is what a search reads: no table access needed.
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    #: No foreign key: the index is rebuilt in bulk and only ever joined to ``citizen``.
    citizen_id: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)


class NameFrequency(Base):
    """How many citizens have each folded surname (``part`` "s"), middle names ("m") and given name ("g")."""

    __tablename__ = "name_frequency"

    part: Mapped[str] = mapped_column(String(1), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    citizens: Mapped[int] = mapped_column(Integer)


class BlockIndexState(Base):
    """One row: up to which change the index is current (the last ``citizen.updated_at`` and id
    re-keyed), and how many citizens the name frequencies count."""

    __tablename__ = "block_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watermark_at: Mapped[datetime] = mapped_column(UTCDateTime)
    watermark_id: Mapped[int] = mapped_column(BigId)
    citizens: Mapped[int] = mapped_column(Integer, default=0)
    rebuilt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MatchDecision(Base):
    """A clerk's decision on a row the matcher could not settle: which candidate the row is, or
    none of them. Rows are only ever added; a later decision on the same fingerprint replaces the
    earlier one (``sequence`` + 1, named by the clerk who changes it: two clerks deciding at once
    meet the unique constraint, and the second is told the row was decided meanwhile).

    The next check of a list resolves every row with this fingerprint from the decision in force.
    """

    __tablename__ = "match_decision"
    __table_args__ = (UniqueConstraint("programme_id", "fingerprint", "sequence"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    #: Keyed hash of the row's identifying values as the matcher reads them
    #: (:func:`idsvc.eligibility.decisions.fingerprint`): never the values themselves.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: 1 for the first decision on the fingerprint, 2 for the one that replaced it ...
    sequence: Mapped[int] = mapped_column(Integer)
    #: The person the row is, or None: none of the candidates.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    #: Who decided (``account:<id>``).
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The batch row the decision was made on (the batch stays as a tombstone once purged; the row
    #: may be gone).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("check_batch.id"))
    line: Mapped[int | None] = mapped_column(Integer)


#: The index is refreshed from the citizens changed since its watermark: found by this index.
Index("ix_citizen_updated_at_id", Citizen.updated_at, Citizen.id)
