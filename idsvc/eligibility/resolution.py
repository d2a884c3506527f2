"""Who is each row of an applicant list? Identity resolution against the registry, set-based.

A row's number is looked up first: 12 digits among every number a person ever held (current:
``id``, retired or re-issued: ``id-history``), 9 digits among old identity-card numbers
(``old-id``; a number two people held points to neither). The holder's details are compared with
the row's (:func:`matching.compare`): when the name or birth date disagrees, the row is searched
on its details too, and a confident other person wins (``ID_OF_OTHER_PERSON``); otherwise the
holder stays, with ``DATA_MISMATCH:<fields>``. Rows without a usable number (none, unknown,
malformed, ambiguous) are resolved on their details through the block-key index
(:mod:`blockindex`): ``details`` (automatic match), ``review`` (a clerk decides between the
candidates) or ``none``.

A clerk's decision comes before all of that: a row whose identifying values a clerk already
decided for the programme (:mod:`decisions`) is resolved from the decision, ``clerk`` (the person
the clerk confirmed) or ``none`` with ``MATCH_REJECTED`` (none of the candidates).

A constant number of statements per chunk of rows, never one per row: the decisions, the numbers,
the old numbers, the communes written, and one join for every row searched on details.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from typing import Any
from typing import cast

from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import union_all

from idsvc import db
from idsvc.eligibility import blockindex
from idsvc.eligibility import decisions
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.blockindex import PERSON_COLUMNS
from idsvc.eligibility.blockindex import person_of
from idsvc.eligibility.matching import Match
from idsvc.eligibility.matching import NameFrequencies
from idsvc.eligibility.matching import Person
from idsvc.eligibility.matching import Thresholds
from idsvc.eligibility.matching import compare
from idsvc.eligibility.matching import resolve
from idsvc.eligibility.matching import search_keys
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenOldNumber
from idsvc.registry.models import Commune
from idsvc.registry.models import LegacyCommuneSuccessor

#: Rows per chunk: below SQLite's limit on bound parameters.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who a row is, how sure, and why."""

    #: internal citizen.id of the person the row is, or None (not found, or not sure enough)
    citizen_id: int | None
    #: how: "id" (12-digit number, current), "id-history" (a retired/re-issued number of the person),
    #: "old-id" (9-digit CMND number), "details" (matched on name/dob/commune), "review" (a clerk must
    #: decide), "clerk" (a clerk decided), "none" (no candidate, or a clerk rejected them all)
    match: str
    #: Fellegi-Sunter score in bits when details were compared, else None
    score: float | None = None
    #: reason codes about identity: "ID_OF_OTHER_PERSON", "DATA_MISMATCH:name+dob", "ID_UNKNOWN",
    #: "ID_MALFORMED", "OLD_ID_UNKNOWN", "MATCH_REVIEW", "MATCH_REJECTED" ...
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

#: At most this many candidates are named for a clerk's review.
REVIEW_CANDIDATES = 5

#: The reason of a row whose candidates a clerk rejected.
MATCH_REJECTED = "MATCH_REJECTED"


def decided(decision: decisions.InForce) -> Resolution:
    """The resolution of a row a clerk decided."""
    explanation = (f"clerk: decision {decision.id}",)
    if decision.citizen_id is None:
        return Resolution(None, "none", reasons=(MATCH_REJECTED,), explanation=explanation)
    return Resolution(decision.citizen_id, "clerk", explanation=explanation)


def resolve_all(applicants: Sequence[Applicant], *, on: date, thresholds: Thresholds | None = None,
                programme_id: int | None = None) -> list[Resolution]:
    """Same length and order as ``applicants``; invalid rows (``applicant.invalid``) get
    ``Resolution(None, "none")``. Set-based: a constant number of queries per chunk of rows.

    ``thresholds``: by default those for the registry's size (:meth:`Thresholds.for_population`).
    ``programme_id``: the programme whose clerks' decisions hold (:func:`decided`); None: none do.

    Brings the block-key index up to date first (:func:`blockindex.refresh_index`), so it writes:
    call it in a read-write transaction. Flushes, never commits.
    """
    if not applicants:
        return []
    blockindex.refresh_index()
    freq, population = blockindex.frequencies()
    thresholds = thresholds or Thresholds.for_population(population)
    out: list[Resolution] = []
    for start in range(0, len(applicants), CHUNK):
        out.extend(_Chunk(applicants[start:start + CHUNK], freq, thresholds, programme_id).resolve())
    return out


def applicant_person(applicant: Applicant) -> Person:
    """The row as the matcher reads it (its commune looked up): for a clerk's evidence."""
    places = _places({applicant.commune_code} if applicant.commune_code else set())
    return _person(applicant, places)


#: Where a number led: (holder's citizen id, holder's details, holder's sex, how: id / id-history / old-id).
_Held = tuple[int, Person, str, str]


class _Chunk:
    """The resolution of up to :data:`CHUNK` rows."""

    def __init__(self, rows: Sequence[Applicant], freq: NameFrequencies, thresholds: Thresholds,
                 programme_id: int | None = None) -> None:
        self.rows = rows
        self.freq = freq
        self.thresholds = thresholds
        self.programme_id = programme_id

    def resolve(self) -> list[Resolution]:
        valid = [(i, a) for i, a in enumerate(self.rows) if not a.invalid]
        out: list[Resolution | None] = [NONE if a.invalid else None for a in self.rows]
        if self.programme_id is not None and valid:
            prints = {i: decisions.fingerprint(a) for i, a in valid}
            known = decisions.in_force(self.programme_id, prints.values())
            for i, fp in prints.items():
                if fp in known:
                    out[i] = decided(known[fp])
            valid = [(i, a) for i, a in valid if out[i] is None]
        places = _places({a.commune_code for _, a in valid if a.commune_code})
        held = _holders({a.citizen_id for _, a in valid if a.citizen_id and len(a.citizen_id) == 12})
        old = _old_holders({a.citizen_id for _, a in valid if a.is_old_number and a.citizen_id})
        #: rows searched on details: row -> (Person searched, number's holder or None, reasons so far)
        search: dict[int, tuple[Person, _Held | None, tuple[str, ...]]] = {}
        for i, a in valid:
            person = _person(a, places)
            holder: _Held | None = None
            reasons: tuple[str, ...] = ()
            if a.citizen_id and len(a.citizen_id) == 12:
                holder = held.get(a.citizen_id)
                if holder is None:
                    reasons = ("ID_UNKNOWN",)
                    person = replace(person, id_number=a.citizen_id)  # one digit off still meets its owner
            elif a.citizen_id:
                holders = old.get(a.citizen_id, [])
                if len(holders) == 1:
                    holder = holders[0]
                else:
                    reasons = ("OLD_ID_AMBIGUOUS",) if holders else ("OLD_ID_UNKNOWN",)
            elif a.malformed_id:
                reasons = ("ID_MALFORMED",)
            if holder is not None:
                checked = compare(person, holder[1], self.freq, self.thresholds)
                fields = _mismatch(checked, a.sex, holder[2])
                if not fields:
                    out[i] = Resolution(holder[0], holder[3], explanation=_explain(checked))
                    continue
                if fields == ("sex",):  # name and birth date agree: it is the holder
                    out[i] = Resolution(holder[0], holder[3], reasons=("DATA_MISMATCH:sex",),
                                        explanation=_explain(checked))
                    continue
                if holder[3] != "old-id":  # a candidate whose number differs from the row's loses a little
                    person = replace(person, id_number=a.citizen_id)
            search[i] = (person, holder, reasons)
        found = blockindex.candidates({i: search_keys(p) for i, (p, _, _) in search.items()})
        for i, (person, holder, reasons) in search.items():
            out[i] = self._on_details(self.rows[i], person, holder, reasons, found.get(i, []))
        return [r if r is not None else NONE for r in out]

    def _on_details(self, a: Applicant, person: Person, holder: _Held | None, reasons: tuple[str, ...],
                    candidates: list[tuple[int, Person]]) -> Resolution:
        best = resolve(person, candidates, self.freq, self.thresholds)
        if holder is not None:
            if best is not None and best.decision == "match" and best.candidate != holder[0]:
                return Resolution(_id(best), "details", round(best.score, 1), ("ID_OF_OTHER_PERSON",),
                                  _explain(best))
            checked = compare(replace(person, id_number=None), holder[1], self.freq, self.thresholds)
            fields = "+".join(_mismatch(checked, a.sex, holder[2]))
            return Resolution(holder[0], holder[3], reasons=(f"DATA_MISMATCH:{fields}",),
                              explanation=_explain(checked))
        if best is None or best.decision == "no match":
            return Resolution(None, "none", reasons=reasons)
        if best.decision == "match":
            return Resolution(_id(best), "details", round(best.score, 1), reasons, _explain(best))
        ranked = sorted((compare(person, p, self.freq, self.thresholds, candidate=cid) for cid, p in candidates),
                        key=lambda m: -m.score)
        named = [_id(best)] + [_id(m) for m in ranked
                               if m.score >= self.thresholds.review and m.candidate != best.candidate]
        return Resolution(None, "review", round(best.score, 1), (*reasons, "MATCH_REVIEW"), _explain(best),
                          tuple(named[:REVIEW_CANDIDATES]))


def _id(match: Match) -> int:
    return int(cast(int, match.candidate))


def _explain(match: Match) -> tuple[str, ...]:
    """The per-field explanation, without the fields neither side gave."""
    return tuple(str(f) for f in match.fields if f.level != "missing") + ((match.note,) if match.note else ())


def _mismatch(checked: Match, sex: str | None, holder_sex: str) -> tuple[str, ...]:
    """The fields of a row that disagree with its number's holder: name, dob, sex."""
    fields = [f for f in ("name", "dob") if checked.level(f) == "disagree"]
    if sex and sex != holder_sex:
        fields.append("sex")
    return tuple(fields)


def _person(a: Applicant, places: Mapping[str, tuple[str | None, str | None, frozenset[str]]]) -> Person:
    commune, province, successors = places.get(a.commune_code or "", (None, None, frozenset()))
    return Person(a.full_name, a.born, commune, province, None, successors)


def _places(codes: set[str]) -> dict[str, tuple[str | None, str | None, frozenset[str]]]:
    """Commune code as written -> (2025 commune or None, 2025 province, the 2025 communes a pre-2025
    code became). One statement."""
    if not codes:
        return {}
    wanted = sorted(codes)
    current = select(Commune.code, Commune.code.label("successor"), Commune.province_code,
                     literal(0).label("legacy")).where(Commune.code.in_(wanted))
    legacy = (select(LegacyCommuneSuccessor.legacy_code, LegacyCommuneSuccessor.commune_code,
                     Commune.province_code, literal(1))
              .join(Commune, Commune.code == LegacyCommuneSuccessor.commune_code)
              .where(LegacyCommuneSuccessor.legacy_code.in_(wanted)))
    own: dict[str, str] = {}
    successors: dict[str, dict[str, str]] = {}
    for code, successor, province, is_legacy in db.session().execute(union_all(current, legacy)):
        if is_legacy:
            successors.setdefault(code, {})[successor] = province
        else:
            own[code] = province
    places: dict[str, tuple[str | None, str | None, frozenset[str]]] = {}
    for code in own.keys() | successors.keys():
        became = successors.get(code, {})
        provinces = set(became.values())
        if code in own:  # a 2025 code (and maybe a pre-2025 one too)
            places[code] = (code, own[code], frozenset(became))
        else:
            places[code] = (None, provinces.pop() if len(provinces) == 1 else None, frozenset(became))
    return places


def _holders(numbers: set[str]) -> dict[str, _Held]:
    """12-digit number -> its holder, among every number ever issued. One statement."""
    if not numbers:
        return {}
    rows = db.session().execute(
        select(CitizenNumber.number, CitizenNumber.retired_at, *PERSON_COLUMNS)
        .join(Citizen, Citizen.id == CitizenNumber.citizen_id)
        .outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
        .where(CitizenNumber.number.in_(sorted(numbers))))
    return {row[0]: (row[2], person_of(row, 2), row[-1], "id" if row[1] is None else "id-history") for row in rows}


def _old_holders(numbers: set[str]) -> dict[str, list[_Held]]:
    """9-digit old number -> everyone who held it. One statement."""
    found: dict[str, list[_Held]] = {}
    if not numbers:
        return found
    rows = db.session().execute(
        select(CitizenOldNumber.number, *PERSON_COLUMNS)
        .join(Citizen, Citizen.id == CitizenOldNumber.citizen_id)
        .outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
        .where(CitizenOldNumber.number.in_(sorted(numbers))).distinct())
    for row in rows:
        found.setdefault(row[0], []).append((row[1], person_of(row, 1), row[-1], "old-id"))
    return found
