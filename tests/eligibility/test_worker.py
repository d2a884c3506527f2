"""The eligibility worker as a real process: killed with SIGKILL in the middle of a batch and
started again, the batch finishes with one result per row, equal to those of a run that was not
interrupted; two workers at once never resolve the same chunk; SIGTERM stops a worker cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
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
from tests.processes import stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
URL = f"/api/v1/eligibility/programmes/{PROGRAMME}/batches"
#: Long enough to take the worker a few seconds, in chunks of CHUNK rows.
ROWS = 30000
CHUNK = 250
LEASE_SECONDS = 3


@pytest.fixture()
def caller(client, setup_data) -> Caller:
    setup_data(load_programmes)
    return new_caller(client, setup_data)


def _list(setup_data: Callable[..., Any], count: int) -> bytes:
    found = people(setup_data, 20)
    rows = []
    for i in range(count):
        number, name = found[i % len(found)]
        rows.append(row(f"R{i:06d}", number, name) if i % 3 else row(f"R{i:06d}", "", f"Lê Văn {i}", "1950"))
    return csv_body(rows)


def _submit(app: Any, client: Any, caller: Caller, body: bytes) -> tuple[int, str]:
    app.config["ELIGIBILITY_CHUNK_ROWS"] = CHUNK
    response = client.post(URL, headers=caller.headers, data=body, content_type="text/csv")
    assert response.status_code == 202, response.get_json()
    with app.app_context():
        key = response.get_json()["id"]
        return db.session().scalar(select(CheckBatch.id).where(CheckBatch.key == key)), response.headers["Location"]


def _env(app: Any, keys_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSVC_")}
    env.update({"IDSVC_DATABASE_URL": app.config["DATABASE_URL"], "IDSVC_KEYS_DIR": str(keys_dir),
                "IDSVC_ELIGIBILITY_LEASE_SECONDS": str(LEASE_SECONDS),
                "IDSVC_ELIGIBILITY_WORKER_POLL_SECONDS": "0.1"})
    return env


def _worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / "idsvc"), "eligibility", "worker", *args], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)


def _state(app: Any, batch_id: int) -> tuple[str, int]:
    """The batch's state and rows resolved, read outside any transaction (on SQLite a transaction
    would wait for the worker's write lock, and see the batch only once it is done)."""
    with app.app_context():
        reader = db.get_db().read_sessionmaker()
        try:
            found = reader.execute(select(CheckBatch.state, CheckBatch.rows_resolved)
                                   .where(CheckBatch.id == batch_id)).one()
        finally:
            reader.close()
        return found[0], found[1]


def _wait(app: Any, batch_id: int, until: Callable[[str, int], bool], process: subprocess.Popen[bytes],
          log: Path, timeout: float = 180) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        state, resolved = _state(app, batch_id)
        if until(state, resolved):
            return state, resolved
        assert process.poll() is None, f"the worker exited with {process.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"batch still {state} ({resolved} resolved):\n{log.read_text()}"
        time.sleep(0.02)


def _results(app: Any, batch_id: int) -> list[tuple[int, Any]]:
    with app.app_context():
        return list(db.session().execute(select(CheckBatchRow.line, CheckBatchRow.result)
                                         .where(CheckBatchRow.batch_id == batch_id).order_by(CheckBatchRow.line)))


def _chunks(app: Any, batch_id: int) -> list[tuple[int, str, str | None]]:
    with app.app_context():
        return list(db.session().execute(
            select(CheckBatchChunk.claims, CheckBatchChunk.state, CheckBatchChunk.claimed_by)
            .where(CheckBatchChunk.batch_id == batch_id).order_by(CheckBatchChunk.number)))


def test_a_batch_survives_kill_9_and_finishes_without_redoing_or_losing_rows(
        app, client, setup_data, caller, keys_dir, tmp_path) -> None:
    body = _list(setup_data, ROWS)
    batch_id, location = _submit(app, client, caller, body)
    log = tmp_path / "worker.log"
    env = _env(app, keys_dir)

    first = _worker(env, log)
    try:
        _wait(app, batch_id, lambda state, resolved: resolved >= ROWS // 10, first, log)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    state, resolved = _state(app, batch_id)
    assert state == "running" and 0 < resolved < ROWS, "killed too late to test anything: make the list longer"
    # A chunk the dead worker held (unless it was killed between two chunks): pending, claimed once.
    held = any(state == "pending" and claims == 1 for claims, state, _ in _chunks(app, batch_id))

    second = _worker(env, log)
    try:
        _wait(app, batch_id, lambda state, resolved: state == "done", second, log)
    finally:
        stop(second)
    assert second.returncode == 0, log.read_text()  # SIGTERM: a clean stop

    chunks = _chunks(app, batch_id)
    assert all(state == "resolved" for _, state, _ in chunks)
    # The chunk the dead worker held was taken over once; every other chunk was claimed once.
    assert sorted(claims for claims, _, _ in chunks) == [1] * (len(chunks) - held) + [2] * held
    assert _state(app, batch_id) == ("done", ROWS)  # every row resolved once: the counter was not added to twice
    interrupted = _results(app, batch_id)
    assert len(interrupted) == ROWS and all(result for _, result in interrupted)

    # The same list, by a worker that was never interrupted: the same results.
    again, _ = _submit(app, client, caller, body)
    with app.app_context():
        Worker(lease_seconds=60, poll_seconds=0).run(once=True)
    assert _results(app, again) == interrupted
    assert client.get(location, headers=caller.headers).get_json()["rows"] == {"total": ROWS, "resolved": ROWS,
                                                                               "done": ROWS}


def test_two_workers_at_once_never_resolve_the_same_chunk(app, client, setup_data, caller, keys_dir, tmp_path,
                                                         backend) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: workers at once only take turns")
    batch_id, _ = _submit(app, client, caller, _list(setup_data, ROWS))
    env = _env(app, keys_dir)
    env["IDSVC_ELIGIBILITY_LEASE_SECONDS"] = "600"  # no take-over: only the claims keep them apart
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    workers = [_worker(env, log) for log in logs]
    try:
        _wait(app, batch_id, lambda state, resolved: state == "done", workers[0], logs[0])
    finally:
        for worker in workers:
            stop(worker)
    chunks = _chunks(app, batch_id)
    assert [claims for claims, _, _ in chunks] == [1] * len(chunks)
    assert _state(app, batch_id) == ("done", ROWS)
    assert len({by.rsplit(":", 2)[1] for _, _, by in chunks if by}) == 2, "one worker did all the work"
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(CheckBatchRow).where(
            CheckBatchRow.batch_id == batch_id, CheckBatchRow.resolution.is_not(None))) == ROWS
