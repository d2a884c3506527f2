"""Registry services: birth registration and number issuance, corrections with history, deaths."""

from __future__ import annotations

import threading
from datetime import date
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry import idnumbers
from idsvc.registry import service
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenRevision

CLERK = "staff:clerk-1"


def _register(**overrides):
    values: dict[str, Any] = dict(actor=CLERK, reason="Birth certificate 123/2026", full_name="Lê Minh Khôi",
                  date_of_birth="2026-03-04", sex="M", registration_commune_code="00070", ethnicity="Kinh")
    values.update(overrides)
    return service.register_birth(**values)


def test_birth_registration_issues_a_consistent_number_with_history(app_ctx) -> None:
    child = _register()
    idnumbers.check_consistent(child.id_number, birth_year=2026, sex="M")
    assert child.id_number.startswith("001226")  # Hà Nội, a boy born in the 2000s, year 26
    assert child.permanent_commune_code == "00070"
    (revision,) = service.history(child)
    assert revision.source == "birth_registration" and revision.actor == CLERK
    assert revision.changes["full_name"] == [None, "Lê Minh Khôi"]
    assert revision.changes["id_number"] == [None, child.id_number]
    assert db.session().scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "registry:citizen:register-birth")) == 1


def test_prefix_follows_the_registering_communes_province(app_ctx) -> None:
    from idsvc.registry.models import Commune

    commune = db.session().scalars(select(Commune).where(Commune.province_code == "79")).first()
    girl = _register(sex="F", registration_commune_code=commune.code, date_of_birth="2025-12")
    assert girl.id_number[:6] == "079325"
    assert girl.date_of_birth.precision == "month"


def test_birth_abroad_uses_the_country_code(app_ctx) -> None:
    child = _register(registration_commune_code=None, registered_abroad_code="232", permanent_commune_code="00070")
    assert child.id_number.startswith("232226")


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"full_name": "  "}, "full_name", "required"), ({"date_of_birth": "2026-02-30"}, "date_of_birth", "no day 30"),
    ({"sex": "X"}, "sex", "M or F"), ({"ethnicity": "Klingon"}, "ethnicity", "54 ethnic groups"),
    ({"date_of_birth": "2999"}, "date_of_birth", "in the future"),
    ({"date_of_birth": "1850-01-01"}, "date_of_birth", "from 1900 on"),
    ({"date_of_birth": ""}, "date_of_birth", "required"),
    ({"full_name": "L" * 201}, "full_name", "longer than 200 characters"),
    ({"full_name": "\uac01" * 67}, "full_name", "without diacritics"),
    ({"hometown": "x" * 201}, "hometown", "longer than 200"),
    ({"other_names": "Lê\u202eKhôi"}, "other_names", "control characters"),
    ({"nationality": "Vietnam"}, "nationality", "2-letter country code"),
    ({"phone": "call me maybe"}, "phone", "not a telephone number"),
    ({"phone": "\uff10912345678"}, "phone", "not a telephone number"),
    ({"household_id": 987654}, "household_id", "does not exist"),
    ({"household_id": "H1"}, "household_id", "does not exist"),
    ({"household_id": True}, "household_id", "does not exist"),
    ({"full_name": "=2+3"}, "full_name", "a name cannot contain '=', '2' or '+'"),
    ({"full_name": "@Lê Minh Khôi"}, "full_name", "a name cannot contain '@'"),
    ({"full_name": "-Lê Minh Khôi"}, "full_name", "a name begins with a letter, not '-'"),
    ({"other_names": "Tý; Tèo"}, "other_names", "a name cannot contain ';'"),
])
def test_bad_values_are_refused_and_nothing_is_written(app_ctx, overrides, field, words) -> None:
    with pytest.raises(ValidationFailed) as info:
        _register(**overrides)
    assert words in info.value.extra["errors"][field]
    assert db.session().scalar(select(func.count()).select_from(CitizenNumber)) == 0


def test_an_update_must_change_something_and_keep_birth_before_death(app_ctx) -> None:
    person = _register(date_of_birth="2026-01-01")
    with pytest.raises(ValidationFailed, match="nothing to change"):
        service.update_citizen(person, {}, actor=CLERK, reason="r")
    service.record_death(person, "2026-02-01", actor=CLERK, reason="Death certificate 1")
    with pytest.raises(ValidationFailed, match="after the date of death"):
        service.update_citizen(person, {"date_of_birth": "2026-03-01"}, actor=CLERK, reason="r")
    # A deceased person's record may still be corrected.
    service.update_citizen(person, {"full_name": "Lê Minh Khang"}, actor=CLERK, reason="Birth certificate")
    assert person.full_name == "Lê Minh Khang"


def test_names_of_any_script_with_the_punctuation_names_use_are_accepted(app_ctx) -> None:
    child = _register(full_name="Y-Moan K’Lơng O'Neil", other_names="Tý, Tèo, J. Smith")
    assert (child.full_name, child.other_names) == ("Y-Moan K’Lơng O'Neil", "Tý, Tèo, J. Smith")
    service.update_citizen(child, {"full_name": "สมชาย ใจดี"}, actor=CLERK, reason="Court decision 7")
    assert child.full_name == "สมชาย ใจดี"  # Thai: letters and combining vowel marks


def test_a_phone_written_with_spaces_is_kept_in_digits(app_ctx) -> None:
    assert _register(phone="+84 912 . 345 . 678  ").phone == "+84912345678"


@pytest.mark.parametrize("when", ["2026-13-01", "yesterday", 20260201, datetime(2026, 2, 1, 12)])
def test_a_death_date_that_is_not_a_date_is_refused(app_ctx, when) -> None:
    person = _register(date_of_birth="2026-01-01")
    with pytest.raises(ValidationFailed, match="date"):
        service.record_death(person, when, actor=CLERK, reason="Death certificate 1")
    assert person.status == "alive"


def test_a_drawn_serial_that_is_taken_is_drawn_again(app_ctx, monkeypatch) -> None:
    draws = iter(["000777", "000777", "000778"])
    monkeypatch.setattr(idnumbers, "random_serial", lambda: next(draws))
    first, second = _register(), _register(full_name="Lê Minh Khang")
    assert first.id_number.endswith("000777")
    assert second.id_number.endswith("000778")


def test_retired_numbers_are_never_issued_again(app_ctx, monkeypatch) -> None:
    person = _register()
    old = person.id_number
    draws = iter([old[6:], old[6:], "424242"])
    monkeypatch.setattr(idnumbers, "random_serial", lambda: next(draws))
    service.reissue_number(person, actor=CLERK, reason="Decision 55/QĐ: data-entry error")
    assert person.id_number == old[:6] + "424242"
    retired = db.session().get(CitizenNumber, old)
    assert retired.retired_at is not None and retired.citizen_id == person.id
    with pytest.raises(NotFound, match="replaced by a newer number"):
        service.get_citizen_by_number(old)
    assert service.get_citizen_by_number(person.id_number) is person


def test_concurrent_registrations_drawing_the_same_serial_both_succeed(app) -> None:
    """Two clerks, two connections, the same serial drawn at the same moment."""
    barrier = threading.Barrier(2)
    local = threading.local()
    original = idnumbers.random_serial

    def same_first_draw() -> str:
        if not getattr(local, "drawn", False):
            local.drawn = True
            try:
                barrier.wait(timeout=2)  # SQLite serialises writers, so the barrier may break
            except threading.BrokenBarrierError:
                pass
            return "555555"
        return original()

    numbers: list[str] = []
    errors: list[BaseException] = []

    def clerk(name: str) -> None:
        try:
            with app.app_context(), db.transaction():
                numbers.append(_register(full_name=name).id_number)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    idnumbers.random_serial = same_first_draw
    try:
        threads = [threading.Thread(target=clerk, args=(n,)) for n in ("Phạm Văn Một", "Phạm Văn Hai")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        idnumbers.random_serial = original
    assert errors == []
    assert len(numbers) == 2 and len(set(numbers)) == 2
    assert sum(n.endswith("555555") for n in numbers) == 1
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(CitizenNumber)) == 2


def test_update_appends_field_level_history_and_checks_the_version(app_ctx) -> None:
    person = _register()
    seen = person.version
    revision = service.update_citizen(person, {"full_name": "Lê  Minh Khôi Nguyên", "religion": "Phật giáo"},
                                      actor=CLERK, reason="Citizen request 9/2026", source="citizen_request",
                                      expected_version=seen)
    assert revision.changes == {"full_name": ["Lê Minh Khôi", "Lê Minh Khôi Nguyên"],
                                "religion": [None, "Phật giáo"]}
    assert person.version == seen + 1 == revision.version
    assert person.name_folded == "le minh khoi nguyen"
    with pytest.raises(Conflict, match="changed since you opened it"):
        service.update_citizen(person, {"religion": "Không"}, actor=CLERK, reason="x", expected_version=seen)
    assert [r.source for r in service.history(person)] == ["birth_registration", "citizen_request"]


def test_correcting_the_birth_year_re_establishes_the_number(app_ctx) -> None:
    person = _register(date_of_birth="2025-11-30")
    old = person.id_number
    revision = service.update_citizen(person, {"date_of_birth": "2026-01-02"}, actor=CLERK,
                                      reason="Birth certificate corrected")
    idnumbers.check_consistent(person.id_number, birth_year=2026, sex="M")
    assert old[:3] == person.id_number[:3] and old != person.id_number
    assert revision.changes["id_number"] == [old, person.id_number]
    assert revision.changes["date_of_birth"] == ["2025-11-30", "2026-01-02"]


def test_fields_with_their_own_workflow_cannot_be_updated(app_ctx) -> None:
    person = _register()
    with pytest.raises(ValidationFailed, match="id_number, status"):
        service.update_citizen(person, {"status": "deceased", "id_number": "001226000000"}, actor=CLERK, reason="x")


def test_a_change_without_a_reason_is_refused(app_ctx) -> None:
    person = _register()
    with pytest.raises(ValidationFailed, match="needs a reason"):
        service.update_citizen(person, {"religion": "Không"}, actor=CLERK, reason=" ")


def test_recording_a_death(app_ctx) -> None:
    person = _register(date_of_birth="2026-01-01")
    with pytest.raises(ValidationFailed, match="before the date of birth"):
        service.record_death(person, date(2025, 12, 31), actor=CLERK, reason="Death certificate 1")
    revision = service.record_death(person, date(2026, 2, 1), actor=CLERK, reason="Death certificate 1")
    assert person.status == "deceased" and not person.is_alive()
    assert revision.changes == {"status": ["alive", "deceased"], "date_of_death": [None, "2026-02-01"]}
    with pytest.raises(Conflict, match="already recorded as deceased"):
        service.record_death(person, date(2026, 2, 1), actor=CLERK, reason="again")


def test_find_by_name_ignores_accents_and_ranks_exact_spelling_first(app_ctx, create_citizen) -> None:
    folded_twin = create_citizen(full_name="Nguyên Vân Đực", birth_year=1980)
    exact = create_citizen(full_name="Nguyễn Văn Đức", birth_year=1980)
    create_citizen(full_name="Nguyễn Văn Đức", birth_year=1981)
    found = service.find_by_name("Nguyễn Văn Đức", birth_year=1980)
    assert found == [exact, folded_twin]
    assert len(service.find_by_name("nguyen van duc")) == 3


def test_revisions_are_kept_when_the_transaction_commits(app) -> None:
    with app.app_context(), db.transaction():
        person_id = _register().id
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(CitizenRevision)
                                   .where(CitizenRevision.citizen_id == person_id)) == 1


def test_a_correction_never_gives_a_household_a_second_head_nor_unmakes_its_head(
        create_citizen, create_household) -> None:
    household = create_household()
    head = create_citizen(household_id=household.id, relationship_to_head="head")
    household.head_id = head.id
    child = create_citizen(household_id=household.id, relationship_to_head="child")
    db.session().flush()
    with pytest.raises(Conflict, match="already has a head"):
        service.update_citizen(child, {"relationship_to_head": "head"}, actor="t", reason="r")
    with pytest.raises(Conflict, match="choose its new head first"):
        service.update_citizen(head, {"relationship_to_head": "other"}, actor="t", reason="r")
    elsewhere = create_household()
    with pytest.raises(Conflict, match="choose its new head first"):
        service.update_citizen(head, {"household_id": elsewhere.id}, actor="t", reason="r")
    assert (head.relationship_to_head, head.household_id, child.relationship_to_head) == ("head", household.id, "child")
    service.update_citizen(child, {"relationship_to_head": "grandchild"}, actor="t", reason="r")  # not the head: fine
    service.update_citizen(child, {"household_id": elsewhere.id, "relationship_to_head": "head"}, actor="t",
                           reason="r")  # a household without a head may get one this way
    assert (child.relationship_to_head, elsewhere.head_id) == ("head", child.id)
