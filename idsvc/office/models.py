"""The office's table: proposals of registry operations, waiting for (or past) a second pair of eyes."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idsvc.db import Base
from idsvc.db import BigId
from idsvc.db import UTCDateTime
from idsvc.db import utcnow

#: The states of a proposal, also the database's check on ``Proposal.status``.
STATUSES = ("pending", "applied", "rejected", "withdrawn")


class Proposal(Base):
    """One registry operation a staff member asked for: applied at once (an immediate operation),
    or pending until a supervisor other than its author approves or rejects it.

    Never deleted: a rejected or withdrawn proposal stays, with its note, as the record of what
    was asked and refused.
    """

    __tablename__ = "office_proposal"
    __table_args__ = (
        CheckConstraint("status IN ({})".format(", ".join(f"'{s}'" for s in STATUSES)), name="status"),
        # The approval queue of a province (and of "*": status alone), oldest first.
        Index("ix_office_proposal_status_province_code_id", "status", "province_code", "id"),
        # A person's proposals, for the person page and the pending-change warning.
        Index("ix_office_proposal_citizen_id_id", "citizen_id", "id"),
        # "My proposals".
        Index("ix_office_proposal_proposed_by_account_id_id", "proposed_by_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: A key of ``operations.OPERATIONS``.
    operation: Mapped[str] = mapped_column(String(40))
    #: "pending", "applied", "rejected" or "withdrawn".
    status: Mapped[str] = mapped_column(String(10), default="pending")
    #: The person concerned; for a birth, the new person once applied.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    #: The second person of a pair operation (marriage, divorce, record merge).
    other_citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    #: The commune whose staff may propose it (``Operation.unit``), and its province (approvers).
    unit_code: Mapped[str] = mapped_column(String(5))
    province_code: Mapped[str] = mapped_column(String(2))
    #: The operation's values, as validated when proposed (dates as ISO text).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The record fields the operation changes: approval against an older version fails only
    #: when one of them changed meanwhile.
    touched: Mapped[list[str]] = mapped_column(JSON)
    #: The record versions the author saw (person, other person of a pair).
    base_version: Mapped[int | None] = mapped_column(Integer)
    other_base_version: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    #: The legal document the change rests on (number and date), when given.
    document_number: Mapped[str | None] = mapped_column(String(100))
    document_date: Mapped[date | None] = mapped_column(Date)
    proposed_by_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The supervisor who approved or rejected it; None for one applied at once or withdrawn.
    decided_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it was rejected (required then), or a remark on approval.
    decision_note: Mapped[str | None] = mapped_column(Text)
    #: What applying it produced: the new person's number, the revisions' versions ...
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def is_pending(self) -> bool:
        return self.status == "pending"
