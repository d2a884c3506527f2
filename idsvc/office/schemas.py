"""The office API's bodies and answers (marshmallow): what a request may send, and how records,
history and proposals leave as JSON.

Every loading schema refuses unknown fields, so a misspelt key is an error that names it rather
than a value silently ignored; messages are in English and Vietnamese, like the problem titles.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from idsvc.office import operations
from idsvc.office.models import STATUSES
from idsvc.registry import search

#: Longest reason, note or document number accepted (the columns hold more; a reason is a sentence).
MAX_REASON = 1000
MAX_DOCUMENT_NUMBER = 100

_REQUIRED: dict[str, str | list[Any] | dict[Any, Any]] = {
    "required": "Required / Bắt buộc.", "null": "Required / Bắt buộc."}


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Write something / Không được để trống.")


def _payload_values(value: dict[str, Any]) -> None:
    """Values of a payload are text (dates as YYYY-MM-DD, numbers in quotes) or null: a JSON number
    loses an ID number's leading zeros, and an object or list is no field of any operation."""
    wrong = sorted(k for k, v in value.items() if v is not None and not isinstance(v, str))
    if wrong:
        raise ValidationError(f"{', '.join(wrong)}: write each value as text in double quotes / "
                              "mỗi giá trị phải là chuỗi trong dấu ngoặc kép.")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class DocumentSchema(_Strict):
    """The legal document a change rests on."""

    number = fields.String(required=True, error_messages=_REQUIRED,
                           validate=[validate.Length(max=MAX_DOCUMENT_NUMBER), _not_blank])
    date = fields.Date(required=True, error_messages={
        **_REQUIRED, "invalid": "A date YYYY-MM-DD / Ngày dạng YYYY-MM-DD."})


class _ChangeBody(_Strict):
    payload = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                          error_messages={**_REQUIRED, "invalid": "A JSON object of the operation's fields / "
                                                                  "Một đối tượng JSON gồm các trường của thao tác."},
                          validate=_payload_values)
    reason = fields.String(required=True, error_messages=_REQUIRED,
                           validate=[validate.Length(max=MAX_REASON), _not_blank])
    document = fields.Nested(DocumentSchema, load_default=None, allow_none=True)


class ProposalBody(_ChangeBody):
    """``POST /persons/<number>/proposals`` and ``POST /households/<number>/proposals``."""

    operation = fields.String(required=True, error_messages=_REQUIRED)

    @validates_schema
    def _known(self, data: dict[str, Any], **_: Any) -> None:
        name = data.get("operation")
        if name is not None and name not in operations.OPERATIONS:
            raise ValidationError(f"Unknown operation '{name[:40]}'; GET /api/v1/registry/operations lists them / "
                                  "Thao tác không tồn tại; xem danh sách tại GET /api/v1/registry/operations.",
                                  "operation")


class BirthBody(_ChangeBody):
    """``POST /births``: the ``birth`` operation's payload, reason and document."""


class RejectBody(_Strict):
    note = fields.String(required=True, error_messages=_REQUIRED,
                         validate=[validate.Length(max=MAX_REASON), _not_blank])


class SearchArgs(_Strict):
    """The query of ``GET /persons``: at least one criterion (the search says which are missing)."""

    name = fields.String(validate=validate.Length(max=200))
    name_words = fields.String(validate=validate.Length(max=200))
    born = fields.String(validate=validate.Length(max=10))
    commune = fields.String(validate=validate.Length(max=5))
    household = fields.String(validate=validate.Length(max=20))
    number = fields.String(validate=validate.Length(max=20))
    cursor = fields.Integer(strict=False, validate=validate.Range(min=0, max=2**63 - 1), error_messages={
        "invalid": "Use the 'next' link as given / Dùng liên kết 'next' nguyên văn."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=search.MAX_PAGE), error_messages={
        "invalid": f"A whole number from 1 to {search.MAX_PAGE} / Số nguyên từ 1 đến {search.MAX_PAGE}."})


class ProposalListArgs(_Strict):
    """The query of ``GET /proposals``."""

    status = fields.String(load_default="pending", validate=validate.OneOf(
        [*STATUSES, "all"], error="One of: {choices} / Một trong: {choices}."))
    mine = fields.Boolean(load_default=False)
    cursor = fields.Integer(validate=validate.Range(min=0, max=2**63 - 1), error_messages={
        "invalid": "Use the 'next' link as given / Dùng liên kết 'next' nguyên văn."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200), error_messages={
        "invalid": "A whole number from 1 to 200 / Số nguyên từ 1 đến 200."})


# -- answers ---------------------------------------------------------------------------------------

def _document_of(row: Any) -> dict[str, Any] | None:
    number = getattr(row, "document_number", None)
    if not number:
        return None
    on = getattr(row, "document_date", None)
    return {"number": number, "date": on.isoformat() if on else None}


class PersonSummarySchema(Schema):
    """A search hit: enough to tell people apart and open the record, nothing more."""

    id_number = fields.String()
    full_name = fields.String()
    date_of_birth = fields.Function(lambda found: found.date_of_birth.isoformat())
    sex = fields.String()
    permanent_commune_code = fields.String(allow_none=True)
    status = fields.String()
    #: Whether the caller may open the record (search is nationwide, reading is inside one's unit).
    readable = fields.Boolean()


class CitizenRecordSchema(Schema):
    """The record's fields (the information groups the registry holds)."""

    id_number = fields.String()
    full_name = fields.String()
    other_names = fields.String(allow_none=True)
    date_of_birth = fields.Function(lambda c: c.date_of_birth.isoformat())
    sex = fields.String()
    place_of_birth = fields.String(allow_none=True)
    birth_registration_code = fields.String()
    hometown = fields.String(allow_none=True)
    ethnicity = fields.String(allow_none=True)
    religion = fields.String(allow_none=True)
    nationality = fields.String()
    blood_type = fields.String(allow_none=True)
    marital_status = fields.String(allow_none=True)
    permanent_commune_code = fields.String(allow_none=True)
    current_commune_code = fields.String(allow_none=True)
    relationship_to_head = fields.String(allow_none=True)
    status = fields.String()
    date_of_death = fields.Date(allow_none=True)
    phone = fields.String(allow_none=True)
    version = fields.Integer()
    updated_at = fields.DateTime()


class MemberSchema(Schema):
    id_number = fields.String()
    full_name = fields.String()
    relationship_to_head = fields.String(allow_none=True)
    status = fields.String()


class HouseholdSchema(Schema):
    number = fields.String()
    commune_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class RelativeSchema(Schema):
    kind = fields.String()
    id_number = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    nationality = fields.String(allow_none=True)
    ended_on = fields.Function(lambda r: getattr(r, "ended_on", None) and r.ended_on.isoformat())


class NumberSchema(Schema):
    number = fields.String()
    issued_at = fields.DateTime()
    retired_at = fields.DateTime(allow_none=True)
    retired_reason = fields.String(allow_none=True)


class RevisionSchema(Schema):
    """One entry of a person's history: what changed (old → new), who, why, on which document."""

    version = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    approved_by = fields.Function(lambda r: getattr(r, "approved_by", None))
    source = fields.String()
    reason = fields.String()
    document = fields.Function(_document_of)
    changes = fields.Dict()


class ProposalSchema(Schema):
    id = fields.Integer()
    operation = fields.String()
    status = fields.String()
    unit_code = fields.String()
    payload = fields.Dict()
    touched = fields.List(fields.String())
    base_version = fields.Integer(allow_none=True)
    other_base_version = fields.Integer(allow_none=True)
    reason = fields.String()
    document = fields.Function(_document_of)
    proposed_by = fields.Function(lambda p: f"account:{p.proposed_by_account_id}")
    proposed_at = fields.DateTime()
    decided_by = fields.Function(lambda p: f"account:{p.decided_by_account_id}" if p.decided_by_account_id
                                 else None)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True)


class PendingSchema(Schema):
    """A proposal about the person still waiting for a decision (shown with the record)."""

    id = fields.Integer()
    operation = fields.String()
    proposed_at = fields.DateTime()


class PersonViewSchema(Schema):
    """``GET /persons/<number>``: the record, its household and members, relatives, every number
    held, the history (oldest first) and the proposals that wait."""

    record = fields.Nested(CitizenRecordSchema, attribute="citizen")
    household = fields.Nested(HouseholdSchema, allow_none=True)
    members = fields.List(fields.Nested(MemberSchema))
    relatives = fields.List(fields.Nested(RelativeSchema))
    numbers = fields.List(fields.Nested(NumberSchema))
    old_id_numbers = fields.List(fields.String())
    history = fields.List(fields.Nested(RevisionSchema))
    pending = fields.List(fields.Nested(PendingSchema))
