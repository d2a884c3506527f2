"""Checking a programme's list: who each row is, who is listed twice, who is already paid by another
programme, and the programme's rules — one answer per row, with reasons.

The answer never reveals a registry value the programme did not send: no name, date or commune of
the registry; the person's number only if the programme may receive it, else a pseudonym that is
stable within the programme and means nothing elsewhere.

Verdicts:

- ``REVIEW`` with ``INVALID_ROW:<why>``: the row cannot be read (no name, a date that is no date);
- ``REVIEW`` with ``MATCH_REVIEW``: the row may be one of several people, a clerk decides;
- ``NOT_FOUND``: no person fits the row;
- ``NOT_ELIGIBLE`` with ``DUPLICATE_IN_BATCH:<group>``: a later row of a person listed twice (the
  first row of the group keeps its verdict);
- for a person found: the programme's rules (their reason codes, ``AGE_UNCERTAIN`` ...), then
  ``DECEASED`` (not alive on the reference date, whatever the programme's rules say),
  ``ENROLLED_ELSEWHERE:<code>`` and ``HIGHER_ALLOWANCE_ELSEWHERE`` (one monthly allowance only,
  the highest: Decree 20/2021), and the identity reasons of the resolution (``DATA_MISMATCH:<fields>``
  turns ``ELIGIBLE`` into ``REVIEW``; ``ID_OF_OTHER_PERSON`` ...).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from idsvc import crypto
from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.eligibility import blockindex
from idsvc.eligibility import dedup
from idsvc.eligibility import matching
from idsvc.eligibility import resolution
from idsvc.eligibility import rules
from idsvc.eligibility import service
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.models import Enrolment
from idsvc.eligibility.models import Programme
from idsvc.eligibility.resolution import Resolution
from idsvc.registry.models import Citizen

ELIGIBLE, NOT_ELIGIBLE, REVIEW, NOT_FOUND = "ELIGIBLE", "NOT_ELIGIBLE", "REVIEW", "NOT_FOUND"
VERDICTS = (ELIGIBLE, NOT_ELIGIBLE, REVIEW, NOT_FOUND)

INVALID_ROW = "INVALID_ROW"
MATCH_REVIEW = "MATCH_REVIEW"
DECEASED = "DECEASED"
DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
ENROLLED_ELSEWHERE = "ENROLLED_ELSEWHERE"
HIGHER_ALLOWANCE_ELSEWHERE = "HIGHER_ALLOWANCE_ELSEWHERE"
DATA_MISMATCH = "DATA_MISMATCH"

#: (vi, en) of the reason codes a check gives besides the programme's own rule codes (whose messages
#: are in the rule set: :meth:`rules.RuleSet.messages`). A code with a part after ``:`` is listed
#: under the part before it (:func:`message`).
REASON_MESSAGES: dict[str, tuple[str, str]] = {
    INVALID_ROW: ("Dòng không hợp lệ, không kiểm tra được", "The row cannot be read; it was not checked"),
    MATCH_REVIEW: ("Có thể là một trong nhiều người: cán bộ cần xem xét",
                   "May be one of several people: a clerk decides"),
    DECEASED: ("Người này không còn sống vào ngày xét", "Not alive on the reference date"),
    DUPLICATE_IN_BATCH: ("Trùng với một dòng trước trong danh sách", "The same person as an earlier row of the list"),
    ENROLLED_ELSEWHERE: ("Đang hưởng trợ cấp của chương trình khác",
                         "Enrolled in another programme of one allowance only"),
    HIGHER_ALLOWANCE_ELSEWHERE: ("Đang hưởng mức trợ cấp bằng hoặc cao hơn ở chương trình khác",
                                 "Already paid as much or more by another programme"),
    DATA_MISMATCH: ("Thông tin không khớp với số định danh", "The details do not match the ID number's holder"),
    "ID_OF_OTHER_PERSON": ("Số định danh của người khác; đã xác định theo thông tin cá nhân",
                           "The ID number is another person's; the row was matched on its details"),
    "ID_UNKNOWN": ("Số định danh không có trong CSDL", "No one holds this ID number"),
    "ID_MALFORMED": ("Số định danh không đúng 12 hoặc 9 chữ số", "The ID number has neither 12 nor 9 digits"),
    "OLD_ID_UNKNOWN": ("Số CMND không có trong CSDL", "No one held this old identity-card number"),
    "OLD_ID_AMBIGUOUS": ("Số CMND của nhiều người", "Several people held this old identity-card number"),
    resolution.MATCH_REJECTED: ("Cán bộ đã xác định dòng này không phải ai trong số người được đề xuất",
                                "A clerk decided the row is none of the people it might have been"),
}


def message(code: str, rule_messages: Mapping[str, tuple[str, str]] | None = None) -> tuple[str, str] | None:
    """(vi, en) of a reason code (``DUPLICATE_IN_BATCH:D1`` under ``DUPLICATE_IN_BATCH``), or None."""
    known = {**REASON_MESSAGES, **(rule_messages or {})}
    return known.get(code) or known.get(code.split(":", 1)[0])


#: Benefit categories of which a person receives one only, the highest: the monthly allowances of
#: Decree 20/2021, and the social pension, which pays the higher amount to someone also entitled
#: to a Decree 20 allowance (Decree 176/2025, see the programme's description).
EXCLUSIVE_CATEGORIES = frozenset({"monthly_allowance", "social_pension"})

OUTPUT_COLUMNS = ("ref", "verdict", "citizen_id", "match", "score", "reasons", "duplicate_group", "monthly_amount")

#: Ids per IN-list (below SQLite's limit on bound parameters).
CHUNK = 500


@dataclass(frozen=True, slots=True)
class CheckedRow:
    line: int
    ref: str
    #: "ELIGIBLE" | "NOT_ELIGIBLE" | "REVIEW" | "NOT_FOUND"
    verdict: str
    #: The matched person's number if the programme may receive it, else a programme-scoped
    #: pseudonym; "" when no person.
    citizen_id: str
    #: :attr:`Resolution.match`
    match: str
    score: float | None
    reasons: tuple[str, ...]
    #: "" or e.g. "D3": rows of one person share it.
    duplicate_group: str
    #: VND a month, for ELIGIBLE rows.
    monthly_amount: int | None
    #: Internal citizen id: never written out (audit, enrolments).
    person: int | None

    def as_output(self) -> dict[str, str]:
        return {
            "ref": self.ref, "verdict": self.verdict, "citizen_id": self.citizen_id, "match": self.match,
            "score": "" if self.score is None else f"{self.score:.1f}", "reasons": ";".join(self.reasons),
            "duplicate_group": self.duplicate_group,
            "monthly_amount": "" if self.monthly_amount is None else str(self.monthly_amount),
        }


def pseudonyms(programme_code: str) -> Callable[[int], str]:
    """The pseudonym of a person for one programme: ``P`` + 20 base32 characters (100 bits) of
    HMAC-SHA-256(key of the programme, internal id). Stable within the programme (a re-issued
    number does not change it), different in every other, not reversible without the key (derived
    from ``HASH_KEY`` by :func:`idsvc.crypto.derived_key`, once per list)."""
    key = crypto.derived_key(f"eligibility-pseudonym:{programme_code}")

    def of(citizen_id: int) -> str:
        mac = hmac.new(key, str(citizen_id).encode(), hashlib.sha256).digest()
        return "P" + base64.b32encode(mac[:15]).decode()[:20]

    return of


def pseudonym(programme_code: str, citizen_id: int) -> str:
    """:func:`pseudonyms` of one person."""
    return pseudonyms(programme_code)(citizen_id)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start:start + CHUNK]


def public_ids(programme: Programme, citizen_ids: Iterable[int]) -> dict[int, str]:
    """What the programme sees of each person: the current number, or the pseudonym."""
    ids = set(citizen_ids)
    if not programme.may_receive_id_numbers:
        of = pseudonyms(programme.code)
        return {i: of(i) for i in ids}
    found: dict[int, str] = {}
    for chunk in _chunks(ids):
        for citizen_id, number in db.session().execute(
                select(Citizen.id, Citizen.id_number).where(Citizen.id.in_(chunk))):
            found[citizen_id] = number
    return found


def enrolled_elsewhere(programme: Programme, citizen_ids: Iterable[int]) -> dict[int, list[Programme]]:
    """The other programmes of an exclusive category in which each person is actively enrolled."""
    found: dict[int, list[Programme]] = {}
    if programme.benefit_category not in EXCLUSIVE_CATEGORIES:
        return found
    for chunk in _chunks(citizen_ids):
        for citizen_id, other in db.session().execute(
                select(Enrolment.citizen_id, Programme).join(Programme, Programme.id == Enrolment.programme_id)
                .where(Enrolment.citizen_id.in_(chunk), Enrolment.ended_at.is_(None),
                       Enrolment.programme_id != programme.id,
                       Programme.benefit_category.in_(EXCLUSIVE_CATEGORIES))
                .order_by(Programme.code)):
            found.setdefault(citizen_id, []).append(other)
    return found


@dataclass(frozen=True, slots=True)
class Assessment:
    """A found person's verdict: the rules, life, other programmes (identity aside)."""

    verdict: str
    reasons: tuple[str, ...]
    #: This programme's monthly amount for the person (None for the dead, or before any base rate).
    monthly_amount: int | None = None


def amounts_of(programme: Programme, others: Mapping[int, Sequence[Programme]]) -> dict[int, rules.Amounts]:
    """How each programme involved works out its amount (programme id -> :class:`rules.Amounts`),
    read once for a whole list instead of once per person."""
    involved = {programme.id: programme} | {p.id: p for found in others.values() for p in found}
    return {pid: p.amounts() for pid, p in involved.items()}


def assess(programme: Programme, rule_set: rules.RuleSet, facts: rules.PersonFacts, others: Sequence[Programme],
           *, on: date, amounts: Mapping[int, rules.Amounts]) -> Assessment:
    """The programme's rules on one person, then death (``DECEASED``, nothing else added) and the
    allowances of the other programmes the person is enrolled in (``amounts``: :func:`amounts_of`)."""
    result = rules.evaluate(rule_set, facts, on)
    verdict, reasons = str(result.verdict), list(result.reasons)
    if not facts.alive_on(on):
        # Death settles it: other programmes' enrolments are no business of this one's then.
        return Assessment(NOT_ELIGIBLE, tuple(reasons) if DECEASED in reasons else (DECEASED, *reasons))
    higher = False
    own = amounts[programme.id].monthly_amount(facts, on)
    for other in others:
        reasons.append(f"{ENROLLED_ELSEWHERE}:{other.code}")
        higher = higher or (amounts[other.id].monthly_amount(facts, on) or 0) >= (own or 0)
    if higher:
        verdict = NOT_ELIGIBLE
        reasons.append(HIGHER_ALLOWANCE_ELSEWHERE)
    return Assessment(verdict, tuple(reasons), own)


def frequencies(applicants: Sequence[Applicant], citizen_ids: Sequence[int | None]) -> matching.NameFrequencies:
    """Name frequencies to compare the unresolved rows of one list with each other (only their
    names are counted: the others are never compared on names)."""
    names = [a.full_name for a, c in zip(applicants, citizen_ids, strict=True) if c is None and not a.invalid]
    population, _ = blockindex.frequencies()
    return dedup.list_frequencies(names, population)


def life_status(facts: rules.PersonFacts, on: date) -> str:
    """"alive", "deceased" or "missing" as of ``on``."""
    return "alive" if facts.alive_on(on) else facts.status


def _unique(reasons: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reasons))


def decide(programme: Programme, applicants: Sequence[Applicant], resolutions: Sequence[Resolution], *,
           on: date, actor: str, enrol: bool = False) -> list[CheckedRow]:
    """Dedup within the list, enrolments elsewhere, highest allowance, the programme's rules, pseudonyms;
    audits the check (and, with ``enrol``, enrols the ELIGIBLE rows). Same length and order as
    ``applicants``. Flushes, never commits."""
    if len(applicants) != len(resolutions):
        raise ValueError("one resolution per applicant")
    citizen_ids = [None if a.invalid else r.citizen_id for a, r in zip(applicants, resolutions, strict=True)]
    # A row whose details disagree with its number's holder is not known to be that person: it is
    # compared on its details, like a row that was not resolved.
    sure = [None if any(x.startswith(DATA_MISMATCH) for x in r.reasons) else c
            for c, r in zip(citizen_ids, resolutions, strict=True)]
    duplicates = dedup.find_duplicates(applicants, sure, frequencies(applicants, sure))
    people = {c for c in citizen_ids if c is not None}
    facts = service.facts_for(people, on=on)
    others = enrolled_elsewhere(programme, facts)
    shown = public_ids(programme, people)
    rule_set = service.rule_set(programme)
    amounts = amounts_of(programme, others)
    rows: list[CheckedRow] = []
    assessed: dict[int, Assessment] = {}
    for i, (applicant, found) in enumerate(zip(applicants, resolutions, strict=True)):
        group = duplicates.group_of(i)
        person = citizen_ids[i]
        identity = tuple(found.reasons)
        reasons: tuple[str, ...]
        if applicant.invalid:
            verdict, reasons = REVIEW, (f"{INVALID_ROW}:{applicant.invalid}",)
        elif duplicates.is_duplicate(i):
            verdict, reasons = NOT_ELIGIBLE, (f"{DUPLICATE_IN_BATCH}:{group}", *identity)
        elif person is None or person not in facts:
            if found.match == "review":
                verdict, reasons = REVIEW, _unique((*identity, MATCH_REVIEW))
            else:
                verdict, reasons = NOT_FOUND, identity
        else:
            if person not in assessed:
                assessed[person] = assess(programme, rule_set, facts[person], others.get(person, ()), on=on,
                                          amounts=amounts)
            assessment = assessed[person]
            verdict = assessment.verdict
            if verdict == ELIGIBLE and any(r.startswith(DATA_MISMATCH) for r in identity):
                verdict = REVIEW
            reasons = _unique((*assessment.reasons, *identity))
        rows.append(CheckedRow(
            line=applicant.line, ref=applicant.ref, verdict=verdict,
            citizen_id=shown.get(person, "") if person is not None else "",
            match=found.match, score=found.score, reasons=reasons, duplicate_group=group,
            monthly_amount=assessed[person].monthly_amount if verdict == ELIGIBLE and person is not None else None,
            person=person))
    if enrol:
        enrol_rows(programme, rows, facts, on=on, actor=actor)
    _audit(programme, rows, rule_set.version, on=on, actor=actor, enrolled=enrol)
    return rows


def check(programme: Programme, applicants: Sequence[Applicant], *, on: date, actor: str,
          enrol: bool = False) -> list[CheckedRow]:
    """decide(programme, applicants, resolution.resolve_all(applicants, on=on, programme_id=programme.id), ...):
    the programme's clerks' decisions hold."""
    return decide(programme, applicants, resolution.resolve_all(applicants, on=on, programme_id=programme.id), on=on,
                  actor=actor, enrol=enrol)


def counts(rows: Iterable[CheckedRow]) -> dict[str, int]:
    """Rows by verdict, every verdict named."""
    found = Counter(row.verdict for row in rows)
    return {verdict: found.get(verdict, 0) for verdict in VERDICTS}


def _audit(programme: Programme, rows: Sequence[CheckedRow], version: int, *, on: date, actor: str,
           enrolled: bool) -> None:
    """One event for the list (programme, rule-set version, counts) and one per person checked,
    so that the person can see which programme used their data, when, and with what verdict."""
    audit.record(AuditAction.ELIGIBILITY_LIST_CHECK, actor=actor, subject_type="programme",
                 subject_id=programme.code,
                 data={"rows": len(rows), "verdicts": counts(rows), "rule_set_version": version,
                       "on": on.isoformat(), "enrol": enrolled})
    per_person: dict[int, str] = {}
    for row in rows:
        if row.person is not None and row.person not in per_person:
            per_person[row.person] = row.verdict
    audit.record_many(AuditAction.ELIGIBILITY_PERSON_CHECK, actor=actor, subject_type="citizen", subjects=(
        (person, {"programme": programme.code, "verdict": verdict, "rule_set_version": version})
        for person, verdict in per_person.items()))


def _insert_ignoring_active(values: list[dict[str, Any]]) -> None:
    """Insert enrolments; one whose person is already actively enrolled is skipped, atomically."""
    s = db.session()
    dialect = s.get_bind().dialect.name
    table = Enrolment.__table__
    where = Enrolment.ended_at.is_(None)
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["programme_id", "citizen_id"], index_where=where)
    else:
        statement = sqlite.insert(table).on_conflict_do_nothing(
            index_elements=["programme_id", "citizen_id"], index_where=where)
    s.execute(statement, values)


def enrol_rows(programme: Programme, rows: Sequence[CheckedRow], facts: Mapping[int, rules.PersonFacts], *,
               on: date, actor: str) -> int:
    """Enrol the people of the ELIGIBLE rows (the first row of each); one already enrolled stays as
    they were. Returns how many rows were offered."""
    now = utcnow()
    values: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.verdict != ELIGIBLE or row.person is None or row.person in values:
            continue
        person = facts[row.person]
        values[row.person] = {
            "programme_id": programme.id, "citizen_id": row.person, "ref": row.ref, "enrolled_at": now,
            "enrolled_by": actor[:100], "ended_at": None, "last_checked_at": now, "last_verdict": row.verdict,
            "last_reasons": list(row.reasons), "last_commune_code": person.commune_code,
            "last_status": life_status(person, on)}
    batch = list(values.values())
    for start in range(0, len(batch), CHUNK):
        _insert_ignoring_active(batch[start:start + CHUNK])
    return len(batch)
