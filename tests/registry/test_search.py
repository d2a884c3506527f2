"""A clerk finds people: name without accents, birth date or year, commune (also a pre-2025 code),
household, any number held; pages cut by citizen id."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy import text

from idsvc import db
from idsvc.errors import ValidationFailed
from idsvc.registry import search
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenOldNumber
from idsvc.registry.models import LegacyCommune
from idsvc.registry.models import LegacyCommuneSuccessor
from idsvc.registry.search import Query


def found(query: Query, **options) -> list[str]:
    return [c.full_name for c in search.search(query, **options).citizens]


@pytest.fixture()
def people(create_citizen, create_household):
    home = create_household(number="HH-SEARCH-1")
    made = {
        "an": create_citizen(full_name="Nguyễn Văn An", birth_year=1980, birth_month=3, birth_day=15,
                             household_id=home.id),
        "an_1990": create_citizen(full_name="Nguyễn Văn An", birth_year=1990, birth_month=None, birth_day=None),
        "binh": create_citizen(full_name="Trần Thị Bình", birth_year=1985, sex="F", household_id=home.id),
    }
    made["an_1990"].permanent_commune_code = "00004"  # the others live in 00070
    db.session().flush()
    return made


def test_by_name_without_accents_and_by_birth_year_or_date(people) -> None:
    assert found(Query(name="nguyen van AN")) == ["Nguyễn Văn An", "Nguyễn Văn An"]
    assert found(Query(name="Nguyễn Văn An", born="1990")) == ["Nguyễn Văn An"]
    # A full date finds the record that knows only the year too: its known part agrees.
    assert [c.id for c in search.search(Query(name="Nguyen Van An", born="1990-07-01")).citizens] == [
        people["an_1990"].id]
    assert found(Query(name="Nguyen Van An", born="1980-03-16")) == []


def test_by_some_words_of_the_name_in_their_order(create_citizen) -> None:
    for full_name in ("Trần Thị Bình", "Trần Bình", "Bình Trần", "Trần Thị Bìnhh", "Lê Trần Văn Bình"):
        create_citizen(full_name=full_name)
    assert found(Query(name_words="tran binh")) == ["Trần Thị Bình", "Trần Bình", "Lê Trần Văn Bình"]
    assert found(Query(name_words="TRẦN  thị")) == ["Trần Thị Bình", "Trần Thị Bìnhh"]
    with pytest.raises(ValidationFailed, match="letters only"):
        search.search(Query(name_words="tra% binh"))
    assert found(Query(name_words="binh", born="1990")) == ["Trần Thị Bình", "Trần Bình", "Bình Trần",
                                                            "Lê Trần Văn Bình"]
    with pytest.raises(ValidationFailed, match="at least one word of 3 letters"):
        search.search(Query(name_words="an le"))


def test_postgresql_answers_words_of_a_name_from_a_trigram_index(app_ctx) -> None:
    engine = db.session().get_bind()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads the table")
    indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("citizen")}
    assert "gin_trgm_ops" in str(db.session().scalar(text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_citizen_name_words_trgm'")))
    assert "ix_citizen_name_words_trgm" in indexes


def test_by_commune_including_a_pre_2025_code(people) -> None:
    s = db.session()
    s.add(LegacyCommune(code="99001", name="Phường Cũ", district="Quận Cũ", legacy_province_code="01"))
    s.flush()
    s.add(LegacyCommuneSuccessor(legacy_code="99001", commune_code="00004", is_default=True))
    s.flush()
    assert [c.id for c in search.search(Query(commune="00004")).citizens] == [people["an_1990"].id]
    assert [c.id for c in search.search(Query(commune="99001")).citizens] == [people["an_1990"].id]


def test_by_household_and_by_any_number_held(people) -> None:
    an = people["an"]
    assert found(Query(household="HH-SEARCH-1")) == ["Nguyễn Văn An", "Trần Thị Bình"]
    s = db.session()
    s.add(CitizenNumber(number="001080999999", citizen_id=an.id))
    s.add(CitizenOldNumber(number="012345678", citizen_id=an.id))
    s.flush()
    for number in (an.id_number, "001080999999", "012345678", "0123 45678"):
        assert [c.id for c in search.search(Query(number=number)).citizens] == [an.id], number


def test_pages_follow_one_another_without_repeats(create_citizen) -> None:
    ids = [create_citizen(full_name="Lê Văn Hùng", birth_year=1970).id for _ in range(5)]
    first = search.search(Query(name="le van hung"), limit=2)
    second = search.search(Query(name="le van hung"), limit=2, after=first.next_after)
    third = search.search(Query(name="le van hung"), limit=2, after=second.next_after)
    assert [c.id for page in (first, second, third) for c in page.citizens] == sorted(ids)
    assert third.next_after is None


@pytest.mark.parametrize(("query", "message"), [
    (Query(), "give at least one of"), (Query(name="  "), "give at least one of"),
    (Query(born="15/03/1980"), "born: "), (Query(commune="70"), "commune: '70' is not a 5-digit"),
    (Query(number="12345"), "number: a 12-digit ID number or a 9-digit"),
])
def test_a_query_that_cannot_be_read_says_why(app_ctx, query: Query, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        search.search(query)


def test_the_command_prints_one_line_a_person_and_where_to_go_on(runner, app, people) -> None:
    db.session().commit()
    result = runner.invoke(args=["registry", "search", "--name", "nguyen van an", "--limit", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(people["an"].id_number) and "Nguyễn Văn An" in lines[0]
    assert lines[1].startswith("more: --after ")
    refused = runner.invoke(args=["registry", "search"])
    assert refused.exit_code == 2 and "give at least one of" in refused.output
