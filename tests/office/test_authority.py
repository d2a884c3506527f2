"""The access matrix: every role × every operation × inside and outside its unit, for proposing
and approving; reading and searching by role and place; who a staff member is."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.errors import Forbidden
from idsvc.office import authority
from idsvc.office import operations
from idsvc.office import people
from idsvc.office import service
from idsvc.registry.search import Query
from tests.factories import make_account
from tests.office.conftest import COMMUNE
from tests.office.conftest import ELSEWHERE
from tests.office.conftest import PROVINCE
from tests.office.conftest import ROLE_UNITS
from tests.office.conftest import SAME_PROVINCE
from tests.office.conftest import make_staff
from tests.office.conftest import person
from tests.office.conftest import sample

ROLES = tuple(ROLE_UNITS)
#: Where the operation's unit is, seen from each role's unit: the commune itself, or another
#: province (for a nationwide role, inside and outside are alike).
PLACES = {"inside": COMMUNE, "outside": ELSEWHERE}

MAY_PROPOSE = {("clerk", "inside"), ("supervisor", "inside")}
MAY_APPROVE = {("supervisor", "inside")}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("operation", sorted(operations.OPERATIONS))
@pytest.mark.parametrize("role", ROLES)
def test_who_may_propose(app_ctx, role: str, operation: str, place: str) -> None:
    staff = make_staff(role, ROLE_UNITS[role])
    subject, payload = sample(operation, PLACES[place])
    if (role, place) in MAY_PROPOSE:
        proposal = service.propose(staff, operation, payload, subject=subject, reason="Request 1/2026")
        assert proposal.status in ("pending", "applied") and proposal.unit_code == PLACES[place]
    else:
        with pytest.raises(Forbidden):
            service.propose(staff, operation, payload, subject=subject, reason="Request 1/2026")


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("operation", sorted(operations.OPERATIONS))
@pytest.mark.parametrize("role", ROLES)
def test_who_may_approve(app, app_ctx, role: str, operation: str, place: str) -> None:
    app.config["OFFICE_IMMEDIATE_OPERATIONS"] = ()  # every operation waits for a decision
    proposer = make_staff("clerk", "*")
    subject, payload = sample(operation, PLACES[place])
    proposal = service.propose(proposer, operation, payload, subject=subject, reason="Request 1/2026")
    assert proposal.status == "pending"
    staff = make_staff(role, ROLE_UNITS[role])
    if (role, place) in MAY_APPROVE:
        assert service.approve(staff, proposal.id).status == "applied"
    else:
        with pytest.raises(Forbidden):
            service.approve(staff, proposal.id)
        with pytest.raises(Forbidden):
            service.reject(staff, proposal.id, "not mine to decide")
        assert proposal.status == "pending"


def test_every_operation_has_a_sample_for_the_matrix(app_ctx) -> None:
    for name in operations.OPERATIONS:
        _subject, payload = sample(name, COMMUNE)
        assert operations.get(name).clean(payload) == payload


@pytest.mark.parametrize(("role", "commune", "allowed"), [
    ("clerk", COMMUNE, True), ("clerk", SAME_PROVINCE, False), ("clerk", ELSEWHERE, False),
    ("supervisor", COMMUNE, True), ("supervisor", SAME_PROVINCE, True), ("supervisor", ELSEWHERE, False),
    ("auditor", COMMUNE, True), ("auditor", ELSEWHERE, True),
    ("admin", COMMUNE, False), ("admin", ELSEWHERE, False),
])
def test_who_may_read_a_person_and_every_read_is_audited(app_ctx, role: str, commune: str, allowed: bool) -> None:
    staff = make_staff(role, ROLE_UNITS[role])
    someone = person(commune)
    if not allowed:
        with pytest.raises(Forbidden, match=commune):
            people.read(staff, someone.id_number)
        return
    view = people.read(staff, someone.id_number)
    assert view.citizen.id == someone.id
    events = db.session().scalars(select(AuditEvent).where(
        AuditEvent.action == str(AuditAction.REGISTRY_PERSON_READ))).all()
    assert [(e.actor, e.subject_id) for e in events] == [(staff.actor, str(someone.id))]


@pytest.mark.parametrize("role", ROLES)
def test_search_is_nationwide_with_minimal_fields_for_registry_roles(app_ctx, role: str) -> None:
    staff = make_staff(role, ROLE_UNITS[role])
    near, far = person(COMMUNE, full_name="Đặng Thị Xa"), person(ELSEWHERE, full_name="Đặng Thị Xa")
    if role == "admin":
        with pytest.raises(Forbidden):
            people.search(staff, Query(name="dang thi xa"))
        return
    page = people.search(staff, Query(name="dang thi xa"))
    assert [(f.id_number, f.readable) for f in page.people] == [
        (near.id_number, role != "admin"), (far.id_number, role == "auditor")]
    assert not hasattr(page.people[0], "phone")


@pytest.mark.parametrize(("unit", "commune", "covered"), [
    ("*", COMMUNE, True), ("*", None, True), (PROVINCE, COMMUNE, True), (PROVINCE, ELSEWHERE, False),
    (COMMUNE, COMMUNE, True), (COMMUNE, SAME_PROVINCE, False), (PROVINCE, None, False),
])
def test_a_unit_covers_its_communes(app_ctx, unit: str, commune: str | None, covered: bool) -> None:
    assert authority.covers(unit, commune) is covered


def test_only_admins_manage_staff_and_inside_their_unit(app_ctx) -> None:
    admin = make_staff("admin", PROVINCE)
    assert authority.can(admin, "manage_staff", COMMUNE)
    assert not authority.can(admin, "manage_staff", ELSEWHERE)
    assert not authority.can(make_staff("supervisor", "*"), "manage_staff", COMMUNE)


@pytest.mark.parametrize("account", [
    {"level": 1, "role": None}, {"level": 2, "role": None}, {"level": 2, "role": ("clerk", COMMUNE),
                                                          "status": "disabled"},
])
def test_only_active_level_2_accounts_with_a_role_are_staff(app_ctx, account) -> None:
    if account["level"] == 1:
        found = make_account(level=1)
    else:
        found = make_account(**account)
    with pytest.raises(Forbidden):
        authority.staff_of_account(found.id)
    with pytest.raises(Forbidden):
        authority.staff_of_actor(f"account:{found.id}")


def test_an_actor_that_is_no_account_is_no_staff(app_ctx) -> None:
    staff = make_staff("clerk", COMMUNE)
    assert authority.staff_of_actor(staff.actor) == staff
    for actor in ("client:demo-agency", "system:cli", "account:", "account:x1"):
        with pytest.raises(Forbidden):
            authority.staff_of_actor(actor)


def test_a_refusal_names_the_unit_in_both_languages(app_ctx) -> None:
    with pytest.raises(Forbidden) as refused:
        authority.require(make_staff("clerk", COMMUNE), "propose", ELSEWHERE)
    assert "unit 20242" in refused.value.detail and "đơn vị 20242" in refused.value.detail
