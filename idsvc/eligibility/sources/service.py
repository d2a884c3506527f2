"""Facts from attribute sources, per person, on a date: what the eligibility rules' ``fact`` rules read.

Semantics (the lists of a kind add up; none is ever edited):

- **In force.** A disability or pension list is in force from the date it is as of (``valid_on``);
  a poverty list from 1 January of its year. A fact whose kind has no list in force on the date
  is *absent*: a ``fact`` rule on it answers REVIEW with ``FACT_UNKNOWN:<name>``. Once a list of
  the kind is in force, a person on none of its lists gets the kind's "none" value.
- ``disability_level``: the grade (1 mild, 2 severe, 3 extremely severe) of the person's latest
  certification on or before the date, from any list in force; 0 when there is none.
- ``pension``: True when a list in force records a pension or monthly benefit that has started
  on or before the date and has not ended before it (``end_date`` is the last day paid); else False.
- ``poor_household``: ``poor``, ``near_poor`` or ``none``. Poverty is a household's, and lists are
  per commune and year: for the commune of the person's household (the household's commune, else
  the person's permanent residence), the lists of the latest year up to the date's year apply.
  If the household (or, without a household, the person) is on them, its level (``poor`` before
  ``near_poor`` should two lists differ); if not, ``none``. A person whose commune no poverty list
  of that or an earlier year covers has no fact (unknown), never ``none``.

Set-based: a constant number of queries per chunk of 500 people.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.eligibility.sources.kinds import KINDS
from idsvc.eligibility.sources.models import SourceFact
from idsvc.eligibility.sources.models import SourceList
from idsvc.eligibility.sources.models import SourceListCommune
from idsvc.registry.models import Citizen
from idsvc.registry.models import Household

#: People per query (below SQLite's limit on bound parameters).
CHUNK = 500
#: Poverty levels, the first winning when two lists of a household's commune and year differ.
_POVERTY_ORDER = ("poor", "near_poor")


def kinds_in_force(on: date) -> set[str]:
    """The kinds of list with at least one list in force on ``on``."""
    return set(db.session().scalars(select(SourceList.kind).where(SourceList.valid_on <= on).distinct()))


def source_facts(citizen_ids: Iterable[int], on: date) -> dict[int, dict[str, Any]]:
    """The attribute-source facts of many people on ``on``, by citizen id (see the module's text).

    A person with no fact at all (no list of any kind in force) is left out of the answer.
    Queries: two, then per chunk of 500 people one for disability and pension, and up to three
    for poverty.
    """
    ids = sorted(set(citizen_ids))
    kinds = kinds_in_force(on) if ids else set()
    found: dict[int, dict[str, Any]] = {}
    if not kinds:
        return found
    dated = sorted(kinds & {"disability", "pension"})
    covered = _covered_communes(on) if "poverty" in kinds else {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for i in chunk:
            found[i] = {KINDS[kind].fact: KINDS[kind].none_value for kind in dated}
        if dated:
            for i, facts in _dated_facts(chunk, dated, on).items():
                found[i].update(facts)
        if covered:
            for i, level in _poverty(chunk, covered, on).items():
                found[i][KINDS["poverty"].fact] = level
    return {i: facts for i, facts in found.items() if facts}


def _dated_facts(chunk: list[int], kinds: list[str], on: date) -> dict[int, dict[str, Any]]:
    """``disability_level`` and ``pension`` of the people of ``chunk`` on a list in force, in one query."""
    latest: dict[int, tuple[date, int, int]] = {}  # citizen -> (certified, list, level)
    paid: set[int] = set()
    for kind, citizen_id, value, starts, ends, list_id in db.session().execute(
            select(SourceList.kind, SourceFact.citizen_id, SourceFact.value, SourceFact.valid_from,
                   SourceFact.valid_to, SourceFact.list_id)
            .join(SourceList, SourceList.id == SourceFact.list_id)
            .where(SourceFact.citizen_id.in_(chunk), SourceList.kind.in_(kinds), SourceList.valid_on <= on,
                   SourceFact.valid_from <= on)):
        if kind == "pension":
            if ends is None or ends >= on:
                paid.add(citizen_id)
        else:
            candidate = (starts, list_id, int(value))
            if citizen_id not in latest or candidate > latest[citizen_id]:
                latest[citizen_id] = candidate
    found: dict[int, dict[str, Any]] = {i: {KINDS["pension"].fact: True} for i in paid}
    for i, (_, _, level) in latest.items():
        found.setdefault(i, {})[KINDS["disability"].fact] = level
    return found


def _covered_communes(on: date) -> dict[str, date]:
    """Commune -> 1 January of the latest year up to ``on``'s that a poverty list covers it for."""
    return {commune: starts for commune, starts in db.session().execute(
        select(SourceListCommune.commune_code, func.max(SourceList.valid_on))
        .join(SourceList, SourceList.id == SourceListCommune.list_id)
        .where(SourceList.kind == "poverty", SourceList.valid_on <= on)
        .group_by(SourceListCommune.commune_code))}


def _poverty(chunk: list[int], covered: dict[str, date], on: date) -> dict[int, str]:
    """``poor_household`` of the people of ``chunk`` whose household's commune a poverty list covers."""
    s = db.session()
    people = [(person, household, commune) for person, household, commune in s.execute(
        select(Citizen.id, Citizen.household_id,
               func.coalesce(Household.commune_code, Citizen.permanent_commune_code))
        .outerjoin(Household, Household.id == Citizen.household_id)
        .where(Citizen.id.in_(chunk))) if commune in covered]
    if not people:
        return {}
    households = {household for _, household, _ in people if household is not None}
    alone = [person for person, household, _ in people if household is None]
    # (household, or minus the person without one; commune; year) -> the levels the lists give.
    listed: dict[tuple[int, str | None, date], set[str]] = {}
    listing = (select(Citizen.household_id, SourceFact.citizen_id, SourceFact.commune_code, SourceFact.valid_from,
                      SourceFact.value)
               .join(SourceList, SourceList.id == SourceFact.list_id)
               .join(Citizen, Citizen.id == SourceFact.citizen_id)
               .where(SourceList.kind == "poverty", SourceList.valid_on <= on))
    rows: list[Any] = []
    if households:
        rows += s.execute(listing.where(Citizen.household_id.in_(households))).all()
    if alone:
        rows += s.execute(listing.where(SourceFact.citizen_id.in_(alone))).all()
    for household, named, commune, starts, value in rows:
        listed.setdefault((household if household is not None else -named, commune, starts), set()).add(value)
    found: dict[int, str] = {}
    for person, household, commune in people:
        key = (household if household is not None else -person, commune, covered[commune])
        levels = listed.get(key, set())
        found[person] = next((level for level in _POVERTY_ORDER if level in levels), KINDS["poverty"].none_value)
    return found


def list_lists() -> list[SourceList]:
    """The lists loaded, newest first."""
    return list(db.session().scalars(select(SourceList).order_by(SourceList.id.desc())))
