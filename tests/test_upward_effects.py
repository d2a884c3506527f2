"""Effects that travel up the layers through signals wired in create_app: a death in the registry
reaches the account (identity), ended sessions reach the tokens (oidc). Each receiver runs in the
sender's session, so its writes commit or roll back with the change that caused them."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.identity import service as identity
from idsvc.identity import signals as identity_signals
from idsvc.identity.models import Account
from idsvc.oidc import claimsrequest
from idsvc.oidc import consents
from idsvc.oidc import issuance
from idsvc.oidc import purposes
from idsvc.oidc.models import ConsentRecord
from idsvc.oidc.models import OAuthToken
from idsvc.registry import lifeevents
from idsvc.registry import service as registry
from idsvc.registry import signals as registry_signals


def test_the_registry_signals_a_death_within_its_own_session(app_ctx, create_account) -> None:
    account = create_account()
    heard: list[dict[str, Any]] = []

    def receiver(sender: Flask, **kwargs: Any) -> None:
        heard.append({"sender": sender, "session": db.session(), **kwargs})

    with registry_signals.death_recorded.connected_to(receiver, sender=app_ctx):
        registry.record_death(account.citizen, date(2025, 3, 1), actor="clerk:9", reason="death certificate")
    [signal] = heard
    assert signal == {"sender": app_ctx, "session": db.session(), "citizen": account.citizen, "actor": "clerk:9"}


def test_the_disabled_account_rolls_back_with_the_death(app_ctx, create_account) -> None:
    account_id = create_account().id
    db.session().commit()
    account = db.session().get(Account, account_id)
    registry.record_death(account.citizen, date(2025, 3, 1), actor="clerk:9", reason="death certificate")
    assert account.status == "disabled"
    db.session().rollback()
    account = db.session().get(Account, account_id)
    assert (account.status, account.citizen.status) == ("active", "alive")
    assert not db.session().scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == AuditAction.IDENTITY_ACCOUNT_DISABLE, AuditEvent.subject_id == str(account_id)))


def test_ended_sessions_revoke_the_tokens_and_the_audit_counts_them(app_ctx, create_account,
                                                                    create_client) -> None:
    account = create_account()
    client, _ = create_client()
    for _ in range(2):
        issuance.issue_tokens(client=client, account=account, scope="openid", grant_type="authorization_code",
                              include_refresh=True, level=1, amr="pwd", auth_time=utcnow())
    identity.revoke_sessions(account, actor="account:1", reason="logout-everywhere")
    revoked = db.session().scalars(select(OAuthToken.revoked_at).where(OAuthToken.account_id == account.id)).all()
    assert len(revoked) == 2 and None not in revoked
    [event] = db.session().scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.IDENTITY_SESSIONS_REVOKE, AuditEvent.subject_id == str(account.id))).all()
    assert event.data == {"reason": "logout-everywhere", "sessions": 0, "tokens": 2}


def test_a_death_ends_the_sessions_tokens_and_consents(app_ctx, create_account, create_client) -> None:
    account = create_account()
    client, _ = create_client()
    _, session_token = identity.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    offer = consents.offer(account, client, purposes.resolve(client, None),
                           claimsrequest.asked(["openid", "profile"], claimsrequest.EMPTY))
    consents.give(account, offer, ticked=offer.shown, level=1)
    issuance.issue_tokens(client=client, account=account, scope="openid profile", grant_type="authorization_code",
                          include_refresh=True, level=1, amr="pwd", auth_time=utcnow())
    registry.record_death(account.citizen, date(2025, 3, 1), actor="clerk:9", reason="death certificate")
    assert account.status == "disabled" and identity.session_from_token(session_token) is None
    assert None not in db.session().scalars(select(OAuthToken.revoked_at).where(OAuthToken.account_id == account.id))
    assert db.session().scalars(select(ConsentRecord.event).where(ConsentRecord.account_id == account.id)
                                .order_by(ConsentRecord.id)).all() == ["granted", "withdrawn"]
    assert consents.current_consents(account) == []
    [event] = db.session().scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.IDENTITY_ACCOUNT_DISABLE, AuditEvent.subject_id == str(account.id))).all()
    assert event.data == {"reason": "deceased", "consents": 1}


def test_a_merged_duplicates_account_is_disabled_and_the_survivors_is_not(app_ctx, create_account) -> None:
    survivor, duplicate = create_account(), create_account()
    lifeevents.merge_records(survivor.citizen, duplicate.citizen, actor="account:9", reason="same person")
    assert (duplicate.status, duplicate.disabled_reason) == ("disabled", "merged")
    assert survivor.status == "active"


def test_the_receivers_are_wired_per_app_by_create_app(app: Flask) -> None:
    assert list(registry_signals.death_recorded.receivers_for(app))
    assert list(registry_signals.records_merged.receivers_for(app))
    assert list(identity_signals.sessions_revoked.receivers_for(app))
    assert list(identity_signals.account_disabled.receivers_for(app))
    other = Flask("not-built-by-create-app")
    assert not list(registry_signals.death_recorded.receivers_for(other))
    assert not list(identity_signals.sessions_revoked.receivers_for(other))
