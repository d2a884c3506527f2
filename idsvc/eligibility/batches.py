"""Asynchronous list checks: a list uploaded as rows in the database, resolved chunk by chunk by the
worker (:mod:`idsvc.eligibility.worker`), then decided as a whole.

The database is the queue. A batch goes through two phases, each step a transaction of its own,
so that a worker stopped at any instant (a restart, ``kill -9``) loses nothing and does nothing twice:

1. **Resolution**, chunk by chunk (``ELIGIBILITY_CHUNK_ROWS`` rows). A worker claims a pending chunk
   whose lease is free or expired with one conditional ``UPDATE`` (and, on PostgreSQL, a ``SELECT
   … FOR UPDATE SKIP LOCKED`` first, so that workers never wait for each other), then resolves its
   rows (a row a clerk already decided for the programme from the decision) and stores every row's
   resolution in the transaction that marks the chunk resolved — only if it still holds the claim;
   a row left to a clerk (``review``) enters the review queue (:mod:`reviews`) with its fingerprint.
   A worker that died leaves its lease to expire (and its transaction rolled back); another takes
   the chunk over.
2. **Decision**, once every chunk is resolved: one worker claims the batch the same way, and in one
   transaction runs :func:`check.decide` over the whole list (duplicates need all of it), stores
   the results and marks the batch ``done``.

Plain functions; the claim and store steps commit themselves (they are the worker's transactions).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.eligibility import applicants
from idsvc.eligibility import check
from idsvc.eligibility import decisions
from idsvc.eligibility import resolution
from idsvc.eligibility.models import CheckBatch
from idsvc.eligibility.models import CheckBatchChunk
from idsvc.eligibility.models import CheckBatchRow
from idsvc.eligibility.models import Programme
from idsvc.errors import NotFound
from idsvc.errors import TooLarge
from idsvc.errors import ValidationFailed
from idsvc.registry.imports.reader import UnreadableFile
from idsvc.registry.imports.reader import read_blocks

#: Times a chunk may fail (an error, not a dead worker) before its batch is given up as ``failed``.
MAX_FAILURES = 3
#: What a client reads when its batch failed: the cause is in the service's log.
FAILED_MESSAGE = "The check failed on our side; nothing is wrong with the list as far as we know. Submit it again."

#: Rows read or written per statement when a batch is decided or its results are read.
PAGE = 5000

_ROWS = CheckBatchRow.__table__
#: A row without a stored resolution (none is: every chunk is resolved before the decision).
_UNRESOLVED = resolution.Resolution(None, "none")
_CHUNKS = CheckBatchChunk.__table__


@dataclass(frozen=True)
class Limits:
    """How large a list may be, and how it is cut into chunks."""

    max_rows: int
    chunk_rows: int

    @classmethod
    def of_app(cls) -> Limits:
        config = current_app.config
        return cls(max_rows=int(config["ELIGIBILITY_BATCH_MAX_ROWS"]), chunk_rows=int(config["ELIGIBILITY_CHUNK_ROWS"]))


# --- submission ----------------------------------------------------------------------------------

def submit(programme: Programme, *, client_pk: int, actor: str, path: Path, fmt: str, reference_date: date,
           submitted_on: date, limits: Limits) -> CheckBatch:
    """Store the list of ``path`` (CSV or JSONL, :data:`applicants.LAYOUT`) as a queued batch.

    Read block by block: memory does not grow with the list. A row that cannot even be read is
    stored with its reason (its answer is ``INVALID_ROW``); only a list that cannot be read as a
    whole is refused. Flushes, never commits.

    :raises ValidationFailed: no header, missing or unknown columns, not UTF-8, no rows.
    :raises TooLarge: more than ``limits.max_rows`` rows.
    """
    s = db.session()
    batch = CheckBatch(key=secrets.token_urlsafe(16), programme_id=programme.id, client_pk=client_pk, actor=actor,
                       state="queued", reference_date=reference_date, submitted_on=submitted_on)
    s.add(batch)
    s.flush()
    total = number = 0
    try:
        for block in read_blocks(path, fmt, limits.chunk_rows, layout=applicants.LAYOUT):
            rows = [{"batch_id": batch.id, "line": raw.line, "chunk": number, "values": raw.values,
                     "error": raw.error[:500] if raw.error else None} for raw in block.raw_rows()]
            if not rows:
                continue
            total += len(rows)
            if total > limits.max_rows:
                raise TooLarge(f"The list has more than {limits.max_rows:,} rows; split it into several batches.")
            s.execute(_CHUNKS.insert(), [{"batch_id": batch.id, "number": number, "rows": len(rows),
                                          "state": "pending", "claims": 0, "failures": 0}])
            s.execute(_ROWS.insert(), rows)
            number += 1
    except UnreadableFile as exc:
        raise ValidationFailed(str(exc).replace(path.name, "The list")) from None
    if not total:
        raise ValidationFailed("The list has no rows.")
    batch.rows_total = total
    s.flush()
    audit.record(AuditAction.ELIGIBILITY_BATCH_SUBMIT, actor=actor, subject_type="programme",
                 subject_id=programme.code, data={"batch": batch.key, "rows": total,
                                                  "reference_date": reference_date.isoformat()})
    return batch


# --- reading -------------------------------------------------------------------------------------

def find(key: str, client_pk: int | None) -> tuple[CheckBatch, str]:
    """The batch named ``key``, when ``client_pk`` submitted it, and its programme's code.

    :raises NotFound: no such batch, or another client's (which is not said).
    """
    found = db.session().execute(select(CheckBatch, Programme.code)
                                 .join(Programme, Programme.id == CheckBatch.programme_id)
                                 .where(CheckBatch.key == key)).first()
    if found is None or client_pk is None or found[0].client_pk != client_pk:
        raise NotFound(f"No batch '{key[:40]}'.")
    return found[0], found[1]


def status(batch: CheckBatch, programme_code: str, retention_days: int) -> dict[str, Any]:
    """The batch as its status URL shows it."""

    def stamp(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value is not None else None

    body: dict[str, Any] = {
        "id": batch.key, "programme": programme_code, "state": batch.state,
        "reference_date": batch.reference_date.isoformat(), "rule_set_version": batch.rule_set_version,
        "rows": {"total": batch.rows_total, "resolved": batch.rows_resolved, "done": batch.rows_done},
        "submitted_at": stamp(batch.created_at), "started_at": stamp(batch.started_at),
        "finished_at": stamp(batch.finished_at),
        "delete_after": stamp(batch.created_at + timedelta(days=retention_days)),
    }
    if batch.error:
        body["error"] = batch.error
    return body


def _pages(query: Select[Any], size: int = PAGE) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` (on :class:`CheckBatchRow`, its first column the line) in the order of
    the list, ``size`` at a time: memory holds one page of the raw rows, whatever the list's length."""
    after = -1
    while True:
        found = db.session().execute(query.where(CheckBatchRow.line > after).order_by(CheckBatchRow.line)
                                     .limit(size)).all()
        if found:
            yield found
        if len(found) < size:
            return
        after = found[-1][0]


def results(batch_id: int) -> Iterator[dict[str, Any]]:
    """The results of a decided batch in the order of the list, read a page at a time:
    ``{"row": CheckedRow.as_output(), "reasons": [...]}`` each."""
    for page in _pages(select(CheckBatchRow.line, CheckBatchRow.result).where(CheckBatchRow.batch_id == batch_id)):
        for _line, result in page:
            yield result or {}


# --- the worker's steps --------------------------------------------------------------------------

def _free(lease: Any, now: datetime) -> Any:
    return or_(lease.is_(None), lease < now)


def _unresolved(batch_id: Any) -> Any:
    return exists().where(CheckBatchChunk.batch_id == batch_id, CheckBatchChunk.state == "pending")


class _LostClaim(Exception):
    """The worker's claim was taken over (its lease had expired): what it did is rolled back."""


@dataclass(frozen=True)
class ChunkClaim:
    chunk_id: int
    batch_id: int
    number: int


def claim_chunk(worker: str, *, lease_seconds: float, now: datetime | None = None) -> ChunkClaim | None:
    """Claim the first pending chunk whose lease is free or expired, for ``lease_seconds``; commits."""
    now = now or utcnow()
    with db.transaction() as s:
        found = s.execute(
            select(CheckBatchChunk.id, CheckBatchChunk.batch_id, CheckBatchChunk.number)
            .join(CheckBatch, CheckBatch.id == CheckBatchChunk.batch_id)
            .where(CheckBatchChunk.state == "pending", _free(CheckBatchChunk.lease_until, now),
                   CheckBatch.state.in_(("queued", "running")))
            .order_by(CheckBatchChunk.batch_id, CheckBatchChunk.number).limit(1)
            .with_for_update(skip_locked=True, of=CheckBatchChunk)).first()
        if found is None:
            return None
        claimed = db.changed(s, update(CheckBatchChunk)
                          .where(CheckBatchChunk.id == found.id, CheckBatchChunk.state == "pending",
                                 _free(CheckBatchChunk.lease_until, now))
                          .values(claimed_by=worker, lease_until=now + timedelta(seconds=lease_seconds),
                                  claims=CheckBatchChunk.claims + 1))
        if not claimed:
            return None
        s.execute(update(CheckBatch).where(CheckBatch.id == found.batch_id, CheckBatch.state == "queued")
                  .values(state="running", started_at=now))
    return ChunkClaim(found.id, found.batch_id, found.number)


def _applicant(line: int, values: Mapping[str, str], error: str | None, today: date) -> applicants.Applicant:
    found = applicants.applicant(values, line, today=today)
    return replace(found, invalid=f"line {line}: {error}") if error else found


def _review(row: applicants.Applicant, found: resolution.Resolution) -> dict[str, Any]:
    """What the review queue reads of a row a clerk must decide (nothing for the others)."""
    if found.match != "review" or not found.candidates:
        return {"f": None, "c": None}
    return {"f": decisions.fingerprint(row), "c": found.candidates[0]}


def resolve_chunk(claim: ChunkClaim, worker: str) -> bool:
    """Resolve the claimed chunk's rows and store their resolutions, in the transaction that marks
    the chunk resolved; False (nothing done) when the worker lost its claim meanwhile. Commits.

    The chunk is marked first: on PostgreSQL its row stays locked until the commit, so no other
    worker takes it over even if the lease runs out meanwhile (a claim skips locked rows).
    Resolution writes too (it brings the block-key index up to date), in the same transaction.
    """
    try:
        with db.transaction() as s:
            kept = db.changed(s, update(CheckBatchChunk)
                           .where(CheckBatchChunk.id == claim.chunk_id, CheckBatchChunk.claimed_by == worker,
                                  CheckBatchChunk.state == "pending")
                           .values(state="resolved", resolved_at=utcnow(), lease_until=None))
            if not kept:
                raise _LostClaim
            batch = s.execute(select(CheckBatch.reference_date, CheckBatch.submitted_on, CheckBatch.programme_id)
                              .where(CheckBatch.id == claim.batch_id)).one()
            rows = s.execute(select(CheckBatchRow.line, CheckBatchRow.row_values, CheckBatchRow.error)
                             .where(CheckBatchRow.batch_id == claim.batch_id, CheckBatchRow.chunk == claim.number)
                             .order_by(CheckBatchRow.line)).all()
            listed = [_applicant(line, values, error, batch.submitted_on) for line, values, error in rows]
            resolved = resolution.resolve_all(listed, on=batch.reference_date, programme_id=batch.programme_id)
            if listed:
                s.execute(update(_ROWS).where(_ROWS.c.batch_id == bindparam("b"), _ROWS.c.line == bindparam("l"))
                          .values(resolution=bindparam("r"), review_fingerprint=bindparam("f"),
                                  review_candidate_id=bindparam("c")),
                          [{"b": claim.batch_id, "l": a.line, "r": r.to_dict(), **_review(a, r)}
                           for a, r in zip(listed, resolved, strict=True)])
            s.execute(update(CheckBatch).where(CheckBatch.id == claim.batch_id)
                      .values(rows_resolved=CheckBatch.rows_resolved + len(listed)))
    except _LostClaim:
        return False
    return True


def chunk_failed(claim: ChunkClaim, worker: str) -> None:
    """Count a failure of the chunk and free it for another try; at :data:`MAX_FAILURES`, the batch
    fails. Commits."""
    with db.transaction() as s:
        s.execute(update(CheckBatchChunk)
                  .where(CheckBatchChunk.id == claim.chunk_id, CheckBatchChunk.claimed_by == worker)
                  .values(failures=CheckBatchChunk.failures + 1, claimed_by=None, lease_until=None))
        failures = s.scalar(select(CheckBatchChunk.failures).where(CheckBatchChunk.id == claim.chunk_id))
        if failures is not None and failures >= MAX_FAILURES:
            _fail(claim.batch_id)


def _fail(batch_id: int) -> None:
    s = db.session()
    failed = db.changed(s, update(CheckBatch).where(CheckBatch.id == batch_id,
                                                 CheckBatch.state.in_(("queued", "running")))
                     .values(state="failed", error=FAILED_MESSAGE, finished_at=utcnow(), claimed_by=None,
                             lease_until=None))
    if failed:
        key = s.scalar(select(CheckBatch.key).where(CheckBatch.id == batch_id))
        audit.record(AuditAction.ELIGIBILITY_BATCH_FAIL, actor="system:eligibility-worker",
                     subject_type="check_batch", subject_id=key)


def claim_decision(worker: str, *, lease_seconds: float, now: datetime | None = None) -> int | None:
    """Claim the decision of a running batch whose chunks are all resolved; its id, or None. Commits."""
    now = now or utcnow()
    ready = and_(CheckBatch.state == "running", _free(CheckBatch.lease_until, now), ~_unresolved(CheckBatch.id))
    with db.transaction() as s:
        batch_id = s.scalar(select(CheckBatch.id).where(ready).order_by(CheckBatch.id).limit(1)
                            .with_for_update(skip_locked=True))
        if batch_id is None:
            return None
        claimed = db.changed(s, update(CheckBatch).where(CheckBatch.id == batch_id, ready)
                          .values(claimed_by=worker, lease_until=now + timedelta(seconds=lease_seconds)))
    return batch_id if claimed else None


def decide_batch(batch_id: int, worker: str) -> bool:
    """Decide the whole list, store the results and mark the batch done, in one transaction; False
    (nothing stored) when the worker lost its claim meanwhile. Commits."""
    try:
        _decide(batch_id, worker)
    except _LostClaim:
        return False
    return True


def _decide(batch_id: int, worker: str) -> None:
    with db.transaction() as s:
        # The claim is checked first: on PostgreSQL the batch's row then stays locked until the
        # commit, so no other worker takes the decision over even if the lease runs out meanwhile.
        if not db.changed(s, update(CheckBatch).where(CheckBatch.id == batch_id, CheckBatch.claimed_by == worker,
                                                   CheckBatch.state == "running").values(claimed_by=worker)):
            raise _LostClaim
        batch = s.get_one(CheckBatch, batch_id)
        programme = s.get_one(Programme, batch.programme_id)
        listed: list[applicants.Applicant] = []
        resolved: list[resolution.Resolution] = []
        for page in _pages(select(CheckBatchRow.line, CheckBatchRow.row_values, CheckBatchRow.error,
                                  CheckBatchRow.resolution).where(CheckBatchRow.batch_id == batch_id)):
            for line, values, error, found in page:
                listed.append(_applicant(line, values, error, batch.submitted_on))
                resolved.append(resolution.Resolution.from_dict(found) if found else _UNRESOLVED)
        checked = check.decide(programme, listed, resolved, on=batch.reference_date, actor=batch.actor)
        del resolved
        store = update(_ROWS).where(_ROWS.c.batch_id == bindparam("b"), _ROWS.c.line == bindparam("l")) \
            .values(result=bindparam("r"))
        for start in range(0, len(checked), PAGE):
            s.execute(store, [{"b": batch_id, "l": a.line, "r": {"row": c.as_output(), "reasons": list(c.reasons)}}
                              for a, c in zip(listed[start:start + PAGE], checked[start:start + PAGE], strict=True)])
        s.execute(update(CheckBatch).where(CheckBatch.id == batch_id)
                  .values(state="done", rows_done=len(checked), finished_at=utcnow(), claimed_by=None,
                          lease_until=None, rule_set_version=programme.rule_set_version))


def decision_failed(batch_id: int) -> None:
    """The decision raised an error: the batch fails (the client submits it again). Commits."""
    with db.transaction():
        _fail(batch_id)


# --- retention -----------------------------------------------------------------------------------

def expired(cutoff: datetime) -> Any:
    """Batches submitted before ``cutoff`` whose rows are still there (or not yet marked purged)."""
    return and_(CheckBatch.created_at < cutoff,
                or_(CheckBatch.state != "purged", exists().where(CheckBatchRow.batch_id == CheckBatch.id)))


def count_expired_rows(session: Session, cutoff: datetime) -> int:
    """Rows a purge would delete (a dry run), read in ``session``."""
    return session.scalar(
        select(func.count()).select_from(CheckBatchRow).join(CheckBatch, CheckBatch.id == CheckBatchRow.batch_id)
        .where(CheckBatch.created_at < cutoff)) or 0


def purge_expired(cutoff: datetime, batch_size: int) -> tuple[int, int]:
    """Delete the rows (values and results) of the batches submitted before ``cutoff``; each batch
    stays as a ``purged`` tombstone, so that its status URL answers 410. Commits every ``batch_size``
    rows; interrupted, a second run goes on. (rows deleted, batches purged)."""
    rows = batches = 0
    while True:
        with db.transaction() as s:
            batch_id = s.scalar(select(CheckBatch.id).where(expired(cutoff))
                                .order_by(CheckBatch.created_at).limit(1).with_for_update(skip_locked=True))
            if batch_id is None:
                return rows, batches
            # Marked first: a worker holding a claim on it stores nothing any more.
            batches += db.changed(s, update(CheckBatch).where(CheckBatch.id == batch_id, CheckBatch.state != "purged")
                               .values(state="purged", purged_at=utcnow(), claimed_by=None, lease_until=None))
        while True:
            with db.transaction() as s:
                lines = select(CheckBatchRow.line).where(CheckBatchRow.batch_id == batch_id) \
                    .order_by(CheckBatchRow.line).limit(batch_size).scalar_subquery()
                deleted = db.changed(s, delete(CheckBatchRow).where(CheckBatchRow.batch_id == batch_id,
                                                                 CheckBatchRow.line.in_(lines)))
            rows += deleted
            if deleted < batch_size:
                break
        with db.transaction() as s:
            s.execute(delete(CheckBatchChunk).where(CheckBatchChunk.batch_id == batch_id))
