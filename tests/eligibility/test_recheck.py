"""Re-checking enrolments: deaths, moves, lost and regained eligibility since the last run."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.eligibility import check
from idsvc.eligibility import recheck
from idsvc.eligibility.models import Enrolment
from idsvc.registry import service as registry
from tests.eligibility.checking import ALIVE
from tests.eligibility.checking import ON
from tests.eligibility.checking import age_rule
from tests.eligibility.checking import make_programme
from tests.eligibility.checking import row_of

EARLIER = date(2026, 11, 1)
RESIDENCE = {"kind": "residence", "code": "RESIDENCE", "communes": ["00070"], "message_vi": "Không cư trú tại xã",
             "message_en": "Does not live in the commune"}


def test_a_death_and_a_move_are_reported_once(create_citizen) -> None:
    programme = make_programme(rules=[ALIVE, age_rule(60), RESIDENCE])
    dies, moves, stays = (create_citizen(birth_year=1940 + i, full_name=name) for i, name in
                          enumerate(["Trần Thị Lan", "Lê Văn Hùng", "Phạm Văn Tư"]))
    rows = [row_of(p, i) for i, p in enumerate((dies, moves, stays), start=1)]
    check.check(programme, rows, on=EARLIER, actor="t", enrol=True)
    assert recheck.recheck(programme, on=EARLIER, actor="t").changed == []

    registry.record_death(dies, date(2026, 11, 20), actor="t", reason="death certificate")
    registry.update_citizen(moves, {"permanent_commune_code": "00004"}, actor="t", reason="moved")
    report = recheck.recheck(programme, on=ON, actor="clerk:3")
    assert report.checked == 3
    assert [(c.ref, c.changes, c.reasons) for c in report.changed] == [
        ("R1", ("DECEASED",), ("DECEASED",)),
        ("R2", ("MOVED", "NO_LONGER_ELIGIBLE:RESIDENCE"), ("RESIDENCE",))]
    assert report.counts() == {"DECEASED": 1, "MOVED": 1, "NO_LONGER_ELIGIBLE": 1, "ELIGIBLE_AGAIN": 0}
    assert report.verdicts == {"ELIGIBLE": 1, "NOT_ELIGIBLE": 2, "REVIEW": 0}
    assert recheck.summary(report) == ("3 enrolments of test-elderly rechecked: 1 DECEASED, 1 MOVED, "
                                       "1 NO_LONGER_ELIGIBLE, 0 ELIGIBLE_AGAIN")
    # What the programme sees: codes and pseudonyms, never the new commune.
    text = str([c.as_output() for c in report.changed])
    assert "00004" not in text and moves.id_number not in text
    assert report.changed[1].citizen_id == check.pseudonym(programme.code, moves.id)

    # Nothing new since: nothing reported; moving back makes the person eligible again.
    assert recheck.recheck(programme, on=ON, actor="t").changed == []
    registry.update_citizen(moves, {"permanent_commune_code": "00070"}, actor="t", reason="moved back")
    [again] = recheck.recheck(programme, on=ON, actor="t").changed
    assert (again.ref, again.changes, again.verdict) == ("R2", ("MOVED", "ELIGIBLE_AGAIN"), "ELIGIBLE")
    enrolment = db.session().scalars(select(Enrolment).where(Enrolment.citizen_id == moves.id)).one()
    assert (enrolment.last_verdict, enrolment.last_commune_code) == ("ELIGIBLE", "00070")


def test_a_higher_allowance_elsewhere_ends_eligibility(create_citizen) -> None:
    here, there = make_programme("test-here"), make_programme("test-there", coefficient="2.0")
    person = create_citizen(birth_year=1950)
    check.check(here, [row_of(person, 1)], on=ON, actor="t", enrol=True)
    check.check(there, [row_of(person, 1)], on=ON, actor="t", enrol=True)
    [changed] = recheck.recheck(here, on=ON, actor="t").changed
    assert changed.changes == ("NO_LONGER_ELIGIBLE:ENROLLED_ELSEWHERE:test-there+HIGHER_ALLOWANCE_ELSEWHERE",)
    assert recheck.recheck(there, on=ON, actor="t").changed == []


def test_a_recheck_is_audited_per_programme_and_per_person(create_citizen) -> None:
    programme = make_programme()
    people = [create_citizen(birth_year=1950), create_citizen(birth_year=1951, full_name="Lê Văn Hùng")]
    check.check(programme, [row_of(p, i) for i, p in enumerate(people, start=1)], on=ON, actor="t", enrol=True)
    recheck.recheck(programme, on=ON, actor="job:recheck")
    [event] = db.session().scalars(select(AuditEvent).where(
        AuditEvent.action == "eligibility:enrolments:recheck")).all()
    assert (event.actor, event.subject_id, event.data["enrolments"]) == ("job:recheck", "test-elderly", 2)
    per_person = db.session().scalars(select(AuditEvent).where(
        AuditEvent.action == "eligibility:person:recheck")).all()
    assert sorted(e.subject_id for e in per_person) == sorted(str(p.id) for p in people)
