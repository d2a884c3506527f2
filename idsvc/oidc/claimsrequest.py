"""The ``claims`` authorization parameter (OpenID Connect Core 1.0 §5.5) with ``verified_claims``
(OpenID Identity Assurance 1.0), and the claims a release gives for it.

A relying party may ask, beyond its scopes, for single claims at the userinfo endpoint or in the ID
token, each ``essential`` or voluntary, with a ``value`` or ``values`` it expects and a ``purpose``
(3 to 300 characters) shown to the person. Inside ``verified_claims`` it asks for claims together
with how they were verified: here, always from the National Population Database, as of the
record's last applied change.

What is never released, whatever is asked: a claim outside the catalogue (unknown names are
ignored, as Core §5.5 says), a claim the person did not grant (``granted``), a claim whose value
does not match the ``value``/``values`` asked, and verified claims whose verification does not meet
the conditions asked (trust framework, ``max_age`` of the verification time, evidence type).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Literal

from idsvc.db import utcnow
from idsvc.oidc import claims

#: The trust framework of every verified claim: the registry itself.
TRUST_FRAMEWORK = "vn_national_population_database"
#: The one kind of evidence: the person's electronic record in the population register.
EVIDENCE_TYPE = "electronic_record"
RECORD_TYPE = "population_register"
REGISTER_NAME = "Cơ sở dữ liệu quốc gia về dân cư (National Population Database)"
REGISTER_COUNTRY = "VNM"
#: Longest ``claims`` parameter accepted (characters of JSON text).
MAX_LENGTH = 8192
PURPOSE_LENGTH = (3, 300)
#: Claims of the protocol a request may name besides the catalogue's (kept, never released here).
PROTOCOL_NAMES = frozenset({"sub", "acr", "auth_time"})
TARGETS = ("userinfo", "id_token")


class ClaimsRequestInvalid(ValueError):
    """The ``claims`` parameter is malformed; the message says what is wrong (for invalid_request)."""


@dataclass(frozen=True)
class Ask:
    """How one claim is asked for."""

    essential: bool = False
    value: Any = None
    values: tuple[Any, ...] | None = None
    purpose: str | None = None

    def matches(self, found: Any) -> bool:
        """Whether a registry value is one the request accepts (any, without value/values)."""
        return ((self.value is None or found == self.value)
                and (self.values is None or any(found == wanted for wanted in self.values)))

    def to_json(self) -> dict[str, Any] | None:
        member: dict[str, Any] = {}
        if self.essential:
            member["essential"] = True
        if self.value is not None:
            member["value"] = self.value
        if self.values is not None:
            member["values"] = list(self.values)
        if self.purpose is not None:
            member["purpose"] = self.purpose
        return member or None


@dataclass(frozen=True)
class Verification:
    """The conditions a request puts on the verification of its verified claims (None: any)."""

    trust_frameworks: tuple[str, ...] | None = None
    max_age: int | None = None
    evidence: tuple[str, ...] | None = None

    def met_by(self, verified_at: datetime, now: datetime) -> bool:
        return ((self.trust_frameworks is None or TRUST_FRAMEWORK in self.trust_frameworks)
                and (self.max_age is None or (now - verified_at).total_seconds() <= self.max_age)
                and (self.evidence is None or EVIDENCE_TYPE in self.evidence))

    def to_json(self) -> dict[str, Any]:
        member: dict[str, Any] = {"trust_framework": None if self.trust_frameworks is None
                                  else {"values": list(self.trust_frameworks)}}
        if self.max_age is not None:
            member["time"] = {"max_age": self.max_age}
        if self.evidence is not None:
            member["evidence"] = [{"type": {"value": kind}} for kind in self.evidence]
        return member


@dataclass(frozen=True)
class ClaimsRequest:
    """A parsed ``claims`` parameter: the claims asked per target, plain and verified."""

    userinfo: Mapping[str, Ask]
    id_token: Mapping[str, Ask]
    verified_userinfo: Mapping[str, Ask]
    verified_id_token: Mapping[str, Ask]
    #: Target ("userinfo", "id_token") -> the conditions on the verification of its verified claims.
    verification: Mapping[str, Verification] = field(default_factory=dict)

    def plain(self, target: str) -> Mapping[str, Ask]:
        return self.userinfo if target == "userinfo" else self.id_token

    def verified(self, target: str) -> Mapping[str, Ask]:
        return self.verified_userinfo if target == "userinfo" else self.verified_id_token

    def to_json(self) -> dict[str, Any] | None:
        """The request in the parameter's own form, normalised (what codes and tokens store); None
        when it asks nothing."""
        data: dict[str, Any] = {}
        for target in TARGETS:
            member: dict[str, Any] = {name: ask.to_json() for name, ask in sorted(self.plain(target).items())}
            verified = self.verified(target)
            if verified:
                member["verified_claims"] = {
                    "verification": self.verification.get(target, Verification()).to_json(),
                    "claims": {name: ask.to_json() for name, ask in sorted(verified.items())}}
            if member:
                data[target] = member
        return data or None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ClaimsRequest:
        """The request :meth:`to_json` stored (or any claims parameter already decoded)."""
        return EMPTY if not data else _request(data)


EMPTY = ClaimsRequest(userinfo={}, id_token={}, verified_userinfo={}, verified_id_token={})


def parse(raw: str | None) -> ClaimsRequest:
    """The ``claims`` authorization parameter (JSON text); an absent or empty one asks nothing.

    :raises ClaimsRequestInvalid: not JSON, too long, or a member of the wrong type or length.
    """
    if raw is None or not raw.strip():
        return EMPTY
    if len(raw) > MAX_LENGTH:
        raise ClaimsRequestInvalid(f"claims: longer than {MAX_LENGTH} characters")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ClaimsRequestInvalid("claims: nested too deeply") from None
    except ValueError as exc:
        raise ClaimsRequestInvalid(f"claims: not valid JSON ({exc})") from None
    return _request(data)


def _no_constant(name: str) -> Any:
    """``NaN`` and ``Infinity``, which Python's JSON reader takes but JSON does not have."""
    raise ValueError(f"{name} is not a JSON value")


def _request(data: Any) -> ClaimsRequest:
    if not isinstance(data, dict):
        raise ClaimsRequestInvalid("claims: must be a JSON object with userinfo and/or id_token members")
    asked: dict[str, dict[str, Ask]] = {}
    verified: dict[str, dict[str, Ask]] = {}
    conditions: dict[str, Verification] = {}
    # Other top-level members are ignored, as Core §5.5 requires of members not understood.
    for target in TARGETS:
        member = data.get(target)
        if member is None:
            continue
        if not isinstance(member, dict):
            raise ClaimsRequestInvalid(f"claims.{target}: must be a JSON object of claim names")
        asked[target] = {name: _ask(value, f"claims.{target}.{name}") for name, value in member.items()
                         if name in claims.CATALOGUE or name in PROTOCOL_NAMES}
        if "verified_claims" in member:
            verified[target], conditions[target] = _verified(member["verified_claims"],
                                                             f"claims.{target}.verified_claims")
    return ClaimsRequest(userinfo=asked.get("userinfo", {}), id_token=asked.get("id_token", {}),
                         verified_userinfo=verified.get("userinfo", {}),
                         verified_id_token=verified.get("id_token", {}),
                         verification={target: found for target, found in conditions.items() if verified[target]})


def _ask(value: Any, where: str) -> Ask:
    """One claim's request: null, or an object of essential, value, values and purpose (other
    members are ignored, as Core §5.5.1 requires)."""
    if value is None:
        return Ask()
    if not isinstance(value, dict):
        raise ClaimsRequestInvalid(f"{where}: must be null or a JSON object")
    essential = value.get("essential", False)
    if not isinstance(essential, bool):
        raise ClaimsRequestInvalid(f"{where}.essential: must be true or false")
    values = value.get("values")
    if values is not None and (not isinstance(values, list) or not values):
        raise ClaimsRequestInvalid(f"{where}.values: must be a non-empty JSON array")
    purpose = value.get("purpose")
    if purpose is not None and (not isinstance(purpose, str)
                                or not PURPOSE_LENGTH[0] <= len(purpose) <= PURPOSE_LENGTH[1]):
        raise ClaimsRequestInvalid(f"{where}.purpose: must be a text of {PURPOSE_LENGTH[0]} to "
                                   f"{PURPOSE_LENGTH[1]} characters")
    return Ask(essential=essential, value=value.get("value"), values=tuple(values) if values is not None else None,
               purpose=purpose)


def _verified(value: Any, where: str) -> tuple[dict[str, Ask], Verification]:
    """``verified_claims``: one request object or a non-empty array of them. The claims of every
    entry are asked; the conditions of every entry must all be met (stricter, never looser)."""
    entries = value if isinstance(value, list) else [value]
    if not entries:
        raise ClaimsRequestInvalid(f"{where}: must be a JSON object or a non-empty array of them")
    asked: dict[str, Ask] = {}
    frameworks: set[str] | None = None
    evidence: set[str] | None = None
    ages: list[int] = []
    for index, entry in enumerate(entries):
        here = f"{where}[{index}]" if isinstance(value, list) else where
        if not isinstance(entry, dict):
            raise ClaimsRequestInvalid(f"{here}: must be a JSON object with verification and claims")
        unknown = sorted(set(entry) - {"verification", "claims"})
        if unknown:
            raise ClaimsRequestInvalid(f"{here}: unknown member {', '.join(unknown)} (only verification and claims)")
        wanted = entry.get("claims")
        if not isinstance(wanted, dict) or not wanted:
            raise ClaimsRequestInvalid(f"{here}.claims: must be a JSON object naming at least one claim")
        condition = _verification(entry.get("verification"), f"{here}.verification")
        for name, ask in wanted.items():
            if name in claims.CATALOGUE:
                asked[name] = _ask(ask, f"{here}.claims.{name}")
        if condition.trust_frameworks is not None:
            frameworks = set(condition.trust_frameworks) & frameworks if frameworks is not None \
                else set(condition.trust_frameworks)
        if condition.evidence is not None:
            evidence = set(condition.evidence) & evidence if evidence is not None else set(condition.evidence)
        if condition.max_age is not None:
            ages.append(condition.max_age)
    return asked, Verification(trust_frameworks=None if frameworks is None else tuple(sorted(frameworks)),
                               max_age=min(ages) if ages else None,
                               evidence=None if evidence is None else tuple(sorted(evidence)))


def _strings(value: Any, where: str) -> tuple[str, ...] | None:
    """A constrainable element (null, or an object with value or values of text) as its values."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ClaimsRequestInvalid(f"{where}: must be null or a JSON object")
    if "value" in value and not isinstance(value["value"], str):
        raise ClaimsRequestInvalid(f"{where}.value: must be a text")
    values = value.get("values")
    if values is not None and (not isinstance(values, list) or not values
                               or not all(isinstance(v, str) for v in values)):
        raise ClaimsRequestInvalid(f"{where}.values: must be a non-empty JSON array of texts")
    found = ([value["value"]] if "value" in value else []) + (values or [])
    return tuple(found) if found else None


def _verification(value: Any, where: str) -> Verification:
    """The verification element of a request: conditions on trust framework, time and evidence
    (other members are accepted and not used)."""
    if not isinstance(value, dict):
        raise ClaimsRequestInvalid(f"{where}: must be a JSON object (e.g. {{\"trust_framework\": null}})")
    frameworks = _strings(value.get("trust_framework"), f"{where}.trust_framework")
    time = value.get("time")
    max_age = None
    if time is not None:
        if not isinstance(time, dict):
            raise ClaimsRequestInvalid(f"{where}.time: must be null or a JSON object")
        max_age = time.get("max_age")
        if max_age is not None and (type(max_age) is not int or max_age < 0):
            raise ClaimsRequestInvalid(f"{where}.time.max_age: must be a whole number of seconds, 0 or more")
    evidence = value.get("evidence")
    kinds: list[str] | None = None
    if evidence is not None:
        if not isinstance(evidence, list) or not evidence:
            raise ClaimsRequestInvalid(f"{where}.evidence: must be a non-empty JSON array")
        kinds = []
        for index, item in enumerate(evidence):
            if not isinstance(item, dict) or "type" not in item:
                raise ClaimsRequestInvalid(f"{where}.evidence[{index}]: must be a JSON object with a type")
            found = _strings(item["type"], f"{where}.evidence[{index}].type")
            if found is None:  # any type will do
                kinds = None
                break
            kinds.extend(found)
    return Verification(trust_frameworks=frameworks, max_age=max_age,
                        evidence=tuple(sorted(set(kinds))) if kinds is not None else None)


# -- what is asked, what is released ---------------------------------------------------------------

@dataclass(frozen=True)
class Asked:
    """The catalogue claims a request asks for, by its scopes and its ``claims`` parameter."""

    #: Every catalogue claim asked (scopes + claims parameter + verified); unknown names dropped.
    names: frozenset[str]
    #: Those asked with essential=true.
    essential: frozenset[str]
    #: Claim -> the per-claim purpose text of the request.
    purposes: Mapping[str, str]


def asked(scopes: Iterable[str], request: ClaimsRequest) -> Asked:
    names = set(claims.claims_of_scopes(scopes))
    essential: set[str] = set()
    purposes: dict[str, str] = {}
    for member in (request.userinfo, request.id_token, request.verified_userinfo, request.verified_id_token):
        for name, ask in member.items():
            if name not in claims.CATALOGUE:
                continue
            names.add(name)
            if ask.essential:
                essential.add(name)
            if ask.purpose is not None:
                purposes.setdefault(name, ask.purpose)
    return Asked(names=frozenset(names), essential=frozenset(essential), purposes=purposes)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def verification(verified_at: datetime) -> dict[str, Any]:
    """The ``verification`` element of released verified claims."""
    when = _time(verified_at)
    return {"trust_framework": TRUST_FRAMEWORK, "time": when,
            "evidence": [{"type": EVIDENCE_TYPE, "record": {
                "type": RECORD_TYPE, "source": {"name": REGISTER_NAME, "country_code": REGISTER_COUNTRY}},
                "time": when}]}


def release(citizen_id: int, *, scopes: Iterable[str], request: ClaimsRequest, granted: Collection[str],
            target: Literal["userinfo", "id_token"]) -> dict[str, Any]:
    """The claims for ``target`` with their current registry values (no ``sub``).

    userinfo: the scopes' claims and those the request asks for userinfo; id_token: those the
    request asks for the ID token (the scopes' claims go to userinfo). Only names in ``granted``;
    a claim asked with value/values only when the registry value matches; the verified ones under
    ``verified_claims`` with their verification, when the request's conditions on it are met.
    """
    if target not in TARGETS:
        raise ValueError(f"target is one of {', '.join(TARGETS)}")
    plain: dict[str, Ask] = {name: Ask() for name in claims.claims_of_scopes(scopes)} if target == "userinfo" else {}
    plain.update(request.plain(target))
    plain = {name: ask for name, ask in plain.items() if name in claims.CATALOGUE and name in granted}
    verified = {name: ask for name, ask in request.verified(target).items()
                if name in claims.CATALOGUE and name in granted}
    record = claims.read_record(citizen_id, {*plain, *verified})
    if record is None:
        return {}
    found = claims.record_values(record, {*plain, *verified})
    released = {name: found[name] for name, ask in plain.items() if name in found and ask.matches(found[name])}
    conditions = request.verification.get(target, Verification())
    if verified and conditions.met_by(record["last_change"], utcnow()):
        proven = {name: found[name] for name, ask in verified.items() if name in found and ask.matches(found[name])}
        if proven:
            released["verified_claims"] = {"verification": verification(record["last_change"]), "claims": proven}
    return released
