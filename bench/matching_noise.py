"""Labelled noise for identity resolution: applicant rows as clerks and applicants write them.

Takes generated people (``idsvc.population.generator``) and returns, for some of them, a noisy copy
and the labels of the noise applied (``diacritics-dropped``, ``order-swapped``, ``dob-year-only``,
``id-missing`` ...). Deterministic for a seed. Rates are guesses of what a benefit list looks like,
stated here so that a figure can be read against them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from random import Random

from idsvc.eligibility.matching import Person
from idsvc.registry.dates import PartialDate
from idsvc.registry.names import fold

#: Probability of each kind of noise, applied independently.
RATES = {
    "diacritics-dropped": 0.25,   # "Nguyen Van An"
    "encoding": 0.10,             # NFD, old tone placement (hoà), the look-alike Ð, upper case, spaces
    "order-swapped": 0.05,        # given name first: "An Nguyễn Văn"
    "middle-dropped": 0.06,       # Văn/Thị (or any middle name) left out
    "middle-added": 0.03,         # Văn/Thị added where there is none
    "name-typo": 0.08,            # one letter substituted, dropped, doubled or two swapped
    "dob-year-only": 0.10,
    "dob-year-month": 0.03,
    "dob-day-month-swapped": 0.02,
    "dob-day-typo": 0.02,
    "dob-year-off-by-one": 0.01,
    "dob-missing": 0.02,
    "commune-same-province": 0.10,  # another commune of the same province (moved, or the old one)
    "commune-elsewhere": 0.03,
    "commune-missing": 0.05,
}
#: What the row says of the ID number: right, missing, one digit wrong, another person's.
ID_STATES = {"id-correct": 0.40, "id-missing": 0.45, "id-one-digit": 0.08, "id-other-person": 0.07}


@dataclass(frozen=True, slots=True)
class NoisyRow:
    person: Person
    truth: int | None  # index of the true person in the registry, None if not registered
    labels: tuple[str, ...]

    @property
    def usable_id(self) -> bool:
        return "id-correct" in self.labels


def person_of(row: dict[str, str], province_of: dict[str, str]) -> Person:
    commune = row["permanent_commune"] or None
    return Person(row["full_name"], PartialDate.parse(row["date_of_birth"]), commune,
                  province_of.get(commune or ""), row["citizen_id"] or None)


_OLD_STYLE = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ",
              "ũy": "uỹ", "ụy": "uỵ", "òe": "oè", "óe": "oé"}


def _encoding(name: str, rng: Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return unicodedata.normalize("NFD", name)
    if kind == 1:
        for new, old in _OLD_STYLE.items():
            name = name.replace(new, old)
        return name
    if kind == 2:
        return name.replace("Đ", "\u00d0").replace("đ", "\u00f0")
    return "  ".join(name.upper().split())


def _typo(token: str, rng: Random) -> str:
    if len(token) < 2:
        return token
    i = rng.randrange(len(token))
    kind = rng.randrange(4)
    if kind == 0:
        return token[:i] + rng.choice("aeiouhnmtgcd") + token[i + 1:]
    if kind == 1 and len(token) > 2:
        return token[:i] + token[i + 1:]
    if kind == 2:
        return token[:i] + token[i] + token[i:]
    j = min(i + 1, len(token) - 1)
    return token[:i] + token[j] + token[i] + token[j + 1:] if j > i else token[:i - 1] + token[i] + token[i - 1]


def _noisy_name(name: str, sex: str, rng: Random, labels: list[str]) -> str:
    parts = name.split()
    if len(parts) > 2 and rng.random() < RATES["middle-dropped"]:
        del parts[rng.randrange(1, len(parts) - 1)]
        labels.append("middle-dropped")
    elif len(parts) == 2 and rng.random() < RATES["middle-added"]:
        parts.insert(1, "Thị" if sex == "F" else "Văn")
        labels.append("middle-added")
    if rng.random() < RATES["name-typo"]:
        k = rng.randrange(len(parts))
        parts[k] = _typo(parts[k], rng)
        labels.append("name-typo")
    if rng.random() < RATES["order-swapped"]:
        parts = parts[-1:] + parts[:-1]
        labels.append("order-swapped")
    text = " ".join(parts)
    if rng.random() < RATES["diacritics-dropped"]:
        text = " ".join(p.capitalize() for p in fold(text).split())
        labels.append("diacritics-dropped")
    elif rng.random() < RATES["encoding"]:
        text = _encoding(text, rng)
        labels.append("encoding")
    return text


def _noisy_dob(born: PartialDate | None, rng: Random, labels: list[str]) -> PartialDate | None:
    if born is None:
        return None
    r = rng.random()
    for label in ("dob-year-only", "dob-year-month", "dob-day-month-swapped", "dob-day-typo", "dob-year-off-by-one",
                  "dob-missing"):
        if r < RATES[label]:
            break
        r -= RATES[label]
    else:
        return born
    try:
        if label == "dob-year-only":
            new: PartialDate | None = PartialDate(born.year)
        elif label == "dob-year-month":
            new = PartialDate(born.year, born.month)
        elif label == "dob-day-month-swapped":
            new = PartialDate(born.year, born.day, born.month) if born.day and born.day <= 12 else None
        elif label == "dob-day-typo":
            new = PartialDate(born.year, born.month, born.day + rng.choice((-1, 1))) if born.day else None
        elif label == "dob-year-off-by-one":
            new = PartialDate(born.year + rng.choice((-1, 1)), born.month, born.day)
        else:
            new = None
    except ValueError:
        return born
    if new is None and label != "dob-missing":
        return born
    labels.append(label)
    return new


def noisy(
    row: dict[str, str], truth: int | None, rng: Random, province_of: dict[str, str],
    communes_of: dict[str, list[str]], all_communes: list[str], other_ids: list[str],
    id_states: dict[str, float] | None = None,
) -> NoisyRow:
    """A noisy copy of one generated row. ``other_ids``: numbers of other people (relatives);
    ``id_states``: the shares of :data:`ID_STATES` to draw from instead."""
    labels: list[str] = []
    base = person_of(row, province_of)
    name = _noisy_name(row["full_name"], row["sex"], rng, labels)
    born = _noisy_dob(base.born, rng, labels)
    commune = base.commune
    r = rng.random()
    if commune and r < RATES["commune-same-province"] and len(communes_of[province_of[commune]]) > 1:
        commune = rng.choice([c for c in communes_of[province_of[commune]] if c != commune])
        labels.append("commune-same-province")
    elif r < RATES["commune-same-province"] + RATES["commune-elsewhere"]:
        commune = rng.choice(all_communes)
        labels.append("commune-elsewhere")
    elif r < sum(RATES[k] for k in ("commune-same-province", "commune-elsewhere", "commune-missing")):
        commune = None
        labels.append("commune-missing")
    number = base.id_number
    states = id_states or ID_STATES
    state = rng.choices(list(states), weights=list(states.values()))[0]
    if state == "id-missing" or not number:
        number, state = None, "id-missing"
    elif state == "id-one-digit":
        i = rng.randrange(6, 12)
        number = number[:i] + str((int(number[i]) + rng.randrange(1, 10)) % 10) + number[i + 1:]
    elif state == "id-other-person":
        if other_ids:
            number = rng.choice(other_ids)
        else:
            number, state = None, "id-missing"
    labels.append(state)
    province = province_of.get(commune or "")
    return NoisyRow(Person(name, born, commune, province, number), truth, tuple(labels))
