"""Temporary stand-in for the claims catalogue (removed when the catalogue lands)."""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from idsvc.oidc.claims import CLAIMS_SUPPORTED  # noqa: F401
from idsvc.oidc.claims import LEVEL_2_SCOPES  # noqa: F401
from idsvc.oidc.claims import MACHINE_SCOPES  # noqa: F401
from idsvc.oidc.claims import SCOPE_LABELS  # noqa: F401
from idsvc.oidc.claims import SCOPES  # noqa: F401
from idsvc.oidc.claims import STAFF_SCOPE  # noqa: F401
from idsvc.oidc.claims import TRUSTED_ONLY_SCOPES  # noqa: F401
from idsvc.oidc.claims import USER_SCOPES
from idsvc.oidc.claims import user_claims


@dataclass(frozen=True)
class Claim:
    name: str
    scope: str
    label: Any
    category: str
    trusted_only: bool = False


_LABELS = {"name": "Full name", "family_name": "Family name", "middle_name": "Middle name",
           "given_name": "Given name", "updated_at": "Last change of your record", "birthdate": "Date of birth",
           "gender": "Sex", "address": "Permanent residence", "vn_temporary_residence": "Temporary residence",
           "email": "E-mail address", "email_verified": "Whether the e-mail address was checked",
           "vn_id_card": "Identity card: issue date, place and expiry",
           "personal_id_number": "Personal ID number (12 digits)"}
CATALOGUE = {name: Claim(name, scope, _l(_LABELS.get(name, name)), "identifier" if scope == "id_number" else "basic",
                         scope == "id_number")
             for scope, names in USER_SCOPES.items() if scope != "openid" for name in names}


def claims_of_scopes(scopes: Iterable[str]) -> frozenset[str]:
    return frozenset(n for s in scopes if s != "openid" for n in USER_SCOPES.get(s, ()))


def is_sensitive(name: str) -> bool:
    claim = CATALOGUE.get(name)
    return claim is not None and claim.category == "sensitive"


def values(citizen_id: int, names: Collection[str]) -> dict[str, Any]:
    scopes = [s for s, ns in USER_SCOPES.items() if set(ns) & set(names)]
    return {k: v for k, v in user_claims(citizen_id, scopes).items() if k in names}


def display(citizen_id: int, names: Collection[str]) -> dict[str, str]:
    out = {}
    for k, v in values(citizen_id, names).items():
        out[k] = v.get("formatted") or ", ".join(str(x) for x in v.values() if x) if isinstance(v, dict) else str(v)
    return out
