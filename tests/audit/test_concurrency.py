"""Sealers and writers at once: no seq given twice or skipped, no two blocks with one number, and an
event committed late (a smaller id) simply gets a later seq. SQLite runs transactions one at a
time; PostgreSQL is where the race can happen (sealers queue on an advisory lock)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit import ledger
from idsvc.audit import service as audit
from idsvc.audit.models import AuditEvent
from idsvc.audit.models import LedgerBlock
from idsvc.audit.tags import AuditAction
from tests.audit.conftest import seal_all
from tests.audit.conftest import seq_of

SEALERS = 4
WRITERS = 4
EVENTS_PER_WRITER = 60


def test_parallel_sealers_and_writers_keep_the_log_whole(app) -> None:
    done = threading.Event()
    start = threading.Barrier(SEALERS + WRITERS)

    def sealer() -> int:
        sealed = 0
        with app.app_context():
            start.wait()
            while not done.is_set():
                with db.transaction():
                    sealed += ledger.seal(max_events=7)
        return sealed

    def writer(n: int) -> None:
        with app.app_context():
            start.wait()
            for i in range(EVENTS_PER_WRITER):
                with db.transaction():  # some commit late, after a later id committed
                    audit.record(AuditAction.OIDC_USERINFO_READ, actor=f"client:w{n}", subject_type="account",
                                 subject_id=i)
                    if i % 5 == 0:
                        time.sleep(0.01)

    with ThreadPoolExecutor(SEALERS + WRITERS) as pool:
        sealers = [pool.submit(sealer) for _ in range(SEALERS)]
        writers = [pool.submit(writer, n) for n in range(WRITERS)]
        for future in writers:
            future.result()
        done.set()
        sealed_by_threads = [future.result() for future in sealers]

    with app.app_context():
        sealed_after = seal_all()
        s = db.session()
        total = s.scalar(select(func.count()).select_from(AuditEvent))
        assert sum(sealed_by_threads) + sealed_after == total
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, total + 1))  # none NULL, none twice, none skipped
        numbers = s.scalars(select(LedgerBlock.number).order_by(LedgerBlock.number)).all()
        assert numbers == list(range(1, len(numbers) + 1))
        assert ledger.verify().ok


def test_an_event_committed_late_gets_a_later_seq(app, backend) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: a second insert waits for the first commit")
    inserted, release = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def slow_writer() -> None:
        with app.app_context(), db.transaction() as s:
            audit.record(AuditAction.OIDC_USERINFO_READ, actor="client:slow", subject_type="account", subject_id=1)
            ids["slow"] = s.scalar(select(func.max(AuditEvent.id)))
            inserted.set()
            release.wait(10)

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(slow_writer)
        assert inserted.wait(10)
        with app.app_context():
            with db.transaction():
                audit.record(AuditAction.OIDC_USERINFO_READ, actor="client:fast", subject_type="account",
                             subject_id=2)
            ids["fast"] = db.session().scalar(select(AuditEvent.id).where(AuditEvent.actor == "client:fast"))
            db.session().rollback()
            seal_all()  # the writer's transaction is still open: its event is not visible yet
            release.set()
            future.result()
            seal_all()
            assert ids["slow"] < ids["fast"]
            assert seq_of(ids["slow"]) > seq_of(ids["fast"])
            assert ledger.verify().ok
