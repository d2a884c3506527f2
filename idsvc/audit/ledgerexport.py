"""Export of the ledger as JSON Lines, checkable without our code (the README gives the rules):

- first line: ``{"type": "keys", "jwks": {...}}``, the ledger's JWK Set (every key, active and retired);
- then, for every block sealed at or after the date, in block order: ``{"type": "block", "block":
  N, "signed_head": JWS, "head_hash": hex}``, followed by one ``{"type": "event", "event": {...}}``
  line per event of the block, in seq order (the event object whose canonical JSON is its leaf).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO

from sqlalchemy import select

from idsvc.audit.ledgerformat import event_object
from idsvc.audit.ledgerkeys import get_ledger_keys
from idsvc.audit.ledgerverify import STREAM_ROWS
from idsvc.audit.ledgerverify import snapshot
from idsvc.audit.models import AuditEvent
from idsvc.audit.models import LedgerBlock

E = AuditEvent.__table__
B = LedgerBlock.__table__
_EVENT_COLUMNS = [E.c[n] for n in ("seq", "id", "at", "action", "actor", "subject_type", "subject_id", "ip", "data")]


def export(since: datetime, out: IO[str]) -> tuple[int, int]:
    """Write every block sealed at or after ``since``, whole, to ``out``; returns (blocks, events)."""
    out.write(_line({"type": "keys", "jwks": get_ledger_keys().public_jwks()}))
    blocks = events = 0
    with snapshot() as conn:
        heads = conn.execute(select(B.c.number, B.c.first_seq, B.c.size, B.c.signed_head, B.c.head_hash)
                             .where(B.c.sealed_at >= since).order_by(B.c.number)).all()
        for block in heads:
            out.write(_line({"type": "block", "block": block.number, "signed_head": block.signed_head,
                             "head_hash": block.head_hash}))
            rows = conn.execute(select(*_EVENT_COLUMNS)
                                .where(E.c.seq >= block.first_seq, E.c.seq < block.first_seq + block.size)
                                .order_by(E.c.seq).execution_options(yield_per=STREAM_ROWS))
            for row in rows:
                out.write(_line({"type": "event", "event": event_object(row._mapping)}))
                events += 1
            blocks += 1
    return blocks, events


def _line(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"
