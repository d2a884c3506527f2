"""A person's consents to a client's purposes, kept as append-only records, and the releases of
claims that follow from them.

The newest record of (person, client, purpose) is the consent's state: 'granted' or 'narrowed'
and not past ``expires_at`` is live; 'withdrawn' and 'expired' are not. A statutory purpose needs
no consent but gets records too, so the person sees it like everything else. What a client
receives is always: asked ∩ the client's allow-list ∩ granted in the live consent (statutory:
asked ∩ allow-list), with the registry's current values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Literal

from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.identity.models import Account
from idsvc.oidc import claims
from idsvc.oidc import claimsrequest
from idsvc.oidc import issuance
from idsvc.oidc import purposes
from idsvc.oidc.models import ClientPurpose
from idsvc.oidc.models import ConsentRecord
from idsvc.oidc.models import OAuthClient

LIVE_EVENTS = ("granted", "narrowed")


class NoConsent(NotFound):
    """The person has no live consent to that client and purpose: never given, withdrawn already,
    or no such client. (A fact for the view, which tells the person in their language.)"""


class StatutoryPurpose(Conflict):
    """A statutory purpose rests on a law, not on consent: there is nothing to withdraw."""


class EssentialRefused(Exception):
    """The person left an essential claim unticked: the request ends with ``access_denied``."""


@dataclass(frozen=True)
class ConsentState:
    """A live consent, as the person's pages show it."""

    client_id: str
    client_name: str
    purpose_code: str
    purpose_text: dict[str, str]  # {"vi": …, "en": …}
    legal_basis: str
    claims: tuple[str, ...]
    since: datetime
    expires_at: datetime | None
    level: int
    retention_days: int | None = None


@dataclass(frozen=True)
class Offer:
    """What an authorization request would have the person share, for the consent page."""

    client: OAuthClient
    purpose: ClientPurpose
    #: asked ∩ allow-list, sorted: the claims shown.
    shown: tuple[str, ...]
    #: Of those, asked as essential.
    essential: frozenset[str]
    #: The live consent it would change, if any.
    previous: ConsentRecord | None
    #: The newest record, live or not (an expired one gets its 'expired' record when the page is shown).
    newest: ConsentRecord | None = None

    def sensitive(self, name: str) -> bool:
        return claims.is_sensitive(name)

    def checked(self, name: str) -> bool:
        """Ticked when the page opens: essential basic ones (and locked), voluntary basic ones the
        person has not declined, sensitive ones only if the person granted them already."""
        previous = self.previous
        if claims.is_sensitive(name):
            return previous is not None and name in previous.claims
        if name in self.essential:
            return True
        return previous is None or name not in previous.declined

    def locked(self, name: str) -> bool:
        """Essential and not sensitive: checked and cannot be unticked."""
        return name in self.essential and not claims.is_sensitive(name)


_NEWEST = (select(ConsentRecord).where(ConsentRecord.account_id == bindparam("account_id"),
                                       ConsentRecord.client_pk == bindparam("client_pk"),
                                       ConsentRecord.purpose_id == bindparam("purpose_id"))
           .order_by(ConsentRecord.id.desc()).limit(1))


def newest(account_id: int, client: OAuthClient, purpose: ClientPurpose) -> ConsentRecord | None:
    """The newest record of the person's consent to the client's purpose (its current state)."""
    return db.session().scalar(_NEWEST, {"account_id": account_id, "client_pk": client.id,
                                         "purpose_id": purpose.id})


def _live(record: ConsentRecord | None, now: datetime) -> bool:
    return (record is not None and record.event in LIVE_EVENTS
            and (record.expires_at is None or record.expires_at > now))


def granted_claims(account: Account, client: OAuthClient, purpose: ClientPurpose) -> frozenset[str]:
    """What the client may receive of the person for the purpose now: the allow-list (statutory)
    or the allow-list ∩ the live consent; nothing without a live consent."""
    allowed = frozenset(client.allowed_claims)
    if purpose.legal_basis == "statutory":
        return allowed
    record = newest(account.id, client, purpose)
    return allowed & frozenset(record.claims) if record is not None and _live(record, utcnow()) else frozenset()


# --- the authorization request ------------------------------------------------------------------

def offer(account: Account, client: OAuthClient, purpose: ClientPurpose, asked: claimsrequest.Asked) -> Offer:
    """What the request (``claimsrequest.asked(...)``) would share, against the live consent."""
    shown = tuple(sorted(asked.names & frozenset(client.allowed_claims)))
    record = newest(account.id, client, purpose)
    return Offer(client, purpose, shown, frozenset(asked.essential) & frozenset(shown),
                 record if _live(record, utcnow()) else None, record)


def must_ask(account: Account, the_offer: Offer, *, prompt_consent: bool) -> bool:
    """Whether the person must see the consent page: never for a statutory purpose; always with
    ``prompt=consent``; otherwise unless the request stays inside the live consent (asked ⊆
    granted ∪ declined, essential ⊆ granted). A consent found expired gets its 'expired' record."""
    if the_offer.purpose.legal_basis == "statutory":
        return False
    if the_offer.previous is None:
        _expire_if_due(account, the_offer)
        return True
    if prompt_consent:
        return True
    granted, declined = set(the_offer.previous.claims), set(the_offer.previous.declined)
    return not (set(the_offer.shown) <= granted | declined and the_offer.essential <= granted)


def _expire_if_due(account: Account, the_offer: Offer) -> None:
    """The offer found no live consent: if its newest record is a grant whose time ran out, record
    that it expired (the record the offer read, not a second read)."""
    record = the_offer.newest
    if record is not None and record.event in LIVE_EVENTS:
        _append(account.id, the_offer.client, the_offer.purpose, "expired", [], [], record.level, None)


def give(account: Account, the_offer: Offer, *, ticked: Iterable[str], level: int) -> ConsentRecord | None:
    """Record the person's answer on the consent page (or, for a statutory purpose, what the law
    lets the client receive). Essential basic claims are given whatever the form says; the other
    claims shown are given when ticked. Claims granted earlier and not shown this time stay.

    :raises EssentialRefused: an essential claim (a sensitive one, which is not pre-ticked) was
        left unticked; nothing is recorded.
    """
    if the_offer.purpose.legal_basis == "statutory":
        return record_statutory(account, the_offer, level=level)
    _lock(account)
    shown = set(the_offer.shown)
    given = {name for name in the_offer.shown if the_offer.locked(name)} | (set(ticked) & shown)
    if not the_offer.essential <= given:
        raise EssentialRefused(sorted(the_offer.essential - given))
    previous = newest(account.id, the_offer.client, the_offer.purpose)  # after the lock: the newest
    if not _live(previous, utcnow()):
        previous = None
    kept = set(previous.claims) - shown if previous else set()
    granted = given | kept
    declined = (shown - given) | ((set(previous.declined) - shown - granted) if previous else set())
    event = "narrowed" if previous is not None and not set(previous.claims) <= granted else "granted"
    days = the_offer.purpose.consent_days
    return _append(account.id, the_offer.client, the_offer.purpose, event, sorted(granted), sorted(declined),
                   level, utcnow() + timedelta(days=days) if days else None)


def record_statutory(account: Account, the_offer: Offer, *, level: int) -> ConsentRecord | None:
    """A statutory purpose: no page, but a record of what the client may receive, when that is
    new (nothing live, or more asked than recorded); None when the live record covers it."""
    if the_offer.previous is not None and set(the_offer.shown) <= set(the_offer.previous.claims):
        return None
    _lock(account)
    granted = set(the_offer.shown) | (set(the_offer.previous.claims) if the_offer.previous else set())
    return _append(account.id, the_offer.client, the_offer.purpose, "granted", sorted(granted), [], level, None)


def _lock(account: Account) -> None:
    """Serialise the person's consent changes (two tabs granting at once): each record is then
    written knowing the one before it."""
    db.session().execute(select(Account.id).where(Account.id == account.id).with_for_update())


def _append(account_id: int, client: OAuthClient, purpose: ClientPurpose, event: str, granted: list[str],
            declined: list[str], level: int, expires_at: datetime | None) -> ConsentRecord:
    record = ConsentRecord(account_id=account_id, client_pk=client.id, purpose_id=purpose.id, event=event,
                           claims=granted, declined=declined, level=level, at=utcnow(), expires_at=expires_at)
    db.session().add(record)
    db.session().flush()
    data: dict[str, Any]
    if event == "withdrawn":
        action, data = AuditAction.OIDC_CONSENT_WITHDRAW, {"purpose": purpose.code}
    else:
        action, data = AuditAction.OIDC_CONSENT_GRANT, {"purpose": purpose.code, "claims": granted,
                                                        "declined": declined, "event": event}
    audit.record(action, actor=f"account:{account_id}" if event != "expired" else "system:consent",
                 subject_type="account", subject_id=account_id, data={"client": client.client_id, **data})
    return record


# --- releases -------------------------------------------------------------------------------------

def release(*, account: Account, client: OAuthClient, purpose_id: int | None, scope: str,
            claims_request: dict[str, Any] | None, target: Literal["userinfo", "id_token"],
            via: str, reader: str) -> dict[str, Any]:
    """The claims a token's client receives of the person at ``target`` (current registry values,
    only those granted), with the release's audit event (``reader``: who reads, ``client:…``):
    always at userinfo, elsewhere when a claim leaves."""
    purpose = purposes.purpose_of(client, purpose_id)
    request = claimsrequest.ClaimsRequest.from_json(claims_request)
    scopes = scope.split()
    granted = granted_claims(account, client, purpose) & claimsrequest.asked(scopes, request).names
    body = claimsrequest.release(account.citizen_id, scopes=scopes, request=request, granted=granted,
                                 target=target) if granted else {}
    # Every read at userinfo is on record, one of no claim too (the client read the person's ``sub``).
    if body or via == "userinfo":
        names = {name for name in body if name != "verified_claims"}
        names |= set((body.get("verified_claims") or {}).get("claims") or {})
        audit.record(AuditAction.OIDC_CLAIMS_RELEASE, actor=reader, subject_type="account", subject_id=account.id,
                     data={"claims": sorted(names), "purpose": purpose.code, "via": via,
                           "client": client.client_id})
    return body


# --- the person's pages ---------------------------------------------------------------------------

def _newest_records(account_id: int) -> list[tuple[ConsentRecord, OAuthClient, ClientPurpose]]:
    latest = (select(func.max(ConsentRecord.id)).where(ConsentRecord.account_id == account_id)
              .group_by(ConsentRecord.client_pk, ConsentRecord.purpose_id))
    rows = db.session().execute(
        select(ConsentRecord, OAuthClient, ClientPurpose)
        .join(OAuthClient, OAuthClient.id == ConsentRecord.client_pk)
        .join(ClientPurpose, ClientPurpose.id == ConsentRecord.purpose_id)
        .where(ConsentRecord.id.in_(latest)).order_by(ConsentRecord.id.desc()))
    return [(record, client, purpose) for record, client, purpose in rows]


def current_consents(account: Account) -> list[ConsentState]:
    """The person's live consents (statutory purposes included), newest first."""
    now = utcnow()
    return [ConsentState(client.client_id, client.name, purpose.code,
                         {"vi": purpose.description_vi, "en": purpose.description_en}, purpose.legal_basis,
                         tuple(name for name in record.claims if name in client.allowed_claims), record.at,
                         record.expires_at, record.level, purpose.retention_days)
            for record, client, purpose in _newest_records(account.id)
            if _live(record, now) and client.disabled_at is None]


def consent_history(account: Account) -> list[dict[str, Any]]:
    """Every consent record of the person, newest first (for the download of their data)."""
    rows = db.session().execute(
        select(ConsentRecord, OAuthClient.client_id, OAuthClient.name, ClientPurpose)
        .join(OAuthClient, OAuthClient.id == ConsentRecord.client_pk)
        .join(ClientPurpose, ClientPurpose.id == ConsentRecord.purpose_id)
        .where(ConsentRecord.account_id == account.id).order_by(ConsentRecord.id.desc()))
    return [{"at": record.at.isoformat(), "event": record.event, "client_id": client_id, "client_name": name,
             "purpose": purpose.code, "purpose_text": {"vi": purpose.description_vi, "en": purpose.description_en},
             "legal_basis": purpose.legal_basis, "claims": list(record.claims), "declined": list(record.declined),
             "level": record.level, "expires_at": record.expires_at.isoformat() if record.expires_at else None}
            for record, client_id, name, purpose in rows]


def withdraw(account: Account, client_id: str, purpose_code: str) -> int:
    """Withdraw the person's consent to a client's purpose: a 'withdrawn' record, and the tokens
    and unredeemed codes the client holds for the person stop at once (other clients' do not).
    Returns how many tokens were revoked.

    :raises NoConsent: no live consent to that client and purpose.
    :raises StatutoryPurpose: the purpose rests on a law; there is no consent to withdraw.
    """
    found = next(((record, client, purpose) for record, client, purpose in _newest_records(account.id)
                  if client.client_id == client_id and purpose.code == purpose_code and _live(record, utcnow())),
                 None)
    if found is None:
        raise NoConsent(f"no live consent to the client {client_id!r} for {purpose_code!r}")
    record, client, purpose = found
    if purpose.legal_basis == "statutory":
        raise StatutoryPurpose(f"the purpose {purpose_code!r} of {client_id!r} rests on a law, not on consent")
    _lock(account)
    _append(account.id, client, purpose, "withdrawn", [], [], record.level, None)
    return issuance.end_grant(account, client)


def end_consents_of_account(account_id: int) -> int:
    """End every live consent of a person (their account was disabled) with a 'withdrawn' record;
    how many ended."""
    now = utcnow()
    ended = 0
    for record, client, purpose in _newest_records(account_id):
        if _live(record, now):
            _append(account_id, client, purpose, "withdrawn", [], [], record.level, None)
            ended += 1
    return ended
