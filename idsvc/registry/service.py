"""Registry services: administrative units, citizen look-ups, birth registration, changes.

Plain functions that flush and never commit; the request or CLI command commits.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.registry import units
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
