"""A person's consent to release claims to a client: asked, given, checked, withdrawn."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import NotFound
from idsvc.identity.models import Account
from idsvc.oidc import issuance
from idsvc.oidc.models import Consent
from idsvc.oidc.models import OAuthClient


class NoConsent(NotFound):
    """The person has no live consent to that client: never given, withdrawn already, or no such
    client. (A fact for the view, which tells the person in their language.)"""


#: The statement of a hot look-up (every authorization and userinfo request), built once.
_CONSENTED = select(Consent.scopes).where(Consent.account_id == bindparam("account_id"),
                                          Consent.client_pk == bindparam("client_pk"), Consent.revoked_at.is_(None))


def consented_scopes(account: Account, client: OAuthClient, scopes: list[str]) -> list[str]:
    """Of ``scopes``, those the person agreed (and still agrees) to release to the client.

    A trusted (first-party) client needs no consent. Without consent only ``openid`` (the
    pairwise ``sub``) remains, so a withdrawn consent stops the release of claims at once.
    """
    if client.trusted:
        return list(scopes)
    agreed = _agreed(account, client) or []
    return [s for s in scopes if s in agreed or s == "openid"]


def has_consent(account: Account, client: OAuthClient, scopes: list[str]) -> bool:
    if client.trusted:
        return True
    agreed = _agreed(account, client)
    return agreed is not None and set(scopes) <= set(agreed)


def _agreed(account: Account, client: OAuthClient) -> list[str] | None:
    """The scopes of the person's live consent to the client; None without one."""
    return db.session().scalar(_CONSENTED, {"account_id": account.id, "client_pk": client.id})


def grant_consent(account: Account, client: OAuthClient, scopes: list[str]) -> Consent:
    s = db.session()
    consent = s.scalar(select(Consent).where(Consent.account_id == account.id, Consent.client_pk == client.id))
    if consent is None:
        consent = Consent(account_id=account.id, client_pk=client.id, scopes=[])
        s.add(consent)
    consent.scopes = sorted(set(scopes) | (set(consent.scopes) if consent.revoked_at is None else set()))
    consent.granted_at, consent.revoked_at = utcnow(), None
    s.flush()
    return consent


def consents_of(account: Account) -> list[tuple[Consent, OAuthClient]]:
    """The person's live consents with their clients, most recent first. (A trusted first-party
    client needs none, so it is not listed: withdrawing would not change what it receives.)"""
    return [(consent, client) for consent, client in db.session().execute(
        select(Consent, OAuthClient).join(OAuthClient, OAuthClient.id == Consent.client_pk)
        .where(Consent.account_id == account.id, Consent.revoked_at.is_(None), OAuthClient.trusted.is_(False))
        .order_by(Consent.granted_at.desc()))]


def withdraw_consent(account: Account, client_id: str) -> int:
    """Withdraw the person's consent to a client: userinfo releases nothing more to it (it checks
    consent at every read), the tokens it holds for the person are revoked, and the next login
    asks again. Returns how many tokens were revoked.

    :raises NoConsent: the person has no live consent to that client.
    """
    found = next(((consent, client) for consent, client in consents_of(account) if client.client_id == client_id),
                 None)
    if found is None:
        raise NoConsent(f"no live consent to the client {client_id!r}")
    consent, client = found
    consent.revoked_at = utcnow()
    revoked = issuance.end_grant(account, client)
    audit.record(AuditAction.OIDC_CONSENT_WITHDRAW, actor=f"account:{account.id}", subject_type="client",
                 subject_id=client.client_id, data={"scopes": consent.scopes, "tokens_revoked": revoked})
    return revoked



def end_consents_of_account(account_id: int) -> int:
    """End every live consent of a person (their account was disabled); how many."""
    return db.changed(db.session(), update(Consent).where(Consent.account_id == account_id,
                                                          Consent.revoked_at.is_(None)).values(revoked_at=utcnow()))
