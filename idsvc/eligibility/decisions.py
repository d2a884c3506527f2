"""Clerks' decisions on uncertain matches, as identity resolution reads them: a row's fingerprint,
and the decisions in force for a set of fingerprints (one statement).

The fingerprint is a keyed hash of the values the matcher reads from a row, in the form it reads
them: the number (12 or 9 digits; a malformed one is not read), the name in comparison form
(case, spacing and tone placement folded, diacritics kept: "Tú" and "Tư" are two names), the birth
date as precise as written, the sex and the commune code as written. Two rows with one fingerprint
are resolved alike by the matcher, so a clerk's decision on one holds for the other. The values
themselves are never stored with the decision.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import aliased

from idsvc import crypto
from idsvc import db
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.matching import normalise
from idsvc.eligibility.models import MatchDecision
from idsvc.registry.models import Citizen

#: The purpose of the fingerprint's key (:func:`idsvc.crypto.derived_key`).
PURPOSE = "eligibility-match-decision"

#: Fingerprints per IN-list (below SQLite's limit on bound parameters).
CHUNK = 500


def fingerprint(applicant: Applicant) -> str:
    """The keyed hash of the row's identifying values as the matcher reads them (hex, 64)."""
    born = str(applicant.born) if applicant.born is not None else ""
    values = (applicant.citizen_id or "", " ".join(normalise(applicant.full_name).split()), born, applicant.sex or "",
              applicant.commune_code or "")
    return crypto.keyed_hash(PURPOSE, "\x1f".join(values))


@dataclass(frozen=True, slots=True)
class InForce:
    """The decision in force on a fingerprint."""

    id: int
    #: The person the row is, or None: none of the candidates.
    citizen_id: int | None
    sequence: int


def in_force(programme_id: int, fingerprints: Collection[str]) -> dict[str, InForce]:
    """Fingerprint -> the latest decision on it in the programme, for those decided. One statement
    per :data:`CHUNK` fingerprints."""
    found: dict[str, InForce] = {}
    wanted = sorted(set(fingerprints))
    later = aliased(MatchDecision)
    for start in range(0, len(wanted), CHUNK):
        rows = db.session().execute(
            # A person decided on and later merged into another record is that record now.
            select(MatchDecision.fingerprint, MatchDecision.id,
                   func.coalesce(Citizen.merged_into_id, MatchDecision.citizen_id), MatchDecision.sequence)
            .outerjoin(Citizen, Citizen.id == MatchDecision.citizen_id)
            .where(MatchDecision.programme_id == programme_id,
                   MatchDecision.fingerprint.in_(wanted[start:start + CHUNK]),
                   ~exists().where(and_(later.programme_id == MatchDecision.programme_id,
                                        later.fingerprint == MatchDecision.fingerprint,
                                        later.sequence > MatchDecision.sequence))))
        for fp, decision_id, citizen_id, sequence in rows:
            found[fp] = InForce(decision_id, citizen_id, sequence)
    return found
