"""ID-number rules: each broken rule gives its own reason a clerk can act on."""

from __future__ import annotations

import pytest

from idsvc.registry import idnumbers
from idsvc.registry.idnumbers import InvalidIdNumber


def test_decodes_the_worked_example_of_the_circular() -> None:
    # A man born in 1991 whose birth was registered in Vĩnh Long (086).
    parts = idnumbers.check_consistent("086091000123", birth_year=1991, sex="M")
    assert (parts.registration_code, parts.sex, parts.birth_year, parts.born_abroad) == ("086", "M", 1991, False)


@pytest.mark.parametrize(("year", "sex", "digit"), [
    (1900, "M", 0), (1999, "F", 1), (2000, "M", 2), (2025, "F", 3), (2100, "M", 4), (2399, "F", 9),
])
def test_century_and_sex_digit(year: int, sex: str, digit: int) -> None:
    assert idnumbers.century_sex_digit(year, sex) == digit
    number = idnumbers.prefix_for("001", year, sex) + "000001"
    assert idnumbers.parse(number).birth_year == year
    assert idnumbers.parse(number).sex == sex


@pytest.mark.parametrize(("number", "reason"), [
    ("00109100012", "exactly 12 digits; this one has 11"),
    ("0010910001234", "exactly 12 digits; this one has 13"),
    ("00109100012a", "only the digits 0-9"),
    ("００１０９１０００１２３", "only the digits 0-9"),  # full-width digits are not ASCII
    ("003091000123", "the first three digits 003"),       # a gap in the 63 codes
    ("099091000123", "the first three digits 099"),
    ("300091000123", "the first three digits 300"),       # beyond the country codes 101-295
])
def test_structural_errors_name_the_rule(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber, match=reason):
        idnumbers.parse(number)


def test_born_abroad_country_code_is_accepted() -> None:
    parts = idnumbers.check_consistent("174305000001", birth_year=2005, sex="F")  # Korea
    assert parts.born_abroad


def test_sex_disagreeing_with_digit_four_says_what_it_should_be() -> None:
    with pytest.raises(InvalidIdNumber, match=r"digit 4 is 0 .* F, born 1991: it should be 1"):
        idnumbers.check_consistent("001091000123", birth_year=1991, sex="F")


def test_century_disagreeing_with_digit_four() -> None:
    with pytest.raises(InvalidIdNumber, match="it should be 2"):
        idnumbers.check_consistent("001091000123", birth_year=2091, sex="M")


def test_year_digits_disagreeing_with_birth_year() -> None:
    with pytest.raises(InvalidIdNumber, match="digits 5-6 are 91 but the person was born in 1992: they should be 92"):
        idnumbers.check_consistent("001091000123", birth_year=1992, sex="M")


def test_no_number_before_1900() -> None:
    with pytest.raises(InvalidIdNumber, match="1900-2399"):
        idnumbers.prefix_for("001", 1899, "M")


def test_random_serials_are_six_digits() -> None:
    serials = {idnumbers.random_serial() for _ in range(200)}
    assert all(len(s) == 6 and s.isdigit() for s in serials)
    assert len(serials) > 150
