"""Temporary stand-in for the claims request parser (removed when it lands)."""

from __future__ import annotations

import json
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from idsvc.oidc import shim_claims as claims


class ClaimsRequestInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Ask:
    essential: bool = False
    value: Any = None
    values: tuple[Any, ...] | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class ClaimsRequest:
    userinfo: Mapping[str, Ask] = field(default_factory=dict)
    id_token: Mapping[str, Ask] = field(default_factory=dict)
    verified_userinfo: Mapping[str, Ask] = field(default_factory=dict)
    verified_id_token: Mapping[str, Ask] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any] | None:
        out = {k: {n: {"essential": a.essential} for n, a in getattr(self, k).items()}
               for k in ("userinfo", "id_token") if getattr(self, k)}
        return out or None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ClaimsRequest:
        data = data or {}
        return cls(**{k: {n: Ask(bool((a or {}).get("essential"))) for n, a in data.get(k, {}).items()}
                      for k in ("userinfo", "id_token")})


EMPTY = ClaimsRequest()


def parse(raw: str | None) -> ClaimsRequest:
    if not raw:
        return EMPTY
    try:
        data = json.loads(raw)
    except ValueError:
        raise ClaimsRequestInvalid("claims is not JSON") from None
    if not isinstance(data, dict) or any(not isinstance(v, dict) for v in data.values()):
        raise ClaimsRequestInvalid("claims is a JSON object of userinfo and id_token")
    return ClaimsRequest.from_json(data)


@dataclass(frozen=True)
class Asked:
    names: frozenset[str]
    essential: frozenset[str]
    purposes: Mapping[str, str]


def asked(scopes: Iterable[str], request: ClaimsRequest) -> Asked:
    names = set(claims.claims_of_scopes(scopes)) | set(request.userinfo) | set(request.id_token)
    names &= set(claims.CATALOGUE)
    essential = {n for part in (request.userinfo, request.id_token) for n, a in part.items() if a.essential}
    return Asked(frozenset(names), frozenset(essential & names), {})


def release(citizen_id: int, *, scopes: Iterable[str], request: ClaimsRequest, granted: Collection[str],
            target: Literal["userinfo", "id_token"]) -> dict[str, Any]:
    if target == "userinfo":
        names = set(claims.claims_of_scopes(scopes)) | set(request.userinfo)
    else:
        names = set(request.id_token)
    return claims.values(citizen_id, names & set(granted))
