"""A deterministic synthetic population of Vietnamese citizens, household by household. Pure.

Rows follow :mod:`idsvc.registry.imports.fileformat`. The same ``(count, seed, today)`` always gives the
same rows: one ``random.Random(seed)``, data walked in sorted order, nothing hashed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from random import Random
from typing import IO
from typing import Generic
from typing import TypeVar

from idsvc import csvsafe
from idsvc.population import tables
from idsvc.registry import idnumbers
from idsvc.registry.imports.fileformat import CARD_AND_CONTACT_COLUMNS
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.units import LEGACY_PROVINCES
from idsvc.registry.units import communes_2025

#: The fixed "today" of generated data, so that files do not change with the calendar.
DEFAULT_TODAY = date(2026, 1, 1)


_V = TypeVar("_V")


class _Weighted(Generic[_V]):
    """Draws from a weighted table with one ``Random``; the order of the table is kept."""

    def __init__(self, weights: Mapping[_V, float]) -> None:
        self.values = list(weights)
        self.cum = list(itertools.accumulate(weights.values()))

    def __call__(self, rng: Random) -> _V:
        return rng.choices(self.values, cum_weights=self.cum)[0]


@dataclass
class _Person:
    sex: str
    born: date
    precision: str  # "day", "month" or "year"
    surname: str
    name: str
    relationship: str
    registration: str
    number: str = ""
    status: str = "alive"
    died: date | None = None
    marital: str = ""
    father: _Person | None = None
    mother: _Person | None = None
    spouse: _Person | None = None
    parents_by_name: tuple[str, str] | None = None
    #: Old identity-card (CMND) numbers, space-separated.
    old_numbers: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class Generator:
    """Makes households one after another; :func:`generate` is the entry point."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = Random(seed)
        #: Old identity-card numbers draw from their own stream, so adding them left everyone else as they were.
        self.old_rng = Random(f"old-id-numbers:{seed}")
        self.today = today
        self.communes = sorted((u.code, u.province_code or "") for u in communes_2025())
        self.surnames = _Weighted(tables.SURNAMES)
        self.given = {sex: _Weighted(names) for sex, names in tables.GIVEN.items()}
        self.sizes = _Weighted(tables.HOUSEHOLD_SIZES)
        self.head_ages = _Weighted(tables.HEAD_AGE_BANDS)
        self.religions = _Weighted(tables.RELIGIONS)
        self.blood = _Weighted(tables.BLOOD_TYPES)
        self.other_minorities = _Weighted(tables.OTHER_MINORITIES)
        self.areas = {code: (share, _Weighted(groups))
                      for codes, share, groups in tables.MINORITIES_BY_AREA.values() for code in codes}
        legacy_by_successor: dict[str, list[str]] = {}
        for code, (_, successor) in sorted(LEGACY_PROVINCES.items()):
            legacy_by_successor.setdefault(successor, []).append(code)
        self.legacy_by_successor = legacy_by_successor
        self.anywhere = _Weighted({code: tables.BIG_CITY_WEIGHT.get(code, 1) for code in sorted(LEGACY_PROVINCES)})
        self.abroad = sorted(idnumbers.ABROAD_CODES)
        self.issued: set[int] = set()
        self.issued_old: set[int] = set()
        self.households = 0

    # -- people ------------------------------------------------------------------------------

    def _birth_date(self, year: int) -> tuple[date, str]:
        rng = self.rng
        start = date(year, 1, 1)
        last = min(date(year, 12, 31), self.today)
        born = start + timedelta(days=rng.randrange((last - start).days + 1))
        roll = rng.random()
        if year < 1975:
            precision = ("year" if roll < tables.OLD_RECORD_YEAR_ONLY else
                         "month" if roll < tables.OLD_RECORD_YEAR_ONLY + tables.OLD_RECORD_YEAR_MONTH else "day")
        else:
            precision = "year" if roll < tables.YEAR_ONLY_AFTER_1975 else "day"
        return born, precision

    def _given_name(self, sex: str, year: int) -> str:
        rng = self.rng
        share = next(s for until, s in tables.TRADITIONAL_SHARE if year < until)[sex]
        middle = tables.TRADITIONAL_MIDDLE[sex] if rng.random() < share else rng.choice(tables.MODERN_MIDDLE[sex])
        if rng.random() < 0.05:
            middle += " " + rng.choice(tables.MODERN_MIDDLE[sex])
        return f"{middle} {self.given[sex](rng)}"

    def _surname(self, south: bool) -> str:
        name = self.surnames(self.rng)
        if south and name in tables.SOUTHERN_SPELLING and self.rng.random() < 0.8:
            return tables.SOUTHERN_SPELLING[name]
        return name

    def _registration(self, province: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < tables.ABROAD_BIRTH_SHARE:
            return rng.choice(self.abroad)
        local = self.legacy_by_successor.get(province)
        if local and roll < tables.ABROAD_BIRTH_SHARE + tables.LOCAL_BIRTH_SHARE:
            return rng.choice(local)
        return self.anywhere(rng)

    def _person(self, sex: str, year: int, surname: str, relationship: str, province: str) -> _Person:
        year = max(year, idnumbers.MIN_BIRTH_YEAR)
        born, precision = self._birth_date(year)
        return _Person(sex=sex, born=born, precision=precision, surname=surname,
                       name=self._given_name(sex, year), relationship=relationship,
                       registration=self._registration(province))

    def _number(self, person: _Person) -> str:
        prefix = idnumbers.prefix_for(person.registration, person.born.year, person.sex)
        base = int(prefix) * 1_000_000
        while True:
            candidate = base + self.rng.randrange(1_000_000)
            if candidate not in self.issued:
                self.issued.add(candidate)
                return f"{candidate:012d}"

    def _old_numbers(self, person: _Person, province: str) -> str:
        """One old identity-card number for a person born before 2000 (a few have two): the prefix
        of the province of birth registration (abroad: of the province lived in), then 7 random
        digits; the second was issued where the person lives."""
        if person.born.year >= tables.OLD_ID_BEFORE_YEAR:
            return ""
        rng = self.old_rng
        local = self.legacy_by_successor.get(province) or sorted(tables.OLD_ID_PREFIXES)
        first = person.registration if person.registration in tables.OLD_ID_PREFIXES else rng.choice(local)
        areas = [first]
        if rng.random() < tables.TWO_OLD_IDS_SHARE:
            areas.append(rng.choice(local))
        numbers = []
        for area in areas:
            base = int(rng.choice(tables.OLD_ID_PREFIXES[area])) * 10_000_000
            while True:
                candidate = base + rng.randrange(10_000_000)
                if candidate not in self.issued_old:
                    self.issued_old.add(candidate)
                    numbers.append(f"{candidate:09d}")
                    break
        return " ".join(numbers)

    # -- households --------------------------------------------------------------------------

    def household(self) -> tuple[str, str, str, list[_Person]]:
        """(household number, commune code, its province, members with the head first)."""
        rng = self.rng
        commune, province = rng.choice(self.communes)
        south = province >= "66"
        self.households += 1
        number = f"{commune}{self.households:07d}"
        size = int(self.sizes(rng))
        low, high = self.head_ages(rng)
        head_age = rng.randint(low, high)
        year = self.today.year - head_age
        head_sex = "M" if rng.random() < 0.68 else "F"
        head = self._person(head_sex, year, self._surname(south), "head", province)
        members = [head]
        father = mother = None
        if size >= 2 and rng.random() < 0.85 and head_age < 85:
            spouse_sex = "F" if head_sex == "M" else "M"
            spouse_year = min(year + (rng.randint(0, 6) if spouse_sex == "F" else -rng.randint(0, 6)),
                              self.today.year - 18)
            spouse = self._person(spouse_sex, spouse_year, self._surname(south), "spouse", province)
            head.spouse, spouse.spouse = spouse, head
            head.marital = spouse.marital = "married"
            members.append(spouse)
            father, mother = (head, spouse) if head_sex == "M" else (spouse, head)
        elif head_sex == "M":
            father = head
        else:
            mother = head
        if size - len(members) >= 2 and head_age < 62 and rng.random() < 0.25:
            parent_sex = "F" if rng.random() < 0.65 else "M"  # the elderly skew female
            parent_year = year - rng.randint(22, 34)
            parent_surname = head.surname if parent_sex == "M" else self._surname(south)
            elder = self._person(parent_sex, parent_year, parent_surname, "parent", province)
            elder.marital = "widowed"
            if parent_sex == "M":
                head.father = elder
            else:
                head.mother = elder
            members.append(elder)
        parent = mother or father
        assert parent is not None
        first_birth = parent.born.year + 19
        last_birth = min(parent.born.year + 40, self.today.year)
        while len(members) < size:
            # Most children still at home are young: skew toward the latest possible birth year.
            child_year = last_birth - int(rng.random() ** 1.4 * (last_birth - first_birth + 1))
            if last_birth < first_birth:
                # Parents too young for more children: a sibling or another relative of the head.
                sibling = self._person(rng.choice("MF"), year + rng.randint(-8, 8), head.surname, "sibling",
                                       province)
                members.append(sibling)
                continue
            surname = father.surname if father is not None else mother.surname if mother is not None else ""
            child = self._person(rng.choice("MF"), child_year, surname, "child", province)
            child.father, child.mother = father, mother
            members.append(child)
        for person in members:
            age = self.today.year - person.born.year
            if not person.marital and age >= 18:
                person.marital = "single" if age < 30 else rng.choice(("single", "married", "divorced", "widowed"))
            if person.father is None and person.mother is None and age >= 18 and rng.random() < 0.3:
                person.parents_by_name = (f"{person.surname} {self._given_name('M', person.born.year - 28)}",
                                          f"{self._surname(south)} {self._given_name('F', person.born.year - 25)}")
            self._life(person, age)
            person.number = self._number(person)
            person.old_numbers = self._old_numbers(person, province)
        return number, commune, province, members

    def _life(self, person: _Person, age: int) -> None:
        rng = self.rng
        if person.relationship == "head":
            return
        rate = next(r for until, r in tables.DEATH_RATE_BY_AGE if age < until)
        roll = rng.random()
        if roll < rate or roll > 1 - tables.MISSING_RATE:
            person.status = "deceased" if roll < rate else "missing"
            earliest = max(person.born, self.today - timedelta(days=3650))
            person.died = earliest + timedelta(days=rng.randrange(max((self.today - earliest).days, 1)))


#: The columns generated files have (no card or contact data: a file may leave optional columns out).
GENERATED_COLUMNS = tuple(c for c in COLUMNS if c not in CARD_AND_CONTACT_COLUMNS)


def generate(count: int, seed: int, *, today: date = DEFAULT_TODAY) -> Iterator[dict[str, str]]:
    """Exactly ``count`` rows (keyed by ``fileformat.COLUMNS``), household by household."""
    gen = Generator(seed, today)
    produced = 0
    while produced < count:
        number, commune, province, members = gen.household()
        religion = gen.religions(gen.rng)
        share, groups = gen.areas.get(province, (tables.OTHER_MINORITY_SHARE, gen.other_minorities))
        ethnicity = groups(gen.rng) if gen.rng.random() < share else "Kinh"
        for person in members[: count - produced]:
            yield _row(gen, person, number, commune, religion, ethnicity)
            produced += 1


def _row(gen: Generator, p: _Person, household: str, commune: str, religion: str, ethnicity: str) -> dict[str, str]:
    rng = gen.rng
    age = gen.today.year - p.born.year
    born = (p.born.isoformat() if p.precision == "day" else
            p.born.isoformat()[:7] if p.precision == "month" else str(p.born.year))
    current = commune if rng.random() < 0.93 else rng.choice(gen.communes)[0]
    legacy = LEGACY_PROVINCES.get(p.registration)
    father_name, mother_name = p.parents_by_name or ("", "")
    return {
        "citizen_id": p.number, "full_name": f"{p.surname} {p.name}", "date_of_birth": born, "sex": p.sex,
        "birth_registration_province": p.registration, "permanent_commune": commune, "current_commune": current,
        "household_id": household, "relationship_to_head": p.relationship, "ethnicity": ethnicity,
        "religion": religion, "nationality": "VN", "status": p.status,
        "date_of_death": p.died.isoformat() if p.died else "", "other_names": "",
        "place_of_birth": legacy[0] if legacy else "Nước ngoài", "hometown": legacy[0] if legacy else "",
        "blood_type": gen.blood(rng) if rng.random() < 0.6 else "", "marital_status": p.marital,
        "phone": f"0{rng.choice('9387')}{rng.randrange(100_000_000):08d}" if age >= 18 and rng.random() < 0.7 else "",
        "father_id": p.father.number if p.father else "",
        "father_name": f"{p.father.surname} {p.father.name}" if p.father else father_name,
        "mother_id": p.mother.number if p.mother else "",
        "mother_name": f"{p.mother.surname} {p.mother.name}" if p.mother else mother_name,
        "spouse_id": p.spouse.number if p.spouse else "",
        "spouse_name": f"{p.spouse.surname} {p.spouse.name}" if p.spouse else "",
        "old_id_numbers": p.old_numbers,
    }


def write_csv(rows: Iterable[dict[str, str]], out: IO[str]) -> None:
    writer = csvsafe.Writer(out, lineterminator="\n")
    writer.writerow(GENERATED_COLUMNS)
    for row in rows:
        writer.writerow([row[c] for c in GENERATED_COLUMNS])


def write_jsonl(rows: Iterable[dict[str, str]], out: IO[str]) -> None:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False))
        out.write("\n")
