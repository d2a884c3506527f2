"""What the console's pages read besides a person's record: a household with its members, and the
names behind the account references and ids of proposals and histories (one query per page).

Authority-checked like :mod:`idsvc.office.people`; the household read is audited as a read of each
member's record would be. Writes nothing else; flushes through ``audit.record`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.errors import NotFound
from idsvc.identity.models import Account
from idsvc.office import authority
from idsvc.office.authority import Staff
from idsvc.office.models import Proposal
from idsvc.registry.models import Citizen
from idsvc.registry.models import Household


@dataclass(frozen=True)
class HouseholdView:
    household: Household
    #: The members, head first.
    members: list[Citizen]


def read_household(staff: Staff, number: str) -> HouseholdView:
    """The household registered as ``number`` with its members. Audited.

    :raises NotFound: no such household.
    :raises Forbidden: the household's commune is outside the staff member's unit.
    """
    s = db.session()
    household = s.scalar(select(Household).where(Household.number == number.strip()))
    if household is None:
        raise NotFound(f"No household {number} / Không có hộ số {number}.")
    authority.require(staff, "read", household.commune_code)
    members = list(s.scalars(select(Citizen).where(Citizen.household_id == household.id)
                             .order_by(Citizen.relationship_to_head != "head", Citizen.id)))
    office = authority.granting(staff, "read", household.commune_code)
    for member in members:
        audit.record(AuditAction.REGISTRY_PERSON_READ, actor=staff.actor, subject_type="citizen",
                     subject_id=member.id, data={"purpose": "household", **office})
    return HouseholdView(household, members)


def actor_names(actors: Iterable[str | None]) -> dict[str, str]:
    """``{"account:<id>": full name}`` for the account references among ``actors`` (the others,
    "system:…" and the like, are left out: the page shows them as they are)."""
    ids = {int(a.partition(":")[2]) for a in actors
           if a and a.startswith("account:") and a.partition(":")[2].isascii() and a.partition(":")[2].isdigit()}
    if not ids:
        return {}
    rows = db.session().execute(select(Account.id, Citizen.full_name).join(Citizen, Citizen.id == Account.citizen_id)
                                .where(Account.id.in_(ids)))
    return {f"account:{account_id}": name for account_id, name in rows}


@dataclass(frozen=True)
class Concerned:
    """Whom a proposal is about, as its list shows it."""

    id_number: str | None
    full_name: str | None
    household_number: str | None


def concerned(proposals: Iterable[Proposal]) -> dict[int, Concerned]:
    """For each proposal id, the person (or household) it is about; a birth not yet applied is
    about the child named in its payload."""
    found = list(proposals)
    s = db.session()
    citizen_ids = {p.citizen_id for p in found if p.citizen_id is not None}
    household_ids = {p.household_id for p in found if p.household_id is not None}
    people = {row.id: row for row in s.execute(
        select(Citizen.id, Citizen.id_number, Citizen.full_name).where(Citizen.id.in_(citizen_ids)))} \
        if citizen_ids else {}
    households = dict(s.execute(select(Household.id, Household.number).where(Household.id.in_(household_ids)))
                      .tuples()) if household_ids else {}
    out = {}
    for p in found:
        person = people.get(p.citizen_id) if p.citizen_id is not None else None
        out[p.id] = Concerned(
            person.id_number if person else None,
            person.full_name if person else (p.payload or {}).get("full_name"),
            households.get(p.household_id) if p.household_id is not None else None)
    return out
