"""Sealing: every event gets the next seq, once; blocks chain; existing rows join the log."""

from __future__ import annotations

import itertools

from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit import ledger
from idsvc.audit.models import AuditEvent
from idsvc.audit.models import LedgerBlock
from tests.audit.conftest import seal_all
from tests.audit.conftest import seq_of
from tests.audit.conftest import write_events


def test_events_written_before_the_first_seal_are_sealed_in_id_order(app_ctx) -> None:
    ids = write_events(7)
    assert ledger.sealed(ids) == {}
    assert ledger.proof(ids[0]) is None
    total = db.session().scalar(select(func.count()).select_from(AuditEvent))
    assert seal_all(max_events=3) == total
    seqs = db.session().scalars(select(AuditEvent.seq).order_by(AuditEvent.id)).all()
    assert seqs == list(range(1, total + 1))
    blocks = db.session().execute(select(LedgerBlock).order_by(LedgerBlock.number)).scalars().all()
    assert [b.number for b in blocks] == list(range(1, len(blocks) + 1))
    assert all(b.size <= 3 for b in blocks) and sum(b.size for b in blocks) == total
    assert blocks[0].prev_head_hash == "0" * 64
    assert all(b.prev_head_hash == a.head_hash for a, b in itertools.pairwise(blocks))
    assert set(ledger.sealed(ids)) == set(ids)
    result = ledger.verify()
    assert result.ok and result.events == total and result.blocks == len(blocks)


def test_a_seal_with_nothing_pending_writes_nothing(app_ctx) -> None:
    seal_all()
    before = db.session().scalar(select(func.count()).select_from(LedgerBlock))
    with db.transaction():
        assert ledger.seal() == 0
    assert db.session().scalar(select(func.count()).select_from(LedgerBlock)) == before
    assert not ledger.pending()


def test_later_events_continue_the_log(sealed_log) -> None:
    last = seq_of(sealed_log[-1])
    more = write_events(3, start=100)
    assert seal_all() == 3
    assert [seq_of(i) for i in more] == [last + 1, last + 2, last + 3]
    assert ledger.verify().ok


def test_events_of_a_database_from_before_the_ledger_are_sealed_by_the_first_run(app) -> None:
    from sqlalchemy import text

    from idsvc import migrate

    engine = db.get_db(app).engine
    migrate.downgrade(engine, "b3d9e4f6a170")
    with engine.begin() as conn:
        for n in range(5):
            conn.execute(text("INSERT INTO audit_event (at, action, actor, data) "
                              "VALUES (:at, 'identity:login:success', :actor, :data)"),
                         {"at": f"2026-01-0{n + 1} 08:00:00.000000+00:00", "actor": f"account:{n}",
                          "data": '{"level": 1}'})
    migrate.upgrade(engine)
    with app.app_context():
        total = db.session().scalar(select(func.count()).select_from(AuditEvent))
        db.session().rollback()
        assert seal_all() == total >= 5
        result = ledger.verify()
        assert result.ok and result.events == total
        event_id = db.session().scalar(select(AuditEvent.id).where(AuditEvent.actor == "account:3"))
        proof = ledger.proof(event_id).to_json()
        assert proof["event"]["at"] == "2026-01-04T08:00:00.000000Z" and proof["event"]["data"] == {"level": 1}
