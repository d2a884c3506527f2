"""``record()``: the single call through which every security-relevant action is audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import has_request_context
from flask import request
from sqlalchemy import Table

from idsvc import unit_of_work
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow

_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]


def record(action: AuditAction, *, actor: str, subject_type: str | None = None,
           subject_id: str | int | None = None, data: dict[str, Any] | None = None,
           rows: Sequence[tuple[Table, dict[str, Any]]] = ()) -> None:
    """Write an audit event with the change it records: both commit, or neither.

    In the current unit of work (``unit_of_work.write_rows``): the request's transaction, or, in
    the token view before it has begun one, the group writer, which commits the event (and
    ``rows``, the change itself when it is new rows: an issued token) before the answer. ``data`` must not hold a full
    ID number, password, token or secret. Core inserts: events are never read back by the request.
    """
    event = {
        "at": utcnow(), "action": str(action), "actor": actor, "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "ip": request.remote_addr if has_request_context() else None, "data": data,
    }
    unit_of_work.write_rows([*rows, (_EVENTS, event)])
