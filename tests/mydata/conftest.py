"""The people and uses of data the citizen's pages are tested with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.eligibility.models import Programme
from idsvc.office import authority
from idsvc.office import people
from idsvc.registry import service as registry
from idsvc.registry.models import Relative
from tests.factories import make_account
from tests.factories import make_client
from tests.factories import make_id_number

STAFF_NUMBER = make_id_number("079", 1980, "F")
RELATIVE_NUMBER = make_id_number("031", 1960, "F")


def _programme(code: str = "sa-elderly") -> Programme:
    programme = Programme(code=code, name_vi="Trợ cấp người cao tuổi", name_en="Old-age allowance",
                          legal_basis="Nghị định 20/2021/NĐ-CP", benefit_category="monthly_allowance",
                          coefficient=1, base_rate=500000, base_rate_effective=datetime(2024, 7, 1).date(),
                          rule_set_version=1)
    db.session().add(programme)
    db.session().flush()
    return programme


@pytest.fixture()
def world(app: Any, setup_data: Any) -> dict[str, Any]:
    """Bình (the person), Chi (someone else), a clerk and a supervisor of commune 00070, an agency app,
    a programme, and one use of Bình's data of every kind but logins and releases (made through the
    pages in the tests)."""

    def create() -> dict[str, Any]:
        client, secret = make_client(name="Cổng dịch vụ công thử nghiệm")
        binh = make_account(full_name="Trần Thị Bình", sex="F", birth_year=1985)
        chi = make_account(full_name="Lê Văn Chi", birth_year=1970)
        clerk = make_account(level=2, role=("clerk", "00070"), full_name="Phạm Thu Hà", id_number=STAFF_NUMBER)
        supervisor = make_account(level=2, role=("supervisor", "00070"), full_name="Đỗ Minh Quân", birth_year=1975)
        programme = _programme()
        citizen = binh.citizen
        db.session().add(Relative(citizen_id=citizen.id, kind="mother", id_number=RELATIVE_NUMBER,
                                  full_name="Ngô Thị Lan"))
        staff = authority.staff_of_account(clerk.id)
        people.read(staff, citizen.id_number)  # a staff read
        people.read(staff, chi.citizen.id_number)
        registry.update_citizen(citizen, {"hometown": "Nam Định"}, actor=staff.actor, reason="Theo đơn",
                                approved_by=f"account:{supervisor.id}")
        for who, verdict in ((citizen, "ELIGIBLE"), (chi.citizen, "NOT_ELIGIBLE")):
            audit.record_many(AuditAction.ELIGIBILITY_PERSON_CHECK, actor=f"client:{client.client_id}",
                              subject_type="citizen", subjects=[(who.id, {"programme": programme.code,
                                                                          "verdict": verdict,
                                                                          "rule_set_version": 1})])
        return {"client_id": client.client_id, "secret": secret, "binh": binh.id, "chi": chi.id,
                "binh_citizen": citizen.id,
                "binh_number": citizen.id_number, "chi_number": chi.citizen.id_number}

    return setup_data(create)


