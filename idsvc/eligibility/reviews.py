"""The review queue: the rows of checked lists the matcher left to a clerk, and the clerk's decisions.

A batch row resolved as ``review`` (several people fit it, or one not surely enough) is an open
item until a clerk decides its fingerprint (:func:`decisions.fingerprint`) for the programme: one
of the candidates, or none of them. The decision is stored (:class:`MatchDecision`) and the next
check of a list with that row — command line, synchronous API or batch — resolves it from the
decision (:func:`resolution.decided`). A row listed again in a later batch is one item, shown with
its latest batch.

A second decision on a decided fingerprint is a conflict, unless it names the decision it replaces
(``replaces``): rows are only added, the latest is in force, and of two clerks deciding the same
item at once the second is told it was decided meanwhile, never silently overridden.

Who sees which item (a clerk's unit, an auditor everything) is the office's business: the queue
takes the units it may show (:func:`open_items`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.eligibility import blockindex
from idsvc.eligibility import decisions
from idsvc.eligibility import resolution
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.applicants import applicant
from idsvc.eligibility.blockindex import PERSON_COLUMNS
from idsvc.eligibility.blockindex import person_of
from idsvc.eligibility.matching import FieldResult
from idsvc.eligibility.matching import Thresholds
from idsvc.eligibility.matching import compare
from idsvc.eligibility.models import CheckBatch
from idsvc.eligibility.models import CheckBatchRow
from idsvc.eligibility.models import MatchDecision
from idsvc.eligibility.models import Programme
from idsvc.eligibility.resolution import Resolution
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry.models import Citizen
from idsvc.registry.models import Commune

#: Most items a page of the queue holds.
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Item:
    """A row a clerk must decide, as the queue lists it."""

    batch_id: int
    line: int
    batch_key: str
    #: When the list was submitted.
    submitted_at: datetime
    programme_id: int
    programme_code: str
    programme_name_vi: str
    programme_name_en: str
    fingerprint: str
    #: The row as the office wrote it.
    applicant: Applicant
    resolution: Resolution
    #: The first (best) candidate's permanent commune and its province: whose unit the item is in.
    commune_code: str | None
    province_code: str | None

    @property
    def key(self) -> str:
        """The item's name in cursors and addresses: ``<batch id>-<line>``."""
        return f"{self.batch_id}-{self.line}"


def _columns() -> Select[Any]:
    return (select(CheckBatchRow.batch_id, CheckBatchRow.line, CheckBatchRow.row_values, CheckBatchRow.resolution,
                   CheckBatchRow.review_fingerprint, CheckBatch.key, CheckBatch.created_at, CheckBatch.submitted_on,
                   Programme.id, Programme.code, Programme.name_vi, Programme.name_en,
                   Citizen.permanent_commune_code, Commune.province_code)
            .join(CheckBatch, CheckBatch.id == CheckBatchRow.batch_id)
            .join(Programme, Programme.id == CheckBatch.programme_id)
            .outerjoin(Citizen, Citizen.id == CheckBatchRow.review_candidate_id)
            .outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
            .where(CheckBatchRow.review_fingerprint.is_not(None)))


def _item(row: Any) -> Item:
    (batch_id, line, values, found, fp, key, created_at, submitted_on, programme_id, code, name_vi, name_en,
     commune, province) = row
    return Item(batch_id=batch_id, line=line, batch_key=key, submitted_at=created_at, programme_id=programme_id,
                programme_code=code, programme_name_vi=name_vi, programme_name_en=name_en, fingerprint=fp,
                applicant=applicant(values, line, today=submitted_on), resolution=Resolution.from_dict(found or {
                    "match": "none"}), commune_code=commune, province_code=province)


def _in_units(units: Collection[str]) -> Any:
    """The first candidate lives in one of ``units`` (5-digit communes, 2-digit provinces)."""
    communes = sorted(u for u in units if len(u) == 5)
    provinces = sorted(u for u in units if len(u) == 2)
    if not communes and not provinces:
        return false()
    return or_(Citizen.permanent_commune_code.in_(communes), Commune.province_code.in_(provinces))


def parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    """``<batch id>-<line>`` (an :attr:`Item.key`) as numbers, or None.

    :raises ValidationFailed: not a cursor.
    """
    if not cursor:
        return None
    batch, _, line = cursor.partition("-")
    if not (batch.isascii() and batch.isdigit() and line.isascii() and line.isdigit()):
        raise ValidationFailed("Not a cursor of the queue / Không phải vị trí của hàng đợi",
                               errors={"cursor": "expected <batch>-<line>"})
    return int(batch), int(line)


def open_items(*, units: Collection[str] | None, programme_code: str | None = None, cursor: str | None = None,
               limit: int = 50) -> tuple[list[Item], str | None]:
    """The open items (rows resolved as ``review`` whose fingerprint no clerk decided for the
    programme), in the order the lists came, ``limit`` after ``cursor``; and the cursor of the next
    page, or None. One statement.

    :param units: the units whose items may be shown ("*", 2-digit provinces, 5-digit communes:
        the first candidate's permanent commune must be in one); None: every item.
    :raises ValidationFailed: a malformed cursor.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    decided = exists().where(MatchDecision.programme_id == CheckBatch.programme_id,
                             MatchDecision.fingerprint == CheckBatchRow.review_fingerprint)
    later, later_batch = aliased(CheckBatchRow), aliased(CheckBatch)
    listed_again = (select(later.line).join(later_batch, later_batch.id == later.batch_id)
                    .where(later.review_fingerprint == CheckBatchRow.review_fingerprint,
                           later_batch.programme_id == CheckBatch.programme_id,
                           or_(later.batch_id > CheckBatchRow.batch_id,
                               and_(later.batch_id == CheckBatchRow.batch_id, later.line > CheckBatchRow.line)))
                    .exists())
    query = _columns().where(~decided, ~listed_again)
    if units is not None and "*" not in units:
        query = query.where(_in_units(units))
    if programme_code:
        query = query.where(Programme.code == programme_code)
    after = parse_cursor(cursor)
    if after is not None:
        query = query.where(or_(CheckBatchRow.batch_id > after[0],
                                and_(CheckBatchRow.batch_id == after[0], CheckBatchRow.line > after[1])))
    rows = db.session().execute(query.order_by(CheckBatchRow.batch_id, CheckBatchRow.line).limit(limit + 1)).all()
    items = [_item(row) for row in rows[:limit]]
    return items, (items[-1].key if len(rows) > limit else None)


def get_item(batch_id: int, line: int) -> Item:
    """The row ``line`` of batch ``batch_id``, decided or not.

    :raises NotFound: no such row, or not one left to a clerk.
    """
    row = db.session().execute(_columns().where(CheckBatchRow.batch_id == batch_id,
                                                CheckBatchRow.line == line)).first()
    if row is None:
        raise NotFound("No such row to review / Không có dòng cần xem xét này")
    return _item(row)


def decision_of(item: Item) -> MatchDecision | None:
    """The decision in force on the item's fingerprint, or None."""
    known = decisions.in_force(item.programme_id, [item.fingerprint]).get(item.fingerprint)
    return db.session().get(MatchDecision, known.id) if known is not None else None


def households_of(item: Item) -> set[int]:
    """The households the item's candidates belong to (a clerk decides nothing about their own)."""
    return {h for h in db.session().scalars(select(Citizen.household_id).where(
        Citizen.id.in_(item.resolution.candidates), Citizen.household_id.is_not(None))) if h is not None}


# --- evidence ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Values:
    """The identifying values of one side of the comparison: nothing the clerk does not need."""

    full_name: str
    date_of_birth: str
    sex: str | None
    commune_code: str | None
    commune_name: str | None
    #: The ID number: only when the row gave one (the clerk compares numbers only then).
    id_number: str | None


@dataclass(frozen=True, slots=True)
class Candidate:
    citizen_id: int
    values: Values
    #: The matcher's score (bits) and its per-field explanation for this candidate.
    score: float
    fields: tuple[FieldResult, ...]

    def differs(self, applicant: Values) -> frozenset[str]:
        """The shown fields whose values differ from the row's (for the eye, not for the matcher)."""
        found = set()
        for name in ("full_name", "date_of_birth", "sex", "commune_code", "id_number"):
            mine, theirs = getattr(applicant, name), getattr(self.values, name)
            if mine and theirs and mine != theirs:
                found.add(name)
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class Evidence:
    applicant: Values
    #: In the matcher's order, best first.
    candidates: tuple[Candidate, ...]


def evidence(item: Item, *, actor: str) -> Evidence:
    """The row's values beside each candidate's registry values, with the matcher's per-field
    explanation for each. Audited: one event per candidate shown (their data was read).
    Three statements."""
    s = db.session()
    row = item.applicant
    ids = list(item.resolution.candidates)
    person = resolution.applicant_person(row)
    if row.citizen_id and len(row.citizen_id) == 12:
        person = replace(person, id_number=row.citizen_id)  # "one digit off" shows
    found = {r[0]: r for r in s.execute(
        select(*PERSON_COLUMNS).outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
        .where(Citizen.id.in_(ids)))}
    codes = {c for c in [row.commune_code, *(r[5] for r in found.values())] if c}
    names = {code: name for code, name in s.execute(select(Commune.code, Commune.name)
                                                    .where(Commune.code.in_(sorted(codes))))}
    freq, population = blockindex.frequencies()
    thresholds = Thresholds.for_population(population)
    shows_number = bool(row.citizen_id)
    candidates = []
    for citizen_id in ids:
        if citizen_id not in found:
            continue  # gone from the registry since (never deleted in practice)
        r = found[citizen_id]
        theirs = person_of(r)
        checked = compare(person, theirs, freq, thresholds)
        candidates.append(Candidate(citizen_id, Values(
            full_name=theirs.full_name, date_of_birth=str(theirs.born) if theirs.born else "", sex=r[-1],
            commune_code=theirs.commune, commune_name=names.get(theirs.commune or ""),
            id_number=theirs.id_number if shows_number else None),
            round(checked.score, 1), tuple(f for f in checked.fields if f.level != "missing")))
    mine = Values(full_name=row.full_name, date_of_birth=str(row.born) if row.born else "", sex=row.sex,
                  commune_code=row.commune_code, commune_name=names.get(row.commune_code or ""),
                  id_number=row.citizen_id if shows_number else None)
    audit.record_many(AuditAction.ELIGIBILITY_REVIEW_READ, actor=actor, subject_type="citizen", subjects=(
        (c.citizen_id, {"programme": item.programme_code, "batch": item.batch_key, "line": item.line})
        for c in candidates))
    return Evidence(mine, tuple(candidates))


# --- decisions -----------------------------------------------------------------------------------

def decide(programme: Programme, fingerprint: str, citizen_id: int | None, *, actor: str,
           origin: tuple[int, int] | None = None, replaces: int | None = None) -> MatchDecision:
    """Record a clerk's decision: the rows with ``fingerprint`` are ``citizen_id`` for the
    programme, or (None) none of their candidates. Audited. Flushes, never commits.

    :param origin: the batch row (batch id, line) the decision was made on.
    :param replaces: the decision in force this one replaces; None for the first decision.
    :raises Conflict: the fingerprint was decided already (or meanwhile) and ``replaces`` does
        not name the decision in force.
    """
    s = db.session()
    current = decisions.in_force(programme.id, [fingerprint]).get(fingerprint)
    if (current.id if current is not None else None) != replaces:
        raise Conflict("This row was already decided by another clerk; reload it / "
                       "Dòng này đã được cán bộ khác quyết định; hãy tải lại trang",
                       decision=current.id if current is not None else None)
    decision = MatchDecision(programme_id=programme.id, fingerprint=fingerprint,
                             sequence=current.sequence + 1 if current is not None else 1, citizen_id=citizen_id,
                             decided_by=actor[:100], batch_id=origin[0] if origin else None,
                             line=origin[1] if origin else None)
    try:
        # Two clerks deciding at once both read "no decision": the unique (programme, fingerprint,
        # sequence) lets one in; the other's savepoint is rolled back and it is told.
        with s.begin_nested():
            s.add(decision)
            s.flush()
    except IntegrityError:
        raise Conflict("This row was decided by another clerk meanwhile; reload it / "
                       "Dòng này vừa được cán bộ khác quyết định; hãy tải lại trang") from None
    data = {"programme": programme.code, "decision": decision.id, "confirmed": citizen_id is not None,
            "replaces": replaces}
    if origin is not None:
        data["batch_id"], data["line"] = origin
    if citizen_id is not None:
        audit.record(AuditAction.ELIGIBILITY_MATCH_DECIDE, actor=actor, subject_type="citizen",
                     subject_id=citizen_id, data=data)
    else:
        audit.record(AuditAction.ELIGIBILITY_MATCH_DECIDE, actor=actor, subject_type="programme",
                     subject_id=programme.code, data=data)
    return decision


def decide_item(item: Item, citizen_id: int | None, *, actor: str, replaces: int | None = None) -> MatchDecision:
    """:func:`decide` on a queue item: ``citizen_id`` must be one of its candidates (or None).

    :raises ValidationFailed: not one of the item's candidates.
    """
    if citizen_id is not None and citizen_id not in item.resolution.candidates:
        raise ValidationFailed("Choose one of the candidates, or none of them / "
                               "Hãy chọn một trong những người được đề xuất, hoặc không ai",
                               errors={"candidate": "not one of the row's candidates"})
    programme = db.session().get_one(Programme, item.programme_id)
    return decide(programme, item.fingerprint, citizen_id, actor=actor, origin=(item.batch_id, item.line),
                  replaces=replaces)
