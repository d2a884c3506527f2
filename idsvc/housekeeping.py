"""Housekeeping: delete the rows whose use is over, in short batches, while the service runs.

Each kind of row has its rule written once, in :data:`RULES`. A row goes only ``grace`` seconds
after its end, so that a worker whose clock is behind never loses a row it still uses.

Uploaded applicant lists and their results (eligibility batches) go ``ELIGIBILITY_RETENTION_DAYS``
after the upload, whatever became of the batch; the batch itself stays as a ``purged`` tombstone,
so that its status URL answers 410 Gone (:func:`idsvc.eligibility.batches.purge_expired`).

No foreign key cascades, so the rules run in the order of the references: tokens before the
authorization codes they were issued from, codes before the login sessions they were made in.

- A spent code stays while a token issued from it (or refreshed from one) exists: a replay of the
  code revokes them (RFC 6749 §4.1.2). That is also what its foreign key demands.
- A session does not wait for its codes: a code refers to its session only to put its ``sid`` in
  the ID token when it is redeemed, and every code made in a session has expired by the time the
  session is over plus the grace (a code lives 60 s). The reference is cleared (NULL) in the
  batch that deletes the session.

Every batch is its own transaction: ``SELECT id … WHERE <over> ORDER BY <expiry> LIMIT n FOR
UPDATE SKIP LOCKED``, then ``DELETE … WHERE id IN (…)`` by primary key. On PostgreSQL a batch never
waits for a row a request holds (it skips it; the next run takes it), and two runs at once share
the work. SQLite has one writer at a time: a batch waits its turn like any write, and holds the
lock for one batch only. Each walk follows an index that leads with the rule's ``key`` and resumes
from the last key deleted, so the rows that must stay (referred to, still live) are read once per
run, not once per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.eligibility import batches as eligibility_batches
from idsvc.identity.models import ActivationCode
from idsvc.identity.models import LoginSession
from idsvc.identity.models import OutboxMessage
from idsvc.oidc.models import AuthorizationCode
from idsvc.oidc.models import OAuthToken
from idsvc.oidc.models import UsedAssertion

DEFAULT_BATCH_SIZE = 5000
#: A batch's ids are bound one parameter each: SQLite takes at most 32766 in a statement.
MAX_BATCH_SIZE = 10000
#: Past a row's end before it goes: more than any clock skew between workers, and than a request lasts.
DEFAULT_GRACE_SECONDS = 300


@dataclass(frozen=True)
class Horizon:
    """The instants before which a row's use is over, fixed once for a run."""

    #: Now minus the grace: a row that ended before it is over.
    cutoff: datetime
    #: A session last seen before it is over (idle for longer than ``SESSION_IDLE_MINUTES``).
    idle_cutoff: datetime
    #: An outbox message created before it is of no use any more: the only messages are
    #: activation codes, which expire ``ACTIVATION_CODE_HOURS`` after they are sent.
    outbox_cutoff: datetime
    #: An eligibility batch uploaded before it is past its retention: its rows and results go.
    batch_cutoff: datetime

    @classmethod
    def at(cls, now: datetime, grace_seconds: int, config: Any) -> Horizon:
        cutoff = now - timedelta(seconds=grace_seconds)
        return cls(cutoff=cutoff, idle_cutoff=cutoff - timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                   outbox_cutoff=cutoff - timedelta(hours=config["ACTIVATION_CODE_HOURS"]),
                   batch_cutoff=now - timedelta(days=config["ELIGIBILITY_RETENTION_DAYS"]))


#: ``over(horizon, counting)``: the rows whose use is over. ``counting`` (dry run): a row that only
#: rows of earlier rules refer to counts as free, since the run would have deleted those first.
Condition = Callable[[Horizon, bool], ColumnElement[bool]]


@dataclass(frozen=True)
class Rule:
    """How one kind of row ends, and the order (an index's) in which the purge walks them."""

    table: Table
    over: Condition
    #: The walk's order and resume point; an index leads with ``order``.
    key: InstrumentedAttribute[Any]
    order: tuple[InstrumentedAttribute[Any], ...]
    #: Nullable foreign keys to these rows, set to NULL before they are deleted.
    unlink: tuple[InstrumentedAttribute[Any], ...] = ()

    @property
    def name(self) -> str:
        return self.table.name


def _token_with_refresh_over(h: Horizon, counting: bool) -> ColumnElement[bool]:
    # Both tokens of the issuance are over, whether revoked or rotated: reuse detection of a
    # rotated refresh token is needed only while that token would still have worked.
    return and_(OAuthToken.refresh_expires_at < h.cutoff, OAuthToken.access_expires_at < h.cutoff)


def _token_access_only_over(h: Horizon, counting: bool) -> ColumnElement[bool]:
    return and_(OAuthToken.refresh_expires_at.is_(None), OAuthToken.access_expires_at < h.cutoff)


def _code_over(h: Horizon, counting: bool) -> ColumnElement[bool]:
    tokens = select(OAuthToken.id).where(OAuthToken.code_id == AuthorizationCode.id)
    if counting:
        tokens = tokens.where(not_(or_(_token_with_refresh_over(h, True), _token_access_only_over(h, True))))
    return and_(AuthorizationCode.expires_at < h.cutoff, ~exists(tokens))


def _session_over(h: Horizon, counting: bool) -> ColumnElement[bool]:
    # Logged out, idle or past its absolute end. (Not indexed but by expires_at: last_seen_at
    # changes every minute of use, and an index on it would tax every request.)
    return or_(LoginSession.expires_at < h.cutoff, LoginSession.revoked_at < h.cutoff,
               LoginSession.last_seen_at < h.idle_cutoff)


def _assertion_over(h: Horizon, counting: bool) -> ColumnElement[bool]:
    return UsedAssertion.expires_at < h.cutoff


def _activation_over(h: Horizon, counting: bool) -> ColumnElement[bool]:
    # Spent or replaced: a later try with it fails (and counts) whether the row is there or not.
    return or_(ActivationCode.expires_at < h.cutoff, ActivationCode.used_at < h.cutoff)


def _outbox_over(h: Horizon, counting: bool) -> ColumnElement[bool]:
    # No delivery state is kept: sent or not, the code in it has expired.
    return OutboxMessage.created_at < h.outbox_cutoff


def _table(model: Any) -> Table:
    return model.__table__


#: In the order of the foreign keys: referring rows before the rows they refer to.
RULES: tuple[Rule, ...] = (
    Rule(_table(OAuthToken), _token_with_refresh_over, OAuthToken.refresh_expires_at,
         (OAuthToken.refresh_expires_at,)),
    # Ordered like ix_oauth_token_expiry (refresh_expires_at, all NULL here, then access_expires_at),
    # so that the index gives the order and nothing is sorted.
    Rule(_table(OAuthToken), _token_access_only_over, OAuthToken.access_expires_at,
         (OAuthToken.refresh_expires_at, OAuthToken.access_expires_at)),
    Rule(_table(AuthorizationCode), _code_over, AuthorizationCode.expires_at, (AuthorizationCode.expires_at,)),
    Rule(_table(LoginSession), _session_over, LoginSession.expires_at, (LoginSession.expires_at,),
         unlink=(AuthorizationCode.login_session_id,)),
    Rule(_table(UsedAssertion), _assertion_over, UsedAssertion.expires_at, (UsedAssertion.expires_at,)),
    Rule(_table(ActivationCode), _activation_over, ActivationCode.expires_at, (ActivationCode.expires_at,)),
    Rule(_table(OutboxMessage), _outbox_over, OutboxMessage.created_at, (OutboxMessage.created_at,)),
)


#: The name under which the purge counts the rows of uploaded applicant lists (with their results).
BATCH_ROWS = "check_batch_row"


@dataclass
class PurgeResult:
    """Rows deleted (or, in a dry run, that would be) per table, in the order of :data:`RULES`."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def purge(*, batch_size: int = DEFAULT_BATCH_SIZE, grace_seconds: int = DEFAULT_GRACE_SECONDS,
          dry_run: bool = False, actor: str = "system:cli", now: datetime | None = None) -> PurgeResult:
    """Delete every row whose use ended more than ``grace_seconds`` ago, ``batch_size`` rows per
    transaction, and record one audit event with the counts.

    Commits batch by batch (call it outside a transaction). Stopped half-way, what is committed
    stays deleted and a second run goes on; the audit event then says it was interrupted.

    :param dry_run: count only, in reads that lock nothing, and record nothing.
    :param now: the run's clock (tests); rows are judged against it, not against each batch's time.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE or grace_seconds < 0:
        raise ValueError(f"batch_size is 1 to {MAX_BATCH_SIZE} and grace_seconds not negative")
    horizon = Horizon.at(now or utcnow(), grace_seconds, current_app.config)
    result = PurgeResult(dry_run=dry_run)
    for name in [rule.name for rule in RULES] + [BATCH_ROWS]:
        result.counts.setdefault(name, 0)
        result.batches.setdefault(name, 0)
    if dry_run:
        reader = db.get_db().read_sessionmaker()
        try:
            for rule in RULES:
                count = select(func.count()).select_from(rule.table).where(rule.over(horizon, True))
                result.counts[rule.name] += reader.scalar(count) or 0
            result.counts[BATCH_ROWS] = eligibility_batches.count_expired_rows(reader, horizon.batch_cutoff)
        finally:
            reader.close()
        return result
    try:
        for rule in RULES:
            _purge_rule(rule, horizon, batch_size, result)
        rows, tombstones = eligibility_batches.purge_expired(horizon.batch_cutoff, batch_size)
        result.counts[BATCH_ROWS] += rows
        result.batches[BATCH_ROWS] += tombstones
    except BaseException as exc:
        with db.transaction():
            _record(result, actor, horizon, batch_size, grace_seconds, interrupted=type(exc).__name__)
        raise
    with db.transaction():
        _record(result, actor, horizon, batch_size, grace_seconds)
    return result


def _purge_rule(rule: Rule, horizon: Horizon, batch_size: int, result: PurgeResult) -> None:
    table = rule.table
    after: Any = None
    while True:
        where = rule.over(horizon, False)
        if after is not None:
            where = and_(where, rule.key >= after)
        with db.transaction() as s:
            found = s.execute(select(table.c.id, rule.key).where(where).order_by(*rule.order).limit(batch_size)
                              .with_for_update(skip_locked=True)).all()
            ids = [row[0] for row in found]
            if ids:
                for reference in rule.unlink:
                    s.execute(update(reference.class_).where(reference.in_(ids)).values({reference.key: None}))
                s.execute(delete(table).where(table.c.id.in_(ids)))
        result.counts[rule.name] += len(ids)
        result.batches[rule.name] += 1
        if len(ids) < batch_size:
            return
        after = max(row[1] for row in found)


def _record(result: PurgeResult, actor: str, horizon: Horizon, batch_size: int, grace_seconds: int,
            interrupted: str | None = None) -> None:
    data: dict[str, Any] = {"deleted": dict(result.counts), "cutoff": horizon.cutoff.isoformat(),
                            "grace_seconds": grace_seconds, "batch_size": batch_size}
    if interrupted:
        data["interrupted"] = interrupted
    audit.record(AuditAction.HOUSEKEEPING_PURGE, actor=actor, data=data)
