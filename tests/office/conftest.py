"""Fixtures of the office tests: staff members of given roles and units, people inside and outside
their units, and a valid payload for every operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idsvc import db
from idsvc.office import authority
from idsvc.office.authority import Staff
from idsvc.registry.models import Citizen
from idsvc.registry.models import Household
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


def household(commune: str = COMMUNE) -> Household:
    found = Household(number=f"HH{make_id_number()[-8:]}", commune_code=commune)
    db.session().add(found)
    db.session().flush()
    return found


def sample(operation: str, where: str) -> tuple[str | None, dict[str, Any]]:
    """A subject and a valid payload of ``operation`` whose unit is the commune ``where``."""
    if operation == "birth":
        return None, {"full_name": "Nguyễn Thị Bé", "date_of_birth": "2026-11-30", "sex": "F",
                      "registration_commune": where}
    if operation == "move":
        return person("27139").id_number, {"permanent_commune_code": where}
    subject = person(where)
    payloads: dict[str, dict[str, Any]] = {
        "death": {"date_of_death": "2026-11-02"},
        "missing": {"on": "2026-10-01"},
        "name_change": {"full_name": "Nguyễn Văn Bình"},
        "correction": {"religion": "Phật giáo"},
        "number_reissue": {},
    }
    return subject.id_number, payloads[operation]
