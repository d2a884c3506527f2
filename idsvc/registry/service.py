"""Registry services: administrative units, citizen look-ups, birth registration, changes.

Plain functions that flush and never commit; the request or CLI command commits.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.errors import NotFound
from idsvc.logs import mask_id_number
from idsvc.registry import names
from idsvc.registry import units
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import Commune
from idsvc.registry.models import LegacyProvince
from idsvc.registry.models import Province


def sync_units(actor: str = "system:cli") -> dict[str, int]:
    """Upsert the 2025 provinces and communes and the 63 legacy codes; never deletes a unit.

    Codes are never reused (Decision 19/2025), so a unit that disappears from the source keeps
    its row for the records that still point at it.
    """
    s = db.session()
    counts = {}
    for model, rows in (
        (Province, [dict(code=u.code, name=u.name, kind=u.kind) for u in units.provinces_2025()]),
        (LegacyProvince, [dict(code=c, name=n, successor_code=succ)
                          for c, (n, succ) in units.LEGACY_PROVINCES.items()]),
        (Commune, [dict(code=u.code, name=u.name, kind=u.kind, province_code=u.province_code)
                   for u in units.communes_2025()]),
    ):
        existing = {obj.code: obj for obj in s.scalars(select(model))}
        added = 0
        for row in rows:
            obj = existing.get(row["code"])
            if obj is None:
                s.add(model(**row))
                added += 1
            else:
                for key, value in row.items():
                    setattr(obj, key, value)
        s.flush()
        counts[model.__tablename__] = added
    audit.record(AuditAction.REGISTRY_UNITS_SYNC, actor=actor, data=counts)
    return counts


def commune_codes() -> frozenset[str]:
    """All commune codes known to the registry (3,321 after the 2025 reform)."""
    return frozenset(db.session().scalars(select(Commune.code)))


def unit_counts() -> tuple[int, int]:
    s = db.session()
    return (s.scalar(select(func.count()).select_from(Province)) or 0,
            s.scalar(select(func.count()).select_from(Commune)) or 0)


def get_citizen_by_number(number: str) -> Citizen:
    """The citizen who holds ``number`` now.

    :raises NotFound: no citizen holds it (a retired number is reported as such).
    """
    s = db.session()
    citizen = s.scalar(select(Citizen).where(Citizen.id_number == number))
    if citizen is not None:
        return citizen
    retired = s.get(CitizenNumber, number)
    if retired is not None:
        raise NotFound(f"ID number {mask_id_number(number)} was replaced by a newer number; "
                       "look the person up by their current number.", replaced=True)
    raise NotFound(f"No citizen holds ID number {mask_id_number(number)}.")


def get_citizen(citizen_id: int) -> Citizen:
    """The citizen with internal id ``citizen_id``.

    :raises NotFound:
    """
    citizen = db.session().get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound(f"No citizen with internal id {citizen_id}.")
    return citizen


def find_by_name(name: str, birth_year: int | None = None, limit: int = 50) -> list[Citizen]:
    """Candidates by folded name (and birth year): accents optional, exact NFC matches first."""
    query = select(Citizen).where(Citizen.name_folded == names.fold(name))
    if birth_year is not None:
        query = query.where(Citizen.birth_year == birth_year)
    found = list(db.session().scalars(query.limit(limit)))
    exact = names.canonical(name)
    return sorted(found, key=lambda c: (c.full_name != exact, c.id))
