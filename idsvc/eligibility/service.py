"""Eligibility services: programme files in, registry facts out, rules evaluated.

Plain functions that flush and never commit; the request or CLI command commits.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import aliased

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.eligibility import rules
from idsvc.eligibility.models import Programme
from idsvc.eligibility.models import ProgrammeRuleSet
from idsvc.eligibility.schemas import ProgrammeSchema
from idsvc.eligibility.schemas import flatten
from idsvc.eligibility.sources.service import source_facts
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import Commune
from idsvc.registry.models import Relative

#: Ids per query when gathering facts (below SQLite's limit on bound parameters).
CHUNK = 500


@dataclass(frozen=True)
class Loaded:
    """What loading did to one programme: ``added``, ``new-version`` or ``unchanged``."""

    code: str
    version: int
    change: str


def _read(path: Path) -> tuple[dict[str, Any], str]:
    raw = path.read_bytes()
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationFailed(f"{path.name}: not a UTF-8 TOML file: {exc}") from exc
    try:
        data = ProgrammeSchema().load(document)
    except ValidationError as exc:
        raise ValidationFailed(f"{path.name}: " + "; ".join(flatten(exc.messages))) from exc
    if data["code"] != path.stem:
        raise ValidationFailed(f"{path.name}: code: '{data['code']}' is not the file's name ({path.stem})")
    return data, hashlib.sha256(raw).hexdigest()


def load_programmes(directory: Path, *, actor: str = "system:cli") -> list[Loaded]:
    """Load every ``*.toml`` programme file of ``directory``; idempotent.

    A new file adds its programme with rule set version 1; a changed file updates the programme and
    adds the next rule-set version; an unchanged file adds nothing. All files are checked first.

    :raises ValidationFailed: naming the file and the field, for the first bad file; nothing is loaded.
    """
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise NotFound(f"No programme files (*.toml) in {directory}.")
    documents = [(path, *_read(path)) for path in paths]
    s = db.session()
    done = []
    for path, data, sha256 in documents:
        rule_dicts = data.pop("rules")
        data["base_rate_history"] = [{"from": r["start"].isoformat(), "amount": r["amount"]}
                                     for r in data.pop("base_rates")]
        data["coefficient_variants"] = [{"coefficient": str(v["coefficient"]), "when": v["when"]}
                                        for v in data.pop("coefficients")]
        programme = s.scalar(select(Programme).where(Programme.code == data["code"]))
        if programme is not None:
            latest = s.scalar(select(ProgrammeRuleSet).where(ProgrammeRuleSet.programme_id == programme.id)
                              .order_by(ProgrammeRuleSet.version.desc()).limit(1))
            if latest is not None and latest.source_sha256 == sha256:
                done.append(Loaded(programme.code, programme.rule_set_version, "unchanged"))
                continue
            version = (latest.version if latest is not None else 0) + 1
            for name, value in data.items():
                setattr(programme, name, value)
            programme.rule_set_version = version
            change = "new-version"
        else:
            programme = Programme(**data, rule_set_version=1)
            s.add(programme)
            s.flush()
            version, change = 1, "added"
        s.add(ProgrammeRuleSet(programme_id=programme.id, version=version, rules=rule_dicts,
                               source_sha256=sha256, source_name=path.name))
        s.flush()
        audit.record(AuditAction.ELIGIBILITY_PROGRAMME_LOAD, actor=actor, subject_type="programme",
                     subject_id=programme.code, data={"version": version, "sha256": sha256})
        done.append(Loaded(programme.code, version, change))
    return done


def list_programmes() -> list[Programme]:
    return list(db.session().scalars(select(Programme).order_by(Programme.code)))


def get_programme(code: str) -> Programme:
    """:raises NotFound: no programme has this code."""
    programme = db.session().scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise NotFound(f"No programme '{code}'.")
    return programme


def rule_set(programme: Programme, version: int | None = None) -> rules.RuleSet:
    """The programme's rule set in force, or the given version of it."""
    version = programme.rule_set_version if version is None else version
    stored = db.session().scalar(select(ProgrammeRuleSet).where(
        ProgrammeRuleSet.programme_id == programme.id, ProgrammeRuleSet.version == version))
    if stored is None:
        raise NotFound(f"Programme '{programme.code}' has no rule set version {version}.")
    return rules.rule_set_from_dicts(stored.version, stored.rules)


def evaluate(programme: Programme, facts: rules.PersonFacts, *, on: date) -> rules.Result:
    """The verdict of the programme's rule set in force on ``facts``, as of ``on``."""
    return rules.evaluate(rule_set(programme), facts, on)


def _alive_on(on: date) -> Any:
    return or_(Citizen.status == "alive", Citizen.date_of_death > on)


def facts_for(citizen_ids: Iterable[int], *, on: date,
              sources: Mapping[int, Mapping[str, Any]] | None = None) -> dict[int, rules.PersonFacts]:
    """The facts of many people at once: a constant number of queries per chunk of ids (three, plus
    those of :func:`~idsvc.eligibility.sources.service.source_facts`).

    Facts from attribute sources outside the registry (poverty lists, disability grades, pensions)
    are those of the lists in force on ``on`` (:func:`idsvc.eligibility.sources.service.source_facts`);
    ``sources``, by citizen id, replaces them all (tests, or facts a caller already holds).
    People who are not in the registry are left out of the answer.
    """
    ids = sorted(set(citizen_ids))
    found: dict[int, rules.PersonFacts] = {}
    s = db.session()
    extra: Mapping[int, Mapping[str, Any]] = sources if sources is not None else source_facts(ids, on)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        people = s.execute(
            select(Citizen.id, Citizen.birth_year, Citizen.birth_month, Citizen.birth_day, Citizen.sex,
                   Citizen.status, Citizen.date_of_death, Citizen.permanent_commune_code,
                   Commune.province_code, Citizen.household_id)
            .outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
            .where(Citizen.id.in_(chunk))).all()
        households = {row.household_id for row in people if row.household_id is not None}
        sizes: dict[int | None, int] = {household: count for household, count in s.execute(
            select(Citizen.household_id, func.count())
            .where(Citizen.household_id.in_(households), _alive_on(on))
            .group_by(Citizen.household_id))} if households else {}
        parent = aliased(Citizen)
        parents: dict[tuple[int, str], str] = {}
        for citizen_id, kind, status, died in s.execute(
                select(Relative.citizen_id, Relative.kind, parent.status, parent.date_of_death)
                .outerjoin(CitizenNumber, CitizenNumber.number == Relative.id_number)
                .outerjoin(parent, parent.id == CitizenNumber.citizen_id)
                .where(Relative.citizen_id.in_(chunk), Relative.kind.in_(("father", "mother")))):
            if status is None:
                life = "unknown"
            elif status == "alive" or (died is not None and died > on):
                life = "alive"
            else:
                life = status
            # Two records of one parent: the one the registry knows best wins.
            if parents.get((citizen_id, kind), "unknown") == "unknown":
                parents[(citizen_id, kind)] = life
        for row in people:
            found[row.id] = rules.PersonFacts(
                birth=PartialDate(row.birth_year, row.birth_month, row.birth_day), sex=row.sex,
                status=row.status, date_of_death=row.date_of_death, commune_code=row.permanent_commune_code,
                province_code=row.province_code, household_id=row.household_id,
                household_size=sizes.get(row.household_id) if row.household_id is not None else None,
                father=parents.get((row.id, "father"), "unknown"), mother=parents.get((row.id, "mother"), "unknown"),
                facts=dict(extra.get(row.id, {})))
    return found


def facts_of(citizen_id: int, *, on: date, sources: Mapping[str, Any] | None = None) -> rules.PersonFacts:
    """One person's facts (:func:`facts_for`); ``sources`` replaces the attribute-source facts.

    :raises NotFound: no citizen has this internal id.
    """
    facts = facts_for([citizen_id], on=on, sources=None if sources is None else {citizen_id: sources}).get(citizen_id)
    if facts is None:
        raise NotFound(f"No citizen with internal id {citizen_id}.")
    return facts
