"""A person's facts as the registry knows them, gathered set-based for many people at once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from idsvc import db
from idsvc.eligibility import service
from idsvc.errors import NotFound
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import Commune
from idsvc.registry.models import Relative

ON = date(2026, 12, 5)


def died(citizen: Citizen, on: date, status: str = "deceased") -> Citizen:
    citizen.status, citizen.date_of_death = status, on
    db.session().flush()
    return citizen


def relate(child_id: int, kind: str, id_number: str | None, name: str = "Trần Văn Bình") -> None:
    db.session().add(Relative(citizen_id=child_id, kind=kind, id_number=id_number, full_name=name))
    db.session().flush()


def test_facts_of_one_person(create_citizen, create_household) -> None:
    home = create_household()
    grandmother = create_citizen(birth_year=1951, birth_month=None, birth_day=None, sex="F", household_id=home.id)
    create_citizen(birth_year=1980, household_id=home.id)
    died(create_citizen(birth_year=1982, household_id=home.id), date(2026, 1, 2))
    facts = service.facts_of(grandmother.id, on=ON, sources={"pension": False})
    province = db.session().get_one(Commune, "00070").province_code
    assert facts.birth == PartialDate(1951)
    assert (facts.sex, facts.status, facts.date_of_death) == ("F", "alive", None)
    assert (facts.commune_code, facts.province_code) == ("00070", province)
    # The member who died in January is not counted on 5 December, but is on 1 January.
    assert (facts.household_id, facts.household_size) == (home.id, 2)
    assert service.facts_of(grandmother.id, on=date(2026, 1, 1)).household_size == 3
    assert (facts.father, facts.mother) == ("unknown", "unknown")
    assert facts.facts == {"pension": False}


def test_parents_life_status(create_citizen) -> None:
    father = create_citizen(birth_year=1970)
    mother = died(create_citizen(birth_year=1972, sex="F"), date(2020, 5, 1))
    child = create_citizen(birth_year=2015)
    relate(child.id, "father", father.id_number)
    relate(child.id, "mother", mother.id_number)
    facts = service.facts_of(child.id, on=ON)
    assert (facts.father, facts.mother) == ("alive", "deceased")
    # Before her death she was alive; a parent outside the registry is unknown.
    assert service.facts_of(child.id, on=date(2019, 1, 1)).mother == "alive"
    orphan = create_citizen(birth_year=2016)
    relate(orphan.id, "father", "001099999999")
    relate(orphan.id, "mother", None)
    relate(orphan.id, "spouse", father.id_number)
    assert (service.facts_of(orphan.id, on=ON).father, service.facts_of(orphan.id, on=ON).mother) == (
        "unknown", "unknown")


def test_no_household_and_no_residence(create_citizen) -> None:
    person = died(create_citizen(), date(2024, 1, 1), "missing")
    person.permanent_commune_code = None
    db.session().flush()
    facts = service.facts_of(person.id, on=ON)
    assert (facts.household_id, facts.household_size, facts.commune_code, facts.province_code) == (
        None, None, None, None)
    assert facts.status == "missing" and not facts.alive_on(ON)


def test_many_people_take_a_constant_number_of_queries(app_ctx, create_citizen, create_household) -> None:
    home = create_household()
    parent = create_citizen(birth_year=1960, household_id=home.id)
    people = [create_citizen(birth_year=1990 + i, household_id=home.id) for i in range(20)]
    for p in people:
        relate(p.id, "father", parent.id_number)
    statements: list[str] = []
    engine = db.session().get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        facts = service.facts_for([p.id for p in people] + [999_999], on=ON)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # Three for the registry's facts, one to find that no attribute-source list is in force.
    assert len(statements) == 4
    assert set(facts) == {p.id for p in people}
    assert {f.household_size for f in facts.values()} == {21}
    assert {f.father for f in facts.values()} == {"alive"}


def test_unknown_citizen(app_ctx) -> None:
    with pytest.raises(NotFound):
        service.facts_of(999_999, on=ON)
