"""The kinds of attribute-source list: their columns, and how one row becomes one fact. Pure.

Every kind is read by the registry import's reader with its own :class:`Layout` (CSV or JSONL,
UTF-8 with or without a byte-order mark, ``,`` or ``;`` between values). A row becomes a
:class:`FactRow` (the person's ID number and the fact's value and dates) or is refused with a
reason a clerk can act on (:class:`RowRefused`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from idsvc.eligibility.applicants import parse_date
from idsvc.registry import idnumbers
from idsvc.registry.dates import InvalidDate
from idsvc.registry.imports.reader import Layout

_COMMUNE = re.compile(r"^\d{5}$", re.ASCII)
_YEAR = re.compile(r"^\d{4}$", re.ASCII)
#: Longest value kept (the free-text ``benefit`` of a pension).
MAX_VALUE = 100
#: Poverty lists are reviewed each year from 2021 (Decree 07/2021); earlier years are accepted.
MIN_YEAR, MAX_YEAR = 2000, 2100


class RowRefused(ValueError):
    """The row cannot become a fact; ``str(exc)`` says why (``"level: 'x' is not 1, 2 or 3"``)."""


@dataclass(frozen=True, slots=True)
class FactRow:
    """One row of a list, checked: whose fact, its value and when it holds."""

    #: The person's 12-digit ID number as written (resolved to the citizen by the importer).
    number: str
    value: str
    valid_from: date
    valid_to: date | None = None
    #: Poverty lists only: the commune whose list the household is on.
    commune_code: str | None = None


@dataclass(frozen=True)
class Kind:
    """A kind of list: the columns of its files, the fact it gives and the value of someone not on it."""

    name: str
    layout: Layout
    #: The fact's name in a programme's ``fact`` rules, and its value for a person on no list in force.
    fact: str
    none_value: Any
    check: Callable[[Mapping[str, str]], FactRow]
    #: Whether ``--valid-on`` dates the list; if not, its rows do (a poverty list: one ``year`` per list).
    dated_by_caller: bool = True
    #: Whether a person may be on one list only once (a pension list may hold two benefits of one person).
    once_per_person: bool = True


def _number(values: Mapping[str, str]) -> str:
    number = values.get("citizen_id") or ""
    if not number:
        raise RowRefused("citizen_id: empty; every row names a person by their 12-digit ID number")
    try:
        idnumbers.parse(number)
    except idnumbers.InvalidIdNumber as exc:
        raise RowRefused(f"citizen_id: {exc}") from None
    return number


def _date(values: Mapping[str, str], column: str, *, required: bool = True) -> date | None:
    text = values.get(column) or ""
    if not text:
        if required:
            raise RowRefused(f"{column}: empty; write the date as YYYY-MM-DD or dd/mm/yyyy")
        return None
    try:
        parsed = parse_date(text)
    except InvalidDate as exc:
        raise RowRefused(f"{column}: {exc}") from None
    if parsed.precision != "day":
        raise RowRefused(f"{column}: '{text}' is not a whole date; write YYYY-MM-DD or dd/mm/yyyy")
    return parsed.earliest()


# -- poverty -----------------------------------------------------------------------------------

POVERTY_LEVELS = ("poor", "near_poor")
#: What poverty lists are also written with.
_POVERTY_SYNONYMS = {"near-poor": "near_poor", "nearpoor": "near_poor", "ngheo": "poor", "nghèo": "poor",
                     "can_ngheo": "near_poor", "cận nghèo": "near_poor", "can ngheo": "near_poor"}


def _poverty(values: Mapping[str, str]) -> FactRow:
    number = _number(values)
    commune = values.get("commune_code") or ""
    if not _COMMUNE.match(commune):
        raise RowRefused(f"commune_code: '{commune}' is not a 5-digit commune code")
    year = values.get("year") or ""
    if not _YEAR.match(year) or not MIN_YEAR <= int(year) <= MAX_YEAR:
        raise RowRefused(f"year: '{year}' is not a year (YYYY)")
    level = (values.get("level") or "").lower()
    level = _POVERTY_SYNONYMS.get(level, level)
    if level not in POVERTY_LEVELS:
        raise RowRefused(f"level: '{values.get('level') or ''}' is not poor or near_poor")
    return FactRow(number, level, date(int(year), 1, 1), None, commune)


# -- disability --------------------------------------------------------------------------------

#: Disability grades (Law on Persons with Disabilities 2010, Art. 3): 1 mild, 2 severe, 3 extremely severe.
DISABILITY_LEVELS = {"1": 1, "2": 2, "3": 3, "mild": 1, "severe": 2, "extremely_severe": 3,
                     "extremely severe": 3, "extremely-severe": 3}


def _disability(values: Mapping[str, str]) -> FactRow:
    number = _number(values)
    text = values.get("level") or ""
    level = DISABILITY_LEVELS.get(text.lower())
    if level is None:
        raise RowRefused(f"level: '{text}' is not 1, 2 or 3 (mild, severe, extremely_severe)")
    certified = _date(values, "certified_on")
    assert certified is not None  # required
    return FactRow(number, str(level), certified)


# -- pension -----------------------------------------------------------------------------------

def _pension(values: Mapping[str, str]) -> FactRow:
    number = _number(values)
    benefit = values.get("benefit") or ""
    if not benefit:
        raise RowRefused("benefit: empty; name the pension or benefit (e.g. retirement pension)")
    if len(benefit) > MAX_VALUE:
        raise RowRefused(f"benefit: longer than {MAX_VALUE} characters")
    start = _date(values, "start_date")
    assert start is not None  # required
    end = _date(values, "end_date", required=False)
    if end is not None and end < start:
        raise RowRefused(f"end_date: {end.isoformat()} is before start_date {start.isoformat()}")
    return FactRow(number, benefit, start, end)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("poverty", Layout(("citizen_id", "commune_code", "year", "level"),
                           ("citizen_id", "commune_code", "year", "level")),
         "poor_household", "none", _poverty, dated_by_caller=False),
    Kind("disability", Layout(("citizen_id", "level", "certified_on"), ("citizen_id", "level", "certified_on")),
         "disability_level", 0, _disability),
    Kind("pension", Layout(("citizen_id", "benefit", "start_date"),
                           ("citizen_id", "benefit", "start_date", "end_date")),
         "pension", False, _pension, once_per_person=False),
)}
