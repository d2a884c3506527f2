"""Life events of the registry: residence and household changes, civil-status events (name,
marriage, divorce, relatives, disappearance), identity cards, temporary residence and absence,
and the merge of two records of one person.

Each function checks its input (:class:`ValidationFailed` naming the field, :class:`Conflict`
when the record's state forbids it), changes the records, writes one revision per changed person
(:func:`changes.add_revision`, with the document and the approver) and one audit event, in the
caller's transaction: it flushes, never commits. Linked rows (relatives, temporary residences,
absences) are ended, never deleted, so the history of a person shows what held when.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.logs import mask_id_number
from idsvc.registry import changes
from idsvc.registry import dates
from idsvc.registry import names
from idsvc.registry import reference
from idsvc.registry import rules
from idsvc.registry import service
from idsvc.registry import signals
from idsvc.registry.changes import Document
from idsvc.registry.changes import changed_fields_since
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Absence
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenOldNumber
from idsvc.registry.models import CitizenRevision
from idsvc.registry.models import Household
from idsvc.registry.models import Relative
from idsvc.registry.models import TemporaryResidence

__all__ = [
    "Document", "change_household_head", "change_name", "change_residence", "changed_fields_since",
    "declare_absence", "declare_missing", "end_absence", "end_missing", "end_relative",
    "end_temporary_residence", "link_relative", "merge_households", "merge_records", "move_household",
    "record_divorce", "record_marriage", "register_temporary_residence", "set_id_card", "split_household",
]

#: Fields of a person's place in a household and residence (what residence events change).
_RESIDENCE_FIELDS = ("permanent_commune_code", "current_commune_code", "household_id", "relationship_to_head")

#: Minimum age at marriage (Law on Marriage and Family 2014, Art. 8(1)(a)): men 20, women 18.
MARRIAGE_AGE = {"M": 20, "F": 18}

#: Relatives recorded once at a time (one current father, one current mother).
_SINGLE_KINDS = frozenset({"father", "mother"})


# -- checks shared by the events -------------------------------------------------------------------

def _editable(citizen: Citizen, *, alive: bool = True) -> None:
    """A record an event may change: not merged into another one; alive unless ``alive`` is False.

    :raises Conflict: saying why not.
    """
    if citizen.merged_into_id is not None:
        raise Conflict(f"The record of {mask_id_number(citizen.id_number)} was merged into another person's "
                       "record; change that one. / Hồ sơ này đã được hợp nhất vào hồ sơ khác; hãy cập nhật hồ sơ đó.")
    if alive and not citizen.is_alive():
        status = reference.STATUSES[citizen.status]
        raise Conflict(f"This person is recorded as {status[1].lower()}; this change is for a living person. / "
                       f"Người này đang được ghi nhận là {status[0].lower()}.")


def _invalid(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {reason}", errors={field: reason})


def _day(value: date | str | None, field: str, *, born: PartialDate | None = None, future: bool = False,
         required: bool = True) -> date | None:
    """A full date (``YYYY-MM-DD`` or a date), not before the birth, not in the future unless ``future``."""
    if value is None or value == "":
        if required:
            raise _invalid(field, "required (YYYY-MM-DD)")
        return None
    try:
        day = rules.full_date(value.strip() if isinstance(value, str) else value, field)
    except rules.Invalid as exc:
        raise _invalid(field, exc.reason) from None
    assert day is not None
    if not future and day > dates.today():
        raise _invalid(field, f"{day.isoformat()} is in the future")
    if born is not None and day < born.earliest():
        raise _invalid(field, f"{day.isoformat()} is before the date of birth {born}")
    return day


def _text(value: str | None, field: str, *, required: bool = True) -> str | None:
    """Free text of a field within its size (:data:`rules.MAX_LENGTH`), NFC, single-spaced."""
    text = names.canonical(value) if isinstance(value, str) else None
    if not text:
        if required:
            raise _invalid(field, "required")
        return None
    try:
        return rules.free_text(text, field)
    except rules.Invalid as exc:
        raise _invalid(field, exc.reason) from None


def _commune(code: str | None, field: str) -> str:
    try:
        found = rules.commune(names.canonical(code) if isinstance(code, str) else None, service._Communes())
    except rules.Invalid as exc:
        raise _invalid(field, exc.reason) from None
    if found is None:
        raise _invalid(field, "required (5-digit commune code of 2025)")
    return found


def _relationship(value: str | None, field: str) -> str:
    try:
        found = rules.relationship(value)
    except rules.Invalid as exc:
        raise _invalid(field, exc.reason) from None
    if found is None:
        raise _invalid(field, f"required: one of {', '.join(reference.RELATIONSHIPS)}")
    return found


def _open(household: Household) -> None:
    if household.closed_at is not None:
        raise Conflict(f"Household {household.number} is closed"
                       + (" (merged into another)" if household.merged_into_id else "")
                       + f". / Hộ {household.number} đã đóng.")


def _members(household: Household) -> list[Citizen]:
    """The household's current members: alive, not merged, in id order."""
    return list(db.session().scalars(select(Citizen).where(
        Citizen.household_id == household.id, Citizen.merged_into_id.is_(None), Citizen.status == "alive")
        .order_by(Citizen.id)))


def _revise(citizen: Citizen, before: dict[str, Any], fields: Sequence[str], *, actor: str, source: str,
            reason: str, document: Document | None, approved_by: str | None,
            extra: Mapping[str, list[Any]] | None = None) -> CitizenRevision:
    """The revision of ``fields`` of ``citizen`` changed since ``before`` (and of ``extra``: changes
    of linked rows, ``{name: [old, new]}``)."""
    after = changes.snapshot(citizen, fields)
    if extra:
        changes.touch(citizen)
        before = {**before, **{k: v[0] for k, v in extra.items()}}
        after.update({k: v[1] for k, v in extra.items()})
    return changes.add_revision(citizen, actor=actor, source=source, reason=reason, before=before, after=after,
                                document=document, approved_by=approved_by)


def _audit(action: AuditAction, actor: str, subject: Citizen | Household, **data: Any) -> None:
    kind = "citizen" if isinstance(subject, Citizen) else "household"
    audit.record(action, actor=actor, subject_type=kind, subject_id=subject.id, data=data or None)


def _new_household_number(commune_code: str) -> str:
    """A household number nobody holds: ``<commune>-<8 random digits>``."""
    s = db.session()
    for _ in range(20):
        number = f"{commune_code}-{secrets.randbelow(10**8):08d}"
        if s.scalar(select(Household.id).where(Household.number == number)) is None:
            return number
    raise Conflict("No free household number found; try again.")


def _household_number(number: str | None, commune_code: str) -> str:
    if number is None:
        return _new_household_number(commune_code)
    text = _text(number, "household_number")
    assert text is not None
    if db.session().scalar(select(Household.id).where(Household.number == text)) is not None:
        raise Conflict(f"Household number {text} is taken. / Số hộ {text} đã tồn tại.")
    return text


def _leave_household(citizen: Citizen) -> None:
    """Take ``citizen`` out of their household. A head with other members cannot leave (the
    household needs a head: change it first); a head leaving alone closes the household."""
    household = citizen.household
    if household is None:
        return
    if household.head_id == citizen.id:
        others = [m for m in _members(household) if m.id != citizen.id]
        if others:
            raise Conflict(f"{citizen.full_name} is the head of household {household.number}, which has other "
                           "members: choose its new head first. / Người này là chủ hộ của hộ còn thành viên khác: "
                           "hãy đổi chủ hộ trước.")
        household.closed_at = utcnow()
    citizen.household, citizen.household_id, citizen.relationship_to_head = None, None, None


def _join(citizen: Citizen, household: Household, relationship: str) -> None:
    """Put ``citizen`` in ``household`` with ``relationship`` to its head ("head": when it has none)."""
    _open(household)
    if relationship == "head":
        if household.head_id is not None and household.head_id != citizen.id and any(
                m.id == household.head_id for m in _members(household)):
            raise Conflict(f"Household {household.number} already has a head. / Hộ {household.number} đã có chủ hộ.")
        household.head_id = citizen.id
    _place(citizen, household, relationship)


def _place(citizen: Citizen, household: Household, relationship: str) -> None:
    citizen.household, citizen.household_id, citizen.relationship_to_head = household, household.id, relationship


# -- residence and households ----------------------------------------------------------------------

def change_residence(citizen: Citizen, *, permanent_commune_code: str, current_commune_code: str | None = None,
                     address: str | None = None, household: Household | None = None,
                     relationship_to_head: str | None = None, actor: str, reason: str,
                     document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """Register a new permanent residence (Law on Residence 2020, Art. 20-22).

    ``household`` given: the person joins it with ``relationship_to_head``. Otherwise, with an
    ``address``: the person becomes the head of a new household there. Otherwise the person keeps
    their household if it is in the new commune, and leaves it if not. The current place of
    residence follows the permanent one unless given.

    :raises ValidationFailed: a commune, relationship or address is not valid.
    :raises Conflict: the household is closed or has a head already (joining as "head"), or the
        person heads a household with other members that they would leave.
    """
    _editable(citizen)
    permanent = _commune(permanent_commune_code, "permanent_commune_code")
    current = _commune(current_commune_code, "current_commune_code") if current_commune_code else permanent
    before = changes.snapshot(citizen, _RESIDENCE_FIELDS)
    if household is not None:
        relationship = _relationship(relationship_to_head, "relationship_to_head")
        _open(household)
        if household.id != citizen.household_id:
            _leave_household(citizen)
        _join(citizen, household, relationship)
    elif address is not None:
        text = _text(address, "address")
        _leave_household(citizen)
        own = Household(number=_new_household_number(permanent), commune_code=permanent, address=text)
        db.session().add(own)
        db.session().flush()
        _join(citizen, own, "head")
    elif citizen.household is not None and citizen.household.commune_code != permanent:
        _leave_household(citizen)
    citizen.permanent_commune_code, citizen.current_commune_code = permanent, current
    if changes.snapshot(citizen, _RESIDENCE_FIELDS) == before:
        raise ValidationFailed("Nothing changes: the person already lives there. / Không có gì thay đổi.")
    revision = _revise(citizen, before, _RESIDENCE_FIELDS, actor=actor, source="residence_registration",
                       reason=reason, document=document, approved_by=approved_by)
    _audit(AuditAction.REGISTRY_RESIDENCE_CHANGE, actor, citizen, fields=sorted(revision.changes))
    return revision


def move_household(household: Household, *, commune_code: str, address: str, actor: str, reason: str,
                   document: Document | None = None, approved_by: str | None = None) -> list[CitizenRevision]:
    """Move a whole household to a new address: its members' permanent residence follows (and
    their current residence, where it was the permanent one).

    :raises ValidationFailed: the commune or address is not valid, or nothing changes.
    :raises Conflict: the household is closed.
    """
    _open(household)
    commune = _commune(commune_code, "commune_code")
    text = _text(address, "address")
    if (commune, text) == (household.commune_code, household.address):
        raise ValidationFailed("Nothing changes: the household already lives there. / Không có gì thay đổi.")
    old = {"number": household.number, "commune_code": household.commune_code, "address": household.address}
    household.commune_code, household.address = commune, text
    new = {**old, "commune_code": commune, "address": text}
    revisions = []
    for member in _members(household):
        before = changes.snapshot(member, _RESIDENCE_FIELDS)
        if member.current_commune_code in (member.permanent_commune_code, None):
            member.current_commune_code = commune
        member.permanent_commune_code = commune
        revisions.append(_revise(member, before, _RESIDENCE_FIELDS, actor=actor, source="residence_registration",
                                 reason=reason, document=document, approved_by=approved_by,
                                 extra={"household_address": [old, new]}))
    _audit(AuditAction.REGISTRY_HOUSEHOLD_MOVE, actor, household, commune=[old["commune_code"], commune],
           members=len(revisions))
    return revisions


def change_household_head(household: Household, new_head: Citizen, *, old_head_relationship: str,
                          relationships: Mapping[int, str] | None = None, actor: str, reason: str,
                          document: Document | None = None, approved_by: str | None = None) -> list[CitizenRevision]:
    """Make ``new_head`` (a living member) the head; the old head, if still a member, takes
    ``old_head_relationship`` to the new one; ``relationships`` (citizen id -> relationship) re-states
    other members' relationships to the new head.

    :raises ValidationFailed: a relationship is not valid, or names a non-member.
    :raises Conflict: the household is closed, or ``new_head`` is not a living member or already heads it.
    """
    _open(household)
    _editable(new_head)
    members = {m.id: m for m in _members(household)}
    if new_head.id not in members:
        raise Conflict(f"{new_head.full_name} is not a member of household {household.number}. / "
                       "Người này không phải thành viên của hộ.")
    if household.head_id == new_head.id:
        raise Conflict(f"{new_head.full_name} is already the head. / Người này đã là chủ hộ.")
    old_relationship = _relationship(old_head_relationship, "old_head_relationship")
    if old_relationship == "head":
        raise _invalid("old_head_relationship", "the old head's relationship to the new head, not 'head'")
    wanted: dict[int, str] = {}
    for citizen_id, value in (relationships or {}).items():
        if citizen_id not in members or citizen_id in (new_head.id, household.head_id):
            raise _invalid("relationships", f"{citizen_id} is not another member of the household")
        wanted[citizen_id] = _relationship(value, "relationships")
        if wanted[citizen_id] == "head":
            raise _invalid("relationships", "only the new head is 'head'")
    old_head = members.get(household.head_id) if household.head_id is not None else None
    if old_head is not None:
        wanted[old_head.id] = old_relationship
    wanted[new_head.id] = "head"
    household.head_id = new_head.id
    revisions = []
    for citizen_id, relationship in wanted.items():
        member = members[citizen_id]
        if member.relationship_to_head == relationship:
            continue  # nothing of this member changes: no history row
        before = changes.snapshot(member, ["relationship_to_head"])
        member.relationship_to_head = relationship
        revisions.append(_revise(member, before, ["relationship_to_head"], actor=actor,
                                 source="residence_registration", reason=reason, document=document,
                                 approved_by=approved_by))
    _audit(AuditAction.REGISTRY_HOUSEHOLD_HEAD_CHANGE, actor, household, new_head=new_head.id,
           old_head=old_head.id if old_head else None)
    return revisions


def split_household(household: Household, members: Sequence[Citizen], new_head: Citizen, *,
                    number: str | None = None, commune_code: str | None = None, address: str | None = None,
                    relationships: Mapping[int, str] | None = None, actor: str, reason: str,
                    document: Document | None = None, approved_by: str | None = None) -> Household:
    """Separate ``members`` (with ``new_head`` among them) into a new household (tách hộ, Law on
    Residence 2020 Art. 25): its number (given, or drawn), commune and address (the old
    household's unless given). The others of ``members`` take ``relationships`` (citizen id ->
    relationship to the new head; "other" when not given).

    :raises ValidationFailed: no members, a non-member, a bad commune, address or relationship.
    :raises Conflict: the household is closed, its head is among the members (change the head
        first), all members would leave, or the number is taken.
    """
    _open(household)
    current = {m.id: m for m in _members(household)}
    leaving = {m.id: m for m in members}
    if not leaving:
        raise _invalid("members", "at least one member leaves")
    strangers = [m for m in leaving.values() if m.id not in current]
    if strangers:
        raise _invalid("members", f"{', '.join(m.full_name for m in strangers)}: not a living member of "
                                  f"household {household.number}")
    if new_head.id not in leaving:
        raise _invalid("new_head", "the new head is one of the members who leave")
    if household.head_id in leaving:
        raise Conflict("The head of the household cannot leave it in a split: change the head first. / "
                       "Chủ hộ không thể tách khỏi hộ: hãy đổi chủ hộ trước.")
    if len(leaving) == len(current):
        raise Conflict("Every member would leave: move the household instead. / Tất cả thành viên đều tách đi.")
    commune = _commune(commune_code, "commune_code") if commune_code else household.commune_code
    text = _text(address, "address") if address is not None else household.address
    wanted = {cid: _relationship(value, "relationships") for cid, value in (relationships or {}).items()}
    if any(cid not in leaving or cid == new_head.id or value == "head" for cid, value in wanted.items()):
        raise _invalid("relationships", "relationships of the members who leave (not the new head) to the new head")
    new = Household(number=_household_number(number, commune or "00000"), commune_code=commune, address=text)
    db.session().add(new)
    db.session().flush()
    for member in sorted(leaving.values(), key=lambda m: m.id):
        before = changes.snapshot(member, _RESIDENCE_FIELDS)
        _place(member, new, "head" if member.id == new_head.id else wanted.get(member.id, "other"))
        if commune is not None and commune != member.permanent_commune_code:
            if member.current_commune_code in (member.permanent_commune_code, None):
                member.current_commune_code = commune
            member.permanent_commune_code = commune
        _revise(member, before, _RESIDENCE_FIELDS, actor=actor, source="residence_registration", reason=reason,
                document=document, approved_by=approved_by)
    new.head_id = new_head.id
    db.session().flush()
    _audit(AuditAction.REGISTRY_HOUSEHOLD_SPLIT, actor, household, new_household=new.id, members=len(leaving))
    return new


def merge_households(target: Household, source: Household, *, relationships: Mapping[int, str] | None = None,
                     actor: str, reason: str, document: Document | None = None,
                     approved_by: str | None = None) -> list[CitizenRevision]:
    """Bring the members of ``source`` into ``target`` (nhập hộ); ``source`` is closed, not
    deleted, and points to ``target``. ``relationships``: citizen id -> relationship of a member
    of ``source`` to the head of ``target`` ("other" when not given).

    :raises ValidationFailed: a relationship is not valid or names a non-member of ``source``.
    :raises Conflict: the same household twice, or either is closed.
    """
    if target.id == source.id:
        raise Conflict("A household cannot be merged into itself. / Không thể nhập hộ vào chính nó.")
    _open(target)
    _open(source)
    arriving = _members(source)
    ids = {m.id for m in arriving}
    wanted = {cid: _relationship(value, "relationships") for cid, value in (relationships or {}).items()}
    if any(cid not in ids or value == "head" for cid, value in wanted.items()):
        raise _invalid("relationships", f"relationships of the members of household {source.number} to the head "
                                        f"of {target.number} (not 'head')")
    revisions = []
    for member in arriving:
        before = changes.snapshot(member, _RESIDENCE_FIELDS)
        _place(member, target, wanted.get(member.id, "other"))
        if target.commune_code is not None and target.commune_code != member.permanent_commune_code:
            if member.current_commune_code in (member.permanent_commune_code, None):
                member.current_commune_code = target.commune_code
            member.permanent_commune_code = target.commune_code
        revisions.append(_revise(member, before, _RESIDENCE_FIELDS, actor=actor, source="residence_registration",
                                 reason=reason, document=document, approved_by=approved_by))
    source.closed_at, source.merged_into_id = utcnow(), target.id
    changes.flush()
    _audit(AuditAction.REGISTRY_HOUSEHOLD_MERGE, actor, target, source=source.id, members=len(arriving))
    return revisions


# -- civil status ------------------------------------------------------------------------------------

def change_name(citizen: Citizen, *, full_name: str, other_names: str | None = None, actor: str, reason: str,
                document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """Change the birth name (a civil-status decision on a change of name); ``other_names``: None
    keeps them, "" clears them.

    :raises ValidationFailed: a name is not valid, or nothing changes.
    """
    _editable(citizen, alive=False)
    wanted: dict[str, Any] = {"full_name": full_name}
    if other_names is not None:
        wanted["other_names"] = other_names
    values = service._validate_fields(wanted)
    before = changes.snapshot(citizen, values)
    for field, value in values.items():
        setattr(citizen, field, value)
    citizen.name_folded = names.fold(citizen.full_name)
    if changes.snapshot(citizen, values) == before:
        raise ValidationFailed("Nothing changes: the record already has this name. / Không có gì thay đổi.")
    revision = _revise(citizen, before, list(values), actor=actor, source="civil_status_registration",
                       reason=reason, document=document, approved_by=approved_by)
    _audit(AuditAction.REGISTRY_NAME_CHANGE, actor, citizen, fields=sorted(revision.changes))
    return revision


def _numbers_of(citizen: Citizen) -> set[str]:
    """Every ID number the person holds or held."""
    return {citizen.id_number, *db.session().scalars(
        select(CitizenNumber.number).where(CitizenNumber.citizen_id == citizen.id))}


def _current_spouse_links(citizen: Citizen) -> list[Relative]:
    return [r for r in citizen.relatives if r.kind == "spouse" and r.ended_on is None]


def _link(relative: Relative) -> dict[str, Any]:
    """A linked relative as the revision shows it."""
    return {"id": relative.id, "kind": relative.kind, "id_number": relative.id_number,
            "full_name": relative.full_name, "ended_on": changes.plain(relative.ended_on)}


def record_marriage(a: Citizen, b: Citizen, *, on: date, actor: str, reason: str, document: Document | None = None,
                    approved_by: str | None = None) -> list[CitizenRevision]:
    """Record a marriage registered ``on`` a day: a spouse link each way, both marital statuses
    "married".

    The registry applies the Law on Marriage and Family 2014, Art. 5 and 8: one spouse at a
    time, the minimum ages (men 20, women 18), two people of different sex.

    :raises ValidationFailed: a bad date, a minimum age not reached, the same sex.
    :raises Conflict: the same person twice, a person not alive or merged, or already married.
    """
    if a.id == b.id:
        raise Conflict("A person cannot marry themselves. / Không thể kết hôn với chính mình.")
    for person in (a, b):
        _editable(person)
    day = _day(on, "on")
    assert day is not None
    for person in (a, b):
        if person.date_of_birth.earliest() > day:
            raise _invalid("on", f"before the birth of {person.full_name}")
        if _current_spouse_links(person):
            raise Conflict(f"{person.full_name} is recorded as married; record the divorce or the spouse's death "
                           f"first. / {person.full_name} đang có vợ/chồng.")
        age = _age(person.date_of_birth, day)
        if age < MARRIAGE_AGE[person.sex]:
            raise _invalid("on", f"{person.full_name} was {age}, under the minimum age of marriage "
                                 f"({MARRIAGE_AGE[person.sex]}) / chưa đủ tuổi kết hôn")
    if a.sex == b.sex:
        raise _invalid("b", "the law recognises marriage between a man and a woman (Law on Marriage and Family "
                            "2014, Art. 8(2)) / pháp luật chỉ công nhận hôn nhân giữa nam và nữ")
    revisions = []
    for person, spouse in ((a, b), (b, a)):
        before = changes.snapshot(person, ["marital_status"])
        link = Relative(kind="spouse", id_number=spouse.id_number, full_name=spouse.full_name,
                        nationality=spouse.nationality)
        person.relatives.append(link)
        person.marital_status = "married"
        changes.flush()
        revisions.append(_revise(person, before, ["marital_status"], actor=actor,
                                 source="civil_status_registration", reason=reason, document=document,
                                 approved_by=approved_by,
                                 extra={"relatives": [None, {**_link(link), "since": day.isoformat()}]}))
    _audit(AuditAction.REGISTRY_MARRIAGE_RECORD, actor, a, spouse=b.id, on=day.isoformat())
    return revisions


def _age(born: PartialDate, on: date) -> int:
    """Age in whole years on ``on``, giving an incomplete date of birth the benefit of the doubt."""
    first = born.earliest()
    return on.year - first.year - ((on.month, on.day) < (first.month, first.day))


def record_divorce(a: Citizen, b: Citizen, *, on: date, actor: str, reason: str, document: Document | None = None,
                   approved_by: str | None = None) -> list[CitizenRevision]:
    """Record a divorce effective ``on`` a day: the spouse links between the two end (kept, with
    ``ended_on``), both marital statuses become "divorced".

    :raises ValidationFailed: a bad date.
    :raises Conflict: the two are not recorded as married to each other, or a record is merged.
    """
    if a.id == b.id:
        raise Conflict("The same person twice. / Trùng một người.")
    for person in (a, b):
        _editable(person, alive=False)
    day = _day(on, "on")
    assert day is not None
    links = []
    for person, spouse in ((a, b), (b, a)):
        numbers = _numbers_of(spouse)
        found = [r for r in _current_spouse_links(person) if r.id_number in numbers]
        if not found:
            raise Conflict(f"{a.full_name} and {b.full_name} are not recorded as married to each other. / "
                           "Hai người không được ghi nhận là vợ chồng.")
        links.append((person, found))
    revisions = []
    for person, found in links:
        before = changes.snapshot(person, ["marital_status"])
        old = [_link(r) for r in found]
        for link in found:
            link.ended_on = day
        person.marital_status = "divorced"
        revisions.append(_revise(person, before, ["marital_status"], actor=actor,
                                 source="civil_status_registration", reason=reason, document=document,
                                 approved_by=approved_by,
                                 extra={"relatives": [old, [_link(r) for r in found]]}))
    _audit(AuditAction.REGISTRY_DIVORCE_RECORD, actor, a, spouse=b.id, on=day.isoformat())
    return revisions


def declare_missing(citizen: Citizen, *, on: date, actor: str, reason: str, document: Document | None = None,
                    approved_by: str | None = None) -> CitizenRevision:
    """Record a court's declaration of disappearance (:func:`service.record_death` with status
    "missing": the account's sessions and tokens end).

    :raises Conflict: the person is not alive (already missing or deceased), or merged.
    """
    _editable(citizen)
    return service.record_death(citizen, on, actor=actor, reason=reason, status="missing", document=document,
                                approved_by=approved_by)


def end_missing(citizen: Citizen, *, actor: str, reason: str, document: Document | None = None,
                approved_by: str | None = None) -> CitizenRevision:
    """Cancel a declaration of disappearance (the person came back): alive again. Nothing to undo
    above the registry: the person logs in again with their account.

    :raises Conflict: the person is not recorded as missing.
    """
    _editable(citizen, alive=False)
    if citizen.status != "missing":
        raise Conflict("This person is not recorded as missing. / Người này không bị ghi nhận là mất tích.")
    fields = ["status", "date_of_death"]
    before = changes.snapshot(citizen, fields)
    citizen.status, citizen.date_of_death = "alive", None
    revision = _revise(citizen, before, fields, actor=actor, source="court_decision", reason=reason,
                       document=document, approved_by=approved_by)
    _audit(AuditAction.REGISTRY_MISSING_END, actor, citizen)
    return revision


def set_id_card(citizen: Citizen, *, issued_on: date, issued_by: str, expires_on: date | None, actor: str,
                reason: str, document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """Record the identity card in force (field 14): issue date, issuing authority, expiry.

    :raises ValidationFailed: a date or the authority is not valid (issued after today or before
        the birth, expiring before it was issued).
    :raises Conflict: the person is not alive, or merged.
    """
    _editable(citizen)
    try:
        card = rules.id_card(issued_on, names.canonical(issued_by) if isinstance(issued_by, str) else None,
                             expires_on, citizen.date_of_birth, dates.today())
    except rules.Invalid as exc:
        raise _invalid(exc.field or "issued_on", exc.reason) from None
    fields = ["id_card_issued_on", "id_card_issued_by", "id_card_expires_on"]
    before = changes.snapshot(citizen, fields)
    citizen.id_card_issued_on, citizen.id_card_issued_by, citizen.id_card_expires_on = card
    if changes.snapshot(citizen, fields) == before:
        raise ValidationFailed("Nothing changes: this card is already recorded. / Không có gì thay đổi.")
    revision = _revise(citizen, before, fields, actor=actor, source="id_card_issue", reason=reason,
                       document=document, approved_by=approved_by)
    _audit(AuditAction.REGISTRY_ID_CARD_SET, actor, citizen)
    return revision


def link_relative(citizen: Citizen, *, kind: str, id_number: str | None, full_name: str | None,
                  nationality: str | None = None, actor: str, reason: str, document: Document | None = None,
                  approved_by: str | None = None) -> CitizenRevision:
    """Record a relative (field 15): father, mother, child, guardian, legal representative or
    represented person, by ID number and/or name. A relative in the registry is named as the
    registry has them. (A spouse is recorded by :func:`record_marriage`.)

    :raises ValidationFailed: an unknown kind, no number nor name, a bad number, name or nationality.
    :raises Conflict: the same link already holds, or a second current father or mother.
    """
    _editable(citizen, alive=False)
    if kind == "spouse":
        raise _invalid("kind", "a spouse is recorded with the marriage (record_marriage)")
    if kind not in reference.RELATIVE_KINDS:
        raise _invalid("kind", f"one of {', '.join(k for k in reference.RELATIVE_KINDS if k != 'spouse')}")
    number = (id_number or "").strip() or None
    name = names.canonical(full_name) if isinstance(full_name, str) else None
    try:
        number = rules.relative_id(number, citizen.id_number)
    except rules.Invalid as exc:
        raise _invalid("id_number", exc.reason) from None
    try:
        name = rules.name(name or None)
    except rules.Invalid as exc:
        raise _invalid("full_name", exc.reason) from None
    try:
        country = rules.nationality(nationality.strip()) if nationality else None
    except rules.Invalid as exc:
        raise _invalid("nationality", exc.reason) from None
    if number is None and name is None:
        raise _invalid("id_number", "give the relative's ID number, name, or both")
    if number is not None:
        known = db.session().scalar(select(Citizen).where(Citizen.id_number == number))
        if known is not None:
            known = service.surviving(known)
            if known.id == citizen.id:
                raise _invalid("id_number", "the person's own number")
            number, name, country = known.id_number, name or known.full_name, country or known.nationality
    current = [r for r in citizen.relatives if r.ended_on is None and r.kind == kind]
    if kind in _SINGLE_KINDS and current:
        raise Conflict(f"A {kind} is already recorded; end that link first. / Đã có {reference.RELATIVE_KINDS[kind][0]}"
                       " trong hồ sơ; hãy kết thúc liên kết đó trước.")
    if any(r.id_number == number and (number is not None or r.full_name == name) for r in current):
        raise Conflict("This relative is already recorded. / Người thân này đã có trong hồ sơ.")
    link = Relative(kind=kind, id_number=number, full_name=name, nationality=country)
    citizen.relatives.append(link)
    changes.flush()
    revision = _revise(citizen, {}, [], actor=actor, source="civil_status_registration", reason=reason,
                       document=document, approved_by=approved_by, extra={"relatives": [None, _link(link)]})
    _audit(AuditAction.REGISTRY_RELATIVE_LINK, actor, citizen, kind=kind, relative=link.id)
    return revision


def end_relative(citizen: Citizen, relative_id: int, *, on: date, actor: str, reason: str,
                 document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """End a relative link ``on`` a day (an ended representation or guardianship, a link found
    wrong); the link is kept with ``ended_on``.

    :raises NotFound: the person has no such link.
    :raises Conflict: the link has ended already.
    :raises ValidationFailed: a bad date.
    """
    _editable(citizen, alive=False)
    link = next((r for r in citizen.relatives if r.id == relative_id), None)
    if link is None:
        raise NotFound(f"This person has no relative link {relative_id}. / Không có liên kết người thân này.")
    if link.ended_on is not None:
        raise Conflict(f"This link ended on {link.ended_on.isoformat()}. / Liên kết này đã kết thúc.")
    day = _day(on, "on")
    old = _link(link)
    link.ended_on = day
    revision = _revise(citizen, {}, [], actor=actor, source="civil_status_registration", reason=reason,
                       document=document, approved_by=approved_by, extra={"relatives": [old, _link(link)]})
    _audit(AuditAction.REGISTRY_RELATIVE_END, actor, citizen, kind=link.kind, relative=link.id)
    return revision


# -- temporary residence and absence ------------------------------------------------------------------

def _residence(row: TemporaryResidence) -> dict[str, Any]:
    return {"id": row.id, "commune_code": row.commune_code, "address": row.address,
            "registered_on": changes.plain(row.registered_on), "expires_on": changes.plain(row.expires_on),
            "ended_on": changes.plain(row.ended_on)}


def _absence(row: Absence) -> dict[str, Any]:
    return {"id": row.id, "starts_on": changes.plain(row.starts_on), "ends_on": changes.plain(row.ends_on),
            "destination": row.destination, "ended_on": changes.plain(row.ended_on)}


def register_temporary_residence(citizen: Citizen, *, commune_code: str, address: str, registered_on: date,
                                 expires_on: date | None, actor: str, reason: str,
                                 document: Document | None = None,
                                 approved_by: str | None = None) -> CitizenRevision:
    """Register a temporary residence (tạm trú, Law on Residence 2020 Art. 27): in another commune
    than the permanent residence, one at a time.

    :raises ValidationFailed: a bad commune, address or date; the permanent residence's commune.
    :raises Conflict: a temporary residence is in force already (end it first), or the person is
        not alive.
    """
    _editable(citizen)
    commune = _commune(commune_code, "commune_code")
    if commune == citizen.permanent_commune_code:
        raise _invalid("commune_code", "the commune of the permanent residence: a temporary residence is elsewhere")
    text = _text(address, "address")
    start = _day(registered_on, "registered_on", born=citizen.date_of_birth)
    end = _day(expires_on, "expires_on", future=True, required=False)
    assert start is not None and text is not None
    if end is not None and end <= start:
        raise _invalid("expires_on", "after the registration date")
    s = db.session()
    held = s.scalar(select(TemporaryResidence).where(TemporaryResidence.citizen_id == citizen.id,
                                                     TemporaryResidence.ended_on.is_(None)))
    if held is not None and held.is_current(start):
        raise Conflict(f"A temporary residence is registered already (in commune {held.commune_code}); end it "
                       "first. / Đang có nơi tạm trú; hãy xoá đăng ký đó trước.")
    row = TemporaryResidence(citizen_id=citizen.id, commune_code=commune, address=text, registered_on=start,
                             expires_on=end)
    s.add(row)
    changes.flush()
    revision = _revise(citizen, {}, [], actor=actor, source="residence_registration", reason=reason,
                       document=document, approved_by=approved_by,
                       extra={"temporary_residence": [None, _residence(row)]})
    _audit(AuditAction.REGISTRY_TEMPORARY_RESIDENCE_REGISTER, actor, citizen, residence=row.id)
    return revision


def _own(model: type[TemporaryResidence] | type[Absence], citizen: Citizen, row_id: int, what: str) -> Any:
    row: Any = db.session().get(model, row_id)
    if row is None or row.citizen_id != citizen.id:
        raise NotFound(f"This person has no {what} {row_id}.")
    if row.ended_on is not None:
        raise Conflict(f"This {what} ended on {row.ended_on.isoformat()}. / Đăng ký này đã kết thúc.")
    return row


def end_temporary_residence(citizen: Citizen, residence_id: int, *, on: date, actor: str, reason: str,
                            document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """End a temporary residence ``on`` a day (the person left, or it was cancelled); kept, with ``ended_on``.

    :raises NotFound: the person has no such temporary residence.
    :raises Conflict: it has ended already.
    :raises ValidationFailed: a bad date, or one before the registration.
    """
    return _end_registration(citizen, TemporaryResidence, residence_id, on, what="temporary residence",
                             started="registered_on", started_words="the registration", describe=_residence,
                             key="temporary_residence", audit_key="residence",
                             action=AuditAction.REGISTRY_TEMPORARY_RESIDENCE_END,
                             actor=actor, reason=reason, document=document, approved_by=approved_by)


def declare_absence(citizen: Citizen, *, starts_on: date, ends_on: date | None, destination: str, actor: str,
                    reason: str, document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """Record a declaration of temporary absence (khai báo tạm vắng, Law on Residence 2020 Art. 31),
    one at a time; it may start in the future (declared before leaving).

    :raises ValidationFailed: a bad date or destination.
    :raises Conflict: an absence is declared already (end it first), or the person is not alive.
    """
    _editable(citizen)
    start = _day(starts_on, "starts_on", born=citizen.date_of_birth, future=True)
    end = _day(ends_on, "ends_on", future=True, required=False)
    text = _text(destination, "destination")
    assert start is not None and text is not None
    if end is not None and end < start:
        raise _invalid("ends_on", "not before the start")
    s = db.session()
    if s.scalar(select(Absence.id).where(Absence.citizen_id == citizen.id, Absence.ended_on.is_(None))):
        raise Conflict("An absence is declared already; end it first. / Đang có khai báo tạm vắng.")
    row = Absence(citizen_id=citizen.id, starts_on=start, ends_on=end, destination=text)
    s.add(row)
    changes.flush()
    revision = _revise(citizen, {}, [], actor=actor, source="residence_registration", reason=reason,
                       document=document, approved_by=approved_by, extra={"absence": [None, _absence(row)]})
    _audit(AuditAction.REGISTRY_ABSENCE_DECLARE, actor, citizen, absence=row.id)
    return revision


def end_absence(citizen: Citizen, absence_id: int, *, on: date, actor: str, reason: str,
                document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """Close a declared absence ``on`` a day (the person came back); kept, with ``ended_on``.

    :raises NotFound: the person has no such absence.
    :raises Conflict: it has ended already.
    :raises ValidationFailed: a bad date, or one before the start.
    """
    return _end_registration(citizen, Absence, absence_id, on, what="absence", started="starts_on",
                             started_words="the start", describe=_absence, key="absence", audit_key="absence",
                             action=AuditAction.REGISTRY_ABSENCE_END, actor=actor, reason=reason,
                             document=document, approved_by=approved_by)


def _end_registration(citizen: Citizen, model: type[TemporaryResidence] | type[Absence], row_id: int, on: date, *,
                      what: str, started: str, started_words: str, describe: Callable[[Any], dict[str, Any]],
                      key: str, audit_key: str, action: AuditAction, actor: str, reason: str, document: Document | None,
                      approved_by: str | None) -> CitizenRevision:
    """End one of the person's residence registrations (a temporary residence, an absence) ``on`` a
    day: the row stays, with ``ended_on``, and the revision holds it before and after."""
    _editable(citizen, alive=False)
    row = _own(model, citizen, row_id, what)
    day = _day(on, "on")
    assert day is not None
    start: date = getattr(row, started)
    if day < start:
        raise _invalid("on", f"before {started_words} ({start.isoformat()})")
    old = describe(row)
    row.ended_on = day
    revision = _revise(citizen, {}, [], actor=actor, source="residence_registration", reason=reason,
                       document=document, approved_by=approved_by, extra={key: [old, describe(row)]})
    _audit(action, actor, citizen, **{audit_key: row.id})
    return revision


# -- two records of one person ---------------------------------------------------------------------

def merge_records(survivor: Citizen, duplicate: Citizen, *, actor: str, reason: str,
                  document: Document | None = None, approved_by: str | None = None) -> list[CitizenRevision]:
    """Merge ``duplicate`` (a second record of the same person) into ``survivor``.

    The duplicate stays, with its history, marked ``merged_into_id``; its ID numbers are retired
    and resolve to the survivor (:func:`service.get_citizen_by_number`, search, number look-ups),
    and its old identity-card numbers move to the survivor. It leaves its household (closed if it
    was its only member). ``signals.records_merged`` tells the subdomains above (identity disables
    the duplicate's account).

    :raises Conflict: the same record twice, a record already merged, or a duplicate heading a
        household with other members (change the head first).
    """
    if survivor.id == duplicate.id:
        raise Conflict("A record cannot be merged into itself. / Không thể hợp nhất hồ sơ với chính nó.")
    for record in (survivor, duplicate):
        _editable(record, alive=False)
    s = db.session()
    numbers = sorted(_numbers_of(duplicate))
    held = set(s.scalars(select(CitizenOldNumber.number).where(CitizenOldNumber.citizen_id == survivor.id)))
    moving = sorted(set(service.old_id_numbers(duplicate.id)))
    dup_before = changes.snapshot(duplicate, ["merged_into_id", *_RESIDENCE_FIELDS])
    _leave_household(duplicate)
    duplicate.merged_into_id = survivor.id
    changes.flush()
    now = utcnow()
    s.execute(update(CitizenNumber).where(CitizenNumber.citizen_id == duplicate.id, CitizenNumber.retired_at.is_(None))
              .values(retired_at=now, retired_reason=f"record merged into another (citizen {survivor.id})"))
    s.execute(update(CitizenNumber).where(CitizenNumber.citizen_id == duplicate.id).values(citizen_id=survivor.id))
    s.execute(update(CitizenOldNumber).where(CitizenOldNumber.citizen_id == duplicate.id,
                                             CitizenOldNumber.number.not_in(held or {""}))
              .values(citizen_id=survivor.id))
    s.execute(delete(CitizenOldNumber).where(CitizenOldNumber.citizen_id == duplicate.id))
    s.expire(survivor, ["numbers"])
    s.expire(duplicate, ["numbers"])
    dup_revision = _revise(duplicate, dup_before, ["merged_into_id", *_RESIDENCE_FIELDS], actor=actor,
                           source="record_merge", reason=reason, document=document, approved_by=approved_by,
                           extra={"old_id_numbers": [moving or None, None]})
    survivor_revision = _revise(
        survivor, {}, [], actor=actor, source="record_merge", reason=reason, document=document,
        approved_by=approved_by,
        extra={"merged_from": [None, {"citizen_id": duplicate.id, "numbers": numbers}],
               "old_id_numbers": [sorted(held) or None, sorted(held | set(moving)) or None]})
    _audit(AuditAction.REGISTRY_RECORDS_MERGE, actor, survivor, duplicate=duplicate.id)
    signals.records_merged.send(current_app._get_current_object(),  # type: ignore[attr-defined]  # current_app: a proxy
                                survivor=survivor, duplicate=duplicate, actor=actor)
    return [survivor_revision, dup_revision]
