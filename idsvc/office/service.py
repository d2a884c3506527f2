"""Proposals of registry operations and their review (maker-checker).

A staff member proposes an operation (:func:`propose`): the payload is checked completely at once
(by trying the operation in a savepoint that is rolled back), then the operation either applies
at once — an immediate one (``OFFICE_IMMEDIATE_OPERATIONS``) that needs no review — or waits,
``pending``, for a supervisor other than its author (:func:`approve`, :func:`reject`).

Nobody proposes or decides a change of their own record or of a member of their own household,
and nobody decides their own proposal. A decision is an atomic claim (``UPDATE … WHERE
status = 'pending'``): two supervisors approving at once apply it once. The people concerned are
locked (``SELECT … FOR UPDATE``) before anything is checked, so two changes of one person never
overwrite each other: an approval against an older version fails when a field it changes was
changed meanwhile (:func:`approve`).

Plain functions that flush and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import Forbidden
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.office import authority
from idsvc.office import operations
from idsvc.office.authority import Staff
from idsvc.office.models import STATUSES
from idsvc.office.models import Proposal
from idsvc.office.operations import Operation
from idsvc.office.operations import Subject
from idsvc.registry import changes
from idsvc.registry import service as registry
from idsvc.registry.changes import Document
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import Household

#: The most proposals one page may hold.
MAX_PAGE = 200


class StaleVersion(Conflict):
    """The record changed since the version the staff member saw."""

    code = "stale-version"

    def __init__(self, detail: str, *, current_version: int) -> None:
        super().__init__(detail, current_version=current_version)
        self.current_version = current_version


class AlreadyDecided(Conflict):
    """The proposal is no longer pending (another supervisor decided it first, or it was withdrawn)."""

    code = "already-decided"


# -- proposing ---------------------------------------------------------------------------------

def propose(staff: Staff, operation: str, payload: Mapping[str, Any], *, subject: str | None, reason: str,
            document: Document | None = None, expected_version: int | None = None) -> Proposal:
    """Propose an operation; an immediate one is applied now (status ``applied``).

    :param subject: the person's ID number (person and pair operations; a pair's payload names the
        other person), the household's number (household operations), None for a birth.
    :param expected_version: the version of the person's record the staff member saw.
    :raises ValidationFailed: the payload, the reason or the subject is not valid (``errors`` per field).
    :raises NotFound: no such person or household.
    :raises Forbidden: outside the staff member's unit, or their own record or household.
    :raises StaleVersion: the record is no longer at ``expected_version``.
    :raises Conflict: the operation cannot apply to the record as it is (already deceased ...).
    """
    op = operations.get(operation)
    if not reason or not reason.strip():
        raise ValidationFailed("A reason is required (legal basis or request) / Cần ghi lý do.",
                               errors={"reason": "required / bắt buộc"})
    cleaned = op.clean(payload)
    changes.check_document(document)
    target = _resolve(op, subject, cleaned)
    unit = op.unit(target, cleaned)
    if unit is None:
        raise ValidationFailed("The record names no permanent commune: record a move first / "
                               "Hồ sơ chưa có nơi thường trú: cần đăng ký thường trú trước.",
                               errors={"subject": "no permanent commune"})
    authority.require(staff, "propose", unit)
    _refuse_own(staff, target, cleaned)
    if expected_version is not None and target.citizen is not None and target.citizen.version != expected_version:
        raise StaleVersion(f"The record changed since you opened it (version {expected_version}, now "
                           f"{target.citizen.version}) / Hồ sơ đã thay đổi từ khi bạn mở; tải lại và nhập lại.",
                           current_version=target.citizen.version)
    proposal = Proposal(
        operation=op.name, status="pending", unit_code=unit, province_code=authority.province_of(unit) or unit[:2],
        citizen_id=target.citizen.id if target.citizen else None,
        other_citizen_id=target.other.id if target.other else None,
        household_id=target.household.id if target.household else None,
        payload=cleaned, touched=sorted(op.touched(cleaned)),
        base_version=target.citizen.version if target.citizen else None,
        other_base_version=target.other.version if target.other else None,
        reason=reason.strip(), document_number=document.number if document else None,
        document_date=document.date if document else None, proposed_by_account_id=staff.account_id,
        proposed_at=utcnow())
    s = db.session()
    s.add(proposal)
    s.flush()
    if is_immediate(op, cleaned):
        proposal.result = _apply(op, target, proposal, actor=staff.actor, approved_by=None)
        proposal.status, proposal.decided_at = "applied", utcnow()
    else:
        _try(op, target, proposal, actor=staff.actor)
    s.flush()
    audit.record(AuditAction.OFFICE_PROPOSAL_CREATE, actor=staff.actor, **_audit_subject(proposal),
                 data={"proposal": proposal.id, "operation": op.name, "status": proposal.status})
    return proposal


def is_immediate(op: Operation, payload: Mapping[str, Any]) -> bool:
    """Whether a proposal of ``op`` with ``payload`` applies at once (configuration, unless the
    operation needs review)."""
    return op.name in current_app.config["OFFICE_IMMEDIATE_OPERATIONS"] and not op.needs_review(payload)


# -- deciding ----------------------------------------------------------------------------------

def approve(staff: Staff, proposal_id: int) -> Proposal:
    """Approve a pending proposal and apply it; the revisions name ``staff`` as approver.

    :raises NotFound: no such proposal.
    :raises Forbidden: outside the supervisor's unit, their own proposal, their own record or household.
    :raises AlreadyDecided: it is no longer pending (decided by someone else first, or withdrawn).
    :raises Conflict: a field it changes was changed since it was proposed (the fields are named).
    """
    proposal = _decidable(staff, proposal_id)
    op = operations.get(proposal.operation)
    target = _subject_of(proposal)
    # Read again now that the people are locked: an approval that held the lock before may have
    # decided it meanwhile (then it is "already decided", not a conflict of fields it changed).
    db.session().refresh(proposal)
    if not proposal.is_pending():
        raise AlreadyDecided(f"Proposal {proposal.id} is already {proposal.status} / Đề xuất đã được xử lý.")
    _refuse_own(staff, target, proposal.payload)
    _check_versions(proposal, target)
    _claim(proposal, status="applied", decided_by_account_id=staff.account_id, decided_at=utcnow())
    proposal.result = _apply(op, target, proposal, actor=f"account:{proposal.proposed_by_account_id}",
                             approved_by=staff.actor)
    if op.subject == "new" and proposal.result.get("citizen_id") is not None:
        proposal.citizen_id = proposal.result["citizen_id"]
    db.session().flush()
    audit.record(AuditAction.OFFICE_PROPOSAL_APPLY, actor=staff.actor, **_audit_subject(proposal),
                 data={"proposal": proposal.id, "operation": op.name})
    return proposal


def reject(staff: Staff, proposal_id: int, note: str) -> Proposal:
    """Reject a pending proposal; the note (why) is kept with it.

    :raises ValidationFailed: no note.
    :raises NotFound, Forbidden, AlreadyDecided: as :func:`approve`.
    """
    if not note or not note.strip():
        raise ValidationFailed("A rejection needs a note saying why / Từ chối cần ghi lý do.",
                               errors={"note": "required / bắt buộc"})
    proposal = _decidable(staff, proposal_id)
    _refuse_own(staff, _subject_of(proposal, lock=False), proposal.payload)
    _claim(proposal, status="rejected", decided_by_account_id=staff.account_id, decided_at=utcnow(),
           decision_note=note.strip())
    audit.record(AuditAction.OFFICE_PROPOSAL_REJECT, actor=staff.actor, **_audit_subject(proposal),
                 data={"proposal": proposal.id, "operation": proposal.operation})
    return proposal


def withdraw(staff: Staff, proposal_id: int) -> Proposal:
    """Withdraw one's own proposal while it is pending.

    :raises Forbidden: someone else's proposal.
    :raises AlreadyDecided: it is no longer pending.
    """
    proposal = _get(proposal_id)
    if proposal.proposed_by_account_id != staff.account_id:
        raise Forbidden("Only its author withdraws a proposal / Chỉ người đề xuất được rút đề xuất.")
    _claim(proposal, status="withdrawn", decided_at=utcnow())
    audit.record(AuditAction.OFFICE_PROPOSAL_WITHDRAW, actor=staff.actor, **_audit_subject(proposal),
                 data={"proposal": proposal.id, "operation": proposal.operation})
    return proposal


# -- reading -----------------------------------------------------------------------------------

def proposals(staff: Staff, *, status: str | None = "pending", mine: bool = False, after: int | None = None,
              limit: int = 50) -> list[Proposal]:
    """Proposals by id (oldest first, after ``after``): the staff member's own (``mine``), or
    those of the units they work in (all of them for an auditor or a nationwide role).

    :raises ValidationFailed: an unknown status or a limit out of range.
    :raises Forbidden: the staff member has no registry role (an admin only).
    """
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status is one of {', '.join(STATUSES)}", errors={"status": "unknown"})
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit: between 1 and {MAX_PAGE}", errors={"limit": "out of range"})
    query = select(Proposal)
    if mine:
        query = query.where(Proposal.proposed_by_account_id == staff.account_id)
    else:
        registry_roles = [(role, unit) for role, unit in staff.roles if "read" in authority.GRANTS.get(role, ())]
        if not registry_roles:
            raise Forbidden("Your roles give no access to the registry / Vai trò của bạn không có quyền "
                            "truy cập cơ sở dữ liệu dân cư.")
        if not any(role == "auditor" or unit == "*" for role, unit in registry_roles):
            provinces = [unit for _, unit in registry_roles if len(unit) == 2]
            communes = [unit for _, unit in registry_roles if len(unit) == 5]
            query = query.where(Proposal.province_code.in_(provinces) | Proposal.unit_code.in_(communes))
    if status is not None:
        query = query.where(Proposal.status == status)
    if after is not None:
        query = query.where(Proposal.id > after)
    return list(db.session().scalars(query.order_by(Proposal.id).limit(limit)))


def get_proposal(staff: Staff, proposal_id: int) -> Proposal:
    """One proposal, for its author or staff who may read in its unit.

    :raises NotFound: no such proposal.
    :raises Forbidden: neither.
    """
    proposal = _get(proposal_id)
    if proposal.proposed_by_account_id != staff.account_id:
        authority.require(staff, "read", proposal.unit_code)
    return proposal


def diff(proposal: Proposal) -> list[tuple[str, Any, Any]]:
    """(field, current value, proposed value) for each field the proposal changes, for the
    side-by-side view: the person's fields, or the household's; None as current for a birth."""
    op = operations.get(proposal.operation)
    s = db.session()
    current: Citizen | Household | None = None
    if op.subject == "household" and proposal.household_id is not None:
        current = s.get(Household, proposal.household_id)
    elif op.subject != "new" and proposal.citizen_id is not None:
        current = s.get(Citizen, proposal.citizen_id)
    return [(field, _current(current, field) if current is not None else None, proposed)
            for field, proposed in op.proposed(proposal.payload).items()]


# -- the parts ---------------------------------------------------------------------------------

def _get(proposal_id: int) -> Proposal:
    proposal = db.session().get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"No proposal {proposal_id} / Không có đề xuất số {proposal_id}.")
    return proposal


def _decidable(staff: Staff, proposal_id: int) -> Proposal:
    """The proposal, if ``staff`` may decide it (a supervisor of its unit, not its author)."""
    proposal = _get(proposal_id)
    authority.require(staff, "approve", proposal.unit_code)
    if proposal.proposed_by_account_id == staff.account_id:
        raise Forbidden("Nobody decides their own proposal: another supervisor must / "
                        "Không ai được tự phê duyệt đề xuất của mình.")
    if not proposal.is_pending():
        raise AlreadyDecided(f"Proposal {proposal.id} is already {proposal.status} / Đề xuất đã được xử lý.")
    return proposal


def _claim(proposal: Proposal, **values: Any) -> None:
    """Move the proposal out of ``pending``, atomically: whoever comes second gets AlreadyDecided."""
    claimed = db.changed(db.session(), update(Proposal).where(
        Proposal.id == proposal.id, Proposal.status == "pending").values(**values)
        .execution_options(synchronize_session=False))
    if not claimed:
        raise AlreadyDecided(f"Proposal {proposal.id} was already decided / Đề xuất đã được xử lý.")
    for key, value in values.items():  # what the UPDATE wrote, as the session's copy's committed state
        set_committed_value(proposal, key, value)


def _check_versions(proposal: Proposal, target: Subject) -> None:
    """Refuse an approval whose fields were changed since the proposal was made."""
    touched = set(proposal.touched)
    for citizen, base in ((target.citizen, proposal.base_version), (target.other, proposal.other_base_version)):
        if citizen is None or base is None or citizen.version == base:
            continue
        since = changes.changed_fields_since(citizen.id, base)
        changed = sorted(since if operations.EVERYTHING in touched else since & touched)
        if changed:
            raise Conflict(f"The record changed since the proposal was made (version {base}, now {citizen.version}): "
                           f"{', '.join(changed)}; reject it and propose again / Hồ sơ đã thay đổi các trường "
                           f"{', '.join(changed)} sau khi đề xuất; hãy từ chối và đề xuất lại.",
                           fields=changed, current_version=citizen.version)


def _apply(op: Operation, target: Subject, proposal: Proposal, *, actor: str,
           approved_by: str | None) -> dict[str, Any]:
    try:
        return op.apply(target, proposal.payload, actor=actor, reason=proposal.reason,
                        document=_document(proposal), approved_by=approved_by)
    except StaleDataError:
        # The people are locked first, so this is another writer outside the office services.
        raise Conflict("The record was changed by someone else meanwhile; try again / "
                       "Hồ sơ vừa được người khác thay đổi; hãy thử lại.") from None


class _Tried(Exception):
    """Ends the try of an operation: leaving the savepoint by it rolls the savepoint back."""


def _try(op: Operation, target: Subject, proposal: Proposal, *, actor: str) -> None:
    """Apply the operation in a savepoint and roll it back: the registry's rules judge the payload
    now, not when a supervisor approves it days later."""
    s = db.session()
    try:
        with s.begin_nested():
            _apply(op, target, proposal, actor=actor, approved_by=None)
            s.flush()
            raise _Tried
    except _Tried:
        pass


def _document(proposal: Proposal) -> Document | None:
    if proposal.document_number is None or proposal.document_date is None:
        return None
    return Document(proposal.document_number, proposal.document_date)


def _lock(citizen_id: int) -> Citizen:
    """The person's row, locked until the transaction ends, as committed now."""
    citizen = db.session().scalar(select(Citizen).where(Citizen.id == citizen_id).with_for_update()
                                  .execution_options(populate_existing=True))
    if citizen is None:
        raise NotFound(f"No citizen with internal id {citizen_id}.")
    return citizen


def _lock_households(payload: Mapping[str, Any], *ids: int | None) -> dict[int, Household]:
    """The households concerned (``ids``, and those the payload names: a household joined, one
    merged in), then their members, locked in id order. Households before people, always, so
    that two operations never wait for each other in a cycle."""
    s = db.session()
    numbers = [payload[k] for k in ("household", "source") if payload.get(k)]
    wanted = {i for i in ids if i is not None}
    if numbers:
        wanted |= set(s.scalars(select(Household.id).where(Household.number.in_(numbers))))
    if not wanted:
        return {}
    locked = {h.id: h for h in s.scalars(select(Household).where(Household.id.in_(wanted)).order_by(Household.id)
                                         .with_for_update().execution_options(populate_existing=True))}
    s.scalars(select(Citizen).where(Citizen.household_id.in_(wanted)).order_by(Citizen.id).with_for_update()
              .execution_options(populate_existing=True)).all()
    return locked


def _lock_pair(first_id: int | None, second_id: int | None) -> tuple[Citizen | None, Citizen | None]:
    # In id order, so two transactions locking the same pair never wait for each other in a cycle.
    locked = {i: _lock(i) for i in sorted({i for i in (first_id, second_id) if i is not None})}
    return (locked.get(first_id) if first_id else None, locked.get(second_id) if second_id else None)


def _resolve(op: Operation, subject: str | None, payload: Mapping[str, Any]) -> Subject:
    """The subject named by the staff member, its people locked."""
    subject = (subject or "").strip() or None
    if op.subject == "new":
        return Subject()
    if subject is None:
        raise ValidationFailed("Name the person (ID number) or the household (number) / "
                               "Cần số định danh hoặc số hộ.", errors={"subject": "required / bắt buộc"})
    if op.subject == "household":
        household_id = db.session().scalar(select(Household.id).where(Household.number == subject))
        if household_id is None:
            raise NotFound(f"No household {subject} / Không có hộ số {subject}.")
        return Subject(household=_lock_households(payload, household_id)[household_id])
    citizen = registry.get_citizen_by_number(subject)
    other = registry.get_citizen_by_number(payload["other_id_number"]) if op.subject == "pair" else None
    if other is not None and other.id == citizen.id:
        raise ValidationFailed("The two people are the same person / Hai người là một.",
                               errors={"other_id_number": "the same person"})
    _lock_households(payload)
    first, second = _lock_pair(citizen.id, other.id if other else None)
    return Subject(citizen=first, other=second)


def _subject_of(proposal: Proposal, *, lock: bool = True) -> Subject:
    s = db.session()
    if not lock:
        return Subject(citizen=s.get(Citizen, proposal.citizen_id) if proposal.citizen_id else None,
                       other=s.get(Citizen, proposal.other_citizen_id) if proposal.other_citizen_id else None,
                       household=s.get(Household, proposal.household_id) if proposal.household_id else None)
    households = _lock_households(proposal.payload, proposal.household_id)
    first, second = _lock_pair(proposal.citizen_id, proposal.other_citizen_id)
    household = households[proposal.household_id] if proposal.household_id is not None else None
    return Subject(citizen=first, other=second, household=household)


def _refuse_own(staff: Staff, target: Subject, payload: Mapping[str, Any]) -> None:
    """Nobody changes their own record or their household's (nor puts someone into it)."""
    own = "Nobody proposes or decides a change of their own record or household / " \
          "Không ai được đề xuất hay phê duyệt thay đổi hồ sơ của mình hoặc của hộ mình."
    for person in (target.citizen, target.other):
        if person is None:
            continue
        if person.id == staff.citizen_id or (
                staff.household_id is not None and person.household_id == staff.household_id):
            raise Forbidden(own)
    households = {target.household.id} if target.household is not None else set()
    number = payload.get("household")
    if number:
        households |= set(db.session().scalars(select(Household.id).where(Household.number == number)))
    if staff.household_id is not None and staff.household_id in households:
        raise Forbidden(own)
    own_number = db.session().scalar(select(Citizen.id_number).where(Citizen.id == staff.citizen_id))
    if own_number is not None and own_number in {payload.get(k) for k in ("father", "mother", "other_id_number")}:
        raise Forbidden(own)


def _current(record: Citizen | Household, field: str) -> Any:
    if field == "household" and isinstance(record, Citizen):
        return record.household.number if record.household is not None else None
    value = getattr(record, field, None)
    if isinstance(value, (date, PartialDate)):
        return value.isoformat()
    return value


def _audit_subject(proposal: Proposal) -> dict[str, Any]:
    if proposal.citizen_id is not None:
        return {"subject_type": "citizen", "subject_id": proposal.citizen_id}
    if proposal.household_id is not None:
        return {"subject_type": "household", "subject_id": proposal.household_id}
    return {"subject_type": "proposal", "subject_id": proposal.id}
