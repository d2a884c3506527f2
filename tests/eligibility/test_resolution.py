"""Identity resolution of applicant rows against the registry: numbers, details, the index."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from sqlalchemy import event
from sqlalchemy import select

from idsvc import db
from idsvc.eligibility import blockindex
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.applicants import applicant
from idsvc.eligibility.matching import Person
from idsvc.eligibility.matching import search_keys
from idsvc.eligibility.models import CitizenBlockKey
from idsvc.eligibility.models import NameFrequency
from idsvc.eligibility.resolution import Resolution
from idsvc.eligibility.resolution import resolve_all
from idsvc.registry import names
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenOldNumber
from idsvc.registry.models import Commune
from idsvc.registry.models import LegacyCommune
from idsvc.registry.models import LegacyCommuneSuccessor

ON = date(2026, 12, 5)
HOME = "00070"  # the factories' commune


def row(line: int = 1, **values: str) -> Applicant:
    base = {"ref": f"r{line}", "citizen_id": "", "full_name": "Nguyễn Văn An", "date_of_birth": "17/05/1990",
            "commune_code": HOME}
    return applicant({**base, **values}, line, today=ON)


def one(r: Applicant) -> Resolution:
    [resolution] = resolve_all([r], on=ON)
    return resolution


@pytest.fixture()
def people(create_citizen) -> dict[str, Citizen]:
    """A small registry: the people the rows are about, and others so that names are not all alike."""
    made = {
        "an": create_citizen(full_name="Nguyễn Văn An", birth_year=1990, birth_month=5, birth_day=17),
        "binh": create_citizen(full_name="Trần Thị Bình", birth_year=1985, birth_month=2, birth_day=3, sex="F"),
        "duc": create_citizen(full_name="Lê Minh Đức", birth_year=1972, birth_month=11, birth_day=30),
        "hoa": create_citizen(full_name="Phạm Thị Hoà", birth_year=1960, birth_month=7, birth_day=9, sex="F"),
    }
    for i, name in enumerate(("Hoàng Văn Cường", "Vũ Thị Lan", "Đặng Quốc Tuấn", "Bùi Thị Mai")):
        create_citizen(full_name=name, birth_year=1950 + i, birth_month=1 + i, birth_day=10 + i)
    return made


def test_resolution_round_trips_through_a_dict() -> None:
    r = Resolution(7, "review", 20.5, ("MATCH_REVIEW",), ("name: exact (+20.0)",), (7, 9))
    assert Resolution.from_dict(r.to_dict()) == r
    assert Resolution.from_dict(Resolution(None, "none").to_dict()) == Resolution(None, "none")


def test_current_retired_unknown_and_invalid(people) -> None:
    an = people["an"]
    old = "001090999001"
    db.session().add(CitizenNumber(number=old, citizen_id=an.id, retired_at=datetime(2024, 1, 1, tzinfo=UTC)))
    db.session().flush()
    got = resolve_all([row(1, citizen_id=an.id_number), row(2, citizen_id=old),
                       row(3, citizen_id="001090999002", full_name="Ngô Bảo Châu"),
                       row(4, date_of_birth="31/02/1990")], on=ON)
    assert [(r.citizen_id, r.match) for r in got] == [
        (an.id, "id"), (an.id, "id-history"), (None, "none"), (None, "none")]
    assert got[0].reasons == () and got[0].score is None
    assert "name: exact" in got[0].explanation[0]
    assert got[2].reasons == ("ID_UNKNOWN",)
    assert got[3] == Resolution(None, "none")


def test_unknown_or_malformed_number_resolves_on_details(people) -> None:
    an = people["an"]
    got = resolve_all([row(1, citizen_id="001090999003"), row(2, citizen_id="12345")], on=ON)
    assert [(r.citizen_id, r.match, r.reasons) for r in got] == [
        (an.id, "details", ("ID_UNKNOWN",)), (an.id, "details", ("ID_MALFORMED",))]
    assert got[0].score is not None and got[0].score >= 22


def test_old_numbers(people) -> None:
    an, binh, duc = people["an"], people["binh"], people["duc"]
    s = db.session()
    s.add_all([CitizenOldNumber(number="012345678", citizen_id=an.id),
               CitizenOldNumber(number="087654321", citizen_id=binh.id),
               CitizenOldNumber(number="087654321", citizen_id=duc.id)])  # issued twice
    s.flush()
    got = resolve_all([row(1, citizen_id="012345678"),
                       row(2, citizen_id="087654321", full_name="Trần Thị Bình", date_of_birth="03/02/1985"),
                       row(3, citizen_id="099999999")], on=ON)
    assert [(r.citizen_id, r.match, r.reasons) for r in got] == [
        (an.id, "old-id", ()), (binh.id, "details", ("OLD_ID_AMBIGUOUS",)), (an.id, "details", ("OLD_ID_UNKNOWN",))]


def test_a_relatives_number_resolves_to_the_person_the_details_name(people) -> None:
    an, binh = people["an"], people["binh"]
    got = one(row(citizen_id=an.id_number, full_name="Tran Thi Binh", date_of_birth="03/02/1985", sex="F"))
    assert (got.citizen_id, got.match, got.reasons) == (binh.id, "details", ("ID_OF_OTHER_PERSON",))
    assert got.explanation[0].startswith("name: exact-folded")


def test_data_mismatch_names_the_fields_and_keeps_the_holder(people) -> None:
    an = people["an"]
    got = resolve_all([
        row(1, citizen_id=an.id_number, full_name="Ngô Bảo Châu", date_of_birth="1971"),
        row(2, citizen_id=an.id_number, date_of_birth="01/01/1970"),
        row(3, citizen_id=an.id_number, sex="F"),
        row(4, citizen_id=an.id_number, full_name="Ngô Bảo Châu", sex="F"),
    ], on=ON)
    assert [(r.citizen_id, r.match) for r in got] == [(an.id, "id")] * 4
    assert [r.reasons for r in got] == [("DATA_MISMATCH:name+dob",), ("DATA_MISMATCH:dob",),
                                        ("DATA_MISMATCH:sex",), ("DATA_MISMATCH:name+sex",)]
    # Never the registry's values: only which fields differ.
    assert not any("1990" in e or "An" in e for r in got for e in r.explanation)


def test_details_match_without_diacritics_and_with_name_order_swapped(people) -> None:
    an, hoa = people["an"], people["hoa"]
    got = resolve_all([row(1, full_name="Nguyen Van An"), row(2, full_name="An Nguyễn Văn"),
                       row(3, full_name="Pham Thi Hoa", date_of_birth="1960"),
                       row(4, full_name="PHẠM HÒA", date_of_birth="09/07/1960")], on=ON)
    assert [(r.citizen_id, r.match) for r in got[:2]] == [(an.id, "details"), (an.id, "details")]
    assert got[0].explanation[0].startswith("name: exact-folded")
    assert got[1].explanation[0].startswith("name: order-swapped")
    # A birth year only, with the name and commune: a match, and the explanation says on what.
    assert (got[2].citizen_id, got[2].match) == (hoa.id, "details")
    assert got[2].explanation[1].startswith("dob: year-only agrees")
    # Without the commune, a common name and a birth year are not enough for anyone.
    [alone] = resolve_all([row(5, full_name="Pham Thi Hoa", date_of_birth="1960", commune_code="")], on=ON)
    assert alone.citizen_id is None and alone.match != "details"
    assert (got[3].citizen_id, got[3].match) == (hoa.id, "details")
    assert got[3].explanation[0].startswith("name: middle-name-differs")


def test_two_similar_people_go_to_review_and_nobody_is_none(people, create_citizen) -> None:
    an = people["an"]
    namesake = create_citizen(full_name="Nguyễn Văn An", birth_year=1990, birth_month=9, birth_day=2)
    got = resolve_all([row(1, date_of_birth="1990"), row(2, full_name="Kiều Diệp Quỳnh", date_of_birth="1999")],
                      on=ON)
    assert (got[0].citizen_id, got[0].match, got[0].reasons) == (None, "review", ("MATCH_REVIEW",))
    assert set(got[0].candidates) == {an.id, namesake.id}
    assert got[1] == Resolution(None, "none")


def _legacy(code: str, successors: list[str]) -> None:
    s = db.session()
    s.add(LegacyCommune(code=code, name="Xã Cũ", district="Huyện Cũ", legacy_province_code="01"))
    s.flush()
    s.add_all([LegacyCommuneSuccessor(legacy_code=code, commune_code=c, is_default=i == 0)
               for i, c in enumerate(successors)])
    s.flush()


def test_pre_2025_commune_codes_merged_and_split(people) -> None:
    s = db.session()
    province = s.get_one(Commune, HOME).province_code
    neighbour = s.scalar(select(Commune.code).where(Commune.province_code == province, Commune.code != HOME)
                         .order_by(Commune.code).limit(1))
    assert neighbour is not None and s.get(Commune, "99901") is None
    _legacy("99901", [HOME])
    _legacy("99902", [neighbour, HOME])
    _legacy("99903", [neighbour])
    got = resolve_all([row(1, commune_code="99901"), row(2, commune_code="99902"),
                       row(3, commune_code="99903")], on=ON)
    assert [r.citizen_id for r in got] == [people["an"].id] * 3
    assert got[0].explanation[2].startswith("commune: pre-2025 code, merged")
    assert got[1].explanation[2].startswith("commune: pre-2025 code, split")
    assert got[2].explanation[2].startswith("commune: same province")
    assert got[0].score is not None and got[1].score is not None and got[2].score is not None
    assert got[0].score > got[1].score > got[2].score


def _count_statements(action):
    engine = db.session().get_bind()
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return result, len(statements)


def test_statements_do_not_grow_with_the_rows(people) -> None:
    an, binh = people["an"], people["binh"]
    resolve_all([row()], on=ON)  # builds the index

    def rows(n: int) -> list[Applicant]:
        kinds = [dict(citizen_id=an.id_number), dict(citizen_id="012345678"), dict(full_name="Nguyen Van An"),
                 dict(citizen_id=an.id_number, full_name="Trần Thị Bình", date_of_birth="03/02/1985"),
                 dict(full_name="Tran Thi Binh", date_of_birth="3/2/1985"), dict(commune_code="99999")]
        return [row(i + 1, **kinds[i % len(kinds)]) for i in range(n)]

    few, few_count = _count_statements(lambda: resolve_all(rows(6), on=ON))
    many, many_count = _count_statements(lambda: resolve_all(rows(240), on=ON))
    assert few_count == many_count
    assert [r.citizen_id for r in many[:6]] == [r.citizen_id for r in few] == [
        an.id, an.id, an.id, binh.id, binh.id, an.id]


def test_the_index_follows_a_change_of_name(people) -> None:
    binh = people["binh"]
    married = row(full_name="Trần Thị Bình An", date_of_birth="03/02/1985")
    assert one(married).citizen_id is None
    binh.full_name = names.canonical("Trần Thị Bình An")
    binh.name_folded = names.fold(binh.full_name)
    db.session().flush()
    assert blockindex.refresh_index() == 1  # only the citizen who changed is re-keyed
    assert one(married).citizen_id == binh.id
    assert one(row(full_name="Trần Thị Bình", date_of_birth="03/02/1985")).citizen_id is None
    # Nothing changed since: the refresh re-keys nobody.
    assert blockindex.refresh_index() == 0
    # The name counts moved with the name: one citizen, counted once.
    counts = dict(db.session().execute(select(NameFrequency.value, NameFrequency.citizens).where(
        NameFrequency.part == "g", NameFrequency.value.in_(("an", "binh")))).all())
    assert counts == {"an": 2, "binh": 0}


def test_name_counts_are_read_once_until_the_index_moves(people) -> None:
    binh = people["binh"]
    resolve_all([row()], on=ON)  # brings the index up to date
    before, _ = blockindex.frequencies()
    binh.full_name = names.canonical("Trần Thị Bình An")
    binh.name_folded = names.fold(binh.full_name)
    db.session().flush()
    blockindex.refresh_index()
    (moved, _), reads = _count_statements(blockindex.frequencies)
    (again, _), rereads = _count_statements(blockindex.frequencies)
    assert moved.of_given("an") > before.of_given("an")  # read again: the index moved
    assert again is moved and rereads == 1 < reads  # then kept: the index's state row alone is read


def test_index_command_rebuilds_the_index(runner, app, people) -> None:
    db.session().commit()
    result = runner.invoke(args=["eligibility", "index"])
    assert result.exit_code == 0, result.output
    assert "Indexed 8 citizens." in result.output
    with app.app_context():
        s = db.session()
        keyed = s.scalars(select(CitizenBlockKey.citizen_id).distinct()).all()
        assert len(keyed) == 8
        assert blockindex.refresh_index() == 0
        assert one(row(full_name="Nguyen Van An")).citizen_id == people["an"].id


def test_a_broad_block_is_left_out_when_a_narrow_one_meets_the_row(people, create_citizen) -> None:
    an = people["an"]
    namesakes = {create_citizen(full_name="Nguyễn Văn An", birth_year=1990, birth_month=1 + i % 4,
                                birth_day=1 + i).id for i in range(22)}
    resolve_all([row()], on=ON)  # brings the index up to date
    keys = {0: search_keys(Person("Nguyễn Văn An", PartialDate(1990, 5, 17), HOME)),
            1: search_keys(Person("Nguyễn Văn An", PartialDate(1990)))}
    found = blockindex.candidates(keys)
    # Born 17/05/1990: the narrow blocks (the full date) hold An alone; the commune's are broad too.
    assert {cid for cid, _ in found[0]} == {an.id}
    # A birth year only: the broad block of 23 namesakes is all there is.
    assert {cid for cid, _ in found[1]} == namesakes | {an.id}


def test_a_merged_duplicate_is_no_longer_a_candidate(people, create_citizen) -> None:
    from idsvc.registry import lifeevents

    an = people["an"]
    duplicate = create_citizen(full_name="Nguyễn Văn An", birth_year=1990, birth_month=5, birth_day=17)
    before = one(row(1))
    assert (before.citizen_id, before.match) == (None, "review")  # one person, two records: a clerk decides
    assert set(before.candidates) == {an.id, duplicate.id}
    lifeevents.merge_records(an, duplicate, actor="account:1", reason="one person recorded twice")
    after = one(row(1))
    assert (after.citizen_id, after.match) == (an.id, "details")
