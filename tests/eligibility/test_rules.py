"""The rules, pure: every kind and reason code, partial dates of birth, how verdicts combine."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from idsvc.eligibility import rules
from idsvc.eligibility.rules import PersonFacts
from idsvc.eligibility.rules import Verdict
from idsvc.registry.dates import PartialDate

ON = date(2026, 12, 5)


def person(birth: str = "1950-03-04", **overrides: Any) -> PersonFacts:
    values: dict[str, Any] = {"sex": "F", "commune_code": "00070", "province_code": "01", "household_id": 1,
                              "household_size": 1, "father": "deceased", "mother": "deceased", "facts": {}}
    values.update(overrides)
    return PersonFacts(birth=PartialDate.parse(birth), **values)


def rule(kind: str, code: str = "RULE", **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "code": code, "message_vi": "Điều kiện", "message_en": "Condition", **fields}


def verdict(*rule_dicts: dict[str, Any], facts: PersonFacts, on: date = ON) -> tuple[Verdict, tuple[str, ...]]:
    result = rules.evaluate(rules.rule_set_from_dicts(3, rule_dicts), facts, on)
    assert result.version == 3
    return result.verdict, result.reasons


AGE_75 = rule("age", "AGE_BELOW_75", min=75)


@pytest.mark.parametrize(("birth", "expected"), [
    ("1950", (Verdict.ELIGIBLE, ())),  # 75 even if born on 31 December 1950
    ("1951", (Verdict.REVIEW, ("AGE_UNCERTAIN",))),  # 75 if born by 5 December 1951, else 74
    ("1952", (Verdict.NOT_ELIGIBLE, ("AGE_BELOW_75",))),
    ("1951-11", (Verdict.ELIGIBLE, ())),
    ("1951-12", (Verdict.REVIEW, ("AGE_UNCERTAIN",))),  # born 1-5 December: 75; 6-31: 74
    ("1952-01", (Verdict.NOT_ELIGIBLE, ("AGE_BELOW_75",))),
    ("1951-12-05", (Verdict.ELIGIBLE, ())),  # the 75th birthday is the reference date
    ("1951-12-06", (Verdict.NOT_ELIGIBLE, ("AGE_BELOW_75",))),
])
def test_minimum_age_with_partial_dates_of_birth(birth: str, expected: tuple[Verdict, tuple[str, ...]]) -> None:
    assert verdict(AGE_75, facts=person(birth)) == expected


@pytest.mark.parametrize(("birth", "expected"), [
    ("2010-12-06", Verdict.ELIGIBLE),  # 15 the day before the 16th birthday
    ("2010-12-05", Verdict.NOT_ELIGIBLE),  # 16 today
    ("2010", Verdict.REVIEW),
    ("2011", Verdict.ELIGIBLE),
    ("2010-11", Verdict.NOT_ELIGIBLE),
])
def test_maximum_age_is_completed_years(birth: str, expected: Verdict) -> None:
    assert verdict(rule("age", "AGE_16_OR_OVER", max=15), facts=person(birth))[0] is expected


def test_no_age_before_birth() -> None:
    under_16 = rule("age", "AGE_16_OR_OVER", max=15)
    assert verdict(under_16, facts=person("2027-01-01"))[0] is Verdict.NOT_ELIGIBLE
    assert verdict(under_16, facts=person("2026"))[0] is Verdict.REVIEW  # born by 5 December 2026, or not yet


def test_age_on_a_leap_day_birth() -> None:
    assert rules.age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert rules.age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_residence_by_commune_or_province() -> None:
    by_commune = rule("residence", "OUTSIDE_AREA", communes=["00070"])
    by_province = rule("residence", "OUTSIDE_AREA", provinces=["79"])
    assert verdict(by_commune, facts=person())[0] is Verdict.ELIGIBLE
    assert verdict(by_province, facts=person()) == (Verdict.NOT_ELIGIBLE, ("OUTSIDE_AREA",))
    assert verdict(by_province, facts=person(commune_code="26734", province_code="79"))[0] is Verdict.ELIGIBLE
    assert verdict(by_commune, facts=person(commune_code=None, province_code=None)) == (
        Verdict.REVIEW, ("RESIDENCE_UNKNOWN",))


def test_alive_on_the_reference_date() -> None:
    alive = rule("alive", "DECEASED")
    assert verdict(alive, facts=person())[0] is Verdict.ELIGIBLE
    dead = person(status="deceased", date_of_death=date(2026, 6, 1))
    assert verdict(alive, facts=dead) == (Verdict.NOT_ELIGIBLE, ("DECEASED",))
    assert verdict(alive, facts=dead, on=date(2026, 5, 31))[0] is Verdict.ELIGIBLE
    assert verdict(alive, facts=person(status="missing", date_of_death=date(2020, 1, 1)))[0] is Verdict.NOT_ELIGIBLE


def test_household_size() -> None:
    alone = rule("household_size", "NOT_LIVING_ALONE", max=1)
    assert verdict(alone, facts=person(household_size=1))[0] is Verdict.ELIGIBLE
    assert verdict(alone, facts=person(household_size=3)) == (Verdict.NOT_ELIGIBLE, ("NOT_LIVING_ALONE",))
    assert verdict(alone, facts=person(household_id=None, household_size=None)) == (
        Verdict.REVIEW, ("HOUSEHOLD_UNKNOWN",))
    assert verdict(rule("household_size", "SMALL", min=2, max=4), facts=person(household_size=2))[0] is Verdict.ELIGIBLE


@pytest.mark.parametrize(("father", "mother", "expected"), [
    ("deceased", "deceased", Verdict.ELIGIBLE),
    ("unknown", "deceased", Verdict.ELIGIBLE),
    ("unknown", "unknown", Verdict.ELIGIBLE),
    ("missing", "deceased", Verdict.ELIGIBLE),
    ("alive", "deceased", Verdict.NOT_ELIGIBLE),
    ("unknown", "alive", Verdict.NOT_ELIGIBLE),
])
def test_orphan_means_no_parent_known_alive(father: str, mother: str, expected: Verdict) -> None:
    answer = verdict(rule("orphan", "HAS_LIVING_PARENT"), facts=person(father=father, mother=mother))
    assert answer[0] is expected
    assert answer[1] == (("HAS_LIVING_PARENT",) if expected is Verdict.NOT_ELIGIBLE else ())


def test_fact_equals_at_least_one_of_and_unknown() -> None:
    no_pension = rule("fact", "HAS_PENSION", name="pension", equals=False)
    severe = rule("fact", "DISABILITY_NOT_SEVERE", name="disability_level", at_least=2)
    poor = rule("fact", "NOT_POOR_OR_NEAR_POOR", name="poor_household", one_of=["poor", "near_poor"])
    assert verdict(no_pension, facts=person(facts={"pension": False}))[0] is Verdict.ELIGIBLE
    assert verdict(no_pension, facts=person(facts={"pension": True})) == (Verdict.NOT_ELIGIBLE, ("HAS_PENSION",))
    assert verdict(no_pension, facts=person()) == (Verdict.REVIEW, ("FACT_UNKNOWN:pension",))
    assert verdict(severe, facts=person(facts={"disability_level": 3}))[0] is Verdict.ELIGIBLE
    assert verdict(severe, facts=person(facts={"disability_level": 1}))[0] is Verdict.NOT_ELIGIBLE
    assert verdict(severe, facts=person(facts={"disability_level": "3"}))[0] is Verdict.NOT_ELIGIBLE
    assert verdict(severe, facts=person(facts={"disability_level": True}))[0] is Verdict.NOT_ELIGIBLE
    assert verdict(poor, facts=person(facts={"poor_household": "near_poor"}))[0] is Verdict.ELIGIBLE
    assert verdict(poor, facts=person(facts={"poor_household": "none"}))[0] is Verdict.NOT_ELIGIBLE


def test_all_rules_must_pass_a_failure_outweighs_a_review() -> None:
    no_pension = rule("fact", "HAS_PENSION", name="pension", equals=False)
    alive = rule("alive", "DECEASED")
    assert verdict(AGE_75, no_pension, alive, facts=person("1951")) == (
        Verdict.REVIEW, ("AGE_UNCERTAIN", "FACT_UNKNOWN:pension"))
    dead = person("1951", status="deceased", date_of_death=date(2026, 1, 1))
    assert verdict(AGE_75, no_pension, alive, facts=dead) == (Verdict.NOT_ELIGIBLE, ("DECEASED",))
    assert verdict(AGE_75, no_pension, alive, facts=person("1940", facts={"pension": False})) == (
        Verdict.ELIGIBLE, ())


def test_any_of_alternatives() -> None:
    # The social pension: 75 or older, or 70 to 74 in a poor or near-poor household.
    either = rule("any_of", "AGE_OR_POVERTY", alternatives=[
        [AGE_75],
        [rule("age", "AGE_BELOW_70", min=70, max=74),
         rule("fact", "NOT_POOR_OR_NEAR_POOR", name="poor_household", one_of=["poor", "near_poor"])],
    ])
    assert verdict(either, facts=person("1945"))[0] is Verdict.ELIGIBLE
    assert verdict(either, facts=person("1954-01-01", facts={"poor_household": "poor"}))[0] is Verdict.ELIGIBLE
    assert verdict(either, facts=person("1954-01-01", facts={"poor_household": "none"})) == (
        Verdict.NOT_ELIGIBLE, ("AGE_OR_POVERTY",))
    assert verdict(either, facts=person("1954-01-01")) == (Verdict.REVIEW, ("FACT_UNKNOWN:poor_household",))
    # 74 or 75: the first alternative may pass, and so may the second if the household is poor.
    assert verdict(either, facts=person("1951")) == (Verdict.REVIEW, ("AGE_UNCERTAIN", "FACT_UNKNOWN:poor_household"))
    assert verdict(either, facts=person("1990")) == (Verdict.NOT_ELIGIBLE, ("AGE_OR_POVERTY",))


def test_every_reason_has_messages_in_both_languages() -> None:
    rule_set = rules.rule_set_from_dicts(1, [AGE_75, rule("any_of", "EITHER", alternatives=[
        [rule("orphan", "HAS_LIVING_PARENT")], [rule("alive", "DECEASED")]])])
    messages = rule_set.messages()
    for code in ("AGE_BELOW_75", "EITHER", "HAS_LIVING_PARENT", "DECEASED", "AGE_UNCERTAIN", "FACT_UNKNOWN",
                 "RESIDENCE_UNKNOWN", "HOUSEHOLD_UNKNOWN"):
        vi, en = messages[code]
        assert vi and en


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rule kind"):
        rules.rule_from_dict(rule("horoscope"))


def test_rules_import_no_framework() -> None:
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(rules))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("flask", "sqlalchemy", "marshmallow")}
