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
from idsvc.registry import lifeevents
from idsvc.registry import names
from idsvc.registry import reference
from idsvc.registry import service as registry
from idsvc.registry.changes import Document
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenRevision
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


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _row_id(value: Any, field: str) -> int:
    text = str(value or "")
    if not (text.isascii() and text.isdigit()):
        raise ValidationFailed(f"{field}: the number of the entry / số của bản ghi", errors={field: "not a number"})
    return int(text)


def _members(numbers: str, field: str) -> list[Citizen]:
    """People named by ID numbers separated by commas or spaces."""
    found = [registry.get_citizen_by_number(n) for n in numbers.replace(",", " ").split()]
    if not found:
        raise ValidationFailed(f"{field}: at least one ID number / ít nhất một số định danh",
                               errors={field: "required"})
    return found


def _revision_result(*revisions: CitizenRevision) -> Result:
    return {"revisions": [{"citizen_id": r.citizen_id, "version": r.version} for r in revisions]}


def _choices(table: Mapping[str, tuple[str, str]], leave_out: tuple[str, ...] = ()) -> tuple[tuple[str, str, str], ...]:
    return tuple((key, vi, en) for key, (vi, en) in table.items() if key not in leave_out)


SEX_CHOICES = _choices(reference.SEXES)
RELATIONSHIP_CHOICES = _choices(reference.RELATIONSHIPS)
#: A relationship to a head other than the head's own.
MEMBER_RELATIONSHIP_CHOICES = _choices(reference.RELATIONSHIPS, ("head",))
#: Relatives linked one by one (a spouse is linked by a marriage).
RELATIVE_CHOICES = _choices(reference.RELATIVE_KINDS, ("spouse",))

#: What a change of residence touches in the record.
RESIDENCE = frozenset({"permanent_commune_code", "current_commune_code", "household_id", "relationship_to_head"})
#: A record merge touches everything: any change of either record since it was proposed refuses it.
EVERYTHING = "*"


# -- the appliers ------------------------------------------------------------------------------
# Each: (subject, payload, *, actor, reason, document, approved_by) -> result. The payload is the
# cleaned one (text, ISO dates); the registry's services judge the values.

def _birth(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    household = _household(payload.get("household"))
    fields = {k: payload[k] for k in ("place_of_birth", "hometown", "ethnicity", "religion") if k in payload}
    if household is not None:
        fields["household_id"] = household.id
        fields["relationship_to_head"] = payload.get("relationship_to_head") or "child"
    citizen = registry.register_birth(
        full_name=payload["full_name"], date_of_birth=payload["date_of_birth"], sex=payload["sex"],
        registration_commune_code=payload["registration_commune"], father=_person(payload.get("father")),
        mother=_person(payload.get("mother")), **fields, **kw)
    return {"citizen_id": citizen.id, "id_number": citizen.id_number, "version": citizen.version}


def _death(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(registry.record_death(subject.person, payload["date_of_death"], **kw))


def _missing(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.declare_missing(subject.person, on=date.fromisoformat(payload["on"]), **kw))


def _missing_end(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.end_missing(subject.person, **kw))


def _move(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.change_residence(
        subject.person, permanent_commune_code=payload["permanent_commune_code"],
        current_commune_code=payload.get("current_commune_code"), address=payload.get("address"),
        household=_household(payload.get("household")), relationship_to_head=payload.get("relationship_to_head"),
        **kw))


def _household_move(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(*lifeevents.move_household(subject.house, commune_code=payload["commune_code"],
                                                       address=payload["address"], **kw))


def _household_head(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(*lifeevents.change_household_head(
        subject.house, registry.get_citizen_by_number(payload["new_head"]),
        old_head_relationship=payload["old_head_relationship"], **kw))


def _household_split(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    new = lifeevents.split_household(
        subject.house, _members(payload["members"], "members"), registry.get_citizen_by_number(payload["new_head"]),
        number=payload.get("number"), commune_code=payload.get("commune_code"), address=payload.get("address"), **kw)
    return {"household_id": new.id, "household": new.number}


def _household_merge(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    source = _household(payload["source"])
    assert source is not None  # a required field
    return _revision_result(*lifeevents.merge_households(subject.house, source, **kw))


def _name_change(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.change_name(subject.person, full_name=payload["full_name"],
                                                   other_names=payload.get("other_names"), **kw))


def _correction(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(registry.update_citizen(subject.person, dict(payload), **kw))


def _number_reissue(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    revision = registry.reissue_number(subject.person, **kw)
    return {**_revision_result(revision), "id_number": subject.person.id_number}


def _marriage(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    a, b = subject.pair
    return _revision_result(*lifeevents.record_marriage(a, b, on=date.fromisoformat(payload["on"]), **kw))


def _divorce(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    a, b = subject.pair
    return _revision_result(*lifeevents.record_divorce(a, b, on=date.fromisoformat(payload["on"]), **kw))


def _relative_link(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.link_relative(
        subject.person, kind=payload["kind"], id_number=payload.get("id_number"),
        full_name=payload.get("full_name"), nationality=payload.get("nationality"), **kw))


def _relative_end(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.end_relative(
        subject.person, _row_id(payload["relative_id"], "relative_id"), on=date.fromisoformat(payload["on"]), **kw))


def _id_card(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.set_id_card(
        subject.person, issued_on=date.fromisoformat(payload["issued_on"]), issued_by=payload["issued_by"],
        expires_on=_day(payload.get("expires_on")), **kw))


def _temporary_residence(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.register_temporary_residence(
        subject.person, commune_code=payload["commune_code"], address=payload["address"],
        registered_on=date.fromisoformat(payload["registered_on"]), expires_on=_day(payload.get("expires_on")), **kw))


def _temporary_residence_end(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.end_temporary_residence(
        subject.person, _row_id(payload["residence_id"], "residence_id"), on=date.fromisoformat(payload["on"]),
        **kw))


def _absence(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.declare_absence(
        subject.person, starts_on=date.fromisoformat(payload["starts_on"]), ends_on=_day(payload.get("ends_on")),
        destination=payload["destination"], **kw))


def _absence_end(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    return _revision_result(lifeevents.end_absence(
        subject.person, _row_id(payload["absence_id"], "absence_id"), on=date.fromisoformat(payload["on"]), **kw))


def _record_merge(subject: Subject, payload: Mapping[str, Any], **kw: Any) -> Result:
    survivor, duplicate = subject.pair
    return _revision_result(*lifeevents.merge_records(survivor, duplicate, **kw))


# -- the descriptions --------------------------------------------------------------------------

def _f(name: str, vi: str, en: str, kind: str = "text", required: bool = False,
       choices: tuple[tuple[str, str, str], ...] = ()) -> Field:
    return Field(name, vi, en, kind, required, choices)


#: The fields a correction may change; the others have their own operation (name, residence,
#: household, status, number, civil status).
CORRECTABLE = (
    _f("date_of_birth", "Ngày sinh", "Date of birth", "partial_date"),
    _f("sex", "Giới tính", "Sex", "choice", choices=SEX_CHOICES),
    _f("place_of_birth", "Nơi sinh", "Place of birth"),
    _f("hometown", "Quê quán", "Hometown"),
    _f("ethnicity", "Dân tộc", "Ethnicity"),
    _f("religion", "Tôn giáo", "Religion"),
    _f("nationality", "Quốc tịch", "Nationality"),
    _f("blood_type", "Nhóm máu", "Blood type"),
    _f("phone", "Số điện thoại", "Phone"),
    _f("email", "Thư điện tử", "E-mail"),
    _f("residence_file_number", "Số hồ sơ cư trú", "Residence file number"),
)

_HOUSEHOLD = _f("household", "Số hộ", "Household number", "household")
_RELATIONSHIP = _f("relationship_to_head", "Quan hệ với chủ hộ", "Relationship to the head", "choice",
                   choices=RELATIONSHIP_CHOICES)
_OTHER_SPOUSE = _f("other_id_number", "Số định danh của vợ/chồng", "Spouse's ID number", "id_number", True)
_ON = _f("on", "Ngày", "On", "date", True)
_STATUS = frozenset({"status", "date_of_death"})


def _fixed(*fields: str) -> Callable[[Mapping[str, Any]], set[str]]:
    return lambda payload: set(fields)


def _to(field: str) -> Callable[[Subject, Mapping[str, Any]], str | None]:
    """The operation's unit is the commune named by a payload field (a birth's, a move's)."""
    return lambda subject, payload: payload.get(field)


_OPERATIONS = (
    Operation(
        "birth", "Đăng ký khai sinh", "Birth registration", "new",
        (_f("full_name", "Họ tên", "Full name", required=True),
         _f("date_of_birth", "Ngày sinh", "Date of birth", "partial_date", True),
         _f("sex", "Giới tính", "Sex", "choice", True, SEX_CHOICES),
         _f("registration_commune", "Xã đăng ký khai sinh", "Registration commune", "commune", True),
         _f("father", "Số định danh của cha", "Father's ID number", "id_number"),
         _f("mother", "Số định danh của mẹ", "Mother's ID number", "id_number"),
         _HOUSEHOLD, _RELATIONSHIP,
         _f("place_of_birth", "Nơi sinh", "Place of birth"),
         _f("hometown", "Quê quán", "Hometown"),
         _f("ethnicity", "Dân tộc", "Ethnicity")),
        mandatory_review=False, applier=_birth, unit_of=_to("registration_commune")),
    Operation(
        "death", "Đăng ký khai tử", "Death registration", "person",
        (_f("date_of_death", "Ngày chết", "Date of death", "date", True),),
        mandatory_review=True, applier=_death, touches=_fixed(*_STATUS),
        shows=lambda payload: {"status": "deceased", "date_of_death": payload["date_of_death"]}),
    Operation(
        "missing", "Tuyên bố mất tích", "Declared missing", "person",
        (_f("on", "Ngày tuyên bố", "Declared on", "date", True),),
        mandatory_review=True, applier=_missing, touches=_fixed(*_STATUS),
        shows=lambda payload: {"status": "missing", "date_of_death": payload["on"]}),
    Operation(
        "missing_end", "Huỷ tuyên bố mất tích", "End of a declared disappearance", "person", (),
        mandatory_review=False, applier=_missing_end, touches=_fixed(*_STATUS),
        shows=lambda payload: {"status": "alive", "date_of_death": None}),
    Operation(
        "move", "Thay đổi nơi thường trú", "Change of permanent residence", "person",
        (_f("permanent_commune_code", "Xã thường trú mới", "New permanent commune", "commune", True),
         _f("current_commune_code", "Nơi ở hiện tại", "Current commune", "commune"),
         _f("address", "Địa chỉ (hộ mới)", "Address (a new household)"),
         _HOUSEHOLD, _RELATIONSHIP),
        mandatory_review=False, applier=_move, touches=_fixed(*RESIDENCE), unit_of=_to("permanent_commune_code")),
    Operation(
        "household_move", "Chuyển nơi thường trú của hộ", "Move of a household", "household",
        (_f("commune_code", "Xã mới", "New commune", "commune", True),
         _f("address", "Địa chỉ mới", "New address", required=True)),
        mandatory_review=False, applier=_household_move, unit_of=_to("commune_code")),
    Operation(
        "household_head", "Thay đổi chủ hộ", "Change of the head of household", "household",
        (_f("new_head", "Số định danh chủ hộ mới", "New head's ID number", "id_number", True),
         _f("old_head_relationship", "Quan hệ của chủ hộ cũ với chủ hộ mới", "Old head's relationship to the new",
            "choice", True, MEMBER_RELATIONSHIP_CHOICES)),
        mandatory_review=False, applier=_household_head),
    Operation(
        "household_split", "Tách hộ", "Split of a household", "household",
        (_f("members", "Số định danh các thành viên tách hộ (cách nhau bởi dấu phẩy)",
            "ID numbers of the members who leave (comma-separated)", required=True),
         _f("new_head", "Số định danh chủ hộ mới", "New head's ID number", "id_number", True),
         _f("number", "Số hộ mới", "New household number"),
         _f("commune_code", "Xã", "Commune", "commune"),
         _f("address", "Địa chỉ", "Address")),
        mandatory_review=False, applier=_household_split),
    Operation(
        "household_merge", "Nhập hộ", "Merge of households", "household",
        (_f("source", "Số hộ nhập vào", "Household merged into this one", "household", True),),
        mandatory_review=True, applier=_household_merge),
    Operation(
        "name_change", "Thay đổi họ tên", "Change of name", "person",
        (_f("full_name", "Họ tên mới", "New full name", required=True),
         _f("other_names", "Tên gọi khác", "Other names")),
        mandatory_review=True, applier=_name_change, touches=_fixed("full_name", "other_names")),
    Operation(
        "correction", "Cải chính thông tin", "Correction", "person", CORRECTABLE,
        mandatory_review=False, applier=_correction, touches=lambda payload: set(payload), needs_one=True),
    Operation(
        "number_reissue", "Cấp lại số định danh", "Reissue of the ID number", "person", (),
        mandatory_review=True, applier=_number_reissue, touches=_fixed("id_number"),
        shows=lambda payload: {"id_number": "(new number / số mới)"}),
    Operation(
        "marriage", "Đăng ký kết hôn", "Marriage", "pair", (_OTHER_SPOUSE, _ON),
        mandatory_review=False, applier=_marriage, touches=_fixed("marital_status", "relatives"),
        shows=lambda payload: {"marital_status": "married", "spouse": payload["other_id_number"]}),
    Operation(
        "divorce", "Ghi nhận ly hôn", "Divorce", "pair", (_OTHER_SPOUSE, _ON),
        mandatory_review=False, applier=_divorce, touches=_fixed("marital_status", "relatives"),
        shows=lambda payload: {"marital_status": "divorced", "spouse": payload["other_id_number"]}),
    Operation(
        "relative_link", "Bổ sung người thân", "Link of a relative", "person",
        (_f("kind", "Quan hệ", "Relation", "choice", True, RELATIVE_CHOICES),
         _f("id_number", "Số định danh người thân", "Relative's ID number", "id_number"),
         _f("full_name", "Họ tên người thân", "Relative's full name"),
         _f("nationality", "Quốc tịch", "Nationality")),
        mandatory_review=False, applier=_relative_link, touches=_fixed("relatives")),
    Operation(
        "relative_end", "Chấm dứt quan hệ người thân", "End of a relative link", "person",
        (_f("relative_id", "Số của liên kết", "Link number", required=True), _ON),
        mandatory_review=False, applier=_relative_end, touches=_fixed("relatives")),
    Operation(
        "id_card", "Thông tin thẻ căn cước", "Identity card", "person",
        (_f("issued_on", "Ngày cấp", "Issued on", "date", True),
         _f("issued_by", "Nơi cấp", "Issued by", required=True),
         _f("expires_on", "Có giá trị đến", "Expires on", "date")),
        mandatory_review=False, applier=_id_card,
        touches=_fixed("id_card_issued_on", "id_card_issued_by", "id_card_expires_on"),
        shows=lambda payload: {"id_card_issued_on": payload["issued_on"], "id_card_issued_by": payload["issued_by"],
                               "id_card_expires_on": payload.get("expires_on")}),
    Operation(
        "temporary_residence", "Đăng ký tạm trú", "Temporary residence", "person",
        (_f("commune_code", "Xã tạm trú", "Commune", "commune", True),
         _f("address", "Địa chỉ", "Address", required=True),
         _f("registered_on", "Ngày đăng ký", "Registered on", "date", True),
         _f("expires_on", "Thời hạn đến", "Until", "date")),
        mandatory_review=False, applier=_temporary_residence, touches=_fixed("temporary_residence")),
    Operation(
        "temporary_residence_end", "Xoá đăng ký tạm trú", "End of a temporary residence", "person",
        (_f("residence_id", "Số của đăng ký tạm trú", "Registration number", required=True), _ON),
        mandatory_review=False, applier=_temporary_residence_end, touches=_fixed("temporary_residence")),
    Operation(
        "absence", "Khai báo tạm vắng", "Temporary absence", "person",
        (_f("starts_on", "Từ ngày", "From", "date", True),
         _f("ends_on", "Đến ngày", "Until", "date"),
         _f("destination", "Nơi đến", "Destination", required=True)),
        mandatory_review=False, applier=_absence, touches=_fixed("absence")),
    Operation(
        "absence_end", "Kết thúc tạm vắng", "End of a temporary absence", "person",
        (_f("absence_id", "Số của khai báo tạm vắng", "Declaration number", required=True), _ON),
        mandatory_review=False, applier=_absence_end, touches=_fixed("absence")),
    Operation(
        "record_merge", "Hợp nhất hồ sơ trùng", "Merge of duplicate records", "pair",
        (_f("other_id_number", "Số định danh của hồ sơ trùng", "Duplicate record's ID number", "id_number", True),),
        mandatory_review=True, applier=_record_merge, touches=_fixed(EVERYTHING),
        shows=lambda payload: {"merged_from": payload["other_id_number"]}),
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
