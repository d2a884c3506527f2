"""The page's queries are served by the indexes: the person's events by ix_audit_event_subject
(subject_type, subject_id, at), their record's revisions by ix_citizen_revision_citizen_id_at."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from idsvc import db
from idsvc.identity.models import Account
from idsvc.mydata import activity


def _plans(app: Any, account_id: int) -> list[tuple[str, str]]:
    """(statement, plan) of each query the first page runs against the two tables."""
    with app.app_context():
        engine = db.get_db().engine
        seen: list[tuple[str, Any]] = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM audit_event" in statement or "FROM citizen_revision" in statement:
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            account = db.session().get(Account, account_id)
            activity.entries(account, limit=20)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        plans = []
        conn = db.session().connection()
        postgres = conn.dialect.name == "postgresql"
        if postgres:  # a test database is small: make the planner show which index it would use
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in seen:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(explain + statement, parameters).all()
            plans.append((statement, "\n".join(str(r[-1]) for r in rows)))
        db.session().rollback()
        return plans


def test_the_first_page_reads_through_the_indexes(app, world):
    plans = _plans(app, world["binh"])
    subject = [plan for statement, plan in plans if "audit_event.subject_type =" in statement]
    revisions = [plan for statement, plan in plans if "FROM citizen_revision" in statement]
    # The account's events, the person's, and the events of the changes on the page: each through
    # the subject index (no read of everything written in a time window).
    assert len(subject) == 3 and all("ix_audit_event_subject" in plan for plan in subject), subject
    assert all("ix_audit_event_subject" in plan for statement, plan in plans if "FROM audit_event" in statement)
    assert revisions and all("ix_citizen_revision_citizen_id_at" in plan for plan in revisions), revisions
