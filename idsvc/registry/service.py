"""Registry services: administrative units, citizen look-ups, birth registration, changes.

Plain functions that flush and never commit; the request or CLI command commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.logs import mask_id_number
from idsvc.registry import changes
from idsvc.registry import countries
from idsvc.registry import dates
from idsvc.registry import idnumbers
from idsvc.registry import names
from idsvc.registry import reference
from idsvc.registry import rules
from idsvc.registry import signals
from idsvc.registry import units
from idsvc.registry import verify
from idsvc.registry.changes import Document
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Absence
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import CitizenOldNumber
from idsvc.registry.models import CitizenRevision
from idsvc.registry.models import Commune
from idsvc.registry.models import Household
from idsvc.registry.models import ImportBatch
from idsvc.registry.models import LegacyCommune
from idsvc.registry.models import LegacyCommuneSuccessor
from idsvc.registry.models import LegacyProvince
from idsvc.registry.models import Province
from idsvc.registry.models import Relative
from idsvc.registry.models import TemporaryResidence

#: Longest IN-list of one statement (SQLite's limit on bound parameters, with room to spare).
CHUNK = 500


def sync_units(actor: str = "system:cli") -> dict[str, int]:
    """Upsert the 2025 provinces and communes and the 63 legacy codes; never deletes a unit.

    Codes are never reused (Decision 19/2025), so a unit that disappears from the source keeps
    its row for the records that still point at it.
    """
    s = db.session()
    counts = {}
    communes = list(units.communes_2025())
    for model, rows in (
        (Province, [dict(code=u.code, name=u.name, kind=u.kind) for u in units.provinces_2025()]),
        (LegacyProvince, [dict(code=c, name=n, successor_code=succ)
                          for c, (n, succ) in units.LEGACY_PROVINCES.items()]),
        (Commune, [dict(code=u.code, name=u.name, kind=u.kind, province_code=u.province_code)
                   for u in communes]),
    ):
        existing = {obj.code: obj  # type: ignore[attr-defined]  # each of the three models has a code
                    for obj in s.scalars(select(model))}
        added = 0
        for row in rows:
            obj = existing.get(row["code"])
            if obj is None:
                s.add(model(**row))
                added += 1
            else:
                for key, value in row.items():
                    setattr(obj, key, value)
        s.flush()
        counts[model.__tablename__] = added
    counts.update(_sync_legacy_communes(communes))
    audit.record(AuditAction.REGISTRY_UNITS_SYNC, actor=actor, data=counts)
    return counts


def _sync_legacy_communes(communes: list[units.UnitRow]) -> dict[str, int]:
    """Add the pre-2025 communes and their successors the registry lacks (never deletes or changes
    one). Skipped, without reading the source, when the registry holds as many as the source has."""
    s = db.session()
    counts = {LegacyCommune.__tablename__: 0, LegacyCommuneSuccessor.__tablename__: 0}
    held = s.scalar(select(func.count()).select_from(LegacyCommune)) or 0
    if held and held == units.legacy_commune_count():
        return counts
    rows = list(units.legacy_communes(communes))
    known = set(s.scalars(select(LegacyCommune.code)))
    fresh = [dict(code=r.code, name=r.name, district=r.district, legacy_province_code=r.province_code)
             for r in rows if r.code not in known]
    if fresh:
        s.execute(LegacyCommune.__table__.insert(), fresh)
    pairs = {(legacy, commune) for legacy, commune in s.execute(
        select(LegacyCommuneSuccessor.legacy_code, LegacyCommuneSuccessor.commune_code))}
    links = [dict(legacy_code=r.code, commune_code=code, is_default=default)
             for r in rows for code, default in r.successors if (r.code, code) not in pairs]
    if links:
        s.execute(LegacyCommuneSuccessor.__table__.insert(), links)
    s.flush()
    counts.update({LegacyCommune.__tablename__: len(fresh), LegacyCommuneSuccessor.__tablename__: len(links)})
    return counts


def successors_of(codes: Iterable[str]) -> dict[str, list[tuple[str, bool]]]:
    """Pre-2025 commune code -> the 2025 commune(s) it became, as (code, is_default), the default
    first: one pair when merged whole, several when split. Codes that are no pre-2025 commune's are
    left out."""
    wanted = sorted(set(codes))
    found: dict[str, list[tuple[str, bool]]] = {}
    s = db.session()
    for start in range(0, len(wanted), CHUNK):
        query = (select(LegacyCommuneSuccessor.legacy_code, LegacyCommuneSuccessor.commune_code,
                        LegacyCommuneSuccessor.is_default)
                 .where(LegacyCommuneSuccessor.legacy_code.in_(wanted[start:start + CHUNK]))
                 .order_by(LegacyCommuneSuccessor.legacy_code, LegacyCommuneSuccessor.is_default.desc(),
                           LegacyCommuneSuccessor.commune_code))
        for legacy, commune, default in s.execute(query):
            found.setdefault(legacy, []).append((commune, bool(default)))
    return found


def commune_codes() -> frozenset[str]:
    """All commune codes known to the registry (3,321 after the 2025 reform)."""
    return frozenset(db.session().scalars(select(Commune.code)))


def unit_exists(code: str) -> bool:
    """Whether ``code`` is a 2025 province (2 digits) or commune (5 digits) code."""
    s = db.session()
    model = Province if len(code) == 2 else Commune if len(code) == 5 else None
    return model is not None and s.get(model, code) is not None


def unit_counts() -> tuple[int, int]:
    s = db.session()
    return (s.scalar(select(func.count()).select_from(Province)) or 0,
            s.scalar(select(func.count()).select_from(Commune)) or 0)


def get_citizen_by_number(number: str) -> Citizen:
    """The citizen who holds ``number`` now; the number of a record merged into another person's
    (a duplicate) gives that person.

    :raises NotFound: no citizen holds it (a retired number is reported as such).
    """
    s = db.session()
    citizen = s.scalar(select(Citizen).where(Citizen.id_number == number))
    if citizen is not None:
        return surviving(citizen)
    retired = s.get(CitizenNumber, number)
    if retired is not None and retired.citizen.merged_into_id is not None:
        return surviving(retired.citizen)
    if retired is not None:
        raise NotFound(f"ID number {mask_id_number(number)} was replaced by a newer number; "
                       "look the person up by their current number.", replaced=True)
    raise NotFound(f"No citizen holds ID number {mask_id_number(number)}.")


def surviving(citizen: Citizen) -> Citizen:
    """The record that stands for ``citizen``: itself, or the one it was merged into (a merged
    record's survivor is never itself merged: :func:`lifeevents.merge_records` refuses that)."""
    if citizen.merged_into_id is None:
        return citizen
    survivor = db.session().get(Citizen, citizen.merged_into_id)
    assert survivor is not None  # a foreign key
    return survivor


class UnknownIdNumber(NotFound):
    """A well-formed ID number that no citizen holds or ever held."""

    code = "unknown-id-number"
    title = "Unknown ID number / Số định danh không tồn tại"


def verify_claim(number: str, claim: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Verify (e-KYC without disclosure): each claimed field's outcome (``verify.compare``), the
    person's life status and whether ``number`` is their current number or a replaced one. Never
    a value of the record. Audited: the fields asked and their outcomes, never the values.

    :raises ValidationFailed: ``permanent_commune`` is no commune's code.
    :raises UnknownIdNumber: no citizen holds or ever held ``number``.
    """
    commune = claim.get("permanent_commune")
    if commune is not None and not unit_exists(commune):
        reason = "no commune has this code (the 2025 codes)"
        raise ValidationFailed(f"permanent_commune: {reason}", errors={"permanent_commune": [reason]})
    s = db.session()
    citizen = s.scalar(select(Citizen).where(Citizen.id_number == number))
    number_status = "current"
    if citizen is None:
        held = s.get(CitizenNumber, number)
        if held is None:
            raise UnknownIdNumber(f"No citizen holds or held ID number {mask_id_number(number)}.")
        citizen, number_status = held.citizen, "replaced"
    if citizen.merged_into_id is not None:
        citizen, number_status = surviving(citizen), "replaced"
    record = {"full_name": citizen.full_name, "date_of_birth": citizen.date_of_birth, "sex": citizen.sex,
              "permanent_commune": citizen.permanent_commune_code}
    outcomes = verify.compare(claim, record)
    audit.record(AuditAction.REGISTRY_VERIFY, actor=actor, subject_type="citizen", subject_id=citizen.id,
                 data={"fields": outcomes, "number_status": number_status})
    return {"fields": outcomes, "life_status": citizen.status, "number_status": number_status}


def find_by_name(name: str, birth_year: int | None = None, limit: int = 50) -> list[Citizen]:
    """Candidates by folded name (and birth year): accents optional, exact NFC matches first."""
    query = select(Citizen).where(Citizen.name_folded == names.fold(name))
    if birth_year is not None:
        query = query.where(Citizen.birth_year == birth_year)
    found = list(db.session().scalars(query.limit(limit)))
    exact = names.canonical(name)
    return sorted(found, key=lambda c: (c.full_name != exact, c.id))


def describe(citizen: Citizen) -> list[tuple[str, str]]:
    """The record as (bilingual label, value) pairs, for the CLI and clerk screens."""
    unknown = "—"
    commune = {c.code: c.name for c in db.session().scalars(select(Commune).where(
        Commune.code.in_([citizen.permanent_commune_code or "", citizen.current_commune_code or ""])))}
    legacy = units.LEGACY_PROVINCES.get(citizen.birth_registration_code)
    rows = [
        ("Số định danh / ID number", citizen.id_number),
        ("Họ tên / Full name", citizen.full_name),
        ("Tên gọi khác / Other names", citizen.other_names or unknown),
        ("Ngày sinh / Date of birth", f"{citizen.date_of_birth} ({citizen.date_of_birth.precision})"),
        ("Giới tính / Sex", " / ".join(reference.SEXES[citizen.sex])),
        ("Nơi đăng ký khai sinh / Birth registered",
         f"{citizen.birth_registration_code} {legacy[0]}" if legacy
         else f"abroad: {countries.abroad(citizen.birth_registration_code)}"),
        ("Quê quán / Hometown", citizen.hometown or unknown),
        ("Dân tộc / Ethnicity", citizen.ethnicity or unknown),
        ("Tôn giáo / Religion", citizen.religion or unknown),
        ("Quốc tịch / Nationality", countries.nationality(citizen.nationality)),
        ("Nhóm máu / Blood type", citizen.blood_type or unknown),
        ("Thường trú / Permanent residence", _unit(citizen.permanent_commune_code, commune)),
        ("Nơi ở hiện tại / Current residence", _unit(citizen.current_commune_code, commune)),
        ("Hộ / Household", f"{citizen.household.number} ({citizen.relationship_to_head or unknown})"
         if citizen.household else unknown),
        ("Tình trạng / Status", " / ".join(reference.STATUSES[citizen.status])
         + (f" {citizen.date_of_death.isoformat()}" if citizen.date_of_death else "")),
        ("Thẻ căn cước / Identity card",
         f"{citizen.id_card_issued_on.isoformat()}, {citizen.id_card_issued_by}, "
         f"{citizen.id_card_expires_on.isoformat() if citizen.id_card_expires_on else 'không thời hạn / no expiry'}"
         if citizen.id_card_issued_on else unknown),
        ("Số hồ sơ cư trú / Residence file number", citizen.residence_file_number or unknown),
        ("Thư điện tử / E-mail", citizen.email or unknown),
        ("Phiên bản / Record version", str(citizen.version)),
        ("Nguồn / Source", _provenance(citizen)),
    ]
    if citizen.merged_into_id is not None:
        rows.insert(0, ("Đã hợp nhất vào / Merged into", surviving(citizen).id_number))
    rows += [(f"{' / '.join(reference.RELATIVE_KINDS[r.kind])}", f"{r.full_name or unknown} ({r.id_number or unknown})"
              + (f", đến / until {r.ended_on.isoformat()}" if r.ended_on else ""))
             for r in citizen.relatives]
    rows += [("Tạm trú / Temporary residence",
              f"{t.commune_code} {t.address}, {_period(t.registered_on, t.ended_on or t.expires_on)}")
             for t in db.session().scalars(select(TemporaryResidence).where(
                 TemporaryResidence.citizen_id == citizen.id).order_by(TemporaryResidence.id))]
    rows += [("Tạm vắng / Absence", f"{a.destination}, {_period(a.starts_on, a.ended_on or a.ends_on)}")
             for a in db.session().scalars(
                 select(Absence).where(Absence.citizen_id == citizen.id).order_by(Absence.id))]
    rows += [("Số cũ / Earlier number", f"{n.number} retired {n.retired_at:%Y-%m-%d}: {n.retired_reason}")
             for n in citizen.numbers if n.retired_at is not None]
    rows += [("Số CMND cũ / Old ID-card number", number) for number in old_id_numbers(citizen.id)]
    return rows


def _period(start: date, end: date | None) -> str:
    return f"{start.isoformat()} – {end.isoformat() if end else '…'}"


def old_id_numbers(citizen_id: int) -> list[str]:
    """The old identity-card (CMND) numbers recorded for a person, in numeric order."""
    return list(db.session().scalars(select(CitizenOldNumber.number).where(
        CitizenOldNumber.citizen_id == citizen_id).order_by(CitizenOldNumber.number).distinct()))


def _provenance(citizen: Citizen) -> str:
    """Where the record came from: its import (file, line, when, by whom) or its first revision."""
    if citizen.import_batch_id is not None:
        batch = db.session().get(ImportBatch, citizen.import_batch_id)
        if batch is not None:
            return (f"import of {batch.file_name}, line {citizen.import_line}, on {citizen.created_at:%Y-%m-%d %H:%M} "
                    f"UTC by {batch.actor} (batch {batch.id})")
    first = db.session().scalars(select(CitizenRevision).where(CitizenRevision.citizen_id == citizen.id)
                                 .order_by(CitizenRevision.id).limit(1)).first()
    if first is None:
        return "—"
    return f"{first.source} on {first.at:%Y-%m-%d %H:%M} UTC by {first.actor}: {first.reason}"


#: Built once: every userinfo call runs it.
_ATTRIBUTES = (select(Citizen, Commune.name, Province.name)
               .outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
               .outerjoin(Province, Province.code == Commune.province_code)
               .where(Citizen.id == bindparam("citizen_id")))


def attributes(citizen_id: int) -> dict[str, Any]:
    """The attributes other services may release about a person (claims read them from here).

    Keys: id_number, full_name, birth (PartialDate), sex, nationality, alive, updated_at,
    residence (commune code, commune name, province name) or None, email or None, id_card
    (issued on, issued by, expires on or None) or None.
    """
    # One round trip: the person and the names of their commune and province.
    row = db.session().execute(_ATTRIBUTES, {"citizen_id": citizen_id}).first()
    if row is None:
        raise NotFound(f"No citizen with internal id {citizen_id}.")
    citizen, commune_name, province_name = row
    residence = (citizen.permanent_commune_code, commune_name, province_name) if commune_name else None
    return {"id_number": citizen.id_number, "full_name": citizen.full_name, "birth": citizen.date_of_birth,
            "sex": citizen.sex, "nationality": citizen.nationality, "alive": citizen.is_alive(),
            "updated_at": citizen.updated_at, "residence": residence, "email": citizen.email,
            "id_card": (citizen.id_card_issued_on, citizen.id_card_issued_by, citizen.id_card_expires_on)
            if citizen.id_card_issued_on else None}


def temporary_residence(citizen_id: int, on: date | None = None) -> tuple[str, str, str, date | None] | None:
    """The temporary residence in force ``on`` a day (today by default): commune code, commune
    name, province name and expiry; None without one."""
    on = on or dates.today()
    row = db.session().execute(
        select(TemporaryResidence.commune_code, Commune.name, Province.name, TemporaryResidence.expires_on)
        .join(Commune, Commune.code == TemporaryResidence.commune_code)
        .join(Province, Province.code == Commune.province_code)
        .where(TemporaryResidence.citizen_id == citizen_id, TemporaryResidence.ended_on.is_(None),
               TemporaryResidence.registered_on <= on,
               or_(TemporaryResidence.expires_on.is_(None), TemporaryResidence.expires_on >= on))
        .order_by(TemporaryResidence.registered_on.desc()).limit(1)).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


_PERMANENT, _CURRENT, _TEMPORARY = aliased(Commune), aliased(Commune), aliased(Commune)
_PERMANENT_PROVINCE, _CURRENT_PROVINCE, _TEMPORARY_PROVINCE = aliased(Province), aliased(Province), aliased(Province)
#: The temporary residence in force on ``:on``, the latest registered (one row at most).
_TEMPORARY_IN_FORCE = (
    select(TemporaryResidence.id)
    .where(TemporaryResidence.citizen_id == Citizen.id, TemporaryResidence.ended_on.is_(None),
           TemporaryResidence.registered_on <= bindparam("on"),
           or_(TemporaryResidence.expires_on.is_(None), TemporaryResidence.expires_on >= bindparam("on")))
    .order_by(TemporaryResidence.registered_on.desc(), TemporaryResidence.id.desc()).limit(1)
    .correlate(Citizen).scalar_subquery())
#: The last change applied to the record (a revision is written only when a change is applied:
#: at once, or when a supervisor approves it; a pending proposal has none).
_LAST_CHANGE = (select(func.max(CitizenRevision.at)).where(CitizenRevision.citizen_id == Citizen.id)
                .correlate(Citizen).scalar_subquery())
#: Built once: the consent page and every release read it.
_RECORD = (
    select(Citizen, _PERMANENT.name, _PERMANENT_PROVINCE.name, _CURRENT.name, _CURRENT_PROVINCE.name,
           Household.number, TemporaryResidence.commune_code, TemporaryResidence.address,
           TemporaryResidence.expires_on, _TEMPORARY.name, _TEMPORARY_PROVINCE.name, _LAST_CHANGE)
    .outerjoin(_PERMANENT, _PERMANENT.code == Citizen.permanent_commune_code)
    .outerjoin(_PERMANENT_PROVINCE, _PERMANENT_PROVINCE.code == _PERMANENT.province_code)
    .outerjoin(_CURRENT, _CURRENT.code == Citizen.current_commune_code)
    .outerjoin(_CURRENT_PROVINCE, _CURRENT_PROVINCE.code == _CURRENT.province_code)
    .outerjoin(Household, Household.id == Citizen.household_id)
    .outerjoin(TemporaryResidence, TemporaryResidence.id == _TEMPORARY_IN_FORCE)
    .outerjoin(_TEMPORARY, _TEMPORARY.code == TemporaryResidence.commune_code)
    .outerjoin(_TEMPORARY_PROVINCE, _TEMPORARY_PROVINCE.code == _TEMPORARY.province_code)
    .where(Citizen.id == bindparam("citizen_id")))
_RELATED = aliased(Citizen)
#: A person's current relative links, with the relative's birth year when the registry holds them.
_RELATIVES = (
    select(Relative.kind, func.coalesce(Relative.full_name, _RELATED.full_name), _RELATED.birth_year,
           Relative.id_number)
    .outerjoin(_RELATED, _RELATED.id_number == Relative.id_number)
    .where(Relative.citizen_id == bindparam("citizen_id"), Relative.ended_on.is_(None))
    .order_by(Relative.id))


def _place(code: str | None, commune: str | None, province: str | None) -> tuple[str, str, str] | None:
    return (code, commune, province) if code and commune and province else None


def shareable_record(citizen_id: int, *, relatives: bool = True, on: date | None = None) -> dict[str, Any]:
    """Everything a person's claims may be read from, in one round trip (two with ``relatives``).

    Keys: id_number, full_name, other_names, birth (PartialDate), sex, place_of_birth,
    birth_registration_code, hometown, ethnicity, religion, nationality, marital_status, status
    ("alive", "deceased", "missing"), date_of_death, email, id_card (issued on, issued by, expires
    on or None) or None, residence and current_residence (commune code, commune name, province
    name) or None, temporary_residence (commune code, commune name, province name, address,
    expires on) in force ``on`` a day (today by default) or None, household (number, relationship to
    its head) or None, updated_at, last_change (when the last change was applied to the record: its
    newest revision; its creation when it has none) and, with ``relatives``, the current relative
    links as (kind, name, birth year) -- never a relative's ID number (the number only finds the
    birth year when the relative is not in the registry).

    :raises NotFound: no such person.
    """
    s = db.session()
    row = s.execute(_RECORD, {"citizen_id": citizen_id, "on": on or dates.today()}).first()
    if row is None:
        raise NotFound(f"No citizen with internal id {citizen_id}.")
    (citizen, permanent, permanent_province, current, current_province, household_number, temporary_code,
     temporary_address, temporary_expires, temporary, temporary_province, last_change) = row
    record: dict[str, Any] = {
        "id_number": citizen.id_number, "full_name": citizen.full_name, "other_names": citizen.other_names,
        "birth": citizen.date_of_birth, "sex": citizen.sex, "place_of_birth": citizen.place_of_birth,
        "birth_registration_code": citizen.birth_registration_code, "hometown": citizen.hometown,
        "ethnicity": citizen.ethnicity, "religion": citizen.religion, "nationality": citizen.nationality,
        "marital_status": citizen.marital_status, "status": citizen.status, "date_of_death": citizen.date_of_death,
        "email": citizen.email, "updated_at": citizen.updated_at, "last_change": last_change or citizen.created_at,
        "id_card": (citizen.id_card_issued_on, citizen.id_card_issued_by, citizen.id_card_expires_on)
        if citizen.id_card_issued_on else None,
        "residence": _place(citizen.permanent_commune_code, permanent, permanent_province),
        "current_residence": _place(citizen.current_commune_code, current, current_province),
        "temporary_residence": (temporary_code, temporary, temporary_province, temporary_address, temporary_expires)
        if temporary_code else None,
        "household": (household_number, citizen.relationship_to_head) if household_number else None,
    }
    if relatives:
        record["relatives"] = [(kind, name, year if year is not None else _birth_year(number))
                               for kind, name, year, number in s.execute(_RELATIVES, {"citizen_id": citizen_id})]
    return record


def _birth_year(number: str | None) -> int | None:
    """The birth year a relative's number encodes, for a relative the registry does not hold."""
    try:
        return idnumbers.parse(number).birth_year if number else None
    except idnumbers.InvalidIdNumber:
        return None


def _unit(code: str | None, names_by_code: dict[str, str]) -> str:
    return f"{code} {names_by_code.get(code, '?')}" if code else "—"


# -- changes ---------------------------------------------------------------------------------

#: Fields a clerk may change through :func:`update_citizen`; the rest have their own workflow
#: (death: :func:`record_death`; the ID number: :func:`reissue_number`).
UPDATABLE_FIELDS = frozenset({
    "full_name", "other_names", "date_of_birth", "sex", "place_of_birth", "hometown", "ethnicity",
    "religion", "nationality", "blood_type", "marital_status", "permanent_commune_code",
    "current_commune_code", "household_id", "relationship_to_head", "phone", "email",
    "residence_file_number",
})

#: Attempts at a free random serial before giving up (1M serials per prefix; a clash is rare).
ISSUE_ATTEMPTS = 25

_snapshot = changes.snapshot
_add_revision = changes.add_revision


class _Communes:
    """The registry's communes as :func:`rules.commune` asks for them: one look-up per code given."""

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and db.session().get(Commune, code) is not None


def _validate_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check the values a clerk gives by the rulebook (:mod:`rules`); raise one error
    naming every bad field."""
    out: dict[str, Any] = {}
    problems: dict[str, str] = {}
    today = dates.today()
    for field, value in values.items():
        if isinstance(value, str):
            value = names.canonical(value) or None
        try:
            value = rules.record_field(field, value, today=today, communes=_Communes())
        except rules.Invalid as exc:
            problems[field] = exc.reason
        if field == "household_id" and value is not None and (
                type(value) is not int or db.session().get(Household, value) is None):
            problems[field] = f"household {value} does not exist"
        out[field] = value
    if problems:
        raise ValidationFailed("Some values are not valid: " + "; ".join(f"{k}: {v}" for k, v in problems.items()),
                               errors=problems)
    return out


def _issue_number(citizen: Citizen, registration_code: str) -> str:
    """Give ``citizen`` a never-before-issued number, made unique by the database.

    Two clerks on two workers may draw the same serial in the same second; the primary key of
    ``citizen_number`` (every number ever issued) and the unique ``citizen.id_number`` make one of
    them fail inside its own savepoint, and it simply draws again. No Python lock is involved.
    """
    prefix = idnumbers.prefix_for(registration_code, citizen.birth_year, citizen.sex)
    s = db.session()
    for _ in range(ISSUE_ATTEMPTS):
        number = prefix + idnumbers.random_serial()
        if s.get(CitizenNumber, number) is not None:  # known taken: skip the round trip that fails
            continue
        entry = CitizenNumber(number=number)
        try:
            with s.begin_nested():
                citizen.id_number = number
                citizen.numbers.append(entry)
                s.add(citizen)
                s.flush()
            return number
        except IntegrityError:
            # The savepoint is gone but the object graph is not: drop the losing number, or
            # the next attempt would cascade it into the INSERT again.
            if entry in citizen.numbers:
                citizen.numbers.remove(entry)
            continue
    raise Conflict(f"No free ID number found for prefix {prefix} after {ISSUE_ATTEMPTS} attempts; "
                   "try again, and report it if it persists.")


def register_birth(*, actor: str, reason: str, full_name: str, date_of_birth: PartialDate | str, sex: str,
                   registration_commune_code: str | None = None, registered_abroad_code: str | None = None,
                   father: Citizen | None = None, mother: Citizen | None = None,
                   document: Document | None = None, approved_by: str | None = None,
                   **fields: Any) -> Citizen:
    """Register a birth and issue the child's personal ID number (Decree 70/2024 Art. 11).

    The number's prefix is the birth-registration place: ``"0" + the 2025 province code`` of the
    registering commune (every 2025 code is the old code of the unit hosting the new capital,
    so the prefix stays within the 63 legacy codes), or a country code for births registered
    abroad. Whether post-2025 births get new prefixes is an open legal question (domain.md §5.3).

    :raises ValidationFailed: a value is not valid.
    """
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown fields: {', '.join(sorted(unknown))}")
    values = _validate_fields({"full_name": full_name, "date_of_birth": date_of_birth, "sex": sex, **fields})
    if registered_abroad_code is not None:
        if registered_abroad_code not in idnumbers.ABROAD_CODES:
            raise ValidationFailed(f"{registered_abroad_code} is not a country code of birth registration")
        registration_code = registered_abroad_code
    else:
        commune = db.session().get(Commune, registration_commune_code or "")
        if commune is None:
            raise ValidationFailed(f"registration commune {registration_commune_code} does not exist")
        registration_code = "0" + commune.province_code
        values.setdefault("permanent_commune_code", commune.code)
        values.setdefault("current_commune_code", values["permanent_commune_code"])
    citizen = Citizen(status="alive", nationality="VN", birth_registration_code=registration_code)
    for field, value in values.items():
        setattr(citizen, field, value)
    citizen.name_folded = names.fold(citizen.full_name)
    for kind, parent in (("father", father), ("mother", mother)):
        if parent is not None:
            citizen.relatives.append(Relative(kind=kind, id_number=parent.id_number,
                                              full_name=parent.full_name, nationality=parent.nationality))
    _issue_number(citizen, registration_code)
    _add_revision(citizen, actor=actor, source="birth_registration", reason=reason, before={},
                  after={"id_number": citizen.id_number, **_snapshot(citizen, values)},
                  document=document, approved_by=approved_by)
    audit.record(AuditAction.REGISTRY_BIRTH_REGISTER, actor=actor, subject_type="citizen",
                 subject_id=citizen.id)
    return citizen


def update_citizen(citizen: Citizen, changes: dict[str, Any], *, actor: str, reason: str,
                   source: str = "clerk_correction", expected_version: int | None = None,
                   document: Document | None = None, approved_by: str | None = None) -> CitizenRevision:
    """Change fields of a record, appending a revision with old -> new values.

    A change of sex or birth year makes the ID number wrong, so the law re-establishes it
    (Circular 59/2021 Art. 6): the old number is retired and a new one issued in the same
    transaction.

    :param expected_version: the version the clerk saw; a different one means someone else
        changed the record meanwhile.
    :raises Conflict: the record changed since ``expected_version``.
    :raises ValidationFailed: an unknown field, a bad value, no change at all, or a date of birth
        after the recorded death (a deceased person's record may still be corrected).
    """
    _not_merged(citizen)
    if expected_version is not None and expected_version != citizen.version:
        raise Conflict(f"The record changed since you opened it (version {expected_version}, now "
                       f"{citizen.version}); reload it and apply your change again.")
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationFailed(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    if not changes:
        raise ValidationFailed("nothing to change: name at least one field")
    values = _validate_fields(changes)
    born = values.get("date_of_birth")
    if born is not None and citizen.date_of_death is not None and born.earliest() > citizen.date_of_death:
        raise ValidationFailed("the date of birth would be after the date of death "
                               f"({citizen.date_of_death.isoformat()})", errors={"date_of_birth": "after the death"})
    if {"household_id", "relationship_to_head"} & set(values):
        _keep_one_head(citizen, values)
    before = _snapshot(citizen, [*values, "id_number"])
    old_year, old_sex = citizen.birth_year, citizen.sex
    for field, value in values.items():
        setattr(citizen, field, value)
    if "full_name" in values:
        citizen.name_folded = names.fold(citizen.full_name)
    if (citizen.birth_year, citizen.sex) != (old_year, old_sex):
        _retire_and_reissue(citizen, reason)
    revision = _add_revision(citizen, actor=actor, source=source, reason=reason, before=before,
                             after=_snapshot(citizen, [*values, "id_number"]), document=document,
                             approved_by=approved_by)
    audit.record(AuditAction.REGISTRY_CITIZEN_UPDATE, actor=actor, subject_type="citizen",
                 subject_id=citizen.id, data={"fields": sorted(revision.changes), "version": citizen.version})
    return revision


def _not_merged(citizen: Citizen) -> None:
    """:raises Conflict: the record was merged into another person's (a duplicate): that one changes."""
    if citizen.merged_into_id is not None:
        raise Conflict("This record was merged into another person's record; change that one. / "
                       "Hồ sơ này đã được hợp nhất vào hồ sơ khác; hãy cập nhật hồ sơ đó.")


def _keep_one_head(citizen: Citizen, values: dict[str, Any]) -> None:
    """A correction never gives a household a second head, nor leaves it headless (a household
    without a head may get one this way): the head changes through the household operation
    (``lifeevents.change_household_head``), which moves ``household.head_id`` with it.

    :raises Conflict: the correction would make the person a second head, or unmake its head.
    """
    s = db.session()
    household_id = values.get("household_id", citizen.household_id)
    relationship = values.get("relationship_to_head", citizen.relationship_to_head)
    target = s.get(Household, household_id) if household_id is not None else None
    if relationship == "head" and target is not None and target.head_id not in (None, citizen.id):
        raise Conflict(f"Household {target.number} already has a head: change its head with the household "
                       f"operation, not a correction. / Hộ {target.number} đã có chủ hộ: hãy dùng thao tác "
                       "đổi chủ hộ.")
    own = s.get(Household, citizen.household_id) if citizen.household_id is not None else None
    if own is not None and own.head_id == citizen.id and (household_id != own.id or relationship != "head"):
        raise Conflict(f"This person heads household {own.number}: choose its new head first (the household "
                       f"operation). / Người này là chủ hộ {own.number}: hãy đổi chủ hộ trước.")
    if relationship == "head" and target is not None:
        target.head_id = citizen.id  # a household without a head gets this one


def _retire_and_reissue(citizen: Citizen, reason: str) -> str:
    s = db.session()
    old = s.get(CitizenNumber, citizen.id_number)
    if old is not None:
        old.retired_at = utcnow()
        old.retired_reason = reason[:300]
    code = citizen.birth_registration_code
    if code not in idnumbers.ABROAD_CODES:
        # The legacy province of birth registration stays; only the century/sex and year digits move.
        code = citizen.id_number[:3]
    return _issue_number(citizen, code)


def reissue_number(citizen: Citizen, *, actor: str, reason: str, document: Document | None = None,
                   approved_by: str | None = None) -> CitizenRevision:
    """Cancel the citizen's number and issue a new one (a data-entry error in the old one).

    The old number stays in ``citizen_number`` as retired and is never issued again.
    """
    _not_merged(citizen)
    before = {"id_number": citizen.id_number}
    _retire_and_reissue(citizen, reason)
    revision = _add_revision(citizen, actor=actor, source="number_reissue", reason=reason, before=before,
                             after={"id_number": citizen.id_number}, document=document, approved_by=approved_by)
    audit.record(AuditAction.REGISTRY_NUMBER_REISSUE, actor=actor, subject_type="citizen", subject_id=citizen.id)
    return revision


def record_death(citizen: Citizen, date_of_death: date | str, *, actor: str, reason: str,
                 status: str = "deceased", document: Document | None = None,
                 approved_by: str | None = None) -> CitizenRevision:
    """Record a death (or a declared disappearance, ``status="missing"``) from civil status.

    ``signals.death_recorded`` tells the subdomains above, in this transaction (identity disables
    the account, or ends its sessions).

    :raises Conflict: the person is already recorded as deceased.
    :raises ValidationFailed: the date is not a full date, is before birth or in the future.
    """
    if status not in ("deceased", "missing"):
        raise ValidationFailed("status is 'deceased' or 'missing'")
    _not_merged(citizen)
    if citizen.status == "deceased":
        raise Conflict("This person is already recorded as deceased.")
    if isinstance(date_of_death, datetime):
        if date_of_death.tzinfo is None:
            raise ValidationFailed("a date of death given with a time needs its time zone")
        date_of_death = date_of_death.astimezone(dates.VIETNAM_TIME).date()
    try:
        date_of_death = rules.date_of_death(date_of_death, citizen.date_of_birth, dates.today())
    except rules.Invalid as exc:
        raise ValidationFailed(f"date_of_death: {exc.reason}", errors={"date_of_death": exc.reason}) from None
    before = _snapshot(citizen, ["status", "date_of_death"])
    citizen.status, citizen.date_of_death = status, date_of_death
    revision = _add_revision(citizen, actor=actor, source="death_registration", reason=reason, before=before,
                             after=_snapshot(citizen, ["status", "date_of_death"]), document=document,
                             approved_by=approved_by)
    audit.record(AuditAction.REGISTRY_DEATH_RECORD, actor=actor, subject_type="citizen", subject_id=citizen.id,
                 data={"status": status})
    signals.death_recorded.send(current_app._get_current_object(),  # type: ignore[attr-defined]  # current_app: a proxy
                                citizen=citizen, actor=actor)
    return revision


def history(citizen: Citizen) -> list[CitizenRevision]:
    """The citizen's revisions, oldest first."""
    return list(db.session().scalars(
        select(CitizenRevision).where(CitizenRevision.citizen_id == citizen.id).order_by(CitizenRevision.id)))
