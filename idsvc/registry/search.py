"""Finding people in the registry as a clerk does: by name without accents, birth date or year,
commune (a 2025 code or a pre-2025 one), household, or any number the person held.

Every criterion narrows through an index (folded name and birth year, permanent commune, household,
the number tables), and pages are cut by citizen id (keyset: ``after`` the last id shown), so a page
costs the same on page 1 and page 10,000 of a 100-million registry. The service flushes nothing and
writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import or_
from sqlalchemy import select

from idsvc import db
from idsvc.errors import ValidationFailed
from idsvc.registry import names
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenOldNumber
from idsvc.registry.models import Household
from idsvc.registry.models import LegacyCommuneSuccessor

#: The most people one page may hold.
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Query:
    """What a clerk typed; every criterion given must hold."""

    #: A full name, with or without diacritics, in any case ("nguyen van an" finds "Nguyễn Văn An").
    name: str | None = None
    #: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``: a record agrees when its known parts are these.
    born: str | None = None
    #: A 5-digit commune code of permanent residence: 2025, or pre-2025 (its successors are searched).
    commune: str | None = None
    #: A household registration number.
    household: str | None = None
    #: Any 12-digit number the person held (current or retired), or an old 9-digit CMND number.
    number: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    citizens: list[Citizen]
    #: The ``after`` of the next page, or None on the last one.
    next_after: int | None


def search(query: Query, *, limit: int = 50, after: int | None = None) -> Page:
    """The people matching every criterion of ``query``, by citizen id, ``limit`` at most.

    :raises ValidationFailed: no criterion, or one that cannot be read (the message says which).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit: between 1 and {MAX_PAGE}")
    statement = _narrowed(select(Citizen), query)
    if after is not None:
        statement = statement.where(Citizen.id > after)
    found: list[Citizen] = list(db.session().scalars(statement.order_by(Citizen.id).limit(limit + 1)))
    more = len(found) > limit
    found = found[:limit]
    return Page(found, found[-1].id if more else None)


def _narrowed(statement: Select[Any], query: Query) -> Select[Any]:
    name, born, commune, household, number = (
        (value or "").strip() for value in (query.name, query.born, query.commune, query.household, query.number))
    if not (name or born or commune or household or number):
        raise ValidationFailed("give at least one of: name, date of birth, commune, household, ID number")
    statement = statement.where(Citizen.merged_into_id.is_(None))  # a merged duplicate is its survivor
    if name:
        statement = statement.where(Citizen.name_folded == names.fold(name))
    if born:
        statement = _born(statement, born)
    if commune:
        if not (len(commune) == 5 and commune.isascii() and commune.isdigit()):
            raise ValidationFailed(f"commune: '{commune}' is not a 5-digit commune code")
        successors = select(LegacyCommuneSuccessor.commune_code).where(LegacyCommuneSuccessor.legacy_code == commune)
        statement = statement.where(or_(Citizen.permanent_commune_code == commune,
                                        Citizen.permanent_commune_code.in_(successors)))
    if household:
        statement = statement.join(Household, Household.id == Citizen.household_id).where(
            Household.number == household)
    if number:
        statement = _number(statement, number.replace(" ", ""))
    return statement


def _born(statement: Select[Any], text: str) -> Select[Any]:
    try:
        born = PartialDate.parse(text)
    except InvalidDate as exc:
        raise ValidationFailed(f"born: {exc}") from None
    statement = statement.where(Citizen.birth_year == born.year)
    if born.month is not None:
        statement = statement.where(or_(Citizen.birth_month.is_(None), Citizen.birth_month == born.month))
    if born.day is not None:
        statement = statement.where(or_(Citizen.birth_day.is_(None), Citizen.birth_day == born.day))
    return statement


def _number(statement: Select[Any], number: str) -> Select[Any]:
    if not (number.isascii() and number.isdigit() and len(number) in (9, 12)):
        raise ValidationFailed("number: a 12-digit ID number or a 9-digit old identity-card (CMND) number")
    if len(number) == 12:
        held = select(CitizenNumber.citizen_id).where(CitizenNumber.number == number)
    else:
        held = select(CitizenOldNumber.citizen_id).where(CitizenOldNumber.number == number)
    return statement.where(Citizen.id.in_(held))
