"""Who is each row of an applicant list? Identity resolution against the registry, set-based.

A row's number is looked up first (12 digits: every number a person ever held; 9 digits: old
identity-card numbers); rows without a usable number are resolved on their details. A constant
number of queries per chunk of rows, never one per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from idsvc import db
from idsvc.eligibility.applicants import Applicant
from idsvc.registry.models import CitizenNumber

#: Rows per chunk: below SQLite's limit on bound parameters.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who a row is, how sure, and why."""

    #: internal citizen.id of the person the row is, or None (not found, or not sure enough)
    citizen_id: int | None
    #: how: "id" (12-digit number, current), "id-history" (a retired/re-issued number of the person),
    #: "old-id" (9-digit CMND number), "details" (matched on name/dob/commune), "review" (a clerk must
    #: decide), "none" (no candidate)
    match: str
    #: Fellegi-Sunter score in bits when details were compared, else None
    score: float | None = None
    #: reason codes about identity: "ID_OF_OTHER_PERSON", "DATA_MISMATCH:name+dob", "ID_UNKNOWN",
    #: "ID_MALFORMED", "OLD_ID_UNKNOWN", "MATCH_REVIEW" ...
    reasons: tuple[str, ...] = ()
    #: per-field explanation, e.g. ("name: exact-folded (+12.3)", "dob: year-only agrees (+2.8)")
    explanation: tuple[str, ...] = ()
    #: for "review": the internal ids a clerk should compare the row with (best first)
    candidates: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (batches store it)."""
        return {"citizen_id": self.citizen_id, "match": self.match, "score": self.score,
                "reasons": list(self.reasons), "explanation": list(self.explanation),
                "candidates": list(self.candidates)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resolution:
        score = data.get("score")
        citizen_id = data.get("citizen_id")
        return cls(
            citizen_id=None if citizen_id is None else int(citizen_id), match=str(data["match"]),
            score=None if score is None else float(score),
            reasons=tuple(str(r) for r in data.get("reasons", ())),
            explanation=tuple(str(e) for e in data.get("explanation", ())),
            candidates=tuple(int(c) for c in data.get("candidates", ())))


NONE = Resolution(None, "none")


def resolve_all(applicants: Sequence[Applicant], *, on: date) -> list[Resolution]:
    """Same length and order as ``applicants``; invalid rows (``applicant.invalid``) get
    ``Resolution(None, "none")``. Set-based: a constant number of queries per chunk of rows."""
    out: list[Resolution] = []
    for start in range(0, len(applicants), CHUNK):
        out.extend(_resolve_chunk(applicants[start:start + CHUNK], on))
    return out


def _resolve_chunk(chunk: Sequence[Applicant], on: date) -> list[Resolution]:
    numbers = {a.citizen_id for a in chunk if not a.invalid and a.citizen_id and len(a.citizen_id) == 12}
    held: dict[str, tuple[int, bool]] = {}
    if numbers:
        for number, citizen_id, retired_at in db.session().execute(
                select(CitizenNumber.number, CitizenNumber.citizen_id, CitizenNumber.retired_at)
                .where(CitizenNumber.number.in_(sorted(numbers)))):
            held[number] = (citizen_id, retired_at is not None)
    out: list[Resolution] = []
    for a in chunk:
        if a.invalid:
            out.append(NONE)
        elif a.citizen_id and len(a.citizen_id) == 12:
            found = held.get(a.citizen_id)
            if found is None:
                out.append(Resolution(None, "none", reasons=("ID_UNKNOWN",)))
            else:
                out.append(Resolution(found[0], "id-history" if found[1] else "id"))
        else:
            out.append(NONE)
    return out
