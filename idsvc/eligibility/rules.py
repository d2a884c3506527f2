"""Eligibility rules as data, and their evaluation against one person's facts. Pure.

No Flask, no database, no clock: the reference date and the facts are arguments. A programme's
rule set is a list of rules (stored as JSON, see :func:`rule_from_dict`); every rule must pass.
A rule answers ``PASS``, ``FAIL`` (the person is not eligible, the rule's ``code`` says why) or
``REVIEW`` (the registry cannot tell: a partial date of birth, a fact no source has supplied).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from idsvc.registry.dates import PartialDate


class Verdict(StrEnum):
    ELIGIBLE = "ELIGIBLE"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    REVIEW = "REVIEW"


#: Reasons that are not a rule's own code: the facts do not settle the rule.
AGE_UNCERTAIN = "AGE_UNCERTAIN"
RESIDENCE_UNKNOWN = "RESIDENCE_UNKNOWN"
HOUSEHOLD_UNKNOWN = "HOUSEHOLD_UNKNOWN"
FACT_UNKNOWN = "FACT_UNKNOWN"

#: (vi, en) for the reasons above; a rule's own code carries its own messages.
REVIEW_MESSAGES = {
    AGE_UNCERTAIN: ("Ngày sinh không đầy đủ: chưa xác định được tuổi", "Partial date of birth: the age is uncertain"),
    RESIDENCE_UNKNOWN: ("Chưa có nơi thường trú", "No permanent residence recorded"),
    HOUSEHOLD_UNKNOWN: ("Chưa có hộ gia đình", "No household recorded"),
    FACT_UNKNOWN: ("Thiếu thông tin từ nguồn dữ liệu chuyên ngành", "A fact from an attribute source is missing"),
}

#: Life status of a parent as the registry knows it.
PARENT_STATUSES = ("alive", "deceased", "missing", "unknown")


@dataclass(frozen=True)
class PersonFacts:
    """What the rules may know about one person on the reference date."""

    birth: PartialDate
    #: "M" or "F".
    sex: str
    #: "alive", "deceased" or "missing" (declared disappeared), with the date for the latter two.
    status: str = "alive"
    date_of_death: date | None = None
    commune_code: str | None = None
    province_code: str | None = None
    household_id: int | None = None
    #: Members of the household alive on the reference date, the person included.
    household_size: int | None = None
    #: One of :data:`PARENT_STATUSES`; "unknown" = no parent recorded, or not in the registry.
    father: str = "unknown"
    mother: str = "unknown"
    #: Facts from attribute sources outside the registry: poor_household ("poor", "near_poor",
    #: "none"), disability_level (1 mild, 2 severe, 3 extremely severe), pension (bool) ...
    facts: Mapping[str, Any] = field(default_factory=dict)

    def alive_on(self, on: date) -> bool:
        return self.status == "alive" or (self.date_of_death is not None and self.date_of_death > on)


class Outcome(StrEnum):
    PASS = "PASS"  # noqa: S105  (an outcome, not a password)
    FAIL = "FAIL"
    REVIEW = "REVIEW"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    reasons: tuple[str, ...] = ()


PASSED = Answer(Outcome.PASS)


@dataclass(frozen=True)
class Rule:
    """Common to every rule: the reason code when it fails, and what that means in vi and en."""

    code: str
    message_vi: str
    message_en: str

    def check(self, facts: PersonFacts, on: date) -> Answer:
        raise NotImplementedError

    def fail(self) -> Answer:
        return Answer(Outcome.FAIL, (self.code,))


def age_on(birth: date, on: date) -> int:
    """Completed years on ``on`` (someone born on 29 February has a birthday on 1 March)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class AgeRule(Rule):
    """Age in completed years on the reference date, ``min <= age <= max`` (either may be absent).

    Someone not yet born on the reference date has no age and fits no age rule.
    """

    min: int | None = None
    max: int | None = None

    def _fits(self, age: int) -> bool:
        return age >= 0 and (self.min is None or age >= self.min) and (self.max is None or age <= self.max)

    def check(self, facts: PersonFacts, on: date) -> Answer:
        # The oldest and the youngest the person can be: a partial date spans both.
        oldest = self._fits(age_on(facts.birth.earliest(), on))
        youngest = self._fits(age_on(facts.birth.latest(), on))
        if oldest and youngest:
            return PASSED
        if oldest or youngest:
            return Answer(Outcome.REVIEW, (AGE_UNCERTAIN,))
        return self.fail()


@dataclass(frozen=True)
class ResidenceRule(Rule):
    """Permanent residence in one of the communes, or in one of the provinces."""

    communes: frozenset[str] = frozenset()
    provinces: frozenset[str] = frozenset()

    def check(self, facts: PersonFacts, on: date) -> Answer:
        if facts.commune_code is None:
            return Answer(Outcome.REVIEW, (RESIDENCE_UNKNOWN,))
        if facts.commune_code in self.communes or facts.province_code in self.provinces:
            return PASSED
        return self.fail()


@dataclass(frozen=True)
class AliveRule(Rule):
    """Alive on the reference date (a declared disappearance counts as not alive)."""

    def check(self, facts: PersonFacts, on: date) -> Answer:
        return PASSED if facts.alive_on(on) else self.fail()


@dataclass(frozen=True)
class HouseholdSizeRule(Rule):
    """``min <= household size <= max``; ``max = 1``: living alone."""

    min: int | None = None
    max: int | None = None

    def check(self, facts: PersonFacts, on: date) -> Answer:
        size = facts.household_size
        if size is None:
            return Answer(Outcome.REVIEW, (HOUSEHOLD_UNKNOWN,))
        if (self.min is None or size >= self.min) and (self.max is None or size <= self.max):
            return PASSED
        return self.fail()


@dataclass(frozen=True)
class OrphanRule(Rule):
    """Neither parent is known to be alive: each is deceased, missing or unknown to the registry."""

    def check(self, facts: PersonFacts, on: date) -> Answer:
        return self.fail() if "alive" in (facts.father, facts.mother) else PASSED


@dataclass(frozen=True)
class FactRule(Rule):
    """A fact from an attribute source ``equals`` a value, is ``at_least`` a number, or is ``one_of``
    some values. A fact no source has supplied gives ``REVIEW`` with ``FACT_UNKNOWN:<name>``."""

    name: str = ""
    equals: Any = None
    at_least: float | None = None
    one_of: tuple[Any, ...] = ()

    def check(self, facts: PersonFacts, on: date) -> Answer:
        value = facts.facts.get(self.name)
        if value is None:
            return Answer(Outcome.REVIEW, (f"{FACT_UNKNOWN}:{self.name}",))
        if self.at_least is not None:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= self.at_least
        elif self.one_of:
            ok = value in self.one_of
        else:
            ok = value == self.equals
        return PASSED if ok else self.fail()


@dataclass(frozen=True)
class AnyOf(Rule):
    """Alternatives, each a list of rules that must all pass; one passing alternative is enough.

    None passes: ``REVIEW`` if some alternative may still pass, with its reasons; else ``FAIL``
    with this rule's code.
    """

    alternatives: tuple[tuple[Rule, ...], ...] = ()

    def check(self, facts: PersonFacts, on: date) -> Answer:
        review: list[str] = []
        for alternative in self.alternatives:
            answer = combine(rule.check(facts, on) for rule in alternative)
            if answer.outcome is Outcome.PASS:
                return PASSED
            if answer.outcome is Outcome.REVIEW:
                review.extend(r for r in answer.reasons if r not in review)
        return Answer(Outcome.REVIEW, tuple(review)) if review else self.fail()


def combine(answers: Iterable[Answer]) -> Answer:
    """All must pass: any FAIL fails (with the failures' reasons), else any REVIEW reviews."""
    failed: list[str] = []
    review: list[str] = []
    for answer in answers:
        target = failed if answer.outcome is Outcome.FAIL else review if answer.outcome is Outcome.REVIEW else None
        if target is not None:
            target.extend(r for r in answer.reasons if r not in target)
    if failed:
        return Answer(Outcome.FAIL, tuple(failed))
    if review:
        return Answer(Outcome.REVIEW, tuple(review))
    return PASSED


@dataclass(frozen=True)
class RuleSet:
    version: int
    rules: tuple[Rule, ...]

    def messages(self) -> dict[str, tuple[str, str]]:
        """(vi, en) for every code a result of this rule set may carry (``FACT_UNKNOWN:x`` under
        ``FACT_UNKNOWN``)."""
        found = dict(REVIEW_MESSAGES)
        pending = list(self.rules)
        while pending:
            rule = pending.pop()
            found[rule.code] = (rule.message_vi, rule.message_en)
            if isinstance(rule, AnyOf):
                pending.extend(r for alternative in rule.alternatives for r in alternative)
        return found


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    #: Codes of the failed rules (NOT_ELIGIBLE) or of what needs review (REVIEW); empty if ELIGIBLE.
    reasons: tuple[str, ...]
    #: The programme's rule-set version that gave the verdict.
    version: int


def evaluate(rule_set: RuleSet, facts: PersonFacts, on: date) -> Result:
    """The verdict of ``rule_set`` on ``facts`` as of ``on``."""
    answer = combine(rule.check(facts, on) for rule in rule_set.rules)
    verdict = {Outcome.PASS: Verdict.ELIGIBLE, Outcome.FAIL: Verdict.NOT_ELIGIBLE,
               Outcome.REVIEW: Verdict.REVIEW}[answer.outcome]
    return Result(verdict, answer.reasons, rule_set.version)


# -- the stored form ---------------------------------------------------------------------------

KINDS = ("age", "residence", "alive", "household_size", "orphan", "fact", "any_of")


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """A rule from its stored form (validated beforehand by :mod:`idsvc.eligibility.schemas`).

    :raises ValueError: for an unknown kind.
    """
    common = {"code": data["code"], "message_vi": data["message_vi"], "message_en": data["message_en"]}
    kind = data["kind"]
    if kind == "age":
        return AgeRule(**common, min=data.get("min"), max=data.get("max"))
    if kind == "residence":
        return ResidenceRule(**common, communes=frozenset(data.get("communes", ())),
                             provinces=frozenset(data.get("provinces", ())))
    if kind == "alive":
        return AliveRule(**common)
    if kind == "household_size":
        return HouseholdSizeRule(**common, min=data.get("min"), max=data.get("max"))
    if kind == "orphan":
        return OrphanRule(**common)
    if kind == "fact":
        return FactRule(**common, name=data["name"], equals=data.get("equals"), at_least=data.get("at_least"),
                        one_of=tuple(data.get("one_of", ())))
    if kind == "any_of":
        return AnyOf(**common, alternatives=tuple(
            tuple(rule_from_dict(r) for r in alternative) for alternative in data["alternatives"]))
    raise ValueError(f"unknown rule kind {kind!r}")


def rule_set_from_dicts(version: int, rules: Iterable[Mapping[str, Any]]) -> RuleSet:
    return RuleSet(version, tuple(rule_from_dict(r) for r in rules))


# -- the monthly amount --------------------------------------------------------------------------


@dataclass(frozen=True)
class Amounts:
    """How a programme's monthly amount is worked out: base rate × coefficient.

    ``base_rates``: (from, VND per month), any order; the rate in force on the reference date is the
    latest that started on or before it. ``variants``: (coefficient, conditions) pairs: a person who
    passes every condition of a variant gets its coefficient, the highest of those that apply (Decree
    20/2021: only the highest level), else ``coefficient``. A condition the facts cannot settle (a
    partial date of birth) does not apply: the amount stays the one that is sure.
    """

    base_rates: tuple[tuple[date, int], ...]
    coefficient: Decimal
    variants: tuple[tuple[Decimal, tuple[Rule, ...]], ...] = ()

    def base_rate_on(self, on: date) -> int | None:
        started = [(start, rate) for start, rate in self.base_rates if start <= on]
        return max(started)[1] if started else None

    def coefficient_for(self, facts: PersonFacts, on: date) -> Decimal:
        applying = [c for c, conditions in self.variants
                    if all(rule.check(facts, on).outcome is Outcome.PASS for rule in conditions)]
        return max([self.coefficient, *applying])

    def monthly_amount(self, facts: PersonFacts | None, on: date) -> int | None:
        """VND per month for this person on ``on`` (rounded to the dong), or None before any base rate.
        Without facts, the base coefficient."""
        rate = self.base_rate_on(on)
        if rate is None:
            return None
        coefficient = self.coefficient if facts is None else self.coefficient_for(facts, on)
        return int((rate * coefficient).to_integral_value())


def condition_from_dict(data: Mapping[str, Any]) -> Rule:
    """A variant's condition: a rule whose code and messages may be left out."""
    return rule_from_dict({"code": "CONDITION", "message_vi": "", "message_en": "", **data})


def amounts_from(base_rates: Iterable[tuple[date, int]], coefficient: Decimal,
                 variants: Iterable[Mapping[str, Any]]) -> Amounts:
    """:class:`Amounts` from a programme's stored form (variants: ``{"coefficient": "2.5", "when": [...]}``)."""
    return Amounts(tuple(base_rates), Decimal(coefficient), tuple(
        (Decimal(str(v["coefficient"])), tuple(condition_from_dict(c) for c in v["when"])) for v in variants))
