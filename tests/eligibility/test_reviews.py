"""The review queue end to end: a list leaves rows to a clerk, the clerk decides, and the next check
of the list — batch, synchronous API, command line — resolves those rows from the decision."""

from __future__ import annotations

import csv
import json
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
from idsvc.eligibility.worker import Worker
from idsvc.errors import Conflict
from idsvc.errors import ValidationFailed
from idsvc.registry.models import Commune
from tests.eligibility.checking import ON
from tests.eligibility.programme_clients import PROGRAMME
from tests.eligibility.programme_clients import Caller
from tests.eligibility.programme_clients import csv_body
from tests.eligibility.programme_clients import load_programmes
from tests.eligibility.programme_clients import new_caller
from tests.eligibility.programme_clients import row
from tests.factories import make_citizen

BATCHES = f"/api/v1/eligibility/programmes/{PROGRAMME}/batches"
CHECKS = f"/api/v1/eligibility/programmes/{PROGRAMME}/checks"
HOME = "00070"
CLERK = "account:7"

#: A row without a number that two namesakes born in 1935 in the same commune both fit.
UNSURE = row("U-1", "", "Nguyễn Văn An", "1935")
SURE = row("S-1", "", "Kiều Diệp Quỳnh", "17/05/1935", sex="F")


def _other_commune() -> str:
    province = db.session().get_one(Commune, HOME).province_code
    code = db.session().scalar(select(Commune.code).where(Commune.province_code != province)
                               .order_by(Commune.code).limit(1))
    assert code is not None
    return code


@pytest.fixture()
def registry(setup_data) -> dict[str, Any]:
    """Namesakes the matcher cannot tell apart, and others so that names are not all alike."""

    def make() -> dict[str, Any]:
        load_programmes()
        elsewhere = _other_commune()
        made = {
            "an": make_citizen(full_name="Nguyễn Văn An", birth_year=1935, birth_month=5, birth_day=17),
            "an2": make_citizen(full_name="Nguyễn Văn An", birth_year=1935, birth_month=9, birth_day=2),
            "binh": make_citizen(full_name="Trần Văn Bình", birth_year=1940, birth_month=3, birth_day=3),
            "binh2": make_citizen(full_name="Trần Văn Bình", birth_year=1940, birth_month=8, birth_day=8),
            "quynh": make_citizen(full_name="Kiều Diệp Quỳnh", birth_year=1935, sex="F"),
        }
        for i, name in enumerate(("Hoàng Văn Cường", "Vũ Thị Lan", "Đặng Quốc Tuấn", "Bùi Thị Mai", "Lý Văn Tám")):
            make_citizen(full_name=name, birth_year=1930 + i, birth_month=1 + i, birth_day=10 + i)
        for key in ("binh", "binh2"):
            made[key].permanent_commune_code = made[key].current_commune_code = elsewhere
        db.session().flush()
        out: dict[str, Any] = {k: (c.id, c.id_number) for k, c in made.items()}
        out["elsewhere"] = elsewhere
        out["province"] = db.session().get_one(Commune, elsewhere).province_code
        return out

    return setup_data(make)


@pytest.fixture()
def caller(client, setup_data) -> Caller:
    return new_caller(client, setup_data)


def _batch(app: Any, client: Any, caller: Caller, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Submit ``rows`` as a batch, let a worker check it, and read its results (JSON lines)."""
    submitted = client.post(BATCHES + "?reference_date=2026-12-05", headers=caller.headers, data=csv_body(rows),
                            content_type="text/csv")
    assert submitted.status_code == 202, submitted.get_json()
    with app.app_context():
        Worker(lease_seconds=60, poll_seconds=0).run(once=True)
    results = client.get(submitted.headers["Location"] + "/results", headers={**caller.headers,
                                                                              "Accept": "application/x-ndjson"})
    assert results.status_code == 200, results.get_data(as_text=True)
    return [json.loads(line) for line in results.get_data(as_text=True).splitlines() if line]


def _sync(client: Any, caller: Caller, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    response = client.post(CHECKS, headers=caller.headers, json={"rows": rows, "reference_date": "2026-12-05"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


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
    first = _batch(app, client, caller, [UNSURE, SURE])
    assert (first[0]["match"], first[0]["verdict"]) == ("review", "REVIEW")
    assert "MATCH_REVIEW" in first[0]["reasons"] and first[1]["match"] == "details"
    [item] = _queue(app)
    assert (item.applicant.ref, item.programme_code, item.commune_code) == ("U-1", PROGRAMME, HOME)
    assert set(item.resolution.candidates) == {registry["an"][0], registry["an2"][0]}

    an = registry["an"][0]
    _decide(setup_data, item, an)
    assert _queue(app) == []
    expected = pseudonym_of(app, an)
    for results in (_batch(app, client, caller, [UNSURE, SURE]), _sync(client, caller, [UNSURE]),
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
    _batch(app, client, caller, [UNSURE])
    [item] = _queue(app)
    _decide(setup_data, item, None)
    [again] = _sync(client, caller, [UNSURE])
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
    elsewhere = row("U-2", "", "Trần Văn Bình", "1940", commune=registry["elsewhere"])  # two namesakes there
    _batch(app, client, caller, [UNSURE, elsewhere])
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
    _batch(app, client, caller, [UNSURE])
    _batch(app, client, caller, [SURE, {**UNSURE, "ref": "U-1-again"}])
    [item] = _queue(app)
    assert (item.applicant.ref, item.line) == ("U-1-again", 3)


def test_the_evidence_puts_the_row_beside_each_candidate_field_by_field(app, client, registry, caller) -> None:
    _batch(app, client, caller, [UNSURE])
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
    _batch(app, client, caller, [UNSURE])
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
    _batch(app, client, caller, [UNSURE])
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
