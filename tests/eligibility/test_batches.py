"""Asynchronous batches: upload, status, the worker, results in the order of the list, who may
read them, and their deletion after the retention."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc import housekeeping
from idsvc.db import utcnow
from idsvc.eligibility import batches
from idsvc.eligibility import resolution
from idsvc.eligibility.models import CheckBatch
from idsvc.eligibility.models import CheckBatchChunk
from idsvc.eligibility.models import CheckBatchRow
from idsvc.eligibility.worker import Worker
from tests.eligibility.programme_clients import PROGRAMME
from tests.eligibility.programme_clients import Caller
from tests.eligibility.programme_clients import csv_body
from tests.eligibility.programme_clients import load_programmes
from tests.eligibility.programme_clients import new_caller
from tests.eligibility.programme_clients import people
from tests.eligibility.programme_clients import row

URL = f"/api/v1/eligibility/programmes/{PROGRAMME}/batches"
CHECKS = f"/api/v1/eligibility/programmes/{PROGRAMME}/checks"


@pytest.fixture()
def caller(client, setup_data) -> Caller:
    setup_data(load_programmes)
    return new_caller(client, setup_data)


def _rows(setup_data: Any, count: int = 5) -> list[dict[str, str]]:
    found = people(setup_data, 3)
    rows = [row(f"R{i:03d}", *found[i % 3]) for i in range(count)]
    rows[1] = row("R001", "", "Trần Thị Bé", "31/02/1950")  # not a date: INVALID_ROW
    return rows


def _submit(client: Any, caller: Caller, body: bytes, content_type: str = "text/csv", **query: str) -> Any:
    url = URL + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(url, headers=caller.headers, data=body, content_type=content_type)


def _work(app: Any) -> Worker:
    with app.app_context():
        worker = Worker(lease_seconds=60, poll_seconds=0)
        worker.run(once=True)
    return worker


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_a_csv_batch_goes_from_queued_to_done_and_its_results_come_in_the_order_of_the_list(
        app, client, setup_data, caller) -> None:
    rows = _rows(setup_data, 7)
    submitted = _submit(client, caller, csv_body(rows), reference_date="2026-01-01")
    assert submitted.status_code == 202, submitted.get_json()
    location = submitted.headers["Location"]
    status = submitted.get_json()
    assert location == f"/api/v1/eligibility/batches/{status['id']}" == status["links"]["self"]
    assert status["state"] == "queued" and status["rows"] == {"total": 7, "resolved": 0, "done": 0}
    assert status["reference_date"] == "2026-01-01" and status["submitted_at"].endswith("Z")

    early = client.get(location + "/results", headers=caller.headers)
    assert "is queued" in _problem(early, 409)["detail"]

    worker = _work(app)
    assert (worker.chunks, worker.decided) == (1, 1)

    status = client.get(location, headers=caller.headers).get_json()
    assert status["state"] == "done" and status["rows"] == {"total": 7, "resolved": 7, "done": 7}
    assert status["finished_at"] and isinstance(status["rule_set_version"], int)

    results = client.get(location + "/results", headers=caller.headers)
    assert results.status_code == 200 and results.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(results.get_data(as_text=True))))
    assert [r["ref"] for r in table] == [r["ref"] for r in rows]
    assert list(table[0]) == ["ref", "verdict", "citizen_id", "match", "score", "reasons", "duplicate_group",
                              "monthly_amount"]
    assert table[1]["reasons"].startswith("INVALID_ROW:")

    # the same list through the synchronous check gives the same answers
    sync = client.post(CHECKS, headers=caller.headers, json={"rows": rows, "reference_date": "2026-01-01"})
    jsonl = client.get(location + "/results?format=jsonl", headers=caller.headers)
    assert jsonl.mimetype == "application/x-ndjson"
    lines = [json.loads(x) for x in jsonl.get_data(as_text=True).splitlines()]
    assert lines == sync.get_json()["results"]


def test_a_jsonl_batch_and_results_by_accept(app, client, setup_data, caller) -> None:
    rows = _rows(setup_data, 4)
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + '\n{"ref": "X", "age": "90"}\n[1]\n'
    submitted = _submit(client, caller, body.encode(), "application/x-ndjson")
    assert submitted.status_code == 202, submitted.get_json()
    assert submitted.get_json()["rows"]["total"] == 6
    _work(app)
    response = client.get(submitted.headers["Location"] + "/results",
                          headers={**caller.headers, "Accept": "application/x-ndjson"})
    lines = [json.loads(x) for x in response.get_data(as_text=True).splitlines()]
    assert [x["ref"] for x in lines] == [r["ref"] for r in rows] + ["X", ""]
    assert "INVALID_ROW:line 5: unknown keys age" in lines[4]["reasons"]
    assert any(r.startswith("INVALID_ROW:line 6: not a JSON object") for r in lines[5]["reasons"])


def test_only_the_client_that_submitted_a_batch_may_read_it(app, client, setup_data, caller) -> None:
    submitted = _submit(client, caller, csv_body(_rows(setup_data)))
    location = submitted.headers["Location"]
    _work(app)
    other = new_caller(client, setup_data, name="Another office")
    for url in (location, location + "/results"):
        assert "No batch" in _problem(client.get(url, headers=other.headers), 404)["detail"]
        _problem(client.get(url), 401)
    _problem(client.get("/api/v1/eligibility/batches/nothing-here", headers=caller.headers), 404)


def test_a_batch_is_refused_for_a_programme_the_client_is_not_registered_for(client, setup_data, caller) -> None:
    other = new_caller(client, setup_data, programmes=())
    _problem(client.post(URL, headers=other.headers, data=b"ref\n", content_type="text/csv"), 403)
    _problem(client.post("/api/v1/eligibility/programmes/nope/batches", headers=caller.headers, data=b"ref\n",
                         content_type="text/csv"), 404)


@pytest.mark.parametrize(("body", "content_type", "status", "says"), [
    (b"ref,citizen_id\n1,2\n", "text/csv", 422, "lacks the columns full_name, date_of_birth"),
    (b"ref,citizen_id,full_name,date_of_birth,salary\n", "text/csv", 422, "unknown columns salary"),
    (b"ref,citizen_id,full_name,date_of_birth\n", "text/csv", 422, "no rows"),
    (b"", "text/csv", 422, "empty"),
    (b"\xff\xfe\x00garbage", "text/csv", 422, ""),
    (b'{"rows": []}', "application/json", 415, "text/csv"),
])
def test_a_list_that_cannot_be_read_as_a_whole_is_refused(client, caller, body: bytes, content_type: str,
                                                          status: int, says: str) -> None:
    response = _submit(client, caller, body, content_type)
    assert says in _problem(response, status)["detail"]


def test_a_bad_reference_date_is_422(client, caller) -> None:
    response = _submit(client, caller, b"ref,citizen_id,full_name,date_of_birth\n1,,A,1950\n",
                       reference_date="01-01-2026")
    assert "reference_date" in _problem(response, 422)["detail"]


def test_size_and_row_limits(app, client, setup_data, caller) -> None:
    rows = [row(str(i), "", "Lê Văn Tám", "1950") for i in range(30)]
    app.config["ELIGIBILITY_BATCH_MAX_ROWS"] = 20
    assert "more than 20 rows" in _problem(_submit(client, caller, csv_body(rows)), 413)["detail"]
    app.config["ELIGIBILITY_BATCH_MAX_ROWS"] = 1000
    app.config["ELIGIBILITY_BATCH_MAX_BYTES"] = 100
    assert "larger than 100 bytes" in _problem(_submit(client, caller, csv_body(rows)), 413)["detail"]
    with app.app_context():  # nothing of the refused lists is kept
        assert db.session().scalar(select(func.count()).select_from(CheckBatch)) == 0


def test_chunks_cover_the_list_once_and_progress_shows(app, client, setup_data, caller) -> None:
    app.config["ELIGIBILITY_CHUNK_ROWS"] = 4
    rows = [row(f"R{i}", "", "Lê Văn Tám", "1950") for i in range(10)]
    location = _submit(client, caller, csv_body(rows)).headers["Location"]
    with app.app_context():
        worker = Worker(lease_seconds=60, poll_seconds=0)
        assert worker.step()  # one chunk of 4
    status = client.get(location, headers=caller.headers).get_json()
    assert status["state"] == "running" and status["rows"]["resolved"] == 4 and status["started_at"]
    assert "4 of 10 rows resolved" in _problem(client.get(location + "/results", headers=caller.headers),
                                               409)["detail"]
    worker = _work(app)
    assert (worker.chunks, worker.decided) == (2, 1)
    table = list(csv.DictReader(io.StringIO(client.get(location + "/results", headers=caller.headers)
                                            .get_data(as_text=True))))
    assert [r["ref"] for r in table] == [f"R{i}" for i in range(10)]


def test_purge_deletes_the_rows_after_the_retention_and_the_status_answers_410(
        app, client, setup_data, caller) -> None:
    old = _submit(client, caller, csv_body(_rows(setup_data))).headers["Location"]
    _work(app)
    with app.app_context():
        db.session().execute(CheckBatch.__table__.update().values(created_at=utcnow() - timedelta(days=31)))
        db.session().commit()
    recent = _submit(client, caller, csv_body(_rows(setup_data))).headers["Location"]
    with app.app_context():
        dry = housekeeping.purge(dry_run=True)
        result = housekeeping.purge()
        assert dry.counts["check_batch_row"] == result.counts["check_batch_row"] == 5
        assert db.session().scalar(select(func.count()).select_from(CheckBatchRow)) == 5  # the recent batch's
    for url in (old, old + "/results"):
        assert "deleted after the retention" in _problem(client.get(url, headers=caller.headers), 410)["detail"]
    assert client.get(recent, headers=caller.headers).get_json()["state"] == "queued"
    with app.app_context():  # a second run finds nothing more
        assert housekeeping.purge().counts["check_batch_row"] == 0


# -- claims and leases, one step at a time -----------------------------------------------------------

def _one_chunk_batch(app: Any, client: Any, caller: Caller, setup_data: Any) -> str:
    return _submit(client, caller, csv_body(_rows(setup_data))).headers["Location"]


def test_an_expired_chunk_lease_is_taken_over_and_the_late_worker_stores_nothing(
        app, client, setup_data, caller) -> None:
    location = _one_chunk_batch(app, client, caller, setup_data)
    now = utcnow()
    with app.app_context():
        late = batches.claim_chunk("late", lease_seconds=60, now=now)
        assert late is not None
        assert batches.claim_chunk("other", lease_seconds=60, now=now + timedelta(seconds=30)) is None  # held
        taker = batches.claim_chunk("taker", lease_seconds=60, now=now + timedelta(seconds=61))
        assert taker == late  # the same chunk, its lease run out
        assert batches.resolve_chunk(late, "late") is False  # the late worker's work is rolled back
        assert batches.resolve_chunk(taker, "taker") is True
        assert batches.resolve_chunk(taker, "taker") is False  # and never twice
        chunk = db.session().get_one(CheckBatchChunk, taker.chunk_id)
        assert (chunk.claims, chunk.claimed_by, chunk.state) == (2, "taker", "resolved")
    assert client.get(location, headers=caller.headers).get_json()["rows"]["resolved"] == 5


def test_an_expired_decision_lease_is_taken_over(app, client, setup_data, caller) -> None:
    location = _one_chunk_batch(app, client, caller, setup_data)
    now = utcnow()
    with app.app_context():
        claim = batches.claim_chunk("w", lease_seconds=60)
        assert claim is not None and batches.resolve_chunk(claim, "w")
        batch_id = batches.claim_decision("dead", lease_seconds=60, now=now)
        assert batch_id is not None
        assert batches.claim_decision("other", lease_seconds=60, now=now + timedelta(seconds=30)) is None
        assert batches.claim_decision("taker", lease_seconds=60, now=now + timedelta(seconds=61)) == batch_id
        assert batches.decide_batch(batch_id, "dead") is False
        assert batches.decide_batch(batch_id, "taker") is True
    status = client.get(location, headers=caller.headers).get_json()
    assert status["state"] == "done" and status["rows"]["done"] == 5


def test_a_chunk_that_keeps_failing_fails_its_batch_and_the_client_is_told(
        app, client, setup_data, caller, monkeypatch) -> None:
    location = _one_chunk_batch(app, client, caller, setup_data)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the index is broken")

    monkeypatch.setattr(resolution, "resolve_all", broken)
    with app.app_context():
        worker = Worker(lease_seconds=60, poll_seconds=0)
        for _ in range(batches.MAX_FAILURES):
            assert worker.step()
        assert not worker.step()  # nothing left to try
    status = client.get(location, headers=caller.headers).get_json()
    assert status["state"] == "failed" and "Submit it again" in status["error"]
    assert "the index is broken" not in json.dumps(status)
    assert "Submit it again" in _problem(client.get(location + "/results", headers=caller.headers), 409)["detail"]


def test_a_worker_outlives_a_database_error_and_goes_on(app, client, setup_data, caller, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    location = _one_chunk_batch(app, client, caller, setup_data)
    real = batches.claim_chunk
    calls = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(batches, "claim_chunk", flaky)
    with app.app_context():
        worker = Worker(lease_seconds=60, poll_seconds=0)
        naps: list[float] = []

        def nap(seconds: float) -> None:
            naps.append(seconds)
            if len(naps) > 1:
                worker.stop()

        worker.run(sleep=nap)
    assert naps[0] == 1.0 and (worker.chunks, worker.decided) == (1, 1)
    assert client.get(location, headers=caller.headers).get_json()["state"] == "done"
