"""Many audit events at once (a list check touches every person on it): all written, in slices."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction


def test_record_many_writes_one_event_per_subject_in_slices(app_ctx, monkeypatch) -> None:
    monkeypatch.setattr(audit, "RECORD_MANY_SLICE", 5)
    inserts: list[int] = []

    def count(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        if statement.startswith("INSERT INTO audit_event"):
            inserts.append(len(parameters) if executemany else 1)

    engine = db.session().get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        written = audit.record_many(AuditAction.ELIGIBILITY_PERSON_CHECK, actor="clerk:1", subject_type="citizen",
                                    subjects=((n, {"verdict": "ELIGIBLE"}) for n in range(12)))
        db.session().flush()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert written == 12
    assert db.session().scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "eligibility:person:check")) == 12
    subjects = db.session().scalars(select(AuditEvent.subject_id).where(
        AuditEvent.action == "eligibility:person:check")).all()
    assert sorted(subjects, key=int) == [str(n) for n in range(12)]
    assert len(inserts) >= 3  # 5 + 5 + 2: never all at once
