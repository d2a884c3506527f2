"""The registry operations a staff member may ask for, each described well enough that the API
and the console build their schemas and forms from it (:data:`OPERATIONS`).

An operation knows its payload's fields (name, labels, kind, whether required, choices), checks a
payload's shape (:meth:`Operation.clean`), names the record fields it changes
(:meth:`Operation.touched`, for the version check of an approval), the commune whose staff may
ask for it (:meth:`Operation.unit`), whether it always needs a second pair of eyes
(:meth:`Operation.needs_review`), and how it is applied through the registry's services
(:meth:`Operation.apply`). Who may ask and when it applies are :mod:`service`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

from sqlalchemy import select

from idsvc import db
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry import idnumbers
from idsvc.registry import names
from idsvc.registry import reference
from idsvc.registry import service as registry
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import Commune
from idsvc.registry.models import Household

KINDS = ("text", "date", "partial_date", "commune", "id_number", "household", "choice")
SUBJECTS = ("person", "household", "new", "pair")

#: Record fields whose change re-establishes the ID number (Circular 59/2021 Art. 6): a correction
#: touching one always goes through review.
NUMBER_AFFECTING = frozenset({"sex", "date_of_birth"})

#: Longest free text of a payload field.
MAX_TEXT = 300


@dataclass(frozen=True)
class Document:
    """The legal document a change rests on: its number and date."""

    number: str
    date: date


@dataclass(frozen=True)
class Field:
    """One field of an operation's payload, as a form or a schema shows it."""

    name: str
    label_vi: str
    label_en: str
    kind: str
    required: bool = False
    #: For ``choice``: (value, label vi, label en).
    choices: tuple[tuple[str, str, str], ...] = ()

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (the API publishes it)."""
        return {"name": self.name, "label": {"vi": self.label_vi, "en": self.label_en}, "kind": self.kind,
                "required": self.required,
                "choices": [{"value": v, "label": {"vi": vi, "en": en}} for v, vi, en in self.choices]}


@dataclass(frozen=True)
class Subject:
    """What an operation works on, as resolved by the service: a person, a pair, a household, or
    nothing yet (a birth)."""

    citizen: Citizen | None = None
    other: Citizen | None = None
    household: Household | None = None

    @property
    def person(self) -> Citizen:
        if self.citizen is None:
            raise ValueError("this operation needs a person")
        return self.citizen

    @property
    def pair(self) -> tuple[Citizen, Citizen]:
        if self.citizen is None or self.other is None:
            raise ValueError("this operation needs two people")
        return self.citizen, self.other

    @property
    def house(self) -> Household:
        if self.household is None:
            raise ValueError("this operation needs a household")
        return self.household


#: What applying an operation returns: JSON-friendly facts for ``Proposal.result`` (for a birth,
#: ``citizen_id`` and ``id_number`` of the new person).
Result = dict[str, Any]
Applier = Callable[..., Result]


@dataclass(frozen=True)
class Operation:
    name: str
    label_vi: str
    label_en: str
    subject: str
    fields: tuple[Field, ...]
    #: Always a proposal that a supervisor other than its author approves (maker-checker).
    mandatory_review: bool
    #: (subject, payload, actor=, reason=, document=, approved_by=) -> result.
    applier: Applier
    #: payload -> the record fields it changes.
    touches: Callable[[Mapping[str, Any]], set[str]] = field(default=lambda payload: set())
    #: (subject, payload) -> the commune of the operation; default: the subject's permanent commune.
    unit_of: Callable[[Subject, Mapping[str, Any]], str | None] | None = None
    #: At least one of the optional fields must be given (a correction changes something).
    needs_one: bool = False
    #: payload -> {field: proposed value} for the side-by-side view; default: the payload itself.
    shows: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description of the operation and its form."""
        return {"name": self.name, "label": {"vi": self.label_vi, "en": self.label_en}, "subject": self.subject,
                "mandatory_review": self.mandatory_review, "fields": [f.describe() for f in self.fields]}

    def field_named(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def clean(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload in its stored form (text, ISO dates), checked field by field.

        Checks the shape and what the office knows (communes, households, ID numbers exist); the
        registry's rules judge the values when the operation is tried (:mod:`service`).

        :raises ValidationFailed: with ``errors`` naming each bad field.
        """
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        for name in payload:
            if self.field_named(name) is None:
                errors[name] = f"not a field of {self.name} / không phải trường của thao tác này"
        for f in self.fields:
            raw = payload.get(f.name)
            if isinstance(raw, str):
                raw = names.canonical(raw) or None
            if raw is None or raw == "":
                if f.required:
                    errors[f.name] = "required / bắt buộc"
                continue
            try:
                out[f.name] = _clean_value(f, raw)
            except ValueError as exc:
                errors[f.name] = str(exc)
        if self.needs_one and not out and not errors:
            errors["payload"] = "give at least one field to change / cần ít nhất một trường thay đổi"
        if errors:
            raise ValidationFailed("Some values are not valid / Một số giá trị không hợp lệ: "
                                   + "; ".join(f"{k}: {v}" for k, v in errors.items()), errors=errors)
        return out

    def touched(self, payload: Mapping[str, Any]) -> set[str]:
        """The record fields applying ``payload`` changes."""
        return set(self.touches(payload))

    def unit(self, subject: Subject, payload: Mapping[str, Any]) -> str | None:
        """The commune whose staff may propose it, and whose province's supervisors approve it."""
        if self.unit_of is not None:
            return self.unit_of(subject, payload)
        if subject.household is not None and subject.citizen is None:
            return subject.household.commune_code
        return subject.citizen.permanent_commune_code if subject.citizen is not None else None

    def proposed(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The values the operation proposes, by record field (``household``: its number)."""
        return self.shows(payload) if self.shows is not None else dict(payload)

    def needs_review(self, payload: Mapping[str, Any]) -> bool:
        """Whether it must wait for a supervisor, whatever the configuration says."""
        return self.mandatory_review or (self.name == "correction" and bool(self.touched(payload) & NUMBER_AFFECTING))

    def apply(self, subject: Subject, payload: Mapping[str, Any], *, actor: str, reason: str,
              document: Document | None = None, approved_by: str | None = None) -> Result:
        """Carry the operation out through the registry's services (they flush, write the revision
        and the audit event)."""
        return self.applier(subject, payload, actor=actor, reason=reason, document=document,
                            approved_by=approved_by)


def _clean_value(f: Field, raw: Any) -> Any:
    if f.kind == "choice":
        value = str(raw)
        if value not in {v for v, _, _ in f.choices}:
            raise ValueError(f"one of {', '.join(v for v, _, _ in f.choices)} / một trong các giá trị cho phép")
        return value
    if f.kind == "date":
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(str(raw)).isoformat()
        except ValueError:
            raise ValueError("a date YYYY-MM-DD / ngày dạng YYYY-MM-DD") from None
    if f.kind == "partial_date":
        try:
            return (raw if isinstance(raw, PartialDate) else PartialDate.parse(str(raw))).isoformat()
        except InvalidDate as exc:
            raise ValueError(f"{exc} / ngày không hợp lệ (YYYY-MM-DD, YYYY-MM hoặc YYYY)") from None
    text = str(raw)
    if names.has_control_characters(text):
        raise ValueError("contains invisible control characters / chứa ký tự điều khiển")
    if f.kind == "commune":
        code = text.zfill(5) if text.isascii() and text.isdigit() and len(text) < 5 else text
        if db.session().get(Commune, code) is None:
            raise ValueError(f"commune {code} does not exist (2025 codes) / không có xã mã {code}")
        return code
    if f.kind == "id_number":
        try:
            idnumbers.parse(text)
        except idnumbers.InvalidIdNumber as exc:
            raise ValueError(f"{exc} / số định danh không hợp lệ") from None
        return text
    if f.kind == "household":
        if db.session().scalar(select(Household.id).where(Household.number == text)) is None:
            raise ValueError(f"no household {text} / không có hộ số {text}")
        return text
    if len(text) > MAX_TEXT:
        raise ValueError(f"at most {MAX_TEXT} characters / tối đa {MAX_TEXT} ký tự")
    return text


# -- helpers of the appliers -------------------------------------------------------------------

def _registry_kwargs(document: Document | None, approved_by: str | None) -> dict[str, Any]:
    """What the registry services record of the document and the approver."""
    return {}


def _household(number: str | None) -> Household | None:
    if not number:
        return None
    household = db.session().scalar(select(Household).where(Household.number == number))
    if household is None:
        raise NotFound(f"No household {number} / Không có hộ số {number}.")
    return household


def _person(number: str | None) -> Citizen | None:
    if not number:
        return None
    return registry.get_citizen_by_number(number)


def _revision_result(*revisions: Any) -> Result:
    return {"revisions": [{"citizen_id": r.citizen_id, "version": r.version} for r in revisions]}


def _choices(table: Mapping[str, tuple[str, str]]) -> tuple[tuple[str, str, str], ...]:
    return tuple((key, vi, en) for key, (vi, en) in table.items())


SEX_CHOICES = _choices(reference.SEXES)
RELATIONSHIP_CHOICES = _choices(reference.RELATIONSHIPS)

# -- the operations ----------------------------------------------------------------------------

def _birth(subject: Subject, payload: Mapping[str, Any], *, actor: str, reason: str, document: Document | None,
           approved_by: str | None) -> Result:
    household = _household(payload.get("household"))
    fields = {k: payload[k] for k in ("place_of_birth", "hometown", "ethnicity", "religion") if k in payload}
    if household is not None:
        fields["household_id"] = household.id
        fields["relationship_to_head"] = payload.get("relationship_to_head") or "child"
    citizen = registry.register_birth(
        actor=actor, reason=reason, full_name=payload["full_name"], date_of_birth=payload["date_of_birth"],
        sex=payload["sex"], registration_commune_code=payload["registration_commune"],
        father=_person(payload.get("father")), mother=_person(payload.get("mother")),
        **fields, **_registry_kwargs(document, approved_by))
    return {"citizen_id": citizen.id, "id_number": citizen.id_number, "version": citizen.version}


def _death(subject: Subject, payload: Mapping[str, Any], *, actor: str, reason: str, document: Document | None,
           approved_by: str | None) -> Result:
    return _revision_result(registry.record_death(subject.person, payload["date_of_death"], actor=actor,
                                                  reason=reason, **_registry_kwargs(document, approved_by)))


def _missing(subject: Subject, payload: Mapping[str, Any], *, actor: str, reason: str, document: Document | None,
             approved_by: str | None) -> Result:
    return _revision_result(registry.record_death(subject.person, payload["on"], actor=actor, reason=reason,
                                                  status="missing", **_registry_kwargs(document, approved_by)))


def _update(changes: dict[str, Any], subject: Subject, *, actor: str, reason: str, document: Document | None,
            approved_by: str | None) -> Result:
    return _revision_result(registry.update_citizen(subject.person, changes, actor=actor, reason=reason,
                                                    **_registry_kwargs(document, approved_by)))


def _correction(subject: Subject, payload: Mapping[str, Any], **kwargs: Any) -> Result:
    return _update(dict(payload), subject, **kwargs)


def _name_change(subject: Subject, payload: Mapping[str, Any], **kwargs: Any) -> Result:
    return _update({"full_name": payload["full_name"], "other_names": payload.get("other_names")}, subject, **kwargs)


def _move(subject: Subject, payload: Mapping[str, Any], **kwargs: Any) -> Result:
    changes: dict[str, Any] = {"permanent_commune_code": payload["permanent_commune_code"],
                               "current_commune_code": payload.get("current_commune_code")
                               or payload["permanent_commune_code"]}
    household = _household(payload.get("household"))
    if household is not None:
        changes["household_id"] = household.id
        changes["relationship_to_head"] = payload.get("relationship_to_head") or "other"
    return _update(changes, subject, **kwargs)


def _number_reissue(subject: Subject, payload: Mapping[str, Any], *, actor: str, reason: str,
                    document: Document | None, approved_by: str | None) -> Result:
    revision = registry.reissue_number(subject.person, actor=actor, reason=reason,
                                       **_registry_kwargs(document, approved_by))
    return {**_revision_result(revision), "id_number": subject.person.id_number}


def _move_touches(payload: Mapping[str, Any]) -> set[str]:
    touched = {"permanent_commune_code", "current_commune_code"}
    if payload.get("household"):
        touched |= {"household_id", "relationship_to_head"}
    return touched


#: The fields a correction may change; the others have their own operation (name, residence,
#: household, status, number).
CORRECTABLE = (
    Field("date_of_birth", "Ngày sinh", "Date of birth", "partial_date"),
    Field("sex", "Giới tính", "Sex", "choice", choices=SEX_CHOICES),
    Field("place_of_birth", "Nơi sinh", "Place of birth", "text"),
    Field("hometown", "Quê quán", "Hometown", "text"),
    Field("ethnicity", "Dân tộc", "Ethnicity", "text"),
    Field("religion", "Tôn giáo", "Religion", "text"),
    Field("nationality", "Quốc tịch", "Nationality", "text"),
    Field("blood_type", "Nhóm máu", "Blood type", "text"),
    Field("marital_status", "Tình trạng hôn nhân", "Marital status", "text"),
    Field("phone", "Số điện thoại", "Phone", "text"),
)

_HOUSEHOLD = Field("household", "Số hộ", "Household number", "household")
_RELATIONSHIP = Field("relationship_to_head", "Quan hệ với chủ hộ", "Relationship to the head", "choice",
                      choices=RELATIONSHIP_CHOICES)

_OPERATIONS = (
    Operation(
        "birth", "Đăng ký khai sinh", "Birth registration", "new",
        (Field("full_name", "Họ tên", "Full name", "text", required=True),
         Field("date_of_birth", "Ngày sinh", "Date of birth", "partial_date", required=True),
         Field("sex", "Giới tính", "Sex", "choice", required=True, choices=SEX_CHOICES),
         Field("registration_commune", "Xã đăng ký khai sinh", "Registration commune", "commune", required=True),
         Field("father", "Số định danh của cha", "Father's ID number", "id_number"),
         Field("mother", "Số định danh của mẹ", "Mother's ID number", "id_number"),
         _HOUSEHOLD, _RELATIONSHIP,
         Field("place_of_birth", "Nơi sinh", "Place of birth", "text"),
         Field("hometown", "Quê quán", "Hometown", "text"),
         Field("ethnicity", "Dân tộc", "Ethnicity", "text")),
        mandatory_review=False, applier=_birth,
        unit_of=lambda subject, payload: payload.get("registration_commune")),
    Operation(
        "death", "Đăng ký khai tử", "Death registration", "person",
        (Field("date_of_death", "Ngày chết", "Date of death", "date", required=True),),
        mandatory_review=True, applier=_death, touches=lambda payload: {"status", "date_of_death"},
        shows=lambda payload: {"status": "deceased", "date_of_death": payload["date_of_death"]}),
    Operation(
        "missing", "Tuyên bố mất tích", "Declared missing", "person",
        (Field("on", "Ngày tuyên bố", "Declared on", "date", required=True),),
        mandatory_review=True, applier=_missing, touches=lambda payload: {"status", "date_of_death"},
        shows=lambda payload: {"status": "missing", "date_of_death": payload["on"]}),
    Operation(
        "move", "Thay đổi nơi thường trú", "Change of permanent residence", "person",
        (Field("permanent_commune_code", "Xã thường trú mới", "New permanent commune", "commune", required=True),
         Field("current_commune_code", "Nơi ở hiện tại", "Current commune", "commune"),
         _HOUSEHOLD, _RELATIONSHIP),
        mandatory_review=False, applier=_move, touches=_move_touches,
        unit_of=lambda subject, payload: payload.get("permanent_commune_code")),
    Operation(
        "name_change", "Thay đổi họ tên", "Change of name", "person",
        (Field("full_name", "Họ tên mới", "New full name", "text", required=True),
         Field("other_names", "Tên gọi khác", "Other names", "text")),
        mandatory_review=True, applier=_name_change, touches=lambda payload: {"full_name", "other_names"}),
    Operation(
        "correction", "Cải chính thông tin", "Correction", "person", CORRECTABLE,
        mandatory_review=False, applier=_correction, touches=lambda payload: set(payload), needs_one=True),
    Operation(
        "number_reissue", "Cấp lại số định danh", "Reissue of the ID number", "person", (),
        mandatory_review=True, applier=_number_reissue, touches=lambda payload: {"id_number"},
        shows=lambda payload: {"id_number": "(new number / số mới)"}),
)

#: Every operation by name.
OPERATIONS: dict[str, Operation] = {op.name: op for op in _OPERATIONS}


def get(name: str) -> Operation:
    """The operation called ``name``.

    :raises ValidationFailed: no such operation.
    """
    operation = OPERATIONS.get(name)
    if operation is None:
        raise ValidationFailed(f"unknown operation {name!r} / không có thao tác này; one of: "
                               + ", ".join(OPERATIONS), errors={"operation": "unknown"})
    return operation
