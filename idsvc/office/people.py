"""Finding and reading people as staff: authority-checked, and every read of a record audited
(the person can later see who looked at their data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.office import authority
from idsvc.office.authority import Staff
from idsvc.office.models import Proposal
from idsvc.registry import search as registry_search
from idsvc.registry import service as registry
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Absence
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenRevision
from idsvc.registry.models import Household
from idsvc.registry.models import Relative
from idsvc.registry.models import TemporaryResidence


@dataclass(frozen=True)
class Found:
    """One person of a search result: the few fields that tell people apart, no more."""

    id_number: str
    full_name: str
    date_of_birth: PartialDate
    sex: str
    permanent_commune_code: str | None
    status: str
    #: Whether the staff member may open the full record.
    readable: bool


@dataclass(frozen=True)
class FoundPage:
    people: list[Found]
    #: The cursor of the next page (``after``), or None on the last page.
    next_after: int | None


@dataclass(frozen=True)
class PersonView:
    """Everything staff see of one person."""

    citizen: Citizen
    household: Household | None
    #: The household's members (the person included), head first.
    members: list[Citizen]
    #: Every relative link, ended ones too (``ended_on``).
    relatives: list[Relative]
    #: Registered temporary residences and declared absences, newest first, ended ones too.
    temporary_residences: list[TemporaryResidence]
    absences: list[Absence]
    #: Every number the person held, oldest first (retired ones carry their reason).
    numbers: list[CitizenNumber]
    old_id_numbers: list[str]
    #: Revisions, oldest first: field old -> new, who, approved by whom, document.
    history: list[CitizenRevision]
    #: Proposals about the person that wait for a decision.
    pending: list[Proposal]


def search(staff: Staff, criteria: registry_search.Query, cursor: int | None = None,
           limit: int = 50) -> FoundPage:
    """People matching ``criteria`` anywhere in the country, minimal fields only.

    :raises Forbidden: the staff member may not search (an admin only).
    :raises ValidationFailed: no criterion, or one that cannot be read.
    """
    authority.require(staff, "search", None)
    page = registry_search.search(criteria, limit=limit, after=cursor)
    return FoundPage(
        [Found(c.id_number, c.full_name, c.date_of_birth, c.sex, c.permanent_commune_code, c.status,
               authority.can(staff, "read", c.permanent_commune_code)) for c in page.citizens],
        page.next_after)


def read(staff: Staff, id_number: str) -> PersonView:
    """The whole record of the person holding ``id_number`` (a merged duplicate's number finds the
    survivor; a replaced number finds nobody, and the registry says so), with household,
    relatives, temporary residences, absences, numbers and history. Audited.

    :raises NotFound: nobody holds the number.
    :raises Forbidden: the person lives outside the staff member's unit.
    """
    citizen = registry.get_citizen_by_number(id_number.strip())
    authority.require(staff, "read", citizen.permanent_commune_code)
    s = db.session()
    members: list[Citizen] = []
    if citizen.household_id is not None:
        members = list(s.scalars(select(Citizen).where(Citizen.household_id == citizen.household_id,
                                                       Citizen.merged_into_id.is_(None))
                                 .order_by((Citizen.relationship_to_head != "head"), Citizen.id)))
    pending = list(s.scalars(select(Proposal).where(
        (Proposal.citizen_id == citizen.id) | (Proposal.other_citizen_id == citizen.id),
        Proposal.status == "pending").order_by(Proposal.id)))
    residences = list(s.scalars(select(TemporaryResidence).where(TemporaryResidence.citizen_id == citizen.id)
                                .order_by(TemporaryResidence.id.desc())))
    absences = list(s.scalars(select(Absence).where(Absence.citizen_id == citizen.id).order_by(Absence.id.desc())))
    audit.record(AuditAction.REGISTRY_PERSON_READ, actor=staff.actor, subject_type="citizen", subject_id=citizen.id,
                 data=authority.granting(staff, "read", citizen.permanent_commune_code))
    return PersonView(citizen=citizen, household=citizen.household, members=members,
                      relatives=list(citizen.relatives), temporary_residences=residences, absences=absences,
                      numbers=list(citizen.numbers),
                      old_id_numbers=registry.old_id_numbers(citizen.id), history=registry.history(citizen),
                      pending=pending)


def may_receive_arrivals(staff: Staff) -> bool:
    """Whether ``staff`` may record people moving into a unit of theirs (a move belongs to its
    destination commune)."""
    return any("propose" in authority.GRANTS.get(role, frozenset()) for role, _unit in staff.roles)


def arrival(staff: Staff, id_number: str) -> PersonView:
    """What a move into the staff member's unit needs of a person who lives elsewhere: who the person
    is and the record's version, nothing more; the whole record stays with the unit the person lives
    in. Inside the staff member's unit, the whole record (:func:`read`). Audited as a read.

    Whether the destination is inside the staff member's unit is decided when the move is proposed.

    :raises NotFound: nobody holds the number.
    :raises Forbidden: the staff member may record no move anywhere.
    """
    citizen = registry.get_citizen_by_number(id_number.strip())
    if authority.can(staff, "read", citizen.permanent_commune_code):
        return read(staff, id_number)
    if not may_receive_arrivals(staff):
        authority.require(staff, "propose", citizen.permanent_commune_code)
    audit.record(AuditAction.REGISTRY_PERSON_READ, actor=staff.actor, subject_type="citizen", subject_id=citizen.id,
                 data={"purpose": "arrival", **(authority.granting(staff, "propose", citizen.permanent_commune_code)
                                                or authority.granting_somewhere(staff, "propose"))})
    return PersonView(citizen=citizen, household=None, members=[], relatives=[], temporary_residences=[],
                      absences=[], numbers=[], old_id_numbers=[], history=[], pending=[])
