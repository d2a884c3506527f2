"""The claims catalogue: every registry attribute a person can share, its scope, its category and
its value, read from the registry through its service.

Standard OpenID Connect claims where they exist (OpenID Connect Core §5.1; ``nationalities`` and
``place_of_birth`` from OpenID Identity Assurance), ``vn_``-namespaced claims for the rest. A scope
groups claims; a *sensitive* claim (Decree 13/2023 Art. 2: ethnic origin, religion) sits alone in a
scope of its own, so no broad scope ever carries it and it always needs its own tick: the module
refuses to load a catalogue that breaks the rule (:func:`scopes_of`).

``sub`` is pairwise (``subjects.pairwise_sub``) and no catalogue claim; the 12-digit ID number is
never the ``sub`` and only leaves in the ``personal_id_number`` claim of the ``id_number`` scope,
which only trusted (first-party) clients may be allowed. A relative's ID number never leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

from flask import has_request_context
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from idsvc import i18n
from idsvc.registry import countries
from idsvc.registry import dates
from idsvc.registry import reference
from idsvc.registry import service as registry
from idsvc.registry import units

BASIC, SENSITIVE, IDENTIFIER = "basic", "sensitive", "identifier"
CATEGORIES = (BASIC, SENSITIVE, IDENTIFIER)


@dataclass(frozen=True)
class Claim:
    """One shareable claim."""

    name: str
    #: The one scope that carries it.
    scope: str
    #: Plain words for the person (an English msgid, translated on the page).
    label: LazyString
    #: "basic", "sensitive" (Decree 13/2023 Art. 2) or "identifier".
    category: str
    #: Only trusted (first-party) clients may be allowed it.
    trusted_only: bool = False


class CatalogueError(ValueError):
    """The catalogue breaks one of its rules (raised at import)."""


#: The scope of registry staff using the office API (``/api/v1/registry/persons``, ``…/proposals``).
STAFF_SCOPE = "registry.staff"

_CLAIMS = (
    Claim("name", "profile", _l("Full name"), BASIC),
    Claim("family_name", "profile", _l("Family name"), BASIC),
    Claim("middle_name", "profile", _l("Middle name"), BASIC),
    Claim("given_name", "profile", _l("Given name"), BASIC),
    Claim("updated_at", "profile", _l("When your record last changed"), BASIC),
    Claim("birthdate", "birthdate", _l("Date of birth"), BASIC),
    Claim("gender", "gender", _l("Sex"), BASIC),
    Claim("address", "address", _l("Permanent residence"), BASIC),
    Claim("vn_temporary_residence", "address", _l("Temporary residence"), BASIC),
    Claim("email", "email", _l("E-mail address"), BASIC),
    Claim("email_verified", "email", _l("Whether the e-mail address was checked"), BASIC),
    Claim("vn_id_card", "id_card", _l("Identity card: issue date, place and expiry"), BASIC),
    Claim("personal_id_number", "id_number", _l("Personal ID number (12 digits)"), IDENTIFIER, trusted_only=True),
    Claim("vn_other_names", "vn_other_names", _l("Other names"), BASIC),
    Claim("place_of_birth", "vn_origin", _l("Place of birth"), BASIC),
    Claim("vn_birth_registration_place", "vn_origin", _l("Where your birth was registered"), BASIC),
    Claim("vn_hometown", "vn_origin", _l("Hometown"), BASIC),
    Claim("nationalities", "vn_nationality", _l("Nationality"), BASIC),
    Claim("vn_current_residence", "vn_current_residence", _l("Where you live now"), BASIC),
    Claim("vn_household", "vn_household", _l("Household number and your relationship to its head"), BASIC),
    Claim("vn_relatives", "vn_relatives", _l("Relatives: relationship, name and year of birth"), BASIC),
    Claim("vn_marital_status", "vn_civil_status", _l("Marital status"), BASIC),
    Claim("vn_life_status", "vn_civil_status", _l("Alive, deceased or missing"), BASIC),
    Claim("vn_ethnicity", "vn_ethnicity", _l("Ethnicity"), SENSITIVE),
    Claim("vn_religion", "vn_religion", _l("Religion"), SENSITIVE),
)

#: Every shareable claim, by name.
CATALOGUE: dict[str, Claim] = {claim.name: claim for claim in _CLAIMS}


def scopes_of(catalogue: Mapping[str, Claim]) -> dict[str, tuple[str, ...]]:
    """Scope -> the claims it carries, in catalogue order.

    :raises CatalogueError: a sensitive claim shares its scope with another claim, a claim is
        filed under another name, or a claim has an unknown category.
    """
    scopes: dict[str, tuple[str, ...]] = {}
    for name, claim in catalogue.items():
        if name != claim.name:
            raise CatalogueError(f"claim {claim.name} is filed under {name}")
        if claim.category not in CATEGORIES:
            raise CatalogueError(f"claim {name}: category {claim.category!r} is not one of {', '.join(CATEGORIES)}")
        scopes[claim.scope] = (*scopes.get(claim.scope, ()), name)
    for scope, names in scopes.items():
        sensitive = [name for name in names if catalogue[name].category == SENSITIVE]
        if sensitive and len(names) > 1:
            raise CatalogueError(f"scope {scope} mixes the sensitive claim {', '.join(sensitive)} with others "
                                 f"({', '.join(n for n in names if n not in sensitive)}): a sensitive claim "
                                 "has a scope of its own")
    return scopes


#: Scopes a person can release, with the claims each one adds (``openid`` names ``sub``, which is
#: no catalogue claim: :func:`claims_of_scopes` leaves it out).
USER_SCOPES: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    **scopes_of(CATALOGUE),
    # Registry staff at work (the office API): releases no claim; only a trusted (first-party)
    # client may be allowed it, only a level-2 login grants it, and the API still checks the
    # account's staff roles on every request (idsvc.office.authority).
    STAFF_SCOPE: (),
}
#: Scopes only a level-2 login (password and second factor) may be granted.
LEVEL_2_SCOPES = frozenset({STAFF_SCOPE})
#: Scopes only a trusted (first-party) client may be allowed: the ID number, and staff work.
TRUSTED_ONLY_SCOPES = (*dict.fromkeys(c.scope for c in _CLAIMS if c.trusted_only), STAFF_SCOPE)
#: Scopes of machine clients (client_credentials), for the services of later issues.
MACHINE_SCOPES = ("registry.verify", "eligibility.lookup", "clients.admin")
SCOPES = (*USER_SCOPES, *MACHINE_SCOPES)

#: Human descriptions of the scopes (English msgids, translated on the page).
SCOPE_LABELS = {
    "openid": _l("An identifier for this app only"),
    "profile": _l("Full name"),
    "birthdate": _l("Date of birth"),
    "gender": _l("Sex"),
    "address": _l("Permanent residence"),
    "email": _l("E-mail address"),
    "id_card": _l("Identity card: issue date, place and expiry"),
    "id_number": _l("Personal ID number (12 digits)"),
    "vn_other_names": _l("Other names"),
    "vn_origin": _l("Place of birth, birth registration and hometown"),
    "vn_nationality": _l("Nationality"),
    "vn_current_residence": _l("Where you live now"),
    "vn_household": _l("Household number and your relationship to its head"),
    "vn_relatives": _l("Relatives: relationship, name and year of birth"),
    "vn_civil_status": _l("Marital status, and whether you are alive"),
    "vn_ethnicity": _l("Ethnicity"),
    "vn_religion": _l("Religion"),
}

#: Claims of the protocol the service puts in ID tokens (no person's attribute).
PROTOCOL_CLAIMS = ("sub", "acr", "amr", "auth_time", "iss", "aud", "exp", "iat", "nonce", "at_hash", "sid")
CLAIMS_SUPPORTED = sorted({*CATALOGUE, *PROTOCOL_CLAIMS, "verified_claims"})


def claims_of_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The catalogue claims the scopes carry (unknown scopes carry none; ``sub`` is left out)."""
    return frozenset(name for scope in scopes for name in USER_SCOPES.get(scope, ()) if name in CATALOGUE)


def is_sensitive(name: str) -> bool:
    claim = CATALOGUE.get(name)
    return claim is not None and claim.category == SENSITIVE


# -- values --------------------------------------------------------------------------------------

def _split_name(full_name: str) -> dict[str, str]:
    """Vietnamese order: family name first, given name last, middle names between."""
    words = full_name.split()
    parts = {"family_name": words[0], "given_name": words[-1]} if len(words) > 1 else {"given_name": full_name}
    if len(words) > 2:
        parts["middle_name"] = " ".join(words[1:-1])
    return parts


def _address(place: tuple[str, ...] | None) -> dict[str, Any] | None:
    if place is None:
        return None
    commune, province = place[1], place[2]
    return {"formatted": f"{commune}, {province}", "locality": commune, "region": province, "country": "VN"}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _birthdate(record: Mapping[str, Any]) -> str:
    birth = record["birth"]
    # OIDC allows YYYY-MM-DD or YYYY alone: a year-and-month date is released as its year.
    return f"{birth.year:04d}-{birth.month:02d}-{birth.day:02d}" if birth.day else f"{birth.year:04d}"


def _temporary(record: Mapping[str, Any]) -> dict[str, Any] | None:
    # Namespaced: OIDC has one address; a temporary residence (tạm trú) is Vietnamese law's second.
    temporary = record["temporary_residence"]
    if temporary is None:
        return None
    _, commune, province, street, expires_on = temporary
    return {"formatted": f"{commune}, {province}", "locality": commune, "region": province, "country": "VN",
            "street_address": street, "expires_on": _iso(expires_on)}


def _id_card(record: Mapping[str, Any]) -> dict[str, Any] | None:
    if record["id_card"] is None:
        return None
    issued_on, issued_by, expires_on = record["id_card"]
    return {"issued_on": issued_on.isoformat(), "issued_by": issued_by, "expires_on": _iso(expires_on)}


def _registration_place(record: Mapping[str, Any]) -> dict[str, str]:
    """Where the birth was registered: a pre-2025 province (the ID number's prefix) or a country."""
    code = record["birth_registration_code"]
    legacy = units.LEGACY_PROVINCES.get(code)
    if legacy is not None:
        return {"code": code, "name": legacy[0], "country": "VN"}
    abroad = countries.ABROAD.get(code)
    return {"code": code, "name": abroad[0], "country": abroad[2]} if abroad else {"code": code, "name": code}


def _household(record: Mapping[str, Any]) -> dict[str, Any] | None:
    if record["household"] is None:
        return None
    number, relationship = record["household"]
    return {"number": number, "relationship_to_head": relationship}


def _relatives(record: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    links = [{"relationship": kind, "name": name, "birth_year": year} for kind, name, year in record["relatives"]]
    return links or None


def _text(key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda record: record[key] or None


#: How each claim's value is made from the registry record (``registry.shareable_record``).
_VALUES: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "name": _text("full_name"),
    "family_name": lambda r: _split_name(r["full_name"]).get("family_name"),
    "middle_name": lambda r: _split_name(r["full_name"]).get("middle_name"),
    "given_name": lambda r: _split_name(r["full_name"]).get("given_name"),
    "updated_at": lambda r: int(r["updated_at"].timestamp()),
    "birthdate": _birthdate,
    "gender": lambda r: {"M": "male", "F": "female"}[r["sex"]],
    "address": lambda r: _address(r["residence"]),
    "vn_temporary_residence": _temporary,
    "email": _text("email"),
    # The registry records the address as declared; nobody proved the person receives mail there.
    "email_verified": lambda r: False if r["email"] else None,
    "vn_id_card": _id_card,
    "personal_id_number": _text("id_number"),
    "vn_other_names": _text("other_names"),
    "place_of_birth": lambda r: {"locality": r["place_of_birth"]} if r["place_of_birth"] else None,
    "vn_birth_registration_place": _registration_place,
    "vn_hometown": _text("hometown"),
    "nationalities": lambda r: [r["nationality"]] if r["nationality"] else None,
    "vn_current_residence": lambda r: _address(r["current_residence"]),
    "vn_household": _household,
    "vn_relatives": _relatives,
    "vn_marital_status": _text("marital_status"),
    "vn_life_status": _text("status"),
    "vn_ethnicity": _text("ethnicity"),
    "vn_religion": _text("religion"),
}
assert set(_VALUES) == set(CATALOGUE), "every catalogue claim has its value"


def record_values(record: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """The values of those claims the record holds, from a record read already."""
    found = {}
    for name in CATALOGUE:
        if name in names:
            value = _VALUES[name](record)
            if value is not None:
                found[name] = value
    return found


def read_record(citizen_id: int, names: Collection[str]) -> dict[str, Any] | None:
    """The registry record the claims are made from (one round trip; two with relatives); None when
    no catalogue claim is named."""
    if not any(name in CATALOGUE for name in names):
        return None
    return registry.shareable_record(citizen_id, relatives="vn_relatives" in names)


def values(citizen_id: int, names: Collection[str]) -> dict[str, Any]:
    """The current registry values of those claims the person has (absent values are left out);
    no ``sub``."""
    record = read_record(citizen_id, names)
    return {} if record is None else record_values(record, names)


def user_claims(citizen_id: int, scopes: Iterable[str]) -> dict[str, Any]:
    """The claims the scopes release for a person (without ``sub``, which depends on the client)."""
    return values(citizen_id, claims_of_scopes(scopes))


# -- display -------------------------------------------------------------------------------------

def _vietnamese() -> bool:
    """The page's language (Vietnamese outside a request)."""
    return not has_request_context() or i18n.current() == "vi"


def _word(labels: Mapping[str, tuple[str, str]], key: str | None) -> str:
    """A registry code in the page's language (the registry's own vi/en labels)."""
    pair = labels.get(key or "")
    return key or "" if pair is None else pair[0 if _vietnamese() else 1]


def _day(day: date | str) -> str:
    value = day if isinstance(day, date) else date.fromisoformat(day)
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def _birth_text(value: str) -> str:
    return _day(value) if len(value) == 10 else value


def _place_text(value: Mapping[str, Any]) -> str:
    street = value.get("street_address")
    return f"{street}, {value['formatted']}" if street else str(value["formatted"])


def _relatives_text(value: list[dict[str, Any]]) -> str:
    return "; ".join(f"{_word(reference.RELATIVE_KINDS, r['relationship'])}: {r['name'] or '—'}"
                     + (f" ({r['birth_year']})" if r["birth_year"] else "") for r in value)


def _household_text(value: Mapping[str, Any]) -> str:
    relationship = value["relationship_to_head"]
    return f"{value['number']} ({_word(reference.RELATIONSHIPS, relationship)})" if relationship else value["number"]


def _card_text(value: Mapping[str, Any]) -> str:
    expiry = _day(value["expires_on"]) if value["expires_on"] else str(_l("no expiry"))
    return f"{_day(value['issued_on'])}, {value['issued_by']}, {expiry}"


_DISPLAY: dict[str, Callable[[Any], str]] = {
    "updated_at": lambda v: datetime.fromtimestamp(v, dates.VIETNAM_TIME).strftime("%d/%m/%Y %H:%M"),
    "birthdate": _birth_text,
    "gender": lambda v: _word({"male": reference.SEXES["M"], "female": reference.SEXES["F"]}, v),
    "address": _place_text,
    "vn_temporary_residence": _place_text,
    "vn_current_residence": _place_text,
    "email_verified": lambda v: str(_l("Yes") if v else _l("No")),
    "vn_id_card": _card_text,
    "place_of_birth": lambda v: v["locality"],
    "vn_birth_registration_place": lambda v: _word({c: (vi, en) for c, (vi, en, _) in countries.ABROAD.items()},
                                                   v["code"]) if v["code"] in countries.ABROAD else v["name"],
    "nationalities": lambda v: ", ".join(_word(countries.NATIONALITIES, code) for code in v),
    "vn_household": _household_text,
    "vn_relatives": _relatives_text,
    "vn_marital_status": lambda v: _word(reference.MARITAL_STATUSES, v),
    "vn_life_status": lambda v: _word(reference.STATUSES, v),
}


def display_values(found: Mapping[str, Any]) -> dict[str, str]:
    """Claim values (as :func:`values` gives them) as short text for people."""
    return {name: _DISPLAY.get(name, str)(value) for name, value in found.items()}


def display(citizen_id: int, names: Collection[str]) -> dict[str, str]:
    """The values :func:`values` gives, as short text for the consent page ("15/01/1970",
    "Phường X, Hà Nội"), in the page's language; absent values are left out."""
    return display_values(values(citizen_id, names))
