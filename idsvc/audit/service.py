"""``record()``: the single call through which every security-relevant action is audited."""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask import request
from sqlalchemy import insert

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow

#: Built once: the statement's cache key is then free on every call.
_INSERT_EVENT = insert(AuditEvent.__table__)


def record(action: AuditAction, *, actor: str, subject_type: str | None = None,
           subject_id: str | int | None = None, data: dict[str, Any] | None = None) -> None:
    """Write an audit event in the caller's transaction (it commits or rolls back with the change).

    ``data`` must not hold a full ID number, password, token or secret. A Core insert: an audit
    event is written on most requests and is never read back in the same one.
    """
    db.session().execute(_INSERT_EVENT, {
        "at": utcnow(), "action": str(action), "actor": actor, "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "ip": request.remote_addr if has_request_context() else None, "data": data,
    })
