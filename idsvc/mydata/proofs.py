"""The ledger as the person's pages see it: which entries are sealed, and an entry's inclusion
proof (sealing what is still unsealed first, on demand)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from idsvc.audit import ledger
from idsvc.errors import NotFound


def sealed(event_ids: Collection[int]) -> dict[int, int]:
    """Event id -> the ledger block that holds it, for the sealed ones among ``event_ids``."""
    return ledger.sealed([i for i in event_ids if i is not None])


def proof_of(event_id: int) -> dict[str, Any]:
    """The inclusion proof of an event (JSON), sealing the unsealed events first when it is not
    sealed yet (in the caller's transaction: the request commits the new block with the answer).

    :raises NotFound: the event is still not in the ledger (more events wait than one seal takes).
    """
    found = ledger.proof(event_id)
    if found is None:
        ledger.seal()
        found = ledger.proof(event_id)
    if found is None:
        raise NotFound("This entry is not sealed in the ledger yet; try again in a minute.")
    return found.to_json()
