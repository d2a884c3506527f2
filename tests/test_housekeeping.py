"""``idsvc purge``: which rows go and when, in batches, beside live traffic, with its audit event."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from idsvc import db
from idsvc import housekeeping
from idsvc.audit.models import AuditEvent
from idsvc.db import utcnow
from idsvc.identity.models import ActivationCode
from idsvc.identity.models import LoginSession
from idsvc.identity.models import OutboxMessage
from idsvc.oidc.models import AuthorizationCode
from idsvc.oidc.models import OAuthToken
from idsvc.oidc.models import UsedAssertion
from tests.factories import make_account
from tests.factories import make_client

GRACE = 300
SECOND = timedelta(seconds=1)
REFRESH_LIFE = timedelta(days=30)
ACCESS_LIFE = timedelta(minutes=10)


class Rows:
    """Builds rows of one account and one client, each ending at a given instant."""

    def __init__(self) -> None:
        self.account = make_account()
        self.client, _ = make_client()

    def _add(self, row: Any) -> Any:
        db.session().add(row)
        db.session().flush()
        return row

    def code(self, expires: datetime, session: LoginSession | None = None) -> AuthorizationCode:
        return self._add(AuthorizationCode(
            code_hash=secrets.token_hex(32), client_pk=self.client.id, account_id=self.account.id,
            login_session_id=session.id if session else None, redirect_uri="https://rp.example.vn/callback",
            scope="openid", code_challenge="c" * 43, code_challenge_method="S256", level=1, amr="pwd",
            auth_time=expires, created_at=expires - timedelta(seconds=60), expires_at=expires))

    def token(self, refresh_expires: datetime | None, access_expires: datetime | None = None,
              code: AuthorizationCode | None = None, **fields: Any) -> OAuthToken:
        if access_expires is None:
            assert refresh_expires is not None
            access_expires = refresh_expires - REFRESH_LIFE + ACCESS_LIFE
        return self._add(OAuthToken(
            jti=secrets.token_urlsafe(32), client_pk=self.client.id,
            account_id=self.account.id, grant_type="authorization_code", scope="openid",
            issued_at=access_expires - ACCESS_LIFE, access_expires_at=access_expires,
            refresh_hash=secrets.token_hex(32) if refresh_expires else None, refresh_expires_at=refresh_expires,
            family=secrets.token_urlsafe(32), code_id=code.id if code else None, **fields))

    def session(self, expires: datetime, last_seen: datetime | None = None,
                revoked: datetime | None = None) -> LoginSession:
        last_seen = last_seen or expires - timedelta(minutes=10)
        return self._add(LoginSession(
            token_hash=secrets.token_hex(32), account_id=self.account.id, auth_time=last_seen,
            created_at=min(last_seen, expires - timedelta(hours=12)), last_seen_at=last_seen, expires_at=expires,
            revoked_at=revoked))

    def assertion(self, expires: datetime) -> UsedAssertion:
        return self._add(UsedAssertion(client_pk=self.client.id, jti=secrets.token_urlsafe(16), expires_at=expires))

    def activation(self, expires: datetime, used: datetime | None = None) -> ActivationCode:
        return self._add(ActivationCode(account_id=self.account.id, code_hash=secrets.token_hex(32),
                                        issued_by="test", channel="clerk", issued_at=expires - timedelta(hours=72),
                                        expires_at=expires, used_at=used))

    def outbox(self, created: datetime) -> OutboxMessage:
        return self._add(OutboxMessage(account_id=self.account.id, channel="sms", recipient="*********123",
                                       body="sealed", created_at=created))


@pytest.fixture()
def rows(app_ctx: Any) -> Rows:
    return Rows()


def _there(row: Any) -> bool:
    model = type(row)
    return db.session().scalar(select(func.count()).select_from(model).where(model.id == row.id)) == 1


def _count(model: Any) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


def _events() -> list[AuditEvent]:
    return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == "housekeeping:expired-rows:purge")))


#: Each kind of row, built so that its use ends at ``end``.
KINDS: dict[str, Callable[[Rows, datetime], Any]] = {
    "authorization code": lambda r, end: r.code(end),
    "token with a refresh token": lambda r, end: r.token(end),
    "revoked, rotated token: kept until its refresh token would have expired": lambda r, end: r.token(
        end, rotated_at=end - REFRESH_LIFE + SECOND, revoked_at=end - REFRESH_LIFE + SECOND),
    "access-only token (client credentials)": lambda r, end: r.token(None, end),
    "used client assertion": lambda r, end: r.assertion(end),
    "session past its absolute lifetime": lambda r, end: r.session(end),
    "logged-out session": lambda r, end: r.session(end + timedelta(hours=11), last_seen=end, revoked=end),
    "idle session": lambda r, end: r.session(end + timedelta(hours=11), last_seen=end - timedelta(minutes=30)),
    "expired activation code": lambda r, end: r.activation(end),
    "spent or replaced activation code": lambda r, end: r.activation(end + timedelta(hours=70), used=end),
    "outbox message: its activation code expired": lambda r, end: r.outbox(end - timedelta(hours=72)),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_row_goes_one_second_after_its_end_plus_the_grace_not_before(rows: Rows, kind: str) -> None:
    now = utcnow()
    edge = now - timedelta(seconds=GRACE)
    over, live = KINDS[kind](rows, edge - SECOND), KINDS[kind](rows, edge + SECOND)
    db.session().commit()

    result = housekeeping.purge(grace_seconds=GRACE, now=now)

    assert not _there(over)
    assert _there(live)
    assert result.total == 1 and result.counts[type(over).__tablename__] == 1


def test_a_live_token_keeps_its_code_but_a_code_does_not_keep_its_session(rows: Rows) -> None:
    now = utcnow()
    long_ago = now - timedelta(days=40)
    session = rows.session(long_ago)
    code = rows.code(long_ago, session=session)
    live_token = rows.token(now + timedelta(days=1), code=code)
    old_token = rows.token(long_ago, code=code)  # a rotated ancestor in the same family
    db.session().commit()

    first = housekeeping.purge(now=now)
    assert not _there(old_token) and not _there(session)
    assert _there(live_token) and _there(code)
    link = select(AuthorizationCode.login_session_id).where(AuthorizationCode.id == code.id)
    assert db.session().scalar(link) is None
    assert first.counts == {**dict.fromkeys(first.counts, 0), "oauth_token": 1, "login_session": 1}

    # Two days later the family is over: its last token, then its code, go in the same run.
    second = housekeeping.purge(now=now + timedelta(days=2))
    assert not (_there(live_token) or _there(code))
    assert (second.counts["oauth_token"], second.counts["authorization_code"]) == (1, 1)


def test_a_code_whose_tokens_go_in_the_same_run_goes_too(rows: Rows) -> None:
    now = utcnow()
    long_ago = now - timedelta(days=40)
    session = rows.session(long_ago)
    code = rows.code(long_ago, session=session)
    tokens = [rows.token(long_ago - timedelta(days=i), code=code) for i in range(3)]
    db.session().commit()

    result = housekeeping.purge(batch_size=2, now=now)

    assert not any(_there(row) for row in (*tokens, code, session))
    assert (result.counts["oauth_token"], result.counts["authorization_code"], result.counts["login_session"]) == (
        3, 1, 1)


def test_batches_smaller_than_the_rows_delete_them_all_in_several_transactions(rows: Rows) -> None:
    now = utcnow()
    over = [rows.code(now - timedelta(hours=1, seconds=i)) for i in range(12)]
    live = [rows.code(now + timedelta(seconds=i)) for i in range(3)]
    db.session().commit()

    result = housekeeping.purge(batch_size=5, now=now)

    assert result.counts["authorization_code"] == 12
    assert result.batches["authorization_code"] == 3  # 5, 5, then 2: fewer than a batch, the walk ends
    assert not any(_there(c) for c in over) and all(_there(c) for c in live)


def test_rows_that_must_stay_do_not_stop_the_walk(rows: Rows) -> None:
    """Expired codes still referred to sit between free ones: the batches go past them."""
    now = utcnow()
    free, pinned = [], []
    for i in range(10):
        code = rows.code(now - timedelta(hours=2) + timedelta(minutes=i))
        if i % 2:
            rows.token(now + timedelta(days=1), code=code)
            pinned.append(code)
        else:
            free.append(code)
    db.session().commit()

    result = housekeeping.purge(batch_size=2, now=now)

    assert result.counts["authorization_code"] == 5
    assert not any(_there(c) for c in free) and all(_there(c) for c in pinned)


def test_dry_run_counts_what_the_run_deletes_and_changes_nothing(rows: Rows) -> None:
    now = utcnow()
    long_ago = now - timedelta(days=40)
    # A family that is over: its token frees its code; the session goes in any case.
    rows.token(long_ago, code=rows.code(long_ago, session=rows.session(long_ago)))
    # A family kept by its live token: its code stays, its session goes.
    rows.token(now + timedelta(days=1), code=rows.code(long_ago, session=rows.session(long_ago)))
    rows.assertion(long_ago)
    rows.activation(long_ago)
    rows.outbox(long_ago)
    db.session().commit()
    before = {model: _count(model) for model in (OAuthToken, AuthorizationCode, LoginSession, UsedAssertion,
                                                 ActivationCode, OutboxMessage)}

    dry = housekeeping.purge(dry_run=True, now=now)

    assert dry.counts == {"oauth_token": 1, "authorization_code": 1, "login_session": 2, "used_assertion": 1,
                          "activation_code": 1, "outbox_message": 1, "check_batch_row": 0}
    assert {model: _count(model) for model in before} == before
    assert _events() == []

    assert housekeeping.purge(now=now).counts == dry.counts


def test_a_request_holding_a_live_session_does_not_make_the_purge_fail(app: Any, backend: str) -> None:
    """PostgreSQL: the purge neither waits for the live row nor for an ended one a request holds
    (skipped, taken by the next run). SQLite: the purge waits for the writer, then runs."""
    now = utcnow()
    with app.app_context():
        r = Rows()
        live = r.session(now + timedelta(hours=6), last_seen=now)
        ended, held_ended = r.session(now - timedelta(hours=1)), r.session(now - timedelta(hours=1))
        db.session().commit()
        ids = live.id, ended.id, held_ended.id

    holder = db.get_db(app).engine.connect()
    holder.begin()
    holder.execute(text("UPDATE login_session SET last_seen_at = last_seen_at WHERE id = :id"), {"id": ids[0]})
    if backend == "postgresql":
        holder.execute(text("SELECT id FROM login_session WHERE id = :id FOR UPDATE"), {"id": ids[2]})
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with app.app_context():
                outcome["result"] = housekeeping.purge(now=now)
        except BaseException as exc:  # reported to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        if backend == "sqlite":
            time.sleep(0.5)
            assert thread.is_alive()  # one writer at a time: it queues behind the request
            holder.commit()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the purge waited for a row another transaction holds"
        assert "error" not in outcome, outcome.get("error")
    finally:
        holder.rollback()
        holder.close()
        thread.join(timeout=30)

    with app.app_context():
        left = set(db.session().scalars(select(LoginSession.id)))
        if backend == "postgresql":
            assert outcome["result"].counts["login_session"] == 1
            assert left == {ids[0], ids[2]}
            assert housekeeping.purge(now=now).counts["login_session"] == 1  # the next run takes it
            left = set(db.session().scalars(select(LoginSession.id)))
        assert left == {ids[0]}


def test_two_runs_at_once_share_the_work(app: Any) -> None:
    now = utcnow()
    with app.app_context():
        r = Rows()
        for i in range(60):
            r.token(now - timedelta(days=1, seconds=i))
            r.code(now - timedelta(hours=1, seconds=i))
        db.session().commit()
    results: list[housekeeping.PurgeResult] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(housekeeping.purge(batch_size=7, now=now))
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(res.counts["oauth_token"] for res in results) == 60
    assert sum(res.counts["authorization_code"] for res in results) == 60
    with app.app_context():
        assert _count(OAuthToken) == 0 and _count(AuthorizationCode) == 0


def test_the_run_is_audited_once_with_its_counts(rows: Rows) -> None:
    now = utcnow()
    rows.token(now - timedelta(days=1))
    rows.assertion(now - timedelta(days=1))
    db.session().commit()

    housekeeping.purge(now=now, actor="ops:cron")

    (event,) = _events()
    assert event.actor == "ops:cron"
    assert event.data["deleted"] == {"oauth_token": 1, "authorization_code": 0, "login_session": 0,
                                     "used_assertion": 1, "activation_code": 0, "outbox_message": 0,
                                     "check_batch_row": 0}
    assert event.data["grace_seconds"] == GRACE and event.data["batch_size"] == housekeeping.DEFAULT_BATCH_SIZE


def test_an_interrupted_run_keeps_what_it_committed_and_says_so(rows: Rows, monkeypatch: Any) -> None:
    now = utcnow()
    token = rows.token(now - timedelta(days=1))
    code = rows.code(now - timedelta(days=1))
    db.session().commit()
    purge_rule = housekeeping._purge_rule

    def stopped_at_codes(rule: housekeeping.Rule, *args: Any) -> None:
        if rule.name == "authorization_code":
            raise KeyboardInterrupt
        purge_rule(rule, *args)

    monkeypatch.setattr(housekeeping, "_purge_rule", stopped_at_codes)
    with pytest.raises(KeyboardInterrupt):
        housekeeping.purge(now=now)

    assert not _there(token) and _there(code)
    (event,) = _events()
    assert event.data["interrupted"] == "KeyboardInterrupt" and event.data["deleted"]["oauth_token"] == 1


def test_purge_command_prints_counts_per_table_and_dry_run_deletes_nothing(app: Any, runner: Any) -> None:
    now = utcnow()
    with app.app_context():
        r = Rows()
        r.token(now - timedelta(days=1))
        r.token(now - timedelta(days=1))
        r.code(now - timedelta(hours=1))
        r.session(now + timedelta(hours=1), last_seen=now)
        db.session().commit()

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "oauth_token          would delete 2\n" in dry.output
    assert "total                would delete 3\n" in dry.output
    with app.app_context():
        assert _count(OAuthToken) == 2 and _events() == []

    done = runner.invoke(args=["purge", "--batch-size", "1", "--grace-seconds", "60"])
    assert done.exit_code == 0, done.output
    assert "oauth_token          deleted 2 (4 batches)\n" in done.output  # 1 + 1 + 1 (empty), access-only: 1
    assert "authorization_code   deleted 1 (2 batches)\n" in done.output
    assert "login_session        deleted 0 (1 batch)\n" in done.output
    assert "total                deleted 3\n" in done.output
    with app.app_context():
        assert _count(OAuthToken) == 0 and _count(LoginSession) == 1
        (event,) = _events()
        assert event.actor == "system:cli" and event.data["grace_seconds"] == 60
