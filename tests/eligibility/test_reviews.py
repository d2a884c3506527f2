"""The review queue end to end: a list leaves rows to a clerk, the clerk decides, and the next check
of the list — batch, synchronous API, command line — resolves those rows from the decision."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.eligibility import decisions
from idsvc.eligibility import reviews
from idsvc.eligibility import service
from idsvc.eligibility.applicants import applicant
from idsvc.eligibility.check import pseudonym
from idsvc.eligibility.models import MatchDecision
from idsvc.eligibility.resolution import resolve_all
from idsvc.errors import Conflict
from idsvc.errors import ValidationFailed
from tests.eligibility.checking import ON
from tests.eligibility.programme_clients import PROGRAMME
from tests.eligibility.programme_clients import Caller
from tests.eligibility.programme_clients import csv_body
from tests.eligibility.programme_clients import new_caller
from tests.eligibility.reviewing import HOME
from tests.eligibility.reviewing import SURE
from tests.eligibility.reviewing import UNSURE
from tests.eligibility.reviewing import check_batch
from tests.eligibility.reviewing import check_now
from tests.eligibility.reviewing import make_registry
from tests.eligibility.reviewing import unsure_elsewhere

CLERK = "account:7"


@pytest.fixture()
def registry(setup_data) -> dict[str, Any]:
    return setup_data(make_registry)


@pytest.fixture()
def caller(client, setup_data, registry) -> Caller:
    return new_caller(client, setup_data)


def _cli(runner: Any, tmp_path: Path, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    source, out = tmp_path / "list.csv", tmp_path / "out.csv"
    source.write_bytes(csv_body(rows))
    result = runner.invoke(args=["eligibility", "check", "--programme", PROGRAMME, str(source), "--out", str(out),
                                 "--on", "2026-12-05"])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _queue(app: Any, **kwargs: Any) -> list[reviews.Item]:
    with app.app_context():
        items, _ = reviews.open_items(**{"units": None, **kwargs})
        return items


def _decide(setup_data: Any, item: reviews.Item, citizen_id: int | None, **kwargs: Any) -> int:
    return setup_data(lambda: reviews.decide_item(reviews.get_item(item.batch_id, item.line), citizen_id,
                                                  actor=CLERK, **kwargs).id)


def test_a_clerk_confirms_a_candidate_and_every_next_check_of_the_list_uses_it(
        app, client, runner, setup_data, registry, caller, tmp_path) -> None:
    first = check_batch(app, client, caller, [UNSURE, SURE])
    assert (first[0]["match"], first[0]["verdict"]) == ("review", "REVIEW")
    assert "MATCH_REVIEW" in first[0]["reasons"] and first[1]["match"] == "details"
    [item] = _queue(app)
    assert (item.applicant.ref, item.programme_code, item.commune_code) == ("U-1", PROGRAMME, HOME)
    assert set(item.resolution.candidates) == {registry["an"][0], registry["an2"][0]}

    an = registry["an"][0]
    _decide(setup_data, item, an)
    assert _queue(app) == []
    expected = pseudonym_of(app, an)
    for results in (check_batch(app, client, caller, [UNSURE, SURE]), check_now(client, caller, [UNSURE]),
                    _cli(runner, tmp_path, [UNSURE])):
        assert (results[0]["match"], results[0]["citizen_id"]) == ("clerk", expected)
        assert results[0]["verdict"] != "NOT_FOUND"
        reasons = results[0]["reasons"] if isinstance(results[0]["reasons"], list) else results[0]["reasons"].split(";")
        assert "MATCH_REVIEW" not in reasons
    assert _queue(app) == [], "the list checked again adds no item for a decided row"


def pseudonym_of(app: Any, citizen_id: int) -> str:
    with app.app_context():
        return pseudonym(PROGRAMME, citizen_id)


def test_a_clerk_rejects_every_candidate_and_the_row_is_not_found(
        app, client, setup_data, registry, caller) -> None:
    check_batch(app, client, caller, [UNSURE])
    [item] = _queue(app)
    _decide(setup_data, item, None)
    [again] = check_now(client, caller, [UNSURE])
    assert (again["match"], again["verdict"], again["citizen_id"]) == ("none", "NOT_FOUND", "")
    assert again["reasons"] == ["MATCH_REJECTED"]


def test_the_decision_holds_for_the_same_values_written_otherwise_and_for_no_other_row(app, registry) -> None:
    def fp(**values: str) -> str:
        return decisions.fingerprint(applicant({**UNSURE, **values}, 1, today=ON))

    with app.app_context():
        same = fp()
        assert fp(full_name="  nguyễn  văn AN ", ref="other", date_of_birth="1935") == same
        assert fp(full_name="Nguyễn Văn Hoà") == fp(full_name="Nguyễn Văn Hòa")  # tone placement only
        assert fp(full_name="Nguyễn Văn Ân") != same  # another name
        assert fp(date_of_birth="05/1935") != same and fp(sex="F") != same and fp(commune_code="00071") != same
        assert fp(citizen_id="001035000001") != same
        assert len(same) == 64 and "An" not in same


def test_only_the_items_in_a_clerks_unit_are_listed_and_in_pages(app, client, setup_data, registry,
                                                                  caller) -> None:
    elsewhere = unsure_elsewhere(registry)
    check_batch(app, client, caller, [UNSURE, elsewhere])
    everything = _queue(app)
    assert [i.applicant.ref for i in everything] == ["U-1", "U-2"]
    assert [i.applicant.ref for i in _queue(app, units=[HOME])] == ["U-1"]
    assert [i.applicant.ref for i in _queue(app, units=[registry["province"]])] == ["U-2"]
    assert [i.applicant.ref for i in _queue(app, units=["*"])] == ["U-1", "U-2"]
    assert _queue(app, units=[]) == []
    with app.app_context():
        page, cursor = reviews.open_items(units=None, limit=1)
        assert [i.applicant.ref for i in page] == ["U-1"] and cursor == page[0].key
        rest, end = reviews.open_items(units=None, cursor=cursor, limit=1)
        assert [i.applicant.ref for i in rest] == ["U-2"] and end is None
        with pytest.raises(ValidationFailed):
            reviews.open_items(units=None, cursor="x; drop")


def test_a_row_listed_again_is_one_item_shown_with_its_latest_list(app, client, registry, caller) -> None:
    check_batch(app, client, caller, [UNSURE])
    check_batch(app, client, caller, [SURE, {**UNSURE, "ref": "U-1-again"}])
    [item] = _queue(app)
    assert (item.applicant.ref, item.line) == ("U-1-again", 3)


def test_the_evidence_puts_the_row_beside_each_candidate_field_by_field(app, client, registry, caller) -> None:
    check_batch(app, client, caller, [UNSURE])
    [item] = _queue(app)
    with app.app_context():
        shown = reviews.evidence(item, actor=CLERK)
        db.session().commit()
        assert (shown.applicant.full_name, shown.applicant.date_of_birth, shown.applicant.commune_code) == (
            "Nguyễn Văn An", "1935", HOME)
        assert shown.applicant.id_number is None  # the row gave none: no candidate's number is shown
        assert {c.citizen_id for c in shown.candidates} == {registry["an"][0], registry["an2"][0]}
        for candidate in shown.candidates:
            assert candidate.values.id_number is None and candidate.values.date_of_birth.startswith("1935-")
            assert [f.field for f in candidate.fields] == ["name", "dob", "commune"]
            assert candidate.fields[1].level == "year-only agrees" and candidate.differs(shown.applicant) == {
                "date_of_birth"}
        read = db.session().scalars(select(AuditEvent.subject_id).where(
            AuditEvent.action == AuditAction.ELIGIBILITY_REVIEW_READ)).all()
        assert sorted(read) == sorted(str(c.citizen_id) for c in shown.candidates)


def test_a_second_decision_conflicts_unless_it_names_the_one_it_replaces(
        app, client, setup_data, registry, caller) -> None:
    check_batch(app, client, caller, [UNSURE])
    [item] = _queue(app)
    an, an2 = registry["an"][0], registry["an2"][0]
    first = _decide(setup_data, item, an)
    with pytest.raises(Conflict):
        _decide(setup_data, item, an2)
    with pytest.raises(ValidationFailed):
        _decide(setup_data, item, registry["quynh"][0], replaces=first)  # not a candidate
    second = _decide(setup_data, item, an2, replaces=first)
    with pytest.raises(Conflict):
        _decide(setup_data, item, an, replaces=first)  # replaced already
    with app.app_context():
        kept = db.session().scalars(select(MatchDecision).order_by(MatchDecision.id)).all()
        assert [(d.id, d.sequence, d.citizen_id, d.decided_by) for d in kept] == [
            (first, 1, an, CLERK), (second, 2, an2, CLERK)]
        programme = service.get_programme(PROGRAMME)
        [found] = resolve_all([applicant(UNSURE, 1, today=ON)], on=ON, programme_id=programme.id)
        assert (found.citizen_id, found.match) == (an2, "clerk")
        decided = db.session().scalars(select(AuditEvent.subject_id).where(
            AuditEvent.action == AuditAction.ELIGIBILITY_MATCH_DECIDE).order_by(AuditEvent.id)).all()
        assert decided == [str(an), str(an2)]


def test_two_clerks_deciding_at_once_one_is_told(app, client, setup_data, registry, caller, monkeypatch) -> None:
    check_batch(app, client, caller, [UNSURE])
    [item] = _queue(app)
    _decide(setup_data, item, registry["an"][0])
    # The second clerk read "no decision" before the first one's commit.
    monkeypatch.setattr(reviews.decisions, "in_force", lambda programme_id, fingerprints: {})
    with pytest.raises(Conflict, match="meanwhile"):
        _decide(setup_data, item, registry["an2"][0])
    monkeypatch.undo()
    with app.app_context():
        assert db.session().scalar(select(MatchDecision.citizen_id)) == registry["an"][0]


def test_decisions_are_read_once_per_chunk_of_rows(app, registry) -> None:
    with app.app_context():
        programme = service.get_programme(PROGRAMME)
        rows = [applicant({**UNSURE, "ref": f"r{i}", "date_of_birth": str(1900 + i % 100)}, i + 1, today=ON)
                for i in range(600)]
        statements: list[str] = []

        def listener(_conn, _cursor, statement, *_args) -> None:
            if "match_decision" in statement:
                statements.append(statement)

        engine = db.session().get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            resolve_all(rows, on=ON, programme_id=programme.id)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len(statements) == 2  # two chunks of 500 rows at most


def test_a_list_queued_from_the_command_line_fills_the_queue(app, runner, setup_data, registry, caller,
                                                             tmp_path) -> None:
    source = tmp_path / "list.csv"
    source.write_bytes(csv_body([UNSURE, SURE]))
    refused = runner.invoke(args=["eligibility", "submit", "--programme", PROGRAMME, "--client", "nobody",
                                  str(source)])
    assert refused.exit_code == 1 and "not registered" in refused.output
    queued = runner.invoke(args=["eligibility", "submit", "--programme", PROGRAMME, "--client", caller.client_id,
                                 str(source), "--on", "2026-12-05"])
    assert queued.exit_code == 0, queued.output
    assert "2 rows" in queued.output and _queue(app) == []
    assert runner.invoke(args=["eligibility", "worker", "--once"]).exit_code == 0
    assert [i.applicant.ref for i in _queue(app)] == ["U-1"]


def test_a_decision_follows_its_person_into_the_record_it_was_merged_into(
        app, client, setup_data, registry, caller) -> None:
    from idsvc.registry import lifeevents
    from idsvc.registry.models import Citizen

    check_batch(app, client, caller, [UNSURE])
    [item] = _queue(app)
    an, an2 = registry["an"][0], registry["an2"][0]
    _decide(setup_data, item, an)

    def merge() -> None:
        s = db.session()
        lifeevents.merge_records(s.get(Citizen, an2), s.get(Citizen, an), actor=CLERK,
                                 reason="one person recorded twice")

    setup_data(merge)
    [again] = check_now(client, caller, [UNSURE])
    assert (again["match"], again["citizen_id"]) == ("clerk", pseudonym_of(app, an2))
