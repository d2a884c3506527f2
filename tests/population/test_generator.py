"""The synthetic population: deterministic, valid, and shaped like Viet Nam's."""

from __future__ import annotations

import collections
import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from idsvc.population import generator
from idsvc.population.commands import population_cli
from idsvc.registry import idnumbers
from idsvc.registry.imports.fileformat import CARD_AND_CONTACT_COLUMNS
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.units import communes_2025

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "demo_population.csv"


def as_csv(count: int, seed: int) -> str:
    out = io.StringIO()
    generator.write_csv(generator.generate(count, seed), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def people() -> list[dict[str, str]]:
    return list(generator.generate(20_000, 11))


def test_same_seed_same_bytes_other_seed_other_people() -> None:
    first = as_csv(500, 3)
    assert first == as_csv(500, 3)
    assert first != as_csv(500, 4)
    rows = list(csv.reader(io.StringIO(first)))
    # Every column of the file format but the card and contact data, which a generated person has none of.
    assert tuple(rows[0]) == generator.GENERATED_COLUMNS and len(rows) == 501
    assert set(COLUMNS) - set(generator.GENERATED_COLUMNS) == set(CARD_AND_CONTACT_COLUMNS)


def test_every_number_is_unique_valid_and_agrees_with_the_person(people) -> None:
    assert len({p["citizen_id"] for p in people}) == len(people)
    for p in people:
        idnumbers.check_consistent(p["citizen_id"], birth_year=int(p["date_of_birth"][:4]), sex=p["sex"])
        assert p["citizen_id"][:3] == p["birth_registration_province"]


def test_places_dates_and_life_status_are_possible(people) -> None:
    communes = {u.code for u in communes_2025()}
    for p in people:
        assert p["permanent_commune"] in communes and p["current_commune"] in communes
        text = p["date_of_birth"]
        born = date.fromisoformat(text) if len(text) == 10 else date(int(text[:4]), 1, 1)
        assert born <= generator.DEFAULT_TODAY
        if p["status"] == "alive":
            assert p["date_of_death"] == ""
        else:
            assert born <= date.fromisoformat(p["date_of_death"]) <= generator.DEFAULT_TODAY


def test_households_have_one_head_and_children_link_to_parents_in_it(people) -> None:
    households: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for p in people:
        households[p["household_id"]].append(p)
    complete = list(households.values())[:-1]  # the last one may be cut by --count
    assert all(sum(m["relationship_to_head"] == "head" for m in members) == 1 for members in complete)
    by_id = {p["citizen_id"]: p for p in people}
    children = [p for p in people if p["relationship_to_head"] == "child"]
    assert len(children) > 5000
    for child in children:
        father = by_id.get(child["father_id"])
        mother = by_id.get(child["mother_id"])
        assert father or mother
        for parent in (father, mother):
            if parent:
                assert parent["household_id"] == child["household_id"]
                assert int(parent["date_of_birth"][:4]) + 18 <= int(child["date_of_birth"][:4])
        if father:
            assert child["full_name"].split()[0] == father["full_name"].split()[0]  # the father's surname
            assert father["sex"] == "M"
    spouses = [p for p in people if p["spouse_id"]]
    assert all(by_id[p["spouse_id"]]["spouse_id"] == p["citizen_id"] for p in spouses if p["spouse_id"] in by_id)


def test_shares_look_like_the_population(people) -> None:
    n = len(people)

    def share(predicate) -> float:
        return sum(1 for p in people if predicate(p)) / n

    assert 0.30 <= share(lambda p: p["full_name"].startswith("Nguyễn ")) <= 0.46
    assert 0.01 <= share(lambda p: len(p["date_of_birth"]) == 4) <= 0.06
    assert 0.003 <= share(lambda p: len(p["date_of_birth"]) == 7) <= 0.03
    assert 0.005 <= share(lambda p: p["status"] == "deceased") <= 0.03
    assert 0.80 <= share(lambda p: p["ethnicity"] == "Kinh") <= 0.90
    assert 0.18 <= share(lambda p: 2026 - int(p["date_of_birth"][:4]) <= 14) <= 0.29
    assert 0.06 <= share(lambda p: 2026 - int(p["date_of_birth"][:4]) >= 65) <= 0.13
    assert 0.46 <= share(lambda p: p["sex"] == "M") <= 0.54
    assert 3.0 <= n / len({p["household_id"] for p in people}) <= 4.3
    assert share(lambda p: p["citizen_id"][:3] in idnumbers.ABROAD_CODES) > 0


def test_jsonl_holds_the_same_rows_as_csv() -> None:
    out = io.StringIO()
    generator.write_jsonl(generator.generate(300, 5), out)
    from_jsonl = [json.loads(line) for line in out.getvalue().splitlines()]
    from_csv = list(csv.DictReader(io.StringIO(as_csv(300, 5))))
    assert from_jsonl == from_csv


def test_cli_writes_the_file_whole_and_refuses_a_bad_count(tmp_path) -> None:
    runner = CliRunner()
    target = tmp_path / "people.jsonl"
    result = runner.invoke(population_cli, ["generate", "--count", "120", "--seed", "9", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "wrote 120 citizens" in result.output
    assert len(target.read_text(encoding="utf-8").splitlines()) == 120  # JSONL from the file name
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    bad = runner.invoke(population_cli, ["generate", "--count", "0", "--out", str(tmp_path / "none.csv")])
    assert bad.exit_code == 2 and not (tmp_path / "none.csv").exists()
    nowhere = runner.invoke(population_cli, ["generate", "--count", "5", "--out", str(tmp_path / "no" / "x.csv")])
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.output


def test_the_committed_demo_population_is_what_the_generator_makes() -> None:
    assert FIXTURE.read_text(encoding="utf-8") == as_csv(3000, 2026), (
        "fixtures/demo_population.csv is stale: idsvc population generate --count 3000 --seed 2026 "
        "--out fixtures/demo_population.csv")


def test_people_born_before_2000_hold_one_or_two_plausible_old_id_card_numbers(people) -> None:
    from idsvc.population import tables

    held = [p for p in people if int(p["date_of_birth"][:4]) < tables.OLD_ID_BEFORE_YEAR]
    assert all(p["old_id_numbers"] == "" for p in people if p not in held)
    numbers = [p["old_id_numbers"].split(" ") for p in held]
    assert all(len(n) in (1, 2) for n in numbers)
    two = sum(len(n) == 2 for n in numbers) / len(held)
    assert 0.035 < two < 0.065
    flat = [number for n in numbers for number in n]
    assert len(set(flat)) == len(flat)  # unique within a run
    assert all(len(number) == 9 and number.isascii() and number.isdigit() for number in flat)
    # The first number carries the issuing-area prefix of the province where the birth was registered.
    for p, n in zip(held, numbers, strict=True):
        if p["birth_registration_province"] in tables.OLD_ID_PREFIXES:
            assert n[0][:2] in tables.OLD_ID_PREFIXES[p["birth_registration_province"]]
