"""Maker-checker: who may decide what, immediate operations against proposals, the version check of
an approval, complete validation at proposal time, and what applying leaves in the record."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.errors import Conflict
from idsvc.errors import Forbidden
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.identity import service as identity
from idsvc.office import people
from idsvc.office import service
from idsvc.registry import service as registry
from idsvc.registry.changes import Document
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenRevision
from idsvc.registry.models import Household
from tests.factories import make_account
from tests.office.conftest import COMMUNE
from tests.office.conftest import ELSEWHERE
from tests.office.conftest import PROVINCE
from tests.office.conftest import household
from tests.office.conftest import make_staff
from tests.office.conftest import person

REASON = "Trích lục khai tử 12/2026"


@pytest.fixture()
def clerk(app_ctx):
    return make_staff("clerk", COMMUNE)


@pytest.fixture()
def supervisor(app_ctx):
    return make_staff("supervisor", PROVINCE)


def _revisions(citizen: Citizen) -> list[CitizenRevision]:
    return registry.history(citizen)


def test_a_supervisor_may_not_approve_their_own_proposal_but_another_may(app_ctx, supervisor) -> None:
    someone = person()
    proposal = service.propose(supervisor, "death", {"date_of_death": "2026-11-02"}, subject=someone.id_number,
                               reason=REASON)
    with pytest.raises(Forbidden, match="own proposal"):
        service.approve(supervisor, proposal.id)
    with pytest.raises(Forbidden, match="own proposal"):
        service.reject(supervisor, proposal.id, "changed my mind")
    assert someone.status == "alive" and proposal.status == "pending"
    other = make_staff("supervisor", PROVINCE)
    assert service.approve(other, proposal.id).status == "applied"
    assert someone.status == "deceased" and someone.date_of_death == date(2026, 11, 2)
    assert proposal.decided_by_account_id == other.account_id


def test_nobody_proposes_a_change_of_their_own_record_or_household(app_ctx) -> None:
    home = household()
    clerk = make_staff("clerk", COMMUNE, permanent_commune_code=COMMUNE, household_id=home.id)
    own_number = db.session().get(Citizen, clerk.citizen_id).id_number
    relative = person(household_id=home.id, relationship_to_head="child")
    for subject in (own_number, relative.id_number):
        with pytest.raises(Forbidden, match="own record or household"):
            service.propose(clerk, "correction", {"religion": "Không"}, subject=subject, reason=REASON)
    with pytest.raises(Forbidden, match="own record or household"):
        service.propose(clerk, "birth", {"full_name": "Nguyễn Văn Út", "date_of_birth": "2026-11-01", "sex": "M",
                                         "registration_commune": COMMUNE, "household": home.number},
                        subject=None, reason=REASON)
    with pytest.raises(Forbidden, match="own record or household"):
        service.propose(clerk, "birth", {"full_name": "Nguyễn Văn Út", "date_of_birth": "2026-11-01", "sex": "M",
                                         "registration_commune": COMMUNE, "father": own_number},
                        subject=None, reason=REASON)
    assert relative.religion is None


def test_nobody_decides_a_change_of_their_own_household(app_ctx, clerk) -> None:
    home = household()
    supervisor = make_staff("supervisor", PROVINCE, permanent_commune_code=COMMUNE, household_id=home.id)
    relative = person(household_id=home.id, relationship_to_head="spouse")
    proposal = service.propose(clerk, "name_change", {"full_name": "Trần Văn Mới"}, subject=relative.id_number,
                               reason=REASON)
    with pytest.raises(Forbidden, match="own record or household"):
        service.approve(supervisor, proposal.id)
    with pytest.raises(Forbidden, match="own record or household"):
        service.reject(supervisor, proposal.id, "no")
    assert proposal.status == "pending" and relative.full_name == "Nguyễn Văn An"


def test_a_rejection_needs_a_note_and_keeps_it(app_ctx, clerk, supervisor) -> None:
    someone = person()
    proposal = service.propose(clerk, "name_change", {"full_name": "Lê Văn Khác"}, subject=someone.id_number,
                               reason="Quyết định 3/2026")
    with pytest.raises(ValidationFailed) as refused:
        service.reject(supervisor, proposal.id, "  ")
    assert refused.value.extra["errors"] == {"note": "required / bắt buộc"}
    rejected = service.reject(supervisor, proposal.id, "The decision names another person")
    assert (rejected.status, rejected.decision_note, rejected.decided_by_account_id) == (
        "rejected", "The decision names another person", supervisor.account_id)
    with pytest.raises(service.AlreadyDecided):
        service.approve(make_staff("supervisor", PROVINCE), proposal.id)
    assert someone.full_name == "Nguyễn Văn An" and _revisions(someone) == []
    db.session().expire_all()
    assert service.get_proposal(clerk, proposal.id).decision_note == "The decision names another person"


def test_a_configured_operation_applies_at_once_and_others_wait(app, app_ctx, clerk) -> None:
    someone = person()
    applied = service.propose(clerk, "correction", {"religion": "Phật giáo"}, subject=someone.id_number,
                              reason="Citizen request 5/2026", document=Document("5/2026", date(2026, 11, 30)))
    assert applied.status == "applied" and applied.decided_by_account_id is None
    assert someone.religion == "Phật giáo"
    [revision] = _revisions(someone)
    assert revision.changes == {"religion": [None, "Phật giáo"]} and revision.actor == clerk.actor

    app.config["OFFICE_IMMEDIATE_OPERATIONS"] = ("move",)
    waiting = service.propose(clerk, "correction", {"religion": "Không"}, subject=someone.id_number,
                              reason="Citizen request 6/2026")
    assert waiting.status == "pending" and someone.religion == "Phật giáo"
    assert waiting.document_number is None and applied.document_number == "5/2026"


@pytest.mark.parametrize(("operation", "payload"), [
    ("correction", {"sex": "F"}), ("correction", {"date_of_birth": "1991-05-17"}),
    ("death", {"date_of_death": "2026-11-02"}), ("name_change", {"full_name": "Phạm Văn Mới"}),
    ("number_reissue", {}), ("missing", {"on": "2026-10-01"}),
])
def test_a_mandatory_review_is_never_immediate_whatever_the_configuration(app, app_ctx, clerk, operation,
                                                                           payload) -> None:
    app.config["OFFICE_IMMEDIATE_OPERATIONS"] = (operation,)
    someone = person()
    number, version = someone.id_number, someone.version
    proposal = service.propose(clerk, operation, payload, subject=number, reason=REASON)
    assert proposal.status == "pending"
    db.session().expire_all()
    assert (someone.id_number, someone.version, someone.status) == (number, version, "alive")


def test_an_approval_against_an_older_version_fails_only_when_its_fields_changed(app_ctx, clerk,
                                                                                 supervisor) -> None:
    someone = person()
    rename = service.propose(clerk, "name_change", {"full_name": "Hoàng Văn Hai"}, subject=someone.id_number,
                             reason=REASON)
    other_rename = service.propose(clerk, "name_change", {"full_name": "Hoàng Văn Ba"}, subject=someone.id_number,
                                   reason=REASON)
    # Another field changed meanwhile: the approval still applies.
    service.propose(clerk, "correction", {"religion": "Công giáo"}, subject=someone.id_number, reason=REASON)
    assert someone.version == rename.base_version + 1
    service.approve(supervisor, rename.id)
    assert someone.full_name == "Hoàng Văn Hai" and someone.religion == "Công giáo"
    # The name itself changed meanwhile: refused, naming the field.
    with pytest.raises(Conflict, match="full_name") as refused:
        service.approve(make_staff("supervisor", PROVINCE), other_rename.id)
    assert refused.value.extra["fields"] == ["full_name"]
    assert refused.value.extra["current_version"] == someone.version


def test_a_proposal_against_a_stale_version_is_refused_with_the_current_one(app_ctx, clerk) -> None:
    someone = person()
    seen = someone.version
    service.propose(clerk, "correction", {"religion": "Không"}, subject=someone.id_number, reason=REASON,
                    expected_version=seen)
    with pytest.raises(service.StaleVersion) as stale:
        service.propose(clerk, "correction", {"blood_type": "O+"}, subject=someone.id_number, reason=REASON,
                        expected_version=seen)
    assert stale.value.current_version == seen + 1 == stale.value.extra["current_version"]
    assert someone.blood_type is None


def test_the_payload_is_checked_completely_when_proposed(app_ctx, clerk) -> None:
    someone = person(birth_year=1990)
    with pytest.raises(ValidationFailed) as shape:
        service.propose(clerk, "birth", {"full_name": "", "sex": "X", "registration_commune": "99999", "colour": "b"},
                        subject=None, reason=REASON)
    assert set(shape.value.extra["errors"]) == {"full_name", "date_of_birth", "sex", "registration_commune",
                                                "colour"}
    # Only the registry's rules know a death cannot come before the birth: judged now, all the same.
    with pytest.raises(ValidationFailed, match="date_of_death"):
        service.propose(clerk, "death", {"date_of_death": "1980-01-01"}, subject=someone.id_number, reason=REASON)
    with pytest.raises(ValidationFailed, match="reason"):
        service.propose(clerk, "death", {"date_of_death": "2026-01-01"}, subject=someone.id_number, reason=" ")
    with pytest.raises(NotFound):
        service.propose(clerk, "death", {"date_of_death": "2026-01-01"}, subject="001090999999", reason=REASON)
    pending = service.propose(clerk, "death", {"date_of_death": "2026-01-01"}, subject=someone.id_number,
                              reason=REASON)
    # The try of the operation left nothing behind.
    db.session().expire_all()
    assert (someone.status, someone.version, _revisions(someone)) == ("alive", 1, [])
    assert pending.status == "pending"


def test_an_approved_death_disables_the_account_and_records_who_did_what(app_ctx, clerk, supervisor) -> None:
    account = make_account(level=1, permanent_commune_code=COMMUNE)
    someone = account.citizen
    proposal = service.propose(clerk, "death", {"date_of_death": "2026-11-02"}, subject=someone.id_number,
                               reason=REASON, document=Document("KT-12/2026", date(2026, 11, 3)))
    assert account.status == "active"
    service.approve(supervisor, proposal.id)
    assert identity.account_for_citizen(someone).status == "disabled"
    [revision] = _revisions(someone)
    assert revision.actor == clerk.actor and revision.changes["status"] == ["alive", "deceased"]
    assert (revision.approved_by, revision.document_number, revision.document_date) == (
        supervisor.actor, "KT-12/2026", date(2026, 11, 3))
    assert proposal.decided_at is not None and proposal.result["revisions"][0]["version"] == someone.version


def test_an_approved_birth_names_the_new_person(app_ctx, clerk, supervisor, app) -> None:
    app.config["OFFICE_IMMEDIATE_OPERATIONS"] = ()
    mother = person(sex="F", birth_year=1995)
    home = household()
    proposal = service.propose(clerk, "birth", {"full_name": "Nguyễn Thị Bé", "date_of_birth": "2026-11-30",
                                                "sex": "F", "registration_commune": COMMUNE,
                                                "mother": mother.id_number, "household": home.number},
                               subject=None, reason="Giấy chứng sinh 77/2026")
    assert proposal.citizen_id is None
    service.approve(supervisor, proposal.id)
    child = registry.get_citizen_by_number(proposal.result["id_number"])
    assert proposal.citizen_id == child.id and child.household_id == home.id
    assert [(r.kind, r.id_number) for r in child.relatives] == [("mother", mother.id_number)]


def test_a_move_is_proposed_in_the_destination_commune(app_ctx, clerk) -> None:
    someone = person(ELSEWHERE)
    with pytest.raises(Forbidden):
        service.propose(make_staff("clerk", ELSEWHERE), "move", {"permanent_commune_code": COMMUNE},
                        subject=someone.id_number, reason=REASON)
    moved = service.propose(clerk, "move", {"permanent_commune_code": COMMUNE}, subject=someone.id_number,
                            reason="Đăng ký thường trú 8/2026")
    assert moved.status == "applied" and moved.unit_code == COMMUNE and moved.province_code == PROVINCE
    assert (someone.permanent_commune_code, someone.current_commune_code) == (COMMUNE, COMMUNE)


def test_the_author_withdraws_a_pending_proposal_and_nobody_else(app_ctx, clerk, supervisor) -> None:
    proposal = service.propose(clerk, "name_change", {"full_name": "Võ Văn Rút"}, subject=person().id_number,
                               reason=REASON)
    with pytest.raises(Forbidden):
        service.withdraw(supervisor, proposal.id)
    assert service.withdraw(clerk, proposal.id).status == "withdrawn"
    with pytest.raises(service.AlreadyDecided):
        service.approve(supervisor, proposal.id)
    with pytest.raises(service.AlreadyDecided):
        service.withdraw(clerk, proposal.id)


def test_queues_show_the_proposals_of_ones_units(app, app_ctx) -> None:
    app.config["OFFICE_IMMEDIATE_OPERATIONS"] = ()
    here, there = make_staff("clerk", COMMUNE), make_staff("clerk", ELSEWHERE)
    mine = service.propose(here, "correction", {"religion": "Không"}, subject=person().id_number, reason=REASON)
    theirs = service.propose(there, "correction", {"religion": "Không"}, subject=person(ELSEWHERE).id_number,
                             reason=REASON)
    ids = {
        "clerk here": [p.id for p in service.proposals(here)],
        "supervisor 01": [p.id for p in service.proposals(make_staff("supervisor", PROVINCE))],
        "supervisor 48": [p.id for p in service.proposals(make_staff("supervisor", "48"))],
        "auditor": [p.id for p in service.proposals(make_staff("auditor", "*"))],
        "mine": [p.id for p in service.proposals(there, mine=True)],
    }
    assert ids == {"clerk here": [mine.id], "supervisor 01": [mine.id], "supervisor 48": [theirs.id],
                   "auditor": [mine.id, theirs.id], "mine": [theirs.id]}
    assert service.proposals(make_staff("auditor", "*"), after=mine.id, limit=1) == [theirs]
    assert service.proposals(here, status="applied") == []
    with pytest.raises(Forbidden):
        service.proposals(make_staff("admin", "*"))
    with pytest.raises(Forbidden):
        service.get_proposal(here, theirs.id)


def test_the_diff_shows_current_and_proposed_values_side_by_side(app_ctx, clerk) -> None:
    someone = person(full_name="Lý Thị Cũ")
    proposal = service.propose(clerk, "name_change", {"full_name": "Lý Thị Mới", "other_names": "Mới"},
                               subject=someone.id_number, reason=REASON)
    assert service.diff(proposal) == [("full_name", "Lý Thị Cũ", "Lý Thị Mới"), ("other_names", None, "Mới")]
    death = service.propose(clerk, "death", {"date_of_death": "2026-11-02"}, subject=someone.id_number,
                            reason=REASON)
    assert service.diff(death) == [("status", "alive", "deceased"), ("date_of_death", None, "2026-11-02")]


def test_every_step_is_audited_without_id_numbers(app_ctx, clerk, supervisor) -> None:
    someone = person()
    proposal = service.propose(clerk, "name_change", {"full_name": "Đinh Văn Kiểm"}, subject=someone.id_number,
                               reason=REASON)
    service.approve(supervisor, proposal.id)
    events = db.session().execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.data).where(
        AuditEvent.action.like("office:%")).order_by(AuditEvent.id)).all()
    assert [(a, actor) for a, actor, _ in events] == [("office:proposal:create", clerk.actor),
                                                      ("office:proposal:apply", supervisor.actor)]
    assert someone.id_number not in str([data for _, _, data in events])
    assert db.session().scalar(select(func.count()).select_from(CitizenRevision)) == 1


def test_a_correction_of_the_sex_is_reviewed_and_the_old_number_still_finds_the_person(app_ctx, clerk,
                                                                                       supervisor) -> None:
    someone = person(sex="M", birth_year=1990)
    old = someone.id_number
    proposal = service.propose(clerk, "correction", {"sex": "F"}, subject=old, reason="Trích lục cải chính 3/2026")
    assert proposal.status == "pending" and sorted(proposal.touched) == ["sex"]
    service.approve(supervisor, proposal.id)
    assert someone.sex == "F" and someone.id_number != old and someone.id_number[3] == "1"
    with pytest.raises(NotFound, match="replaced by a newer number"):
        registry.get_citizen_by_number(old)
    view = people.read(clerk, someone.id_number)
    assert view.numbers[0].number == old and view.history[-1].approved_by == supervisor.actor


def test_a_record_merge_is_reviewed_and_refused_after_any_change_of_either_record(app_ctx, clerk,
                                                                                   supervisor) -> None:
    survivor, duplicate = person(full_name="Đoàn Văn Một"), person(full_name="Đoàn Văn Một")
    first = service.propose(clerk, "record_merge", {"other_id_number": duplicate.id_number},
                            subject=survivor.id_number, reason="Trùng hồ sơ, phiếu 4/2026")
    second = service.propose(clerk, "record_merge", {"other_id_number": duplicate.id_number},
                             subject=survivor.id_number, reason="Trùng hồ sơ, phiếu 4/2026")
    assert first.status == "pending" and first.other_citizen_id == duplicate.id
    service.propose(clerk, "correction", {"religion": "Không"}, subject=duplicate.id_number, reason=REASON)
    with pytest.raises(Conflict, match="religion"):
        service.approve(supervisor, first.id)
    service.reject(supervisor, first.id, "The duplicate changed: propose again")
    third = service.propose(clerk, "record_merge", {"other_id_number": duplicate.id_number},
                            subject=survivor.id_number, reason="Trùng hồ sơ, phiếu 5/2026")
    service.approve(supervisor, third.id)
    assert duplicate.merged_into_id == survivor.id
    assert registry.get_citizen_by_number(duplicate.id_number).id == survivor.id
    with pytest.raises(Conflict):
        service.approve(make_staff("supervisor", PROVINCE), second.id)


def test_household_operations_work_on_the_household_of_the_unit(app_ctx, clerk, supervisor) -> None:
    head, child = person(), person(full_name="Nguyễn Văn Con", birth_year=2005)
    home = household(COMMUNE, head, child)
    split = service.propose(clerk, "household_split", {"members": child.id_number, "new_head": child.id_number},
                            subject=home.number, reason="Đơn tách hộ 2/2026")
    assert split.status == "pending" and split.household_id == home.id and split.unit_code == COMMUNE
    service.approve(supervisor, split.id)
    assert child.household_id not in (None, home.id) and child.relationship_to_head == "head"
    assert split.result["household"] == db.session().get(Household, child.household_id).number
    with pytest.raises(Forbidden):
        service.propose(make_staff("clerk", ELSEWHERE), "household_move",
                        {"commune_code": COMMUNE, "address": "3 Phố Hàng Bông"}, subject=home.number, reason=REASON)
    moved = service.propose(make_staff("clerk", ELSEWHERE), "household_move",
                            {"commune_code": ELSEWHERE, "address": "3 Đường Bạch Đằng"}, subject=home.number,
                            reason="Đăng ký thường trú 7/2026")
    assert moved.status == "applied" and head.permanent_commune_code == ELSEWHERE


def test_a_person_page_shows_links_residences_and_pending_proposals(app_ctx, clerk) -> None:
    someone = person()
    service.propose(clerk, "temporary_residence", {"commune_code": "00004", "address": "9 Phố Lý Nam Đế",
                                                   "registered_on": "2026-11-01"},
                    subject=someone.id_number, reason="Tạm trú 9/2026")
    service.propose(clerk, "absence", {"starts_on": "2026-12-01", "destination": "Huế"}, subject=someone.id_number,
                    reason="Tạm vắng 9/2026")
    pending = service.propose(clerk, "name_change", {"full_name": "Tô Văn Đổi"}, subject=someone.id_number,
                              reason=REASON)
    view = people.read(clerk, someone.id_number)
    assert [r.commune_code for r in view.temporary_residences] == ["00004"]
    assert [a.destination for a in view.absences] == ["Huế"]
    assert view.pending == [pending]
    assert [sorted(r.changes) for r in view.history] == [["temporary_residence"], ["absence"]]


def test_the_diff_of_a_household_operation_shows_the_households_values(app_ctx, clerk) -> None:
    home = household(COMMUNE, person())
    app_ctx.config["OFFICE_IMMEDIATE_OPERATIONS"] = ()
    moved = service.propose(clerk, "household_move", {"commune_code": COMMUNE, "address": "7 Phố Hàng Gai"},
                            subject=home.number, reason=REASON)
    assert service.diff(moved) == [("commune_code", COMMUNE, COMMUNE),
                                   ("address", "1 Phố Tràng Tiền", "7 Phố Hàng Gai")]
