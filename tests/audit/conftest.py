"""Fixtures of the ledger tests: events written and committed as any caller writes them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy import text

from idsvc import db
from idsvc.audit import ledger
from idsvc.audit import service as audit
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction


def write_events(count: int, *, start: int = 0) -> list[int]:
    """Commit ``count`` audit events (one transaction); their ids, in order."""
    with db.transaction() as s:
        for n in range(start, start + count):
            audit.record(AuditAction.OIDC_USERINFO_READ, actor=f"client:rp-{n % 3}", subject_type="account",
                         subject_id=n, data={"claims": ["name", "birthdate"], "n": n, "note": "Nguyễn Văn A"})
        ids = s.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(count)).all()
    return sorted(ids)


def seal_all(max_events: int = ledger.SEAL_MAX_EVENTS) -> int:
    """Seal everything pending, one block per transaction; events sealed."""
    total = 0
    while True:
        with db.transaction():
            sealed = ledger.seal(max_events)
        if not sealed:
            return total
        total += sealed


def raw(sql: str, **params) -> None:
    """Change the database behind the application's back (what an intruder with SQL access does)."""
    with db.get_db().engine.begin() as conn:
        conn.execute(text(sql), params)


def seq_of(event_id: int) -> int:
    """The event's seq, read without holding a transaction open (SQLite's would hold the write lock)."""
    seq = db.session().scalar(select(AuditEvent.seq).where(AuditEvent.id == event_id))
    db.session().rollback()
    return seq


@pytest.fixture()
def sealed_log(app_ctx):
    """Ten events sealed in blocks of four (with whatever the template database already held):
    returns the ids of the ten."""
    seal_all()
    ids = write_events(10)
    assert seal_all(max_events=4) == 10
    db.session().rollback()
    return ids
