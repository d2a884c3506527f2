"""The monthly amount: the base rate in force on the reference date × the highest coefficient that applies."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from idsvc.eligibility import check
from idsvc.eligibility import service
from idsvc.eligibility.rules import PersonFacts
from idsvc.eligibility.rules import amounts_from
from idsvc.eligibility.sources import importer
from idsvc.errors import ValidationFailed
from idsvc.registry.dates import PartialDate
from tests.eligibility.checking import ON
from tests.eligibility.checking import row_of

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "programmes"

RATES = [(date(2014, 1, 1), 270_000), (date(2021, 7, 1), 360_000), (date(2024, 7, 1), 500_000)]
UNDER_4 = {"coefficient": "2.5", "when": [{"kind": "age", "max": 3}]}


def person(born: PartialDate, **facts: object) -> PersonFacts:
    return PersonFacts(birth=born, sex="F", facts=facts)


@pytest.mark.parametrize(("on", "amount"), [
    (date(2013, 12, 31), None), (date(2014, 1, 1), 405_000), (date(2021, 6, 30), 405_000),
    (date(2021, 7, 1), 540_000), (date(2024, 6, 30), 540_000), (date(2024, 7, 1), 750_000), (ON, 750_000)])
def test_the_base_rate_in_force_on_the_reference_date(on: date, amount: int | None) -> None:
    amounts = amounts_from(reversed(RATES), Decimal("1.5"), [])
    assert amounts.monthly_amount(person(PartialDate(2000, 1, 1)), on) == amount


def test_the_highest_coefficient_that_applies_and_only_when_sure() -> None:
    amounts = amounts_from(RATES, Decimal("1.5"), [UNDER_4])
    assert amounts.monthly_amount(person(PartialDate(2024, 1, 1)), ON) == 1_250_000   # 2 years old
    assert amounts.monthly_amount(person(PartialDate(2020, 1, 1)), ON) == 750_000     # 6 years old
    # Born in 2022, month unknown: 3 or 4 on the reference date; the sure amount is paid.
    assert amounts.monthly_amount(person(PartialDate(2022)), ON) == 750_000


def test_the_demo_disability_programme_pays_by_degree_and_age(app_ctx, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "programmes")
    service.load_programmes(tmp_path / "programmes")
    amounts = service.get_programme("sa-severe-disability").amounts()
    adult, child, elder = PartialDate(1990, 5, 1), PartialDate(2015, 5, 1), PartialDate(1950, 5, 1)
    assert [amounts.monthly_amount(person(born, disability_level=level), ON)
            for born, level in ((adult, 2), (adult, 3), (child, 2), (elder, 3))] == [
        750_000, 1_000_000, 1_000_000, 1_250_000]
    assert amounts.monthly_amount(person(adult, disability_level=2), date(2022, 1, 1)) == 540_000
    orphan = service.get_programme("sa-orphan-child").amounts()
    assert orphan.monthly_amount(person(PartialDate(2024, 2, 1)), ON) == 1_250_000


def test_an_earlier_rate_after_the_current_one_is_refused(app_ctx, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "programmes")
    path = tmp_path / "programmes" / "sa-orphan-child.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("from = 2021-07-01", "from = 2025-07-01"),
                    encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r"sa-orphan-child\.toml: base_rates: an earlier base rate"):
        service.load_programmes(tmp_path / "programmes")


def test_the_checked_row_carries_the_persons_own_amount(create_citizen, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "programmes")
    service.load_programmes(tmp_path / "programmes")
    programme = service.get_programme("sa-severe-disability")
    adult = create_citizen(birth_year=1990)
    elder = create_citizen(birth_year=1950, full_name="Trần Thị Bình", sex="F")
    rows = check.check(programme, [row_of(adult, 1), row_of(elder, 2)], on=ON, actor="test")
    assert [r.verdict for r in rows] == ["REVIEW", "REVIEW"]  # no disability list in force
    disabilities = tmp_path / "disability.csv"
    disabilities.write_text("citizen_id,level,certified_on\n"
                            f"{adult.id_number},2,2025-01-10\n{elder.id_number},3,2025-02-11\n", encoding="utf-8")
    importer.import_list("disability", disabilities, actor="test", valid_on=date(2025, 7, 1))
    rows = check.check(programme, [row_of(adult, 1), row_of(elder, 2)], on=ON, actor="test")
    assert [(r.verdict, r.monthly_amount) for r in rows] == [("ELIGIBLE", 750_000), ("ELIGIBLE", 1_250_000)]
