"""The registry's API for agencies (``/api/v1/registry``).

``POST /verify`` (scope ``registry.verify``, a client_credentials token): e-KYC without
disclosure. The agency sends what it was told about a person; the answer says per field
``match`` / ``no-match`` / ``unknown`` (``idsvc.registry.verify``), the life status and whether the
number is current or replaced, and never a value of the record.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate

from idsvc import api
from idsvc import unit_of_work
from idsvc.registry import idnumbers
from idsvc.registry import names
from idsvc.registry import service
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate

bp = Blueprint("registry_api", __name__, url_prefix="/api/v1/registry")

VERIFY_SCOPE = "registry.verify"


def _id_number(value: str) -> None:
    try:
        idnumbers.parse(value)
    except idnumbers.InvalidIdNumber as exc:
        raise ValidationError(str(exc)) from None


def _name(value: str) -> None:
    if names.has_control_characters(value):
        raise ValidationError("a name cannot contain control or invisible characters")
    if not names.canonical(value):
        raise ValidationError("the name is empty")


def _date(value: str) -> None:
    try:
        PartialDate.parse(value)
    except InvalidDate as exc:
        raise ValidationError(str(exc)) from None


class VerifySchema(Schema):
    """A claim: the number, and any of the fields to check. Unknown fields are refused."""

    citizen_id = fields.String(required=True, validate=_id_number)
    full_name = fields.String(validate=[validate.Length(max=200), _name])
    date_of_birth = fields.String(validate=_date)
    sex = fields.String(validate=validate.OneOf(["M", "F"]))
    permanent_commune = fields.String(validate=validate.Regexp(r"^\d{5}$", error="a 5-digit commune code"))

    @post_load
    def _typed(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "date_of_birth" in data:
            data["date_of_birth"] = PartialDate.parse(data["date_of_birth"])
        return data


@bp.post("/verify")
@unit_of_work.read_write
@api.require_scope(VERIFY_SCOPE)
def verify() -> Response:
    claim = api.body(VerifySchema())
    number = claim.pop("citizen_id")
    return jsonify(service.verify_claim(number, claim, actor=api.actor()))
