"""What oidc does when identity signals (:mod:`idsvc.identity.signals`)."""

from __future__ import annotations

from flask import Flask

from idsvc.identity import signals as identity_signals
from idsvc.identity.models import Account
from idsvc.oidc import clients
from idsvc.oidc import consents
from idsvc.oidc import issuance


def init_app(app: Flask) -> None:
    """Connect oidc's receivers to identity's signals, for this app."""
    identity_signals.sessions_revoked.connect(_sessions_revoked, sender=app)
    identity_signals.login_asked.connect(_login_asked, sender=app)
    identity_signals.account_disabled.connect(_account_disabled, sender=app)


def _sessions_revoked(app: Flask, *, account: Account) -> int:
    """The account's sessions ended: revoke its grants and tokens; how many tokens."""
    return issuance.revoke_tokens_of_account(account.id)


def _account_disabled(app: Flask, *, account: Account, reason: str) -> int:
    """A disabled account (a death, a merged record) grants nothing any more: its consents end,
    so nothing is released to a client on the strength of them; how many ended."""
    return consents.end_consents_of_account(account.id)


def _login_asked(app: Flask, *, next_url: str) -> str | None:
    """The login page returns to ``next_url``: the name of the agency asking, if it is one of ours."""
    return clients.requesting_client_name(next_url)
