"""Scopes and the claims they release, read from the registry through its service.

``sub`` is pairwise (``subjects.pairwise_sub``); the 12-digit ID number is never the ``sub`` and
only leaves in the ``personal_id_number`` claim of the ``id_number`` scope, which only trusted
(first-party) clients may be allowed.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from idsvc.registry import service as registry

#: The scope of registry staff using the office API (``/api/v1/registry/persons``, ``…/proposals``).
STAFF_SCOPE = "registry.staff"

#: Scopes a person can release, with the claims each one adds.
USER_SCOPES: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "family_name", "middle_name", "given_name", "updated_at"),
    "birthdate": ("birthdate",),
    "gender": ("gender",),
    "address": ("address", "vn_temporary_residence"),
    "email": ("email", "email_verified"),
    "id_card": ("vn_id_card",),
    "id_number": ("personal_id_number",),
    # Registry staff at work (the office API): releases no claim; only a trusted (first-party)
    # client may be allowed it, only a level-2 login grants it, and the API still checks the
    # account's staff roles on every request (idsvc.office.authority).
    STAFF_SCOPE: (),
}
#: Scopes only a level-2 login (password and second factor) may be granted.
LEVEL_2_SCOPES = frozenset({STAFF_SCOPE})
#: Scopes only a trusted (first-party) client may be allowed: the ID number, and staff work.
TRUSTED_ONLY_SCOPES = ("id_number", STAFF_SCOPE)
#: Scopes of machine clients (client_credentials), for the services of later issues.
MACHINE_SCOPES = ("registry.verify", "eligibility.lookup", "clients.admin")
SCOPES = (*USER_SCOPES, *MACHINE_SCOPES)

#: Human descriptions for the consent screen (English msgids, translated on the page).
SCOPE_LABELS = {
    "openid": _l("An identifier for this app only"),
    "profile": _l("Full name"),
    "birthdate": _l("Date of birth"),
    "gender": _l("Sex"),
    "address": _l("Permanent residence"),
    "email": _l("E-mail address"),
    "id_card": _l("Identity card: issue date, place and expiry"),
    "id_number": _l("Personal ID number (12 digits)"),
}

CLAIMS_SUPPORTED = sorted({claim for claims in USER_SCOPES.values() for claim in claims}
                          | {"acr", "amr", "auth_time", "iss", "aud", "exp", "iat", "nonce", "at_hash", "sid"})


def _split_name(full_name: str) -> dict[str, str]:
    """Vietnamese order: family name first, given name last, middle names between."""
    words = full_name.split()
    parts = {"family_name": words[0], "given_name": words[-1]} if len(words) > 1 else {"given_name": full_name}
    if len(words) > 2:
        parts["middle_name"] = " ".join(words[1:-1])
    return parts


def user_claims(citizen_id: int, scopes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The claims the scopes release for a person (without ``sub``, which depends on the client)."""
    wanted = set(scopes)
    if not any(USER_SCOPES.get(scope) for scope in wanted if scope != "openid"):
        return {}
    person = registry.attributes(citizen_id)
    claims: dict[str, Any] = {}
    if "profile" in wanted:
        claims["name"] = person["full_name"]
        claims.update(_split_name(person["full_name"]))
        claims["updated_at"] = int(person["updated_at"].timestamp())
    if "birthdate" in wanted:
        birth = person["birth"]
        # OIDC allows YYYY-MM-DD or YYYY alone: a year-and-month date is released as its year.
        claims["birthdate"] = (f"{birth.year:04d}-{birth.month:02d}-{birth.day:02d}" if birth.day
                               else f"{birth.year:04d}")
    if "gender" in wanted:
        claims["gender"] = {"M": "male", "F": "female"}[person["sex"]]
    if "address" in wanted and person["residence"] is not None:
        _, commune, province = person["residence"]
        claims["address"] = {"formatted": f"{commune}, {province}", "locality": commune, "region": province,
                             "country": "VN"}
    if "address" in wanted:
        temporary = registry.temporary_residence(citizen_id)
        if temporary is not None:
            # Namespaced: OIDC has one address; a temporary residence (tạm trú) is Vietnamese law's second.
            _, commune, province, expires_on = temporary
            claims["vn_temporary_residence"] = {"formatted": f"{commune}, {province}", "locality": commune,
                                                "region": province, "country": "VN",
                                                "expires_on": expires_on.isoformat() if expires_on else None}
    if "email" in wanted and person["email"]:
        claims["email"] = person["email"]
        # The registry records the address as declared; nobody proved the person receives mail there.
        claims["email_verified"] = False
    if "id_card" in wanted and person["id_card"] is not None:
        issued_on, issued_by, expires_on = person["id_card"]
        claims["vn_id_card"] = {"issued_on": issued_on.isoformat(), "issued_by": issued_by,
                                "expires_on": expires_on.isoformat() if expires_on else None}
    if "id_number" in wanted:
        claims["personal_id_number"] = person["id_number"]
    return claims
