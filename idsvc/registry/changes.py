"""How a change reaches a citizen record's history: the document it rests on, the revision row
(field by field, old -> new) and the optimistic lock.

Every change of a record (:mod:`service`, :mod:`lifeevents`) ends here, in the caller's
transaction: one :class:`CitizenRevision` per changed person, naming the version the change
produced, the actor, the reason, the document and who approved it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from idsvc import db
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import ValidationFailed
from idsvc.registry import dates
from idsvc.registry import names
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenRevision

#: Sources of a change (Decree 70/2024 Art. 6: sync with other databases or a citizen's request;
#: the residence, civil-status and identity-card procedures; a court's decision; a merge of two
#: records of one person).
SOURCES = frozenset({"birth_registration", "death_registration", "clerk_correction", "citizen_request",
                     "civil_status_sync", "residence_sync", "number_reissue", "residence_registration",
                     "civil_status_registration", "id_card_issue", "court_decision", "record_merge"})

#: Longest document number and approver the revision keeps (its column sizes).
DOCUMENT_NUMBER_LENGTH = 100
APPROVER_LENGTH = 100


@dataclass(frozen=True)
class Document:
    """The document a change rests on: a civil-status extract, a court decision, a residence
    registration form ... by its number and date."""

    number: str
    date: date


def check_document(document: Document | None) -> None:
    """:raises ValidationFailed: the document's number is empty, too long or holds control
    characters, or its date is not a date or is in the future."""
    if document is None:
        return
    problems = {}
    number = names.canonical(document.number) if isinstance(document.number, str) else None
    if not number:
        problems["document_number"] = "required / bắt buộc"
    elif len(number) > DOCUMENT_NUMBER_LENGTH or names.has_control_characters(number):
        problems["document_number"] = (f"at most {DOCUMENT_NUMBER_LENGTH} visible characters / "
                                       f"tối đa {DOCUMENT_NUMBER_LENGTH} ký tự")
    if not isinstance(document.date, date):
        problems["document_date"] = "a date, YYYY-MM-DD / ngày, YYYY-MM-DD"
    elif document.date > dates.today():
        problems["document_date"] = "in the future / ở tương lai"
    if problems:
        raise ValidationFailed("The document is not valid / Văn bản không hợp lệ: "
                               + "; ".join(f"{k}: {v}" for k, v in problems.items()), errors=problems)


def plain(value: Any) -> Any:
    """A JSON-friendly form of a field value for the revision row."""
    if isinstance(value, (date, PartialDate)):
        return value.isoformat()
    return value


def snapshot(citizen: Citizen, fields: Iterable[str]) -> dict[str, Any]:
    return {f: plain(getattr(citizen, f)) for f in fields}


def flush() -> None:
    """Flush the session; a record someone else changed since it was read (the version counter
    moved under us) is a :class:`Conflict`, not a server error.

    The session must then be rolled back, which the request or the CLI command does on the error.
    """
    try:
        db.session().flush()
    except StaleDataError:
        raise Conflict("Someone else changed this record at the same time; reload it and apply your change "
                       "again. / Hồ sơ vừa được người khác thay đổi; hãy tải lại và thực hiện lại.") from None


def touch(citizen: Citizen) -> None:
    """Mark the record changed when only its linked rows (relatives, residences, absences)
    change: its version moves on, so a clerk holding the old version sees the conflict."""
    citizen.updated_at = utcnow()


def add_revision(citizen: Citizen, *, actor: str, source: str, reason: str, before: dict[str, Any],
                 after: dict[str, Any], document: Document | None = None,
                 approved_by: str | None = None) -> CitizenRevision:
    """Append the revision of a change to ``citizen`` (fields whose value differs between
    ``before`` and ``after``), after flushing the change itself.

    :raises ValidationFailed: unknown source, no reason, a bad document or approver.
    :raises Conflict: the record was changed by someone else meanwhile.
    """
    if source not in SOURCES:
        raise ValidationFailed(f"unknown source of change '{source}'; one of: {', '.join(sorted(SOURCES))}")
    if not reason or not reason.strip():
        raise ValidationFailed("every change to the registry needs a reason (legal basis or request). / "
                               "Mọi thay đổi cần có lý do (căn cứ pháp lý hoặc yêu cầu).",
                               errors={"reason": "required"})
    check_document(document)
    if approved_by is not None and not (0 < len(approved_by) <= APPROVER_LENGTH):
        raise ValidationFailed(f"approved_by is 1 to {APPROVER_LENGTH} characters")
    changes = {f: [before.get(f), after[f]] for f in after if before.get(f) != after[f]}
    flush()  # bumps citizen.version first, so the revision names the version it produced
    revision = CitizenRevision(citizen_id=citizen.id, actor=actor, source=source, reason=reason.strip(),
                               version=citizen.version, changes=changes, approved_by=approved_by,
                               document_number=names.canonical(document.number) if document else None,
                               document_date=document.date if document else None)
    db.session().add(revision)
    flush()
    return revision


def changed_fields_since(citizen_id: int, version: int) -> set[str]:
    """The fields changed by the revisions of a record after ``version`` (what a proposal made at
    ``version`` must not overwrite unseen)."""
    fields: set[str] = set()
    for changes in db.session().scalars(select(CitizenRevision.changes).where(
            CitizenRevision.citizen_id == citizen_id, CitizenRevision.version > version)):
        fields.update(changes or {})
    return fields
