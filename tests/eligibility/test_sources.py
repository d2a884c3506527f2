"""Attribute-source lists: importing them (rejects, idempotency, number history) and the facts they give."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.eligibility import service as eligibility
from idsvc.eligibility.sources import importer
from idsvc.eligibility.sources.models import SourceFact
from idsvc.eligibility.sources.models import SourceList
from idsvc.eligibility.sources.service import source_facts
from idsvc.errors import ValidationFailed
from idsvc.registry import service as registry
from idsvc.registry.imports.reader import UnreadableFile

ON = date(2025, 9, 1)
OTHER_COMMUNE = "00004"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def rejects_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def load(kind: str, path: Path, **options) -> importer.SourceResult:
    return importer.import_list(kind, path, actor="test", **options)


def count_facts() -> int:
    return db.session().scalar(select(func.count()).select_from(SourceFact)) or 0


# -- importing ---------------------------------------------------------------------------------

def test_a_disability_list_is_loaded_with_its_provenance(create_citizen, tmp_path: Path) -> None:
    severe, mild = create_citizen(), create_citizen()
    path = write(tmp_path / "kt.csv", "\ufeffcitizen_id;level;certified_on\n"
                                      f"{severe.id_number};severe;15/03/2024\n{mild.id_number};1;2024-06-20\n")
    result = load("disability", path, issuer="UBND xã Ba Đình", valid_on=date(2025, 1, 1))
    assert (result.rows_read, result.imported, result.rejected, result.rejects_path) == (2, 2, 0, None)
    listed = db.session().get_one(SourceList, result.list_id)
    assert (listed.kind, listed.issuer, listed.valid_on, listed.loaded_by, listed.file_name) == (
        "disability", "UBND xã Ba Đình", date(2025, 1, 1), "test", "kt.csv")
    assert (listed.rows_read, listed.rows_imported, listed.rows_rejected) == (2, 2, 0)
    assert source_facts([severe.id, mild.id], ON) == {severe.id: {"disability_level": 2},
                                                      mild.id: {"disability_level": 1}}


def test_a_pension_list_in_jsonl(create_citizen, tmp_path: Path) -> None:
    retired, ended, starting = (create_citizen(birth_year=year) for year in (1940, 1941, 1965))
    path = write(tmp_path / "bhxh.jsonl", "".join(json.dumps(row) + "\n" for row in (
        {"citizen_id": retired.id_number, "benefit": "retirement pension", "start_date": "2001-11-01"},
        {"citizen_id": ended.id_number, "benefit": "survivor benefit", "start_date": "2016-01-01",
         "end_date": "2025-03-31"},
        {"citizen_id": starting.id_number, "benefit": "retirement pension", "start_date": "01/06/2025"})))
    assert load("pension", path, valid_on=date(2025, 1, 1)).imported == 3
    # The benefit that ended on 31 March is paid that day, not the next; one not yet started is not paid.
    ids = [retired.id, ended.id, starting.id]
    assert source_facts(ids, date(2025, 3, 31)) == {
        retired.id: {"pension": True}, ended.id: {"pension": True}, starting.id: {"pension": False}}
    assert source_facts(ids, date(2025, 6, 1)) == {
        retired.id: {"pension": True}, ended.id: {"pension": False}, starting.id: {"pension": True}}


def test_rows_are_rejected_with_reasons_and_the_rest_loaded(create_citizen, tmp_path: Path) -> None:
    person, other = create_citizen(), create_citizen()
    path = write(tmp_path / "kt.csv", "citizen_id,level,certified_on\n"
                                      f"{person.id_number},2,2024-01-01\n"
                                      "001090999999,2,2024-01-01\n"
                                      f"{other.id_number},x,2024-01-01\n"
                                      f"{other.id_number},3,31/02/2024\n"
                                      "12345,1,2024-01-01\n"
                                      f"{person.id_number},3,2024-05-01\n"
                                      f"{other.id_number},=1+1,2024-01-01\n")
    result = load("disability", path)
    assert (result.rows_read, result.imported, result.rejected) == (7, 1, 6)
    assert result.rejects_path == tmp_path / "kt.csv.rejects.csv"
    rows = rejects_of(result.rejects_path)
    assert [(r["line"], r["reason"]) for r in rows] == [
        ("3", "citizen_id: no citizen has this number"),
        ("4", "level: 'x' is not 1, 2 or 3 (mild, severe, extremely_severe)"),
        ("5", "certified_on: 2024-02 has no day 31"),
        ("6", "citizen_id: an ID number has exactly 12 digits; this one has 5"),
        ("7", "citizen_id: the same person as line 2 of this list"),
        ("8", "level: '=1+1' is not 1, 2 or 3 (mild, severe, extremely_severe)"),
    ]
    assert list(rows[0]) == ["line", "reason", "citizen_id", "level", "certified_on"]
    # Written safe for a spreadsheet: the formula is escaped.
    assert "'=1+1" in result.rejects_path.read_text(encoding="utf-8-sig")


def test_the_same_file_again_adds_nothing(create_citizen, tmp_path: Path) -> None:
    person = create_citizen()
    path = write(tmp_path / "kt.csv", f"citizen_id,level,certified_on\n{person.id_number},2,2024-01-01\n")
    first = load("disability", path)
    again = load("disability", tmp_path / "kt.csv", valid_on=date(2030, 1, 1))
    assert again.already_loaded and again.list_id == first.list_id and again.imported == 1
    assert count_facts() == 1
    assert db.session().scalar(select(func.count()).select_from(SourceList)) == 1


def test_a_retired_number_names_its_person(create_citizen, tmp_path: Path) -> None:
    person = create_citizen()
    old = person.id_number
    registry.reissue_number(person, actor="test", reason="data-entry error")
    assert person.id_number != old
    path = write(tmp_path / "kt.csv", f"citizen_id,level,certified_on\n{old},3,2024-01-01\n")
    assert load("disability", path, valid_on=date(2025, 1, 1)).imported == 1
    assert source_facts([person.id], ON) == {person.id: {"disability_level": 3}}


def test_a_poverty_list_holds_one_year_of_known_communes(create_citizen, create_household, tmp_path: Path) -> None:
    a, b, c = create_citizen(), create_citizen(), create_citizen()
    path = write(tmp_path / "hn.csv", "citizen_id,commune_code,year,level\n"
                                      f"{a.id_number},00070,2025,Cận nghèo\n"
                                      f"{b.id_number},99999,2025,poor\n"
                                      f"{c.id_number},00070,2024,poor\n"
                                      f"{c.id_number},00070,2025,rich\n")
    result = load("poverty", path, issuer="UBND xã")
    assert [r["reason"] for r in rejects_of(result.rejects_path)] == [
        "commune_code: 99999 is not a 2025 commune code",
        "year: 2024, but this list is for 2025 (one year per list)",
        "level: 'rich' is not poor or near_poor",
    ]
    listed = db.session().get_one(SourceList, result.list_id)
    assert (listed.year, listed.valid_on) == (2025, date(2025, 1, 1))
    with pytest.raises(ValidationFailed, match="dated by its year column"):
        load("poverty", write(tmp_path / "other.csv", path.read_text() + "\n"), valid_on=date(2025, 1, 1))


def test_a_file_with_the_wrong_columns_loads_nothing(create_citizen, tmp_path: Path) -> None:
    path = write(tmp_path / "kt.csv", "citizen_id,grade\n001090000001,2\n")
    with pytest.raises(UnreadableFile, match="lacks the columns level, certified_on"):
        load("disability", path)
    assert db.session().scalar(select(func.count()).select_from(SourceList)) == 0


# -- the facts ---------------------------------------------------------------------------------

def test_no_list_in_force_leaves_the_fact_unknown(create_citizen, tmp_path: Path) -> None:
    person, other = create_citizen(), create_citizen()
    assert source_facts([person.id], ON) == {}
    write(tmp_path / "kt.csv", f"citizen_id,level,certified_on\n{other.id_number},2,2024-01-01\n")
    load("disability", tmp_path / "kt.csv", valid_on=date(2025, 1, 1))
    # Before the list is in force: unknown. From then on: someone not on it has no disability.
    assert source_facts([person.id], date(2024, 12, 31)) == {}
    assert source_facts([person.id], ON) == {person.id: {"disability_level": 0}}
    # Only the kinds with a list in force: pension and poverty stay unknown.
    assert "pension" not in source_facts([person.id], ON)[person.id]


def test_the_latest_certification_before_the_date_counts(create_citizen, tmp_path: Path) -> None:
    person = create_citizen()
    write(tmp_path / "a.csv", f"citizen_id,level,certified_on\n{person.id_number},1,2023-01-01\n")
    write(tmp_path / "b.csv", f"citizen_id,level,certified_on\n{person.id_number},extremely_severe,2025-06-01\n")
    load("disability", tmp_path / "a.csv", valid_on=date(2023, 1, 1))
    load("disability", tmp_path / "b.csv", valid_on=date(2023, 1, 1))
    assert source_facts([person.id], date(2025, 5, 31))[person.id] == {"disability_level": 1}
    assert source_facts([person.id], date(2025, 6, 1))[person.id] == {"disability_level": 3}


def test_poverty_covers_the_household_and_only_the_communes_listed(create_citizen, create_household,
                                                                   tmp_path: Path) -> None:
    listed_home, unlisted_home, elsewhere = create_household(), create_household(), create_household(
        commune_code=OTHER_COMMUNE)
    head = create_citizen(household_id=listed_home.id)
    wife = create_citizen(sex="F", household_id=listed_home.id)
    neighbour = create_citizen(household_id=unlisted_home.id)
    far = create_citizen(household_id=elsewhere.id)
    far.permanent_commune_code = OTHER_COMMUNE
    moved = create_citizen(household_id=elsewhere.id)  # the 2025 list of 00070 names him; his household is elsewhere
    loner = create_citizen()  # no household: the person's permanent commune, 00070
    write(tmp_path / "2024.csv", f"citizen_id,commune_code,year,level\n{head.id_number},00070,2024,poor\n")
    write(tmp_path / "2025.csv", "citizen_id,commune_code,year,level\n"
                                 f"{head.id_number},00070,2025,near_poor\n{loner.id_number},00070,2025,poor\n"
                                 f"{moved.id_number},00070,2025,poor\n")
    load("poverty", tmp_path / "2024.csv")
    load("poverty", tmp_path / "2025.csv")
    ids = [head.id, wife.id, neighbour.id, far.id, loner.id, moved.id]

    def levels(on: date) -> dict[int, str | None]:
        found = source_facts(ids, on)
        return {i: found.get(i, {}).get("poor_household") for i in ids}

    assert levels(date(2023, 12, 31)) == dict.fromkeys(ids)
    # 2024: the household is poor, the neighbour and the loner not; the other commune has no list.
    assert levels(date(2024, 6, 1)) == {head.id: "poor", wife.id: "poor", neighbour.id: "none", far.id: None,
                                        loner.id: "none", moved.id: None}
    # The 2025 list replaces the 2024 one for its commune, and stays in force in 2026. The list of
    # one commune says nothing of a household registered in another.
    expected = {head.id: "near_poor", wife.id: "near_poor", neighbour.id: "none", far.id: None, loner.id: "poor",
                moved.id: None}
    assert levels(date(2025, 2, 1)) == expected
    assert levels(date(2026, 12, 5)) == expected


def test_facts_for_includes_the_source_facts(create_citizen, tmp_path: Path) -> None:
    person = create_citizen(birth_year=1940)
    write(tmp_path / "bhxh.csv", f"citizen_id,benefit,start_date\n{person.id_number},retirement pension,2001-11-01\n")
    load("pension", tmp_path / "bhxh.csv", valid_on=date(2025, 1, 1))
    assert eligibility.facts_of(person.id, on=ON).facts == {"pension": True}
    assert eligibility.facts_for([person.id], on=ON)[person.id].facts == {"pension": True}
    # An explicit override replaces them (tests, or facts a caller already holds).
    assert eligibility.facts_of(person.id, on=ON, sources={"pension": False}).facts == {"pension": False}
    assert eligibility.facts_of(person.id, on=date(2024, 1, 1)).facts == {}


def test_the_facts_are_gathered_set_based(create_citizen, create_household, tmp_path: Path) -> None:
    from sqlalchemy import event

    people = [create_citizen() for _ in range(6)]
    write(tmp_path / "kt.csv", f"citizen_id,level,certified_on\n{people[0].id_number},2,2024-01-01\n")
    write(tmp_path / "bhxh.csv", f"citizen_id,benefit,start_date\n{people[1].id_number},pension,2001-11-01\n")
    write(tmp_path / "hn.csv", f"citizen_id,commune_code,year,level\n{people[2].id_number},00070,2025,poor\n")
    load("disability", tmp_path / "kt.csv", valid_on=date(2025, 1, 1))
    load("pension", tmp_path / "bhxh.csv", valid_on=date(2025, 1, 1))
    load("poverty", tmp_path / "hn.csv")
    statements: list[str] = []
    engine = db.session().get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        found = source_facts([p.id for p in people], ON)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert found[people[0].id] == {"disability_level": 2, "pension": False, "poor_household": "none"}
    assert found[people[2].id]["poor_household"] == "poor"
    assert len(statements) <= 6
