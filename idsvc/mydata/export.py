"""Download my data (the data subject's right of access, Decree 13/2023 Art. 9 and 14): the registry
record, the consents with their history, and the access history, as one JSON document.

What is the person's own is given whole (their ID number, their earlier numbers); what is another
person's is never given beyond what the record itself links (a relative's kind and name, never
their ID number; the household's number and the person's place in it, never the other members).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.i18n import VIETNAM
from idsvc.identity.models import Account
from idsvc.mydata import activity
from idsvc.oidc import consents
from idsvc.registry import service as registry
from idsvc.registry.models import Absence
from idsvc.registry.models import Citizen
from idsvc.registry.models import Commune
from idsvc.registry.models import TemporaryResidence

#: The version of the document's layout (a reader can tell a later layout apart).
FORMAT = 1


def download(account: Account) -> dict[str, Any]:
    """Everything the service holds about the person, as JSON; audited as the person's read of it."""
    history = [entry.to_json() for entry in activity.all_entries(account)]
    document = {
        "format": FORMAT,
        "generated_at": utcnow().astimezone(VIETNAM).isoformat(),
        "time_zone": "Asia/Ho_Chi_Minh",
        "record": record(account.citizen),
        "consents": _consents(account),
        "access_history": history,
    }
    audit.record(AuditAction.MYDATA_DOWNLOAD, actor=f"account:{account.id}", subject_type="account",
                 subject_id=account.id, data={"entries": len(history)})
    return document


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _consents(account: Account) -> dict[str, Any]:
    """The consents in force and every consent record, newest first."""
    return {"current": [_json(vars(state)) for state in consents.current_consents(account)],
            "history": _json(consents.consent_history(account))}


def record(citizen: Citizen) -> dict[str, Any]:
    """The person's registry record, field by field (codes with their names)."""
    s = db.session()
    codes = [c for c in (citizen.permanent_commune_code, citizen.current_commune_code) if c]
    communes = {c.code: c.name for c in s.scalars(select(Commune).where(Commune.code.in_(codes)))} if codes else {}
    attributes = registry.attributes(citizen.id)
    temporary = s.scalars(select(TemporaryResidence).where(TemporaryResidence.citizen_id == citizen.id)
                          .order_by(TemporaryResidence.id))
    absences = s.scalars(select(Absence).where(Absence.citizen_id == citizen.id).order_by(Absence.id))
    return _json({
        "id_number": citizen.id_number,
        "full_name": citizen.full_name,
        "other_names": citizen.other_names,
        "date_of_birth": citizen.date_of_birth.isoformat(),
        "sex": citizen.sex,
        "place_of_birth": citizen.place_of_birth,
        "birth_registration_code": citizen.birth_registration_code,
        "hometown": citizen.hometown,
        "ethnicity": citizen.ethnicity,
        "religion": citizen.religion,
        "nationality": citizen.nationality,
        "blood_type": citizen.blood_type,
        "marital_status": citizen.marital_status,
        "permanent_residence": {"commune_code": citizen.permanent_commune_code,
                                "commune": communes.get(citizen.permanent_commune_code or ""),
                                "province": attributes["residence"][2] if attributes["residence"] else None},
        "current_residence": {"commune_code": citizen.current_commune_code,
                              "commune": communes.get(citizen.current_commune_code or "")},
        "household": {"number": citizen.household.number, "relationship_to_head": citizen.relationship_to_head}
        if citizen.household else None,
        "status": citizen.status,
        "date_of_death": citizen.date_of_death,
        "phone": citizen.phone,
        "email": citizen.email,
        "id_card": {"issued_on": citizen.id_card_issued_on, "issued_by": citizen.id_card_issued_by,
                    "expires_on": citizen.id_card_expires_on} if citizen.id_card_issued_on else None,
        "residence_file_number": citizen.residence_file_number,
        # The relatives as the record links them: never their ID numbers.
        "relatives": [{"kind": r.kind, "full_name": r.full_name, "nationality": r.nationality,
                       "ended_on": r.ended_on} for r in citizen.relatives],
        "temporary_residences": [{"commune_code": t.commune_code, "address": t.address,
                                  "registered_on": t.registered_on, "expires_on": t.expires_on,
                                  "ended_on": t.ended_on} for t in temporary],
        "absences": [{"destination": a.destination, "starts_on": a.starts_on, "ends_on": a.ends_on,
                      "ended_on": a.ended_on} for a in absences],
        "id_numbers": [{"number": n.number, "issued_at": n.issued_at, "retired_at": n.retired_at}
                       for n in citizen.numbers],
        "old_id_card_numbers": registry.old_id_numbers(citizen.id),
        "version": citizen.version,
        "updated_at": citizen.updated_at,
    })
