"""The same person twice in one list. Pure: no Flask, no database.

Two rows are one person when they were resolved to the same citizen, whatever number each wrote;
or, for rows that were not resolved, when their details are an automatic match
(:func:`matching.compare`, ``decision == "match"``). Unresolved rows are only compared with rows
that share a :func:`matching.search_keys` key with them, never all pairs of a list; a key shared by
more than :data:`MAX_BLOCK` rows (a list of one village's "Nguyễn Văn An"s) is not used alone.

The first row of a group keeps its verdict; the later ones are answered
``DUPLICATE_IN_BATCH:<group>``. Groups are named ``D1``, ``D2``, ... in the order of their first row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from idsvc.eligibility import matching
from idsvc.eligibility.applicants import Applicant

#: Rows sharing one blocking key beyond which the key is too common to compare all its pairs.
MAX_BLOCK = 50

#: Shares of the common surnames in the population (``domain`` research, Wikipedia-derived) and of
#: the common middle names, folded: what rows of one list are compared with when the registry's
#: own frequencies are not at hand.
SURNAMES = {"nguyen": 0.384, "tran": 0.11, "le": 0.095, "pham": 0.071, "hoang": 0.051, "huynh": 0.051,
            "phan": 0.045, "vu": 0.039, "vo": 0.039, "dang": 0.021, "bui": 0.02, "do": 0.014, "ho": 0.013,
            "ngo": 0.013, "duong": 0.01, "ly": 0.005}
MIDDLES = {"van": 0.3, "thi": 0.3}
#: A given name is counted as common as a common one (Anh: 3.4 %, An: 1 %) unless a long list
#: shows it more common still: a short list cannot tell a rare name from a common one.
GIVEN_SHARE = 0.01
#: Rows from which a list's own given-name shares are trusted.
MIN_ROWS_FOR_SHARES = 1000


def list_frequencies(names: Sequence[str],
                     population: matching.NameFrequencies | None = None) -> matching.NameFrequencies:
    """Conservative name frequencies for comparing the rows of one list with each other: each name
    part as common as the commonest of its share in ``population`` (the registry's), the national
    shares above, and a given name at least :data:`GIVEN_SHARE`; the birth-date spikes of
    ``population``."""
    own = matching.NameFrequencies.from_names(names)
    long_list = len(names) >= MIN_ROWS_FOR_SHARES
    known = population or matching.NameFrequencies({}, {}, {})

    def merge(*tables: dict[str, float]) -> dict[str, float]:
        merged: dict[str, float] = {}
        for table in tables:
            for name, share in table.items():
                merged[name] = max(share, merged.get(name, 0.0))
        return merged

    given = {name: max(GIVEN_SHARE, share if long_list else 0.0) for name, share in own.given.items()}
    # A short list's own shares say nothing of the population, except for names no table knows.
    return matching.NameFrequencies(
        surname=merge({n: v for n, v in own.surname.items() if long_list or n not in SURNAMES}, SURNAMES,
                      known.surname),
        middle=merge({n: v for n, v in own.middle.items() if long_list or n not in MIDDLES}, MIDDLES, known.middle),
        given=merge(given, known.given), floor=1e-4, dates=dict(known.dates))


@dataclass(frozen=True, slots=True)
class Duplicates:
    """Per row of the list (same order): its group (``""`` for none), and whether it is the row of
    its group that keeps the verdict (True for a row in no group)."""

    groups: tuple[str, ...]
    kept: tuple[bool, ...]

    def group_of(self, index: int) -> str:
        return self.groups[index]

    def is_duplicate(self, index: int) -> bool:
        return not self.kept[index]


def person_of(applicant: Applicant) -> matching.Person:
    """The details of a row as :mod:`matching` compares them (a 12-digit number only)."""
    number = applicant.citizen_id if applicant.citizen_id and len(applicant.citizen_id) == 12 else None
    return matching.Person(applicant.full_name, applicant.born, applicant.commune_code, None, number)


class _Groups:
    """Union-find over row indexes; the root of a set is its first row."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def find_duplicates(
    applicants: Sequence[Applicant], citizen_ids: Sequence[int | None], freq: matching.NameFrequencies,
    thresholds: matching.Thresholds = matching.DEFAULT_THRESHOLDS,
) -> Duplicates:
    """The duplicate groups of a list. ``citizen_ids``: who each row was resolved to (None: not
    resolved). Invalid rows (``applicant.invalid``) belong to no group."""
    if len(applicants) != len(citizen_ids):
        raise ValueError("one resolution per applicant")
    n = len(applicants)
    sets = _Groups(n)
    first_of: dict[int, int] = {}
    blocks: dict[str, list[int]] = defaultdict(list)
    people: dict[int, matching.Person] = {}
    for i, (applicant, citizen) in enumerate(zip(applicants, citizen_ids, strict=True)):
        if applicant.invalid:
            continue
        if citizen is not None:
            sets.join(first_of.setdefault(citizen, i), i)
        else:
            people[i] = person_of(applicant)
            for key in matching.search_keys(people[i]):
                blocks[key].append(i)
    compared: set[tuple[int, int]] = set()
    for rows in blocks.values():
        if len(rows) < 2 or len(rows) > MAX_BLOCK:
            continue
        for x, a in enumerate(rows):
            for b in rows[x + 1:]:
                if (a, b) in compared or sets.find(a) == sets.find(b):
                    continue
                compared.add((a, b))
                if matching.compare(people[a], people[b], freq, thresholds).decision == "match":
                    sets.join(a, b)
    size: dict[int, int] = defaultdict(int)
    for i in range(n):
        size[sets.find(i)] += 1
    names: dict[int, str] = {}
    groups: list[str] = []
    kept: list[bool] = []
    for i in range(n):
        root = sets.find(i)
        if size[root] < 2:
            groups.append("")
            kept.append(True)
            continue
        if root not in names:
            names[root] = f"D{len(names) + 1}"
        groups.append(names[root])
        kept.append(root == i)
    return Duplicates(tuple(groups), tuple(kept))
