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
from sqlalchemy import or_
from sqlalchemy import select

from idsvc import db
from idsvc.eligibility.sources.kinds import KINDS
from idsvc.eligibility.sources.models import SourceFact
from idsvc.eligibility.sources.models import SourceList
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
    """
    ids = sorted(set(citizen_ids))
    kinds = kinds_in_force(on)
    found: dict[int, dict[str, Any]] = {}
    if not kinds or not ids:
        return found
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        if "disability" in kinds:
            levels = _disability(chunk, on)
            for i in chunk:
                found.setdefault(i, {})[KINDS["disability"].fact] = levels.get(i, KINDS["disability"].none_value)
        if "pension" in kinds:
            paid = _pensioners(chunk, on)
            for i in chunk:
                found.setdefault(i, {})[KINDS["pension"].fact] = i in paid
        if "poverty" in kinds:
            for i, level in _poverty(chunk, on).items():
                found.setdefault(i, {})[KINDS["poverty"].fact] = level
    return found


def _in_force(kind: str, on: date) -> Any:
    """The facts of lists of ``kind`` in force on ``on`` (a join condition and filters)."""
    return (SourceList.id == SourceFact.list_id) & (SourceList.kind == kind) & (SourceList.valid_on <= on)


def _disability(chunk: list[int], on: date) -> dict[int, int]:
    best: dict[int, tuple[date, int, int]] = {}  # citizen -> (certified, list, level)
    for citizen_id, value, certified, list_id in db.session().execute(
            select(SourceFact.citizen_id, SourceFact.value, SourceFact.valid_from, SourceFact.list_id)
            .join(SourceList, _in_force("disability", on))
            .where(SourceFact.citizen_id.in_(chunk), SourceFact.valid_from <= on)):
        candidate = (certified, list_id, int(value))
        if citizen_id not in best or candidate > best[citizen_id]:
            best[citizen_id] = candidate
    return {citizen_id: level for citizen_id, (_, _, level) in best.items()}


def _pensioners(chunk: list[int], on: date) -> set[int]:
    return set(db.session().scalars(
        select(SourceFact.citizen_id).join(SourceList, _in_force("pension", on))
        .where(SourceFact.citizen_id.in_(chunk), SourceFact.valid_from <= on,
               or_(SourceFact.valid_to.is_(None), SourceFact.valid_to >= on)).distinct()))


def _poverty(chunk: list[int], on: date) -> dict[int, str]:
    """``poor_household`` of the people of ``chunk`` whose commune a poverty list covers."""
    s = db.session()
    people = s.execute(
        select(Citizen.id, Citizen.household_id,
               func.coalesce(Household.commune_code, Citizen.permanent_commune_code))
        .outerjoin(Household, Household.id == Citizen.household_id)
        .where(Citizen.id.in_(chunk))).all()
    communes = {commune for _, _, commune in people if commune is not None}
    if not communes:
        return {}
    # The latest year up to the date's year that each commune has a list for.
    covered: dict[str | None, date] = dict(s.execute(
        select(SourceFact.commune_code, func.max(SourceFact.valid_from))
        .join(SourceList, _in_force("poverty", on))
        .where(SourceFact.commune_code.in_(communes))
        .group_by(SourceFact.commune_code)).all())
    if not covered:
        return {}
    households = {household for _, household, _ in people if household is not None}
    alone = [i for i, household, _ in people if household is None]
    # (household or -person, commune, year start) -> levels the lists give it.
    listed: dict[tuple[int, str | None, date], set[str]] = {}
    listing = (select(Citizen.household_id, SourceFact.citizen_id, SourceFact.commune_code, SourceFact.valid_from,
                      SourceFact.value)
               .join(SourceList, _in_force("poverty", on))
               .join(Citizen, Citizen.id == SourceFact.citizen_id))
    rows: list[tuple[int | None, int, str | None, date, str]] = []
    if households:
        rows += s.execute(listing.where(Citizen.household_id.in_(households))).all()
    if alone:
        rows += s.execute(listing.where(SourceFact.citizen_id.in_(alone))).all()
    for household, named, commune, starts, value in rows:
        key = household if household is not None else -named
        listed.setdefault((key, commune, starts), set()).add(value)
    found: dict[int, str] = {}
    for person, household, commune in people:
        latest = covered.get(commune) if commune is not None else None
        if latest is None:
            continue  # no list covers the commune: unknown, not "none"
        levels = listed.get((household if household is not None else -person, commune, latest), set())
        found[person] = next((level for level in _POVERTY_ORDER if level in levels), KINDS["poverty"].none_value)
    return found


def list_lists() -> list[SourceList]:
    """The lists loaded, newest first."""
    return list(db.session().scalars(select(SourceList).order_by(SourceList.id.desc())))
