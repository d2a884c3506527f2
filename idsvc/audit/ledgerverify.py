"""Check the whole ledger, streaming: every block's signature, chain link and root, and every
sealed event against its leaf; the first bad entry is named (its seq, event id, and what is wrong)."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import select

from idsvc import db
from idsvc.audit import merkle
from idsvc.audit.ledgerformat import GENESIS
from idsvc.audit.ledgerformat import dumps
from idsvc.audit.ledgerformat import event_object
from idsvc.audit.ledgerformat import head
from idsvc.audit.ledgerformat import head_hash
from idsvc.audit.ledgerkeys import get_ledger_keys
from idsvc.audit.ledgerkeys import open_jws
from idsvc.audit.models import AuditEvent
from idsvc.audit.models import LedgerBlock

E = AuditEvent.__table__
B = LedgerBlock.__table__
#: Rows fetched per round trip while streaming the events.
STREAM_ROWS = 5_000


@dataclass(frozen=True)
class Problem:
    """The first bad entry: where (seq and event id when it is an event's, block) and what is wrong."""

    what: str
    seq: int | None = None
    event_id: int | None = None
    block: int | None = None

    def __str__(self) -> str:
        where = [f"seq {self.seq}" if self.seq is not None else None,
                 f"event {self.event_id}" if self.event_id is not None else None,
                 f"block {self.block}" if self.block is not None else None]
        return f"{', '.join(filter(None, where))}: {self.what}"


@dataclass(frozen=True)
class VerifyResult:
    events: int
    blocks: int
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Bad(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def verify(*, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Check the whole ledger in one consistent snapshot, streaming the events in seq order;
    ``progress(events checked)`` is called after each block."""
    jwks = get_ledger_keys().public_jwks()
    checked = blocks = 0
    with snapshot() as conn:
        rows = conn.execute(select(E.c.seq, *[E.c[n] for n in ("id", "at", "action", "actor", "subject_type",
                                                                "subject_id", "ip", "data")])
                            .where(E.c.seq.is_not(None)).order_by(E.c.seq).execution_options(yield_per=STREAM_ROWS))
        events = iter(rows)
        event = next(events, None)
        expected_number, expected_seq, prev = 1, 1, GENESIS
        try:
            for block in conn.execute(select(*[c for c in B.c if c.name != "leaves"]).order_by(B.c.number)).all():
                at = {"seq": expected_seq, "event_id": _id_at(event, expected_seq), "block": expected_number}
                if block.number != expected_number:
                    raise _Bad(Problem(f"block {expected_number} is missing (the next one is {block.number})", **at))
                if block.first_seq != expected_seq:
                    raise _Bad(Problem(f"the block starts at seq {block.first_seq}, not {expected_seq}", **at))
                _check_head(block, prev, jwks, at)
                leaves = conn.execute(select(B.c.leaves).where(B.c.number == block.number)).scalar_one()
                nodes = [leaves[i:i + 32] for i in range(0, len(leaves), 32)]
                if len(nodes) != block.size or merkle.root(nodes).hex() != block.root:
                    raise _Bad(Problem("its sealed leaves do not give its signed root", **at))
                for index, leaf in enumerate(nodes):
                    seq = block.first_seq + index
                    if event is None or event.seq > seq:
                        raise _Bad(Problem("no event holds this seq (deleted, or moved)", seq, None, block.number))
                    if event.seq < seq:
                        raise _Bad(Problem("its seq is not in the block it falls in", event.seq, event.id,
                                           block.number))
                    if merkle.leaf_hash(dumps(event_object(event._mapping))) != leaf:
                        raise _Bad(Problem("the event differs from what was sealed at this seq", seq, event.id,
                                           block.number))
                    event = next(events, None)
                checked += block.size
                blocks += 1
                if progress is not None:
                    progress(checked)
                expected_number, expected_seq, prev = block.number + 1, expected_seq + block.size, block.head_hash
            if event is not None:
                raise _Bad(Problem("the event holds a seq that no block seals", event.seq, event.id))
        except _Bad as bad:
            return VerifyResult(checked, blocks, bad.problem)
    return VerifyResult(checked, blocks)


def _check_head(block: Any, prev: str, jwks: dict[str, Any], at: dict[str, Any]) -> None:
    if block.prev_head_hash != prev:
        raise _Bad(Problem("its link to the previous block's head is broken", **at))
    opened = open_jws(block.signed_head, jwks)
    if opened is None:
        raise _Bad(Problem(f"the signature of its head does not verify with the ledger keys (kid {block.kid})",
                           **at))
    kid, payload = opened
    expected = head(block=block.number, first_seq=block.first_seq, size=block.size, root=block.root, prev=prev,
                    kid=block.kid, sealed_at=block.sealed_at)
    if kid != block.kid or payload != expected:
        signed = json.loads(payload)
        fields = sorted(k for k, v in json.loads(expected).items() if signed.get(k) != v) or ["kid"]
        raise _Bad(Problem(f"the block differs from its signed head ({', '.join(fields)})", **at))
    if head_hash(payload) != block.head_hash:
        raise _Bad(Problem("its head hash is not the hash of its signed head", **at))


def _id_at(event: Any, seq: int) -> int | None:
    return event.id if event is not None and event.seq == seq else None


@contextmanager
def snapshot() -> Iterator[Connection]:
    """A connection reading one consistent state of the database, taking no write lock."""
    engine = db.get_db().engine
    if engine.dialect.name == "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("BEGIN")  # deferred: a read snapshot (WAL), writers go on
            try:
                yield conn
            finally:
                conn.exec_driver_sql("ROLLBACK")
    else:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
