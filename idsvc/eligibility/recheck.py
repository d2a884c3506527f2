"""Re-checking a programme's enrolments: who died, moved, or lost (or regained) eligibility since the
last check. Set-based: a constant number of queries per chunk of enrolments.

What changed is told as codes only, never with the registry's values: ``MOVED`` says that the
permanent commune changed, not where to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.eligibility import check
from idsvc.eligibility import service
from idsvc.eligibility.models import Enrolment
from idsvc.eligibility.models import Programme

DECEASED = check.DECEASED
MOVED = "MOVED"
NO_LONGER_ELIGIBLE = "NO_LONGER_ELIGIBLE"
ELIGIBLE_AGAIN = "ELIGIBLE_AGAIN"
#: The kinds of change, in the order a person's changes are listed.
CHANGES = (DECEASED, MOVED, NO_LONGER_ELIGIBLE, ELIGIBLE_AGAIN)

#: The verdicts of an enrolment: its person was found, so never NOT_FOUND.
ASSESSED = (check.ELIGIBLE, check.NOT_ELIGIBLE, check.REVIEW)
#: The columns of a recheck's CSV file: one row per person with a change.
COLUMNS = ("ref", "citizen_id", "change", "reasons")


@dataclass(frozen=True, slots=True)
class Changed:
    """One enrolled person whose situation changed since the last check."""

    ref: str
    #: The person's number if the programme may receive it, else its pseudonym.
    citizen_id: str
    #: ``DECEASED``, ``MOVED``, ``NO_LONGER_ELIGIBLE:<reasons joined by +>``, ``ELIGIBLE_AGAIN``.
    changes: tuple[str, ...]
    #: The verdict's reasons now.
    reasons: tuple[str, ...]
    verdict: str

    def as_output(self) -> dict[str, str]:
        return {"ref": self.ref, "citizen_id": self.citizen_id, "change": ";".join(self.changes),
                "reasons": ";".join(self.reasons)}


@dataclass(frozen=True, slots=True)
class Report:
    programme: str
    checked: int
    changed: list[Changed]
    #: Enrolments by verdict now.
    verdicts: dict[str, int]

    def counts(self) -> dict[str, int]:
        """People by kind of change."""
        found = Counter(c.split(":", 1)[0] for row in self.changed for c in row.changes)
        return {kind: found.get(kind, 0) for kind in CHANGES}


def recheck(programme: Programme, *, on: date, actor: str) -> Report:
    """Re-evaluate every active enrolment of ``programme`` as of ``on`` and record what was seen.
    Flushes, never commits."""
    s = db.session()
    enrolments = s.execute(
        select(Enrolment.id, Enrolment.citizen_id, Enrolment.ref, Enrolment.last_verdict, Enrolment.last_reasons,
               Enrolment.last_commune_code, Enrolment.last_status)
        .where(Enrolment.programme_id == programme.id, Enrolment.ended_at.is_(None))
        .order_by(Enrolment.id)).all()
    people = [e.citizen_id for e in enrolments]
    facts = service.facts_for(people, on=on)
    others = check.enrolled_elsewhere(programme, people)
    amounts = check.amounts_of(programme, others)
    shown = check.public_ids(programme, people)
    rule_set = service.rule_set(programme)
    now = utcnow()
    changed: list[Changed] = []
    updates: list[dict[str, Any]] = []
    verdicts: Counter[str] = Counter()
    audited: list[tuple[int, dict[str, Any]]] = []
    for e in enrolments:
        person = facts[e.citizen_id]
        assessment = check.assess(programme, rule_set, person, others.get(e.citizen_id, ()), on=on, amounts=amounts)
        status = check.life_status(person, on)
        changes: list[str] = []
        if e.last_status == "alive" and status != "alive":
            changes.append(DECEASED)
        if person.commune_code != e.last_commune_code:
            changes.append(MOVED)
        if e.last_verdict == check.ELIGIBLE and assessment.verdict != check.ELIGIBLE and DECEASED not in changes:
            changes.append(f"{NO_LONGER_ELIGIBLE}:{'+'.join(assessment.reasons)}")
        if e.last_verdict != check.ELIGIBLE and assessment.verdict == check.ELIGIBLE:
            changes.append(ELIGIBLE_AGAIN)
        verdicts[assessment.verdict] += 1
        audited.append((e.citizen_id, {"programme": programme.code, "verdict": assessment.verdict,
                                       "rule_set_version": rule_set.version}))
        if changes:
            changed.append(Changed(e.ref, shown[e.citizen_id], tuple(changes), assessment.reasons,
                                   assessment.verdict))
        seen = (assessment.verdict, list(assessment.reasons), person.commune_code, status)
        if seen != (e.last_verdict, list(e.last_reasons or ()), e.last_commune_code, e.last_status):
            updates.append({"id": e.id, "last_verdict": seen[0], "last_reasons": seen[1],
                            "last_commune_code": seen[2], "last_status": seen[3]})
    s.execute(update(Enrolment).where(Enrolment.programme_id == programme.id, Enrolment.ended_at.is_(None))
              .values(last_checked_at=now))
    for start in range(0, len(updates), check.CHUNK):
        s.execute(update(Enrolment), updates[start:start + check.CHUNK])
    report = Report(programme.code, len(enrolments), changed, {v: verdicts.get(v, 0) for v in ASSESSED})
    audit.record(AuditAction.ELIGIBILITY_RECHECK, actor=actor, subject_type="programme", subject_id=programme.code,
                 data={"enrolments": report.checked, "changes": report.counts(), "verdicts": report.verdicts,
                       "rule_set_version": rule_set.version, "on": on.isoformat()})
    audit.record_many(AuditAction.ELIGIBILITY_PERSON_RECHECK, actor=actor, subject_type="citizen", subjects=audited)
    return report


def summary(report: Report) -> str:
    """One line: how many enrolments were rechecked, and the changes by kind."""
    counts = report.counts()
    return (f"{report.checked} enrolments of {report.programme} rechecked: "
            + ", ".join(f"{counts[kind]} {kind}" for kind in CHANGES))
