"""Fixtures of the office tests: staff members of given roles and units, people inside and outside
their units, and a valid payload for every operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.office import authority
from idsvc.office.authority import Staff
from idsvc.registry import lifeevents
from idsvc.registry.models import Absence
from idsvc.registry.models import Citizen
from idsvc.registry.models import Household
from idsvc.registry.models import Relative
from idsvc.registry.models import TemporaryResidence
from tests.factories import make_account
from tests.factories import make_citizen
from tests.factories import make_id_number

#: The unit under test (Phường Hoàn Kiếm, Hà Nội) and places outside it.
COMMUNE = "00070"
PROVINCE = "01"
SAME_PROVINCE = "00004"  # Phường Ba Đình: Hà Nội, another commune
ELSEWHERE = "20242"  # Phường Hải Châu: Đà Nẵng (province 48)

#: Each role at the unit it holds in the tests: a clerk of the commune, a supervisor of its
#: province, an auditor and an admin of the whole country.
ROLE_UNITS = {"clerk": COMMUNE, "supervisor": PROVINCE, "auditor": "*", "admin": "*"}


def make_staff(role: str, unit: str, **citizen_fields: Any) -> Staff:
    """A level-2 staff member holding ``role`` over ``unit``; they live in Đà Nẵng unless told
    otherwise (so they never live in the households under test)."""
    citizen_fields.setdefault("permanent_commune_code", "27139")
    account = make_account(level=2, role=(role, unit), **citizen_fields)
    return authority.staff_of_account(account.id)


def person(commune: str = COMMUNE, **fields: Any) -> Citizen:
    """A person whose permanent residence is ``commune``."""
    return make_citizen(permanent_commune_code=commune, current_commune_code=commune, **fields)


@pytest.fixture()
def staff_factory(app_ctx: Any) -> Callable[..., Staff]:
    return make_staff


def household(commune: str = COMMUNE, *members: Citizen) -> Household:
    """A household in ``commune``; the first of ``members`` heads it, the others are its children."""
    found = Household(number=f"HH{make_id_number()[-8:]}", commune_code=commune, address="1 Phố Tràng Tiền")
    db.session().add(found)
    db.session().flush()
    for i, member in enumerate(members):
        member.household_id, member.relationship_to_head = found.id, "child" if i else "head"
    if members:
        found.head_id = members[0].id
    db.session().flush()
    return found


def sample(operation: str, where: str) -> tuple[str | None, dict[str, Any]]:
    """A subject and a valid payload of ``operation`` whose unit is the commune ``where`` (what the
    operation needs of the record is set up first)."""
    day = "2026-11-01"
    if operation == "birth":
        return None, {"full_name": "Nguyễn Thị Bé", "date_of_birth": "2026-11-30", "sex": "F",
                      "registration_commune": where}
    if operation == "move":
        return person("27139").id_number, {"permanent_commune_code": where}
    if operation.startswith("household_"):
        head, member = person(where), person(where, full_name="Nguyễn Văn Con", birth_year=2010)
        home = household(where, head, member)
        household_payloads = {
            "household_move": {"commune_code": where, "address": "5 Phố Huế"},
            "household_head": {"new_head": member.id_number, "old_head_relationship": "parent"},
            "household_split": {"members": member.id_number, "new_head": member.id_number},
            "household_merge": {"source": household(where, person(where, full_name="Trần Văn Nhập")).number},
        }
        if operation == "household_move":  # the household's unit is where it moves to
            home.commune_code = "27139"
            head.permanent_commune_code = member.permanent_commune_code = "27139"
        return home.number, household_payloads[operation]
    subject = person(where)
    if operation in ("marriage", "divorce", "record_merge"):
        other = person(ELSEWHERE, sex="F", full_name="Trần Thị Vợ")
        if operation == "divorce":
            lifeevents.record_marriage(subject, other, on=date(2020, 5, 1), actor="test", reason="Kết hôn 1/2020")
        return subject.id_number, {"other_id_number": other.id_number, **({} if operation == "record_merge"
                                                                          else {"on": day})}
    if operation == "missing_end":
        subject.status, subject.date_of_death = "missing", date(2026, 10, 1)
        db.session().flush()
    if operation == "relative_end":
        subject.relatives.append(Relative(kind="guardian", full_name="Lê Văn Giám"))
        db.session().flush()
    if operation == "temporary_residence_end":
        lifeevents.register_temporary_residence(subject, commune_code=SAME_PROVINCE if where != SAME_PROVINCE
                                                else COMMUNE, address="9 Phố Lý Nam Đế",
                                                registered_on=date(2026, 1, 5), expires_on=None, actor="test",
                                                reason="Tạm trú 1/2026")
    if operation == "absence_end":
        lifeevents.declare_absence(subject, starts_on=date(2026, 2, 1), ends_on=None, destination="Đà Nẵng",
                                   actor="test", reason="Tạm vắng 1/2026")
    payloads: dict[str, dict[str, Any]] = {
        "death": {"date_of_death": "2026-11-02"},
        "missing": {"on": "2026-10-01"},
        "missing_end": {},
        "name_change": {"full_name": "Nguyễn Văn Bình"},
        "correction": {"religion": "Phật giáo"},
        "number_reissue": {},
        "relative_link": {"kind": "guardian", "full_name": "Phạm Văn Hộ"},
        "relative_end": {"relative_id": str(subject.relatives[-1].id) if subject.relatives else "0", "on": day},
        "id_card": {"issued_on": "2021-06-01", "issued_by": "Cục Cảnh sát QLHC về TTXH", "expires_on": "2030-05-17"},
        "temporary_residence": {"commune_code": SAME_PROVINCE if where != SAME_PROVINCE else COMMUNE,
                                "address": "9 Phố Lý Nam Đế", "registered_on": day},
        "temporary_residence_end": {"residence_id": str(_last_id(TemporaryResidence, subject)), "on": day},
        "absence": {"starts_on": day, "destination": "Đà Nẵng"},
        "absence_end": {"absence_id": str(_last_id(Absence, subject)), "on": day},
    }
    return subject.id_number, payloads[operation]


def _last_id(model: type[TemporaryResidence] | type[Absence], citizen: Citizen) -> int:
    return db.session().scalar(select(func.max(model.id)).where(model.citizen_id == citizen.id)) or 0
