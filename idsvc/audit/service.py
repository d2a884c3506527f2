"""The audit trail: :func:`record` is the single call through which every security-relevant
action is audited (:func:`record_many`: the same for many subjects at once); :func:`event` builds
the same row for a caller that writes it with its own."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

from flask import has_request_context
from flask import request
from sqlalchemy import Table

from idsvc import unit_of_work
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.logs import mask_id_number

_EVENTS: Table = AuditEvent.__table__


def event(action: AuditAction, *, actor: str, subject_type: str | None = None,
          subject_id: str | int | None = None, data: dict[str, Any] | None = None) -> tuple[Table, dict[str, Any]]:
    """The audit event row (table, values) of an action, not yet written.

    For a change that is itself new rows (an issued token): the caller appends them and this row
    together (``unit_of_work.write_rows``), so both commit, or neither. ``data`` must not hold a full
    ID number, password, token or secret.

    A 12-digit number inside a text of ``data`` is masked (``*********345``).

    :raises ValueError: ``data`` holds a 12-digit integer or a key named like a secret (a
        programming error: the ledger keeps events for ever).
    """
    if data is not None:
        data = _refuse_secrets(data)
    return _EVENTS, {
        "at": utcnow(), "action": str(action), "actor": actor, "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "ip": request.remote_addr if has_request_context() else None, "data": data,
    }


def record(action: AuditAction, *, actor: str, subject_type: str | None = None,
           subject_id: str | int | None = None, data: dict[str, Any] | None = None) -> None:
    """Write an audit event in the current unit of work, with the change it records: both commit,
    or neither (``unit_of_work.write_rows``). ``data`` must not hold a full ID number, password,
    token or secret. Core inserts: events are never read back by the request.
    """
    unit_of_work.write_rows([event(action, actor=actor, subject_type=subject_type, subject_id=subject_id,
                                 data=data)])


def record_many(action: AuditAction, *, actor: str, subject_type: str,
                subjects: Iterable[tuple[str | int, dict[str, Any] | None]]) -> int:
    """:func:`record` for many subjects at once (each ``(subject_id, data)``): one event per subject,
    written set-based in the current unit of work, for a list check that touched 100,000 people.
    Returns the number of events."""
    written = 0
    pending = iter(subjects)
    # In slices: 100,000 events built at once would hold their values and the driver's parameters
    # in memory together.
    while batch := list(itertools.islice(pending, RECORD_MANY_SLICE)):
        unit_of_work.write_rows([event(action, actor=actor, subject_type=subject_type, subject_id=subject_id,
                                       data=data) for subject_id, data in batch])
        written += len(batch)
    return written


#: Events :func:`record_many` writes per statement.
RECORD_MANY_SLICE = 5_000


#: Keys of audit data that name a secret; ``jti``, ``programme_code`` and ``oauth_token`` (a table's
#: name) are not.
SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "access_token", "refresh_token", "id_token",
                         "code", "otp", "pin"})
_SECRET_SUFFIXES = ("_password", "_secret")
#: A number of 12 digits standing alone: the length of a personal ID number.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])")


def _refuse_secrets(value: Any, path: str = "data") -> Any:
    """``value`` as the ledger may keep it for ever: a 12-digit number inside a text (a full ID number,
    perhaps typed into a free-text field such as a client's name) masked to its last 3 digits.

    :raises ValueError: a key named like a secret, or a 12-digit integer (programming errors).
    """
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            name = str(key).lower()
            if name in SECRET_KEYS or name.endswith(_SECRET_SUFFIXES):
                raise ValueError(f"audit {path} has a key named like a secret: {key!r}")
            kept[_refuse_secrets(key, path)] = _refuse_secrets(item, f"{path}.{key}")
        return kept
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_refuse_secrets(item, f"{path}[]") for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) == 12:
        raise ValueError(f"audit {path} holds a 12-digit number (a full ID number?): mask it")
    if isinstance(value, str) and _ID_NUMBER.search(value):
        return _ID_NUMBER.sub(lambda found: mask_id_number(found[0]), value)
    return value
