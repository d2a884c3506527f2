"""A client's purposes (what it asks data for, on what legal basis, kept how long) and its claim
allow-list (what it may ever receive). Registered by the clients admin (CLI, admin API, seed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.oidc import claims
from idsvc.oidc.models import LEGAL_BASES
from idsvc.oidc.models import USERINFO_ALGORITHMS
from idsvc.oidc.models import ClientPurpose
from idsvc.oidc.models import OAuthClient

#: The purpose every client gets when it registers none.
DEFAULT_CODE = "login"
DEFAULT_TEXT = {"vi": "Đăng nhập vào dịch vụ và các thông tin dịch vụ cần",
                "en": "Logging in to the service, with the information it needs"}
_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
DESCRIPTION_MAX_LENGTH = 1000


class UnknownPurpose(NotFound):
    """The client registered no purpose of that code."""


@dataclass(frozen=True)
class PurposeSettings:
    """A purpose as the admin gives it (checked by :func:`check_purpose`)."""

    code: str
    description_vi: str
    description_en: str
    legal_basis: str = "consent"
    retention_days: int | None = None
    consent_days: int | None = None


def default_purpose(client_trusted: bool) -> PurposeSettings:
    """``login``: consent, or for a trusted (first-party) client the law that runs the service."""
    return PurposeSettings(DEFAULT_CODE, DEFAULT_TEXT["vi"], DEFAULT_TEXT["en"],
                           "statutory" if client_trusted else "consent")


def default_allowed_claims(scopes: Iterable[str]) -> list[str]:
    """The claims of the scopes, except the sensitive ones (which are allowed by name only)."""
    return sorted(name for name in claims.claims_of_scopes(scopes) if not claims.is_sensitive(name))


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={field: [message]})


def check_allowed_claims(names: Iterable[str], *, trusted: bool) -> list[str]:
    """The allow-list, sorted, each name once.

    :raises ValidationFailed: a name is not in the catalogue, or only a trusted client may have it.
    """
    allowed = sorted(set(names))
    unknown = [name for name in allowed if name not in claims.CATALOGUE]
    if unknown:
        raise _refused("allowed_claims", f"unknown claims: {' '.join(unknown)}")
    if not trusted:
        refused = [name for name in allowed if claims.CATALOGUE[name].trusted_only]
        if refused:
            raise _refused("allowed_claims", f"only a trusted (first-party) client may be allowed: {' '.join(refused)}")
    return allowed


def check_purpose(p: PurposeSettings) -> PurposeSettings:
    """:raises ValidationFailed: a field of the purpose is not allowed."""
    if not _CODE.fullmatch(p.code):
        raise _refused("purposes", "a purpose code is 1 to 64 lower-case letters, digits, '.', '_' or '-'")
    for text in (p.description_vi, p.description_en):
        if not text.strip() or len(text) > DESCRIPTION_MAX_LENGTH or not text.isprintable():
            raise _refused("purposes", f"a purpose's descriptions are 1 to {DESCRIPTION_MAX_LENGTH} printable "
                                       "characters, in Vietnamese and in English")
    if p.legal_basis not in LEGAL_BASES:
        raise _refused("purposes", f"the legal basis is one of {', '.join(LEGAL_BASES)}")
    for days in (p.retention_days, p.consent_days):
        if days is not None and not 1 <= days <= 36500:
            raise _refused("purposes", "retention and consent lengths are 1 to 36500 days")
    return PurposeSettings(p.code, p.description_vi.strip(), p.description_en.strip(), p.legal_basis,
                           p.retention_days, p.consent_days)


def add_purpose(client: OAuthClient, settings: PurposeSettings, *, actor: str) -> ClientPurpose:
    """Register a purpose for the client.

    :raises ValidationFailed: a field is not allowed, or the client has a purpose of that code.
    """
    p = check_purpose(settings)
    if any(existing.code == p.code for existing in purposes_of(client)):
        raise _refused("purposes", f"client {client.client_id!r} has a purpose {p.code!r} already")
    purpose = ClientPurpose(client_pk=client.id, code=p.code, description_vi=p.description_vi,
                            description_en=p.description_en, legal_basis=p.legal_basis,
                            retention_days=p.retention_days, consent_days=p.consent_days)
    db.session().add(purpose)
    db.session().flush()
    audit.record(AuditAction.OIDC_PURPOSE_ADD, actor=actor, subject_type="client", subject_id=client.client_id,
                 data={"purpose": p.code, "legal_basis": p.legal_basis, "retention_days": p.retention_days,
                       "consent_days": p.consent_days})
    return purpose


def purposes_of(client: OAuthClient) -> list[ClientPurpose]:
    """The client's purposes, first registered first."""
    return list(db.session().scalars(select(ClientPurpose).where(ClientPurpose.client_pk == client.id)
                                     .order_by(ClientPurpose.id)))


def resolve(client: OAuthClient, code: str | None) -> ClientPurpose:
    """The purpose an authorization request names (``purpose``), or without one the client's first.

    :raises UnknownPurpose: the client has no such purpose (or none at all).
    """
    query = select(ClientPurpose).where(ClientPurpose.client_pk == client.id)
    if code:
        if not _CODE.fullmatch(code):  # no such code is registered (and a NUL would not reach the database)
            raise UnknownPurpose(f"client {client.client_id!r} has no purpose {code[:64]!r}")
        query = query.where(ClientPurpose.code == code)
    purpose = db.session().scalar(query.order_by(ClientPurpose.id).limit(1))
    if purpose is None:
        raise UnknownPurpose(f"client {client.client_id!r} has no purpose {code!r}" if code
                             else f"client {client.client_id!r} has no purpose")
    return purpose


def purpose_of(client: OAuthClient, purpose_id: int | None) -> ClientPurpose:
    """The purpose a code or token was issued for (its client's first when it names none)."""
    if purpose_id is not None:
        purpose = db.session().get(ClientPurpose, purpose_id)
        if purpose is not None:
            return purpose
    return resolve(client, None)


def check_userinfo_alg(alg: str | None) -> str | None:
    if alg is not None and alg not in USERINFO_ALGORITHMS:
        raise _refused("userinfo_signed_response_alg",
                       f"userinfo is signed with {', '.join(USERINFO_ALGORITHMS)}, or not at all")
    return alg
