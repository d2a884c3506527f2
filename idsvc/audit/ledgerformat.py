"""The ledger's public format: what an event's leaf and a block's head are made of, and how an
inclusion proof is checked. Pure (no database): the rules the README documents for outsiders.

- canonical JSON: keys sorted, no whitespace, UTF-8, non-ASCII characters as themselves;
- an event's leaf: SHA-256(0x00 ‖ canonical JSON of {seq, id, at, action, actor, subject_type,
  subject_id, ip, data}), ``at`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC);
- a block's root: the RFC 6962 Merkle tree hash of its leaves in seq order;
- a block's head: canonical JSON of {block, first_seq, size, root, prev, kid, sealed_at}, the
  payload of a compact JWS (ES256); its head hash, SHA-256 of those payload bytes, is the ``prev``
  of the next block (64 zeros for block 1).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from idsvc.audit import merkle
from idsvc.audit.ledgerkeys import open_jws

GENESIS = "0" * 64
PROOF_FORMAT = "idsvc-ledger-proof/1"
EVENT_FIELDS = ("seq", "id", "at", "action", "actor", "subject_type", "subject_id", "ip", "data")
HOW_TO_CHECK = (
    "leaf = SHA-256(0x00 || canonical JSON of event); fold audit_path into leaf as RFC 9162 2.1.3.2 "
    "(node = SHA-256(0x01 || left || right)) for leaf_index in a tree of tree_size leaves: it must "
    "give root; signed_head is a JWS (ES256) by the key kid of the ledger JWK Set; its payload's "
    "block, size, root and first_seq + leaf_index = seq must match.")


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_object(event: Any, seq: int | None = None) -> dict[str, Any]:
    """The event as it is sealed: an AuditEvent, a row or a mapping with the event's fields."""
    get = event.get if isinstance(event, Mapping) else (lambda name: getattr(event, name))
    value = {name: get(name) for name in EVENT_FIELDS}
    if seq is not None:
        value["seq"] = seq
    if isinstance(value["at"], datetime):
        value["at"] = timestamp(value["at"])
    return value


def canonical(event: Any) -> bytes:
    """The canonical bytes of an event (with its seq) whose SHA-256, after 0x00, is its leaf."""
    return dumps(event_object(event))


def head(*, block: int, first_seq: int, size: int, root: str, prev: str, kid: str, sealed_at: datetime) -> bytes:
    """The canonical bytes of a block's head (the payload its JWS signs)."""
    return dumps({"block": block, "first_seq": first_seq, "size": size, "root": root, "prev": prev,
                  "kid": kid, "sealed_at": timestamp(sealed_at)})


def check_proof(proof: Mapping[str, Any], jwks: Mapping[str, Any]) -> bool:
    """What an outsider does with an inclusion proof (``Proof.to_json()``) and the ledger's JWK
    Set: the event's leaf, folded with the audit path, gives the root the signed head names."""
    try:
        opened = open_jws(proof["signed_head"], dict(jwks))
        if opened is None or opened[0] != proof["kid"]:
            return False
        signed = json.loads(opened[1])
        event = proof["event"]
        index, size = int(proof["leaf_index"]), int(signed["size"])
        got = merkle.root_from_path(merkle.leaf_hash(dumps(event)), index, size,
                                    [bytes.fromhex(node) for node in proof["audit_path"]])
        return (got is not None and got.hex() == signed["root"] == proof["root"]
                and signed["block"] == proof["block"] and event["seq"] == proof["seq"]
                and signed["first_seq"] + index == event["seq"] and size == proof["tree_size"])
    except (KeyError, TypeError, ValueError):
        return False


def head_hash(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
