"""Decisions under parallel requests: one proposal approved by many supervisors at once applies
once; two changes of one person never silently overwrite each other.

Each staff member works in a thread with its own app context, session and connection, released
together by a barrier. SQLite runs whole transactions one at a time; PostgreSQL is where the race
can happen (the people are locked, the claim is a conditional UPDATE).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.errors import Conflict
from idsvc.office import authority
from idsvc.office import service
from idsvc.office.models import Proposal
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenRevision
from tests.office.conftest import COMMUNE
from tests.office.conftest import PROVINCE
from tests.office.conftest import make_staff
from tests.office.conftest import person

PARALLEL = 8


def _all_at_once(app: Any, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run each job in its own thread and transaction, all started together; each one's result
    or the domain error it raised."""
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        with app.app_context():
            start.wait()
            try:
                with db.transaction():
                    return job()
            except Conflict as exc:
                return exc

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def _approve(account_id: int, proposal_id: int) -> Callable[[], str]:
    return lambda: service.approve(authority.staff_of_account(account_id), proposal_id).status


def test_parallel_approvals_of_one_proposal_apply_it_once(app, setup_data) -> None:
    def prepare() -> tuple[int, list[int], int]:
        someone = person()
        clerk = make_staff("clerk", COMMUNE)
        proposal = service.propose(clerk, "name_change", {"full_name": "Phan Văn Một"}, subject=someone.id_number,
                                   reason="Quyết định 1/2026")
        return proposal.id, [make_staff("supervisor", PROVINCE).account_id for _ in range(PARALLEL)], someone.id

    proposal_id, supervisors, citizen_id = setup_data(prepare)
    answers = _all_at_once(app, [_approve(account, proposal_id) for account in supervisors])

    assert answers.count("applied") == 1
    assert all(isinstance(a, service.AlreadyDecided) for a in answers if a != "applied")
    counts = setup_data(lambda: (
        db.session().scalar(select(func.count()).select_from(CitizenRevision).where(
            CitizenRevision.citizen_id == citizen_id)),
        db.session().get(Citizen, citizen_id).version,
        db.session().get(Proposal, proposal_id).decided_by_account_id))
    assert counts[:2] == (1, 2) and counts[2] in supervisors


def test_two_proposals_on_one_person_never_silently_overwrite(app, setup_data) -> None:
    def prepare() -> tuple[list[int], list[int], int]:
        someone = person()
        clerk = make_staff("clerk", COMMUNE)
        ids = [service.propose(clerk, "name_change", {"full_name": name}, subject=someone.id_number,
                               reason="Quyết định 2/2026").id for name in ("Phan Văn Hai", "Phan Văn Ba")]
        return ids, [make_staff("supervisor", PROVINCE).account_id for _ in ids], someone.id

    ids, supervisors, citizen_id = setup_data(prepare)
    answers = _all_at_once(app, [_approve(account, pid) for account, pid in zip(supervisors, ids, strict=True)])

    assert sorted(map(str, answers))[-1] == "applied" and answers.count("applied") == 1
    [refused] = [a for a in answers if a != "applied"]
    assert isinstance(refused, Conflict) and refused.extra["fields"] == ["full_name"]
    winner = ids[answers.index("applied")]
    state = setup_data(lambda: (
        db.session().get(Citizen, citizen_id).full_name,
        db.session().get(Proposal, winner).payload["full_name"],
        [p.status for p in db.session().scalars(select(Proposal).where(Proposal.id.in_(ids)))]))
    assert state[0] == state[1] and sorted(state[2]) == ["applied", "pending"]


def test_parallel_immediate_changes_from_one_version_apply_once(app, setup_data) -> None:
    def prepare() -> tuple[list[int], str, int]:
        someone = person()
        return [make_staff("clerk", COMMUNE).account_id for _ in range(PARALLEL)], someone.id_number, someone.version

    clerks, number, seen = setup_data(prepare)

    def correct(account: int, blood: str) -> Callable[[], str]:
        return lambda: service.propose(authority.staff_of_account(account), "correction", {"blood_type": blood},
                                       subject=number, reason="Citizen request", expected_version=seen).status

    answers = _all_at_once(app, [correct(account, blood) for account, blood in
                                 zip(clerks, ["A", "B", "AB", "O", "A+", "B+", "O+", "O-"], strict=True)])
    assert answers.count("applied") == 1
    assert all(isinstance(a, service.StaleVersion) and a.current_version == seen + 1
               for a in answers if a != "applied")
