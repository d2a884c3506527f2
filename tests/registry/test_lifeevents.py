"""Life events as a registry clerk sees them: the record changes, the history says what changed,
on which document and who approved it; links and registrations end without disappearing; what
the law or the record's state forbids is refused with a reason."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry import lifeevents
from idsvc.registry import search
from idsvc.registry import service
from idsvc.registry.changes import Document
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenOldNumber
from idsvc.registry.models import Household
from idsvc.registry.models import Relative

CLERK = "account:7"
SUPERVISOR = "account:9"
DOC = Document(number="123/2026/QĐ-UBND", date=date(2026, 11, 2))
WHO: dict[str, Any] = {"actor": CLERK, "reason": "Request of the citizen", "document": DOC, "approved_by": SUPERVISOR}


def _audited(action: str) -> int:
    return db.session().scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0


@pytest.fixture()
def family(create_citizen, create_household):
    """A household of 00070: a head, his wife, their son."""
    home = create_household(commune_code="00070")
    head = create_citizen(full_name="Nguyễn Văn An", birth_year=1980, household_id=home.id,
                          relationship_to_head="head")
    wife = create_citizen(full_name="Trần Thị Bình", birth_year=1985, sex="F", household_id=home.id,
                          relationship_to_head="spouse")
    son = create_citizen(full_name="Nguyễn Văn Cường", birth_year=2010, household_id=home.id,
                         relationship_to_head="child")
    home.head_id = head.id
    db.session().flush()
    return home, head, wife, son


# -- history: document, approver, version ------------------------------------------------------------

def test_a_change_writes_its_document_and_approver_into_the_history(create_citizen) -> None:
    person = create_citizen()
    version = person.version
    revision = lifeevents.change_name(person, full_name="Nguyễn Văn Ân", **WHO)
    assert person.full_name == "Nguyễn Văn Ân" and person.name_folded == "nguyen van an"
    assert revision.changes == {"full_name": ["Nguyễn Văn An", "Nguyễn Văn Ân"]}
    assert (revision.document_number, revision.document_date, revision.approved_by) == (
        "123/2026/QĐ-UBND", date(2026, 11, 2), SUPERVISOR)
    assert revision.version == person.version == version + 1
    assert service.history(person)[-1].id == revision.id
    assert _audited("registry:citizen:change-name") == 1
    assert lifeevents.changed_fields_since(person.id, version) == {"full_name"}
    assert lifeevents.changed_fields_since(person.id, person.version) == set()


def test_the_existing_services_take_a_document_too(create_citizen) -> None:
    person = create_citizen()
    revision = service.update_citizen(person, {"email": "An.Nguyen@Example.VN", "residence_file_number": "hs-12/2026"},
                                      actor=CLERK, reason="Form CT01", document=DOC, approved_by=SUPERVISOR)
    assert person.email == "An.Nguyen@example.vn" and person.residence_file_number == "HS-12/2026"
    assert revision.document_number == DOC.number and revision.approved_by == SUPERVISOR
    death = service.record_death(person, "2026-11-01", actor=CLERK, reason="Death extract", document=DOC)
    assert death.document_date == DOC.date


@pytest.mark.parametrize(("document", "field"), [
    (Document(number="  ", date=date(2026, 1, 1)), "document_number"),
    (Document(number="x" * 101, date=date(2026, 1, 1)), "document_number"),
    (Document(number="1/QĐ", date=date.today() + timedelta(days=3)), "document_date"),
])
def test_a_bad_document_is_refused_and_nothing_changes(create_citizen, document, field) -> None:
    person = create_citizen()
    with pytest.raises(ValidationFailed) as info:
        lifeevents.change_name(person, full_name="Nguyễn Văn Ân", actor=CLERK, reason="r", document=document)
    assert field in info.value.extra["errors"]
    db.session().rollback()


def test_email_and_residence_file_number_are_checked(create_citizen) -> None:
    person = create_citizen()
    for changes, field in (({"email": "not an address"}, "email"), ({"email": "a@b"}, "email"),
                           ({"residence_file_number": "12 34"}, "residence_file_number"),
                           ({"residence_file_number": "X" * 31}, "residence_file_number")):
        with pytest.raises(ValidationFailed) as info:
            service.update_citizen(person, changes, actor=CLERK, reason="r")
        assert field in info.value.extra["errors"]


# -- residence and households ----------------------------------------------------------------------

def test_a_move_to_another_commune_with_a_new_address_makes_the_person_head_of_a_new_household(family) -> None:
    home, _head, _wife, son = family
    revision = lifeevents.change_residence(son, permanent_commune_code="00004", address="12 Phố Huế", **WHO)
    assert son.permanent_commune_code == son.current_commune_code == "00004"
    assert son.household is not None and son.household.id != home.id and son.household.head_id == son.id
    assert son.relationship_to_head == "head"
    assert revision.changes["permanent_commune_code"] == ["00070", "00004"]
    assert revision.changes["relationship_to_head"] == ["child", "head"]
    assert _audited("registry:citizen:change-residence") == 1


def test_a_head_with_members_cannot_move_out_alone(family) -> None:
    _home, head, _wife, _son = family
    with pytest.raises(Conflict, match="new head first"):
        lifeevents.change_residence(head, permanent_commune_code="00004", **WHO)


def test_joining_a_household_that_has_a_head_as_head_is_refused(family, create_citizen) -> None:
    home, *_ = family
    newcomer = create_citizen(full_name="Lê Văn Dũng")
    with pytest.raises(Conflict, match="already has a head"):
        lifeevents.change_residence(newcomer, permanent_commune_code="00070", household=home,
                                    relationship_to_head="head", **WHO)
    lifeevents.change_residence(newcomer, permanent_commune_code="00070", household=home,
                                relationship_to_head="other", **WHO)
    assert newcomer.household_id == home.id


def test_moving_a_household_moves_its_members(family) -> None:
    home, head, wife, son = family
    revisions = lifeevents.move_household(home, commune_code="00004", address="5 Hàng Bài", **WHO)
    assert len(revisions) == 3
    assert {p.permanent_commune_code for p in (head, wife, son)} == {"00004"}
    assert (home.commune_code, home.address) == ("00004", "5 Hàng Bài")
    # Same commune, new address: still one history row per member.
    assert len(lifeevents.move_household(home, commune_code="00004", address="7 Hàng Bài", **WHO)) == 3
    assert service.history(son)[-1].changes["household_address"][1]["address"] == "7 Hàng Bài"


def test_a_new_head_and_the_old_heads_new_relationship(family) -> None:
    home, head, wife, son = family
    revisions = lifeevents.change_household_head(home, wife, old_head_relationship="spouse",
                                                 relationships={son.id: "child"}, **WHO)
    assert home.head_id == wife.id
    assert (wife.relationship_to_head, head.relationship_to_head) == ("head", "spouse")
    assert len(revisions) == 2  # the son's relationship did not change: no history row
    with pytest.raises(Conflict, match="already the head"):
        lifeevents.change_household_head(home, wife, old_head_relationship="spouse", **WHO)


def test_split_and_merge_keep_the_closed_household(family) -> None:
    home, head, wife, son = family
    new = lifeevents.split_household(home, [son], son, number="HH-SPLIT-1", address="3 Lý Thường Kiệt", **WHO)
    assert son.household_id == new.id and son.relationship_to_head == "head" and new.head_id == son.id
    assert new.commune_code == "00070" and new.number == "HH-SPLIT-1"
    with pytest.raises(Conflict, match="change the head first"):
        lifeevents.split_household(home, [head], head, **WHO)
    with pytest.raises(Conflict, match="taken"):
        lifeevents.split_household(home, [wife], wife, number="HH-SPLIT-1", **WHO)
    revisions = lifeevents.merge_households(home, new, relationships={son.id: "child"}, **WHO)
    assert len(revisions) == 1 and son.household_id == home.id and son.relationship_to_head == "child"
    closed = db.session().get(Household, new.id)
    assert closed is not None and closed.closed_at is not None and closed.merged_into_id == home.id
    with pytest.raises(Conflict, match="closed"):
        lifeevents.merge_households(home, new, **WHO)


# -- civil status ------------------------------------------------------------------------------------

def test_marriage_and_divorce_link_both_ways_and_end_without_deleting(create_citizen) -> None:
    groom = create_citizen(full_name="Phạm Văn Hùng", birth_year=1995)
    bride = create_citizen(full_name="Đỗ Thị Lan", birth_year=1997, sex="F")
    revisions = lifeevents.record_marriage(groom, bride, on=date(2025, 5, 1), **WHO)
    assert len(revisions) == 2 and groom.marital_status == bride.marital_status == "married"
    (link,) = [r for r in groom.relatives if r.kind == "spouse"]
    assert (link.id_number, link.full_name, link.ended_on) == (bride.id_number, "Đỗ Thị Lan", None)
    other = create_citizen(full_name="Vũ Thị Mai", birth_year=1990, sex="F")
    with pytest.raises(Conflict, match="married"):
        lifeevents.record_marriage(groom, other, on=date(2026, 1, 1), **WHO)

    lifeevents.record_divorce(bride, groom, on=date(2026, 6, 30), **WHO)
    assert groom.marital_status == bride.marital_status == "divorced"
    kept = db.session().scalars(select(Relative).where(Relative.kind == "spouse")).all()
    assert len(kept) == 2 and {r.ended_on for r in kept} == {date(2026, 6, 30)}
    with pytest.raises(Conflict, match="not recorded as married"):
        lifeevents.record_divorce(bride, groom, on=date(2026, 7, 1), **WHO)
    lifeevents.record_marriage(groom, other, on=date(2026, 8, 1), **WHO)  # free to marry again


@pytest.mark.parametrize(("groom_year", "bride_sex", "words"), [
    (2007, "F", "minimum age"), (1990, "M", "between a man and a woman")])
def test_a_marriage_the_law_does_not_allow_is_refused(create_citizen, groom_year, bride_sex, words) -> None:
    groom = create_citizen(birth_year=groom_year)
    other = create_citizen(birth_year=1995, sex=bride_sex)
    with pytest.raises(ValidationFailed, match=words):
        lifeevents.record_marriage(groom, other, on=date(2026, 1, 1), **WHO)


def test_relatives_are_linked_once_and_ended_not_deleted(create_citizen) -> None:
    child = create_citizen(full_name="Lê Minh Khôi", birth_year=2012)
    mother = create_citizen(full_name="Hoàng Thị Thu", birth_year=1985, sex="F")
    lifeevents.link_relative(child, kind="mother", id_number=mother.id_number, full_name=None, **WHO)
    (link,) = child.relatives
    assert (link.kind, link.full_name, link.nationality) == ("mother", "Hoàng Thị Thu", "VN")
    with pytest.raises(Conflict, match="already recorded"):
        lifeevents.link_relative(child, kind="mother", id_number=None, full_name="Ai Đó", **WHO)
    revision = lifeevents.link_relative(child, kind="representative", id_number=None, full_name="Trần Văn Bảo", **WHO)
    assert revision.changes["relatives"][1]["kind"] == "representative"
    rep = next(r for r in child.relatives if r.kind == "representative")
    lifeevents.end_relative(child, rep.id, on=date(2026, 1, 2), **WHO)
    assert rep.ended_on == date(2026, 1, 2) and len(child.relatives) == 2
    with pytest.raises(Conflict, match="ended"):
        lifeevents.end_relative(child, rep.id, on=date(2026, 1, 3), **WHO)
    with pytest.raises(NotFound):
        lifeevents.end_relative(mother, rep.id, on=date(2026, 1, 3), **WHO)
    for kind, number, field in (("uncle", None, "kind"), ("spouse", None, "kind"), ("child", None, "id_number"),
                                ("child", "12345", "id_number")):
        with pytest.raises(ValidationFailed) as info:
            lifeevents.link_relative(mother, kind=kind, id_number=number, full_name=None, **WHO)
        assert field in info.value.extra["errors"]


def test_missing_then_found(create_citizen) -> None:
    person = create_citizen()
    lifeevents.declare_missing(person, on=date(2026, 3, 1), **WHO)
    assert (person.status, person.date_of_death) == ("missing", date(2026, 3, 1))
    with pytest.raises(Conflict):
        lifeevents.declare_missing(person, on=date(2026, 3, 2), **WHO)
    revision = lifeevents.end_missing(person, **WHO)
    assert (person.status, person.date_of_death) == ("alive", None)
    assert revision.changes["status"] == ["missing", "alive"] and revision.source == "court_decision"
    with pytest.raises(Conflict, match="not recorded as missing"):
        lifeevents.end_missing(person, **WHO)


def test_id_card_dates_are_checked(create_citizen) -> None:
    person = create_citizen(birth_year=1990)
    lifeevents.set_id_card(person, issued_on=date(2021, 4, 1), issued_by="Cục Cảnh sát QLHC về TTXH",
                           expires_on=date(2030, 5, 17), **WHO)
    assert (person.id_card_issued_on, person.id_card_expires_on) == (date(2021, 4, 1), date(2030, 5, 17))
    for kwargs, field in (({"issued_on": date(1980, 1, 1)}, "id_card_issued_on"),
                          ({"issued_on": date.today() + timedelta(days=3)}, "id_card_issued_on"),
                          ({"expires_on": date(2020, 1, 1)}, "id_card_expires_on"),
                          ({"issued_by": ""}, "id_card_issued_by")):
        values: dict[str, Any] = {"issued_on": date(2021, 4, 1), "issued_by": "Cục CS", "expires_on": None, **kwargs}
        with pytest.raises(ValidationFailed) as info:
            lifeevents.set_id_card(person, **values, **WHO)
        assert field in info.value.extra["errors"]


def test_temporary_residence_and_absence_are_ended_not_deleted(create_citizen) -> None:
    person = create_citizen()
    with pytest.raises(ValidationFailed, match="permanent residence"):
        lifeevents.register_temporary_residence(person, commune_code="00070", address="x",
                                                registered_on=date(2026, 1, 5), expires_on=None, **WHO)
    revision = lifeevents.register_temporary_residence(person, commune_code="00004", address="Phòng 3, 9 Kim Mã",
                                                       registered_on=date(2026, 1, 5), expires_on=date(2027, 1, 5),
                                                       **WHO)
    residence_id = revision.changes["temporary_residence"][1]["id"]
    with pytest.raises(Conflict, match="end it first"):
        lifeevents.register_temporary_residence(person, commune_code="00004", address="y",
                                                registered_on=date(2026, 2, 1), expires_on=None, **WHO)
    lifeevents.end_temporary_residence(person, residence_id, on=date(2026, 6, 1), **WHO)
    absence = lifeevents.declare_absence(person, starts_on=date(2026, 7, 1), ends_on=date(2026, 12, 31),
                                         destination="Đà Nẵng", **WHO)
    absence_id = absence.changes["absence"][1]["id"]
    with pytest.raises(ValidationFailed, match="before the start"):
        lifeevents.end_absence(person, absence_id, on=date(2026, 6, 1), **WHO)
    lifeevents.end_absence(person, absence_id, on=date(2026, 8, 1), **WHO)
    assert [r.source for r in service.history(person)] == ["residence_registration"] * 4
    assert lifeevents.changed_fields_since(person.id, 1) == {"temporary_residence", "absence"}


# -- two records of one person ---------------------------------------------------------------------

def test_merged_records_resolve_to_the_survivor_and_keep_both_histories(create_citizen) -> None:
    survivor = create_citizen(full_name="Bùi Văn Long")
    duplicate = create_citizen(full_name="Bùi Văn Long")
    db.session().add_all([CitizenOldNumber(number="012345678", citizen_id=duplicate.id),
                          CitizenOldNumber(number="087654321", citizen_id=duplicate.id),
                          CitizenOldNumber(number="087654321", citizen_id=survivor.id)])
    lifeevents.change_name(duplicate, full_name="Bùi Văn Lọng", **WHO)
    dup_number = duplicate.id_number
    revisions = lifeevents.merge_records(survivor, duplicate, **WHO)
    assert len(revisions) == 2 and duplicate.merged_into_id == survivor.id
    assert service.get_citizen_by_number(dup_number).id == survivor.id
    assert service.get_citizen_by_number(survivor.id_number).id == survivor.id
    assert service.old_id_numbers(survivor.id) == ["012345678", "087654321"]
    assert service.old_id_numbers(duplicate.id) == []
    assert [c.id for c in search.search(search.Query(number=dup_number)).citizens] == [survivor.id]
    assert [c.id for c in search.search(search.Query(number="012345678")).citizens] == [survivor.id]
    assert [c.id for c in search.search(search.Query(name="Bùi Văn Long")).citizens] == [survivor.id]
    assert len(service.history(duplicate)) == 2 and service.history(survivor)[-1].source == "record_merge"
    with pytest.raises(Conflict, match="merged"):
        lifeevents.change_name(duplicate, full_name="Bùi Văn Long", **WHO)
    with pytest.raises(Conflict, match="merged"):
        lifeevents.merge_records(duplicate, survivor, **WHO)
    for change in (lambda: service.update_citizen(duplicate, {"phone": "0912345678"}, actor=CLERK, reason="r"),
                   lambda: service.record_death(duplicate, "2026-01-01", actor=CLERK, reason="r"),
                   lambda: service.reissue_number(duplicate, actor=CLERK, reason="r")):
        with pytest.raises(Conflict, match="merged"):
            change()


def test_a_concurrent_change_is_a_conflict_not_a_server_error(app, create_citizen) -> None:
    person = create_citizen()
    db.session().commit()
    # Another clerk's change commits first, on its own connection.
    with db.get_db().engine.begin() as conn:
        conn.execute(update(Citizen).where(Citizen.id == person.id).values(version=Citizen.version + 1,
                                                                           phone="0912345678"))
    with pytest.raises(Conflict, match="at the same time"):
        lifeevents.change_name(person, full_name="Nguyễn Văn Ân", **WHO)
    db.session().rollback()


def test_the_record_shows_the_card_the_registrations_and_ended_links(create_citizen) -> None:
    person = create_citizen()
    lifeevents.set_id_card(person, issued_on=date(2021, 4, 1), issued_by="Cục CS QLHC", expires_on=None, **WHO)
    lifeevents.register_temporary_residence(person, commune_code="00004", address="9 Kim Mã",
                                            registered_on=date(2026, 1, 5), expires_on=date(2026, 12, 31), **WHO)
    lifeevents.link_relative(person, kind="guardian", id_number=None, full_name="Lê Văn Tâm", **WHO)
    lifeevents.end_relative(person, person.relatives[0].id, on=date(2026, 2, 1), **WHO)
    shown = dict(service.describe(person))
    assert shown["Thẻ căn cước / Identity card"] == "2021-04-01, Cục CS QLHC, không thời hạn / no expiry"
    assert shown["Tạm trú / Temporary residence"] == "00004 9 Kim Mã, 2026-01-05 – 2026-12-31"
    assert shown["Người giám hộ / Guardian"] == "Lê Văn Tâm (—), đến / until 2026-02-01"


def test_a_duplicate_heading_a_household_with_members_is_not_merged_until_the_head_changes(family,
                                                                                          create_citizen) -> None:
    home, head, wife, son = family
    survivor = create_citizen(full_name="Nguyễn Văn An", birth_year=1980)
    with pytest.raises(Conflict, match="new head first"):
        lifeevents.merge_records(survivor, head, **WHO)
    lifeevents.change_household_head(home, wife, old_head_relationship="spouse", **WHO)
    lifeevents.merge_records(survivor, head, **WHO)
    assert head.household_id is None and head.merged_into_id == survivor.id
    assert [m.id for m in db.session().scalars(select(Citizen).where(Citizen.household_id == home.id,
                                                                      Citizen.merged_into_id.is_(None))
                                                               .order_by(Citizen.id))] == [
        wife.id, son.id]
