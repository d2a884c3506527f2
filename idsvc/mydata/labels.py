"""Plain words for what the pages show: kinds of entry, claims, record fields, verdicts, roles."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from idsvc.oidc import claims

KINDS: dict[str, Any] = {
    "login": _l("Logins"),
    "release": _l("Information shared with agencies"),
    "check": _l("Checks and verifications"),
    "read": _l("Reads of your record"),
    "change": _l("Changes to your record"),
    "consent": _l("Consents given or withdrawn"),
}

#: Claims by name, until the catalogue gives each its label.
_CLAIMS: dict[str, Any] = {
    "name": _l("Full name"), "family_name": _l("Family name"), "middle_name": _l("Middle name"),
    "given_name": _l("Given name"), "updated_at": _l("When your record last changed"),
    "birthdate": _l("Date of birth"), "gender": _l("Sex"), "address": _l("Permanent residence"),
    "vn_temporary_residence": _l("Temporary residence"), "email": _l("E-mail address"),
    "email_verified": _l("Whether the e-mail address is verified"),
    "vn_id_card": _l("Identity card: issue date, place and expiry"),
    "personal_id_number": _l("Personal ID number (12 digits)"),
}

FIELDS: dict[str, Any] = {
    "id_number": _l("Personal ID number"), "full_name": _l("Full name"), "other_names": _l("Other names"),
    "date_of_birth": _l("Date of birth"), "birth_year": _l("Date of birth"), "birth_month": _l("Date of birth"),
    "birth_day": _l("Date of birth"), "sex": _l("Sex"), "place_of_birth": _l("Place of birth"),
    "birth_registration_code": _l("Place of birth registration"), "hometown": _l("Hometown"),
    "ethnicity": _l("Ethnicity"), "religion": _l("Religion"), "nationality": _l("Nationality"),
    "blood_type": _l("Blood type"), "marital_status": _l("Marital status"),
    "permanent_commune_code": _l("Permanent residence"), "current_commune_code": _l("Current residence"),
    "household_id": _l("Household"), "relationship_to_head": _l("Relationship to the head of household"),
    "phone": _l("Phone number"), "email": _l("E-mail address"), "status": _l("Life status"),
    "date_of_death": _l("Date of death"), "id_card_issued_on": _l("Identity card"),
    "id_card_issued_by": _l("Identity card"), "id_card_expires_on": _l("Identity card"),
    "residence_file_number": _l("Residence file number"), "relatives": _l("Relatives"),
    "temporary_residence": _l("Temporary residence"), "absence": _l("Temporary absence"),
    "merged_into_id": _l("Merged records"), "permanent_commune": _l("Permanent residence"),
}

SOURCES: dict[str, Any] = {
    "birth_registration": _l("birth registration"), "death_registration": _l("death registration"),
    "clerk_correction": _l("correction by a registry office"), "citizen_request": _l("your request"),
    "civil_status_sync": _l("civil status records"), "residence_sync": _l("residence records"),
    "number_reissue": _l("new ID number"), "residence_registration": _l("residence registration"),
    "civil_status_registration": _l("civil status registration"), "id_card_issue": _l("identity card issue"),
    "court_decision": _l("court decision"), "record_merge": _l("merge of duplicate records"),
}

VERDICTS: dict[str, Any] = {
    "ELIGIBLE": _l("eligible"), "NOT_ELIGIBLE": _l("not eligible"), "REVIEW": _l("sent for review"),
    "NOT_FOUND": _l("not found"), "MATCHED": _l("a list entry was confirmed to be you"),
}

OUTCOMES: dict[str, Any] = {
    "match": _l("matches"), "no-match": _l("does not match"), "unknown": _l("not recorded"),
}

ROLES: dict[str, Any] = {
    "clerk": _l("registry clerk"), "supervisor": _l("registry supervisor"), "auditor": _l("registry auditor"),
    "admin": _l("staff administrator"),
}

GRANTS: dict[str, Any] = {
    "login": _l("You logged in to your e-ID account"),
    "authorization_code": _l("You logged in to this agency with your e-ID"),
    "refresh_token": _l("The agency renewed its access from an earlier login"),
}

VIA: dict[str, Any] = {
    "userinfo": _l("on request"), "id_token": _l("at login"), "introspection": _l("on a token check"),
}

CONSENT_EVENTS: dict[str, Any] = {
    "granted": _l("Consent given"), "narrowed": _l("Consent narrowed"), "withdrawn": _l("Consent withdrawn"),
    "expired": _l("Consent expired"),
}


def claim(name: str) -> str:
    """A claim in plain words: the catalogue's label, else the name itself."""
    catalogue = getattr(claims, "CATALOGUE", None)
    if catalogue is not None and name in catalogue:
        return str(catalogue[name].label)
    return str(_CLAIMS.get(name, name))


def claims_text(names: list[str]) -> str:
    """Claims in plain words, comma-separated, in the catalogue's order."""
    order = {name: i for i, name in enumerate(getattr(claims, "CATALOGUE", None) or ())}
    return ", ".join(claim(name) for name in sorted(names, key=lambda n: (order.get(n, len(order)), n)))


def fields(names: list[str]) -> list[str]:
    """Record fields in plain words, each once, in order."""
    seen: list[str] = []
    for name in names:
        label = str(FIELDS.get(name, name.replace("_", " ")))
        if label not in seen:
            seen.append(label)
    return seen


def words(mapping: dict[str, Any], key: str | None) -> str:
    return str(mapping.get(key or "", key or "—"))
