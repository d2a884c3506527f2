"""The audit ledger: every audit event gets a position (seq) in one append-only log, sealed in
signed blocks (Certificate Transparency style), so that an edited, removed, reordered or forged
event is found, and one event's presence is proved to an outsider.

Writers insert audit events freely (seq NULL): nothing serialises them. :func:`seal` takes the
unsealed events in id order, numbers them after the last sealed one (an event committed late, with
a smaller id, simply gets a later seq), and closes them into a block: the RFC 6962 Merkle tree of
their leaves, and a head hash-linked to the previous block's and signed with the ledger key
(:mod:`idsvc.audit.ledgerformat` says exactly how). Sealers may run at once: they queue on a
database lock (PostgreSQL: an advisory transaction lock; SQLite: its write lock), so no seq and no
block number is ever given twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Session

from idsvc import db
from idsvc.audit import merkle
from idsvc.audit.documents import KEYS_PATH
from idsvc.audit.ledgerformat import GENESIS
from idsvc.audit.ledgerformat import HOW_TO_CHECK
from idsvc.audit.ledgerformat import PROOF_FORMAT
from idsvc.audit.ledgerformat import canonical
from idsvc.audit.ledgerformat import check_proof
from idsvc.audit.ledgerformat import dumps
from idsvc.audit.ledgerformat import event_object
from idsvc.audit.ledgerformat import head
from idsvc.audit.ledgerformat import head_hash
from idsvc.audit.ledgerkeys import get_ledger_keys
from idsvc.audit.ledgerkeys import sign
from idsvc.audit.ledgerverify import VerifyResult
from idsvc.audit.ledgerverify import verify
from idsvc.audit.models import AuditEvent
from idsvc.audit.models import LedgerBlock
from idsvc.db import utcnow

__all__ = ["Proof", "VerifyResult", "canonical", "check_proof", "pending", "proof", "seal", "sealed", "verify"]

E = AuditEvent.__table__
B = LedgerBlock.__table__
#: Events one block holds at most (its leaves are kept with it: 32 bytes each).
SEAL_MAX_EVENTS = 10_000
#: The PostgreSQL advisory lock sealers queue on ("ledger").
LOCK_KEY = 0x6C6564676572
_EVENT_COLUMNS = [E.c[name] for name in ("id", "at", "action", "actor", "subject_type", "subject_id", "ip", "data")]


def pending() -> bool:
    """Whether an event waits to be sealed (one index probe)."""
    return db.session().execute(select(E.c.id).where(E.c.seq.is_(None)).limit(1)).first() is not None


def seal(max_events: int = SEAL_MAX_EVENTS) -> int:
    """Seal up to ``max_events`` unsealed events into one new block, in the caller's transaction
    (which commits it); returns how many. Nothing pending costs one index probe and no lock."""
    s = db.session()
    if not pending():
        return 0
    _lock(s)
    last = s.execute(select(B.c.number, B.c.first_seq, B.c.size, B.c.head_hash)
                     .order_by(B.c.number.desc()).limit(1)).first()
    rows = s.execute(select(*_EVENT_COLUMNS).where(E.c.seq.is_(None)).order_by(E.c.id).limit(max_events)).all()
    if not rows:  # another sealer took them while we waited for the lock
        return 0
    number, first_seq, prev = (1, 1, GENESIS) if last is None else (
        last.number + 1, last.first_seq + last.size, last.head_hash)
    leaves = [merkle.leaf_hash(dumps(event_object(row._mapping, first_seq + i))) for i, row in enumerate(rows)]
    _number(s, [row.id for row in rows], first_seq)
    root = merkle.root(leaves).hex()
    key = get_ledger_keys().active()
    sealed_at = utcnow()
    payload = head(block=number, first_seq=first_seq, size=len(rows), root=root, prev=prev, kid=key.kid,
                   sealed_at=sealed_at)
    s.execute(insert(B).values(number=number, first_seq=first_seq, size=len(rows), root=root, prev_head_hash=prev,
                               head_hash=head_hash(payload), signed_head=sign(payload, key), kid=key.kid,
                               sealed_at=sealed_at, leaves=b"".join(leaves)))
    return len(rows)


def _lock(s: Session) -> None:
    """Queue behind any other sealer until this transaction ends. SQLite's transactions already
    hold the database's write lock (BEGIN IMMEDIATE, :func:`idsvc.db.make_engine`)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _number(s: Session, ids: list[int], first_seq: int) -> None:
    seqs = list(range(first_seq, first_seq + len(ids)))
    if s.get_bind().dialect.name == "postgresql":  # one statement, not one per row
        s.execute(text("UPDATE audit_event SET seq = u.seq FROM unnest(CAST(:ids AS bigint[]), "
                       "CAST(:seqs AS bigint[])) AS u(id, seq) WHERE audit_event.id = u.id"),
                  {"ids": ids, "seqs": seqs})
    else:
        s.execute(update(E).where(E.c.id == bindparam("_id")).values(seq=bindparam("_seq")),
                  [{"_id": i, "_seq": q} for i, q in zip(ids, seqs, strict=True)])


def _block_of(seq_column: Any) -> Any:
    """The number of the block whose range starts at or before ``seq_column`` (index on first_seq)."""
    return (select(B.c.number).where(B.c.first_seq <= seq_column)
            .order_by(B.c.first_seq.desc()).limit(1).scalar_subquery())


def sealed(event_ids: Collection[int]) -> dict[int, int]:
    """Event id -> number of the block that seals it, for the sealed ones among ``event_ids``."""
    if not event_ids:
        return {}
    rows = db.session().execute(select(E.c.id, _block_of(E.c.seq)).where(
        E.c.id.in_(list(event_ids)), E.c.seq.is_not(None)))
    return {event_id: number for event_id, number in rows if number is not None}


@dataclass(frozen=True)
class Proof:
    """That one event is in the ledger: its leaf, its audit path to the root of its block, and the
    block's signed head."""

    event: dict[str, Any]
    seq: int
    block: int
    leaf_index: int
    tree_size: int
    audit_path: tuple[str, ...]
    root: str
    signed_head: str
    kid: str

    def to_json(self) -> dict[str, Any]:
        return {"format": PROOF_FORMAT, "event": self.event, "seq": self.seq, "block": self.block,
                "leaf_index": self.leaf_index, "tree_size": self.tree_size, "audit_path": list(self.audit_path),
                "root": self.root, "signed_head": self.signed_head, "kid": self.kid, "keys": KEYS_PATH,
                "how_to_check": HOW_TO_CHECK}


def proof(event_id: int) -> Proof | None:
    """The inclusion proof of an event; None while it is unsealed (or does not exist)."""
    s = db.session()
    row = s.execute(select(*_EVENT_COLUMNS, E.c.seq).where(E.c.id == event_id)).first()
    if row is None or row.seq is None:
        return None
    block = s.execute(select(B).where(B.c.number == _block_of(row.seq))).first()
    if block is None or row.seq >= block.first_seq + block.size:
        return None
    leaves = [block.leaves[i:i + 32] for i in range(0, len(block.leaves), 32)]
    index = row.seq - block.first_seq
    return Proof(event_object(row._mapping), row.seq, block.number, index, block.size,
                 tuple(node.hex() for node in merkle.path(leaves, index)), block.root, block.signed_head, block.kid)
