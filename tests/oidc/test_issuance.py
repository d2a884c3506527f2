"""The issuance service, called as the grants call it: codes redeemed once, refresh tokens rotated
once; and the grants themselves reach storage only through the oidc services."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.identity import service as identity
from idsvc.oidc import grants
from idsvc.oidc import issuance
from idsvc.oidc.models import OAuthToken


def _code(client, account, code: str = "the-code"):
    login, _ = identity.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    row = issuance.store_code(code, client=client, login=login, redirect_uri=client.redirect_uris[0],
                              scope="openid", nonce="n", code_challenge="c" * 43, code_challenge_method="S256")
    assert (row.account_id, row.login_session_id, row.level, row.amr, row.auth_time) == (
        account.id, login.id, login.level, login.amr, login.auth_time)
    return row


def test_a_code_keeps_how_the_person_logged_in_and_is_redeemed_once(app_ctx, create_account,
                                                                    create_client) -> None:
    account, (client, _) = create_account(), create_client()
    stored = _code(client, account)
    assert stored.code_hash != "the-code"  # only its keyed hash is kept
    other, _ = create_client()
    assert issuance.redeem_code("the-code", other) is None  # another client's code: not spent
    assert issuance.redeem_code("the-code", client) is stored
    assert stored.used_at is not None


def test_a_replayed_code_revokes_what_it_gave(app_ctx, create_account, create_client) -> None:
    account, (client, _) = create_account(), create_client()
    _code(client, account)
    row = issuance.redeem_code("the-code", client)
    assert row is not None
    issuance.issue_tokens(client=client, account=account, scope="openid", grant_type="authorization_code",
                          include_refresh=True, level=1, amr="pwd", auth_time=utcnow(), code_id=row.id)
    assert issuance.redeem_code("the-code", client) is None
    assert all(t.revoked_at is not None for t in db.session().scalars(select(OAuthToken)))
    assert db.session().scalar(select(AuditEvent.action).where(AuditEvent.action == AuditAction.OIDC_CODE_REPLAY))


def test_a_refresh_token_rotates_once_and_its_reuse_revokes_the_family(app_ctx, create_account,
                                                                       create_client) -> None:
    account, (client, _) = create_account(), create_client()
    body = issuance.issue_tokens(client=client, account=account, scope="openid", grant_type="authorization_code",
                                 include_refresh=True, level=1, amr="pwd", auth_time=utcnow())
    row = issuance.token_by_refresh(body["refresh_token"])
    assert row is not None
    assert issuance.rotate_refresh(row) is True
    assert issuance.rotate_refresh(row) is False  # a second request with the same token: a reuse
    assert db.session().scalar(select(AuditEvent.action).where(AuditEvent.action == AuditAction.OIDC_REFRESH_REUSE))


#: What only a service may touch: the session, SQL, the unit of work, the audit trail.
_STORAGE = ("sqlalchemy", "idsvc.db", "idsvc.unit_of_work", "idsvc.audit", "idsvc.groupwrite")


def test_the_grants_store_nothing_themselves() -> None:
    tree = ast.parse(Path(grants.__file__).read_text())
    imported = {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    touching = sorted(name for name in imported if name.startswith(_STORAGE) and name != "idsvc.db.utcnow")
    assert touching == []
