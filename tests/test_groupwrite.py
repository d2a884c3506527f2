"""The group writer: rows of many requests committed together, each request told of its own fate."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.db import utcnow
from idsvc.groupwrite import GroupWriteFailed
from idsvc.groupwrite import GroupWriter

EVENTS = AuditEvent.__table__


def _event(actor: str, action: str = "test:group:write") -> tuple:
    return (EVENTS, {"at": utcnow(), "action": action, "actor": actor, "subject_type": None,
                     "subject_id": None, "ip": None, "data": {"n": 1}})


def _actors(app) -> list[str]:
    with app.app_context():
        return sorted(db.session().scalars(select(AuditEvent.actor).where(AuditEvent.action == "test:group:write")))


def test_rows_of_many_threads_are_all_committed_before_each_returns(app) -> None:
    writer = GroupWriter(db.get_db(app).engine)
    seen_after_return: list[int] = []

    def request(i: int) -> None:
        writer.write([_event(f"thread-{i:02d}")])
        with db.get_db(app).engine.connect() as conn:  # another connection sees it: committed
            seen_after_return.append(conn.scalar(select(func.count()).select_from(EVENTS).where(
                EVENTS.c.actor == f"thread-{i:02d}")))

    threads = [threading.Thread(target=request, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen_after_return == [1] * 20
    assert _actors(app) == [f"thread-{i:02d}" for i in range(20)]


def test_a_refused_row_fails_its_own_request_and_no_other(app) -> None:
    writer = GroupWriter(db.get_db(app).engine)
    errors: dict[str, BaseException] = {}

    def request(actor: str, action: str | None) -> None:
        try:
            writer.write([_event(actor, action)])
        except GroupWriteFailed as exc:
            errors[actor] = exc

    threads = [threading.Thread(target=request, args=(f"good-{i}", "test:group:write")) for i in range(5)]
    threads.insert(2, threading.Thread(target=request, args=("bad", None)))  # action is NOT NULL
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(errors) == {"bad"}
    assert _actors(app) == [f"good-{i}" for i in range(5)]


def test_a_database_that_does_not_answer_fails_the_request(app, monkeypatch) -> None:
    writer = GroupWriter(db.get_db(app).engine, timeout=0.2)
    blocked = threading.Event()
    monkeypatch.setattr(writer, "_commit", lambda batch: blocked.wait(2))
    with pytest.raises(GroupWriteFailed, match=r"did not commit within 0\.2 s"):
        writer.write([_event("slow")])
    blocked.set()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread dies on purpose
def test_a_writer_that_died_is_started_again_and_its_batch_is_failed(app, monkeypatch) -> None:
    writer = GroupWriter(db.get_db(app).engine)
    real_commit = writer._commit

    def dies(batch):
        raise SystemExit  # a BaseException: the writer thread ends
    monkeypatch.setattr(writer, "_commit", dies)
    with pytest.raises(GroupWriteFailed):
        writer.write([_event("lost")])
    monkeypatch.setattr(writer, "_commit", real_commit)
    writer.write([_event("after")])  # a new writer thread
    assert _actors(app) == ["after"]
