"""A programme file, checked once: the fields of the programme and the form of each rule."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import pre_load
from marshmallow import validate
from marshmallow import validates_schema

from idsvc.eligibility.rules import KINDS

_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$",
                        error="2 to 40 of a-z, 0-9 and '-', starting with a letter or digit")
_REASON = validate.Regexp(r"^[A-Z][A-Z0-9_]{1,59}$", error="a reason code: A-Z, 0-9 and '_', starting with a letter")
_FACT_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="a fact name: a-z, 0-9 and '_'")
_AGE = validate.Range(min=0, max=150)

#: Which optional fields each kind takes (``code``, ``message_vi``, ``message_en`` always).
_FIELDS_OF_KIND = {
    "age": {"min", "max"}, "residence": {"communes", "provinces"}, "alive": set(),
    "household_size": {"min", "max"}, "orphan": set(), "fact": {"name", "equals", "at_least", "one_of"},
    "any_of": {"alternatives"},
}
_COMMON = {"kind", "code", "message_vi", "message_en"}


class RuleSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    code = fields.String(required=True, validate=_REASON)
    message_vi = fields.String(required=True, validate=validate.Length(min=1, max=300))
    message_en = fields.String(required=True, validate=validate.Length(min=1, max=300))
    min = fields.Integer(validate=_AGE, strict=True)
    max = fields.Integer(validate=_AGE, strict=True)
    communes = fields.List(fields.String(validate=validate.Regexp(r"^\d{5}$", error="a 5-digit commune code")))
    provinces = fields.List(fields.String(validate=validate.Regexp(r"^\d{2}$", error="a 2-digit province code")))
    name = fields.String(validate=_FACT_NAME)
    equals = fields.Raw()
    at_least = fields.Float()
    one_of = fields.List(fields.Raw(), validate=validate.Length(min=1))
    alternatives = fields.List(fields.List(fields.Nested(lambda: RuleSchema()), validate=validate.Length(min=1)),
                               validate=validate.Length(min=2))

    @validates_schema
    def _fits_its_kind(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind")
        if kind not in _FIELDS_OF_KIND:
            return
        extra = sorted(set(data) - _COMMON - _FIELDS_OF_KIND[kind])
        if extra:
            raise ValidationError(f"not a field of a '{kind}' rule", extra[0])
        if kind in ("age", "household_size"):
            if "min" not in data and "max" not in data:
                raise ValidationError(f"a '{kind}' rule needs min, max or both", "min")
            if "min" in data and "max" in data and data["min"] > data["max"]:
                raise ValidationError("max is below min", "max")
        if kind == "residence" and not data.get("communes") and not data.get("provinces"):
            raise ValidationError("a residence rule needs communes, provinces or both", "communes")
        if kind == "fact":
            if "name" not in data:
                raise ValidationError("a fact rule names its fact", "name")
            tests = [t for t in ("equals", "at_least", "one_of") if t in data]
            if len(tests) != 1:
                raise ValidationError("a fact rule has exactly one of equals, at_least, one_of", "equals")
            if "equals" in data and not isinstance(data["equals"], str | int | float | bool):
                raise ValidationError("a text, number or true/false", "equals")
        if kind == "any_of" and "alternatives" not in data:
            raise ValidationError("an any_of rule lists its alternatives", "alternatives")


class ConditionSchema(RuleSchema):
    """A coefficient variant's condition: a rule whose code and messages may be left out."""

    code = fields.String(load_default="CONDITION", validate=_REASON)
    message_vi = fields.String(load_default="", validate=validate.Length(max=300))
    message_en = fields.String(load_default="", validate=validate.Length(max=300))
    alternatives = fields.List(fields.List(fields.Nested(lambda: ConditionSchema()), validate=validate.Length(min=1)),
                               validate=validate.Length(min=2))


class CoefficientVariantSchema(Schema):
    coefficient = fields.Decimal(required=True, places=2, as_string=True,
                                 validate=validate.Range(min=0, max=99, min_inclusive=False))
    when = fields.List(fields.Nested(ConditionSchema), required=True, validate=validate.Length(min=1))


class BaseRateSchema(Schema):
    #: TOML's ``from = 2021-07-01`` (a date; turned into text by :meth:`ProgrammeSchema._dates_as_text`).
    start = fields.Date(required=True, data_key="from")
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class ProgrammeSchema(Schema):
    code = fields.String(required=True, validate=_CODE)
    name_vi = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=200))
    legal_basis = fields.String(required=True, validate=validate.Length(min=1, max=300))
    benefit_category = fields.String(
        required=True, validate=validate.OneOf(["monthly_allowance", "social_pension"]))
    coefficient = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=99, min_inclusive=False))
    #: VND per month.
    base_rate = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    base_rate_effective = fields.Date(required=True)
    may_receive_id_numbers = fields.Boolean(load_default=False)
    description = fields.String(load_default="")
    #: Earlier base rates (``[[base_rates]]`` with ``from`` and ``amount``), before ``base_rate_effective``.
    base_rates = fields.List(fields.Nested(BaseRateSchema), load_default=list, data_key="base_rates")
    #: ``[[coefficients]]``: a coefficient and the conditions (rules) under which it applies.
    coefficients = fields.List(fields.Nested(CoefficientVariantSchema), load_default=list)
    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(min=1))

    @pre_load
    def _dates_as_text(self, data: Any, **_: Any) -> Any:
        # TOML reads `2024-07-01` as a date already; marshmallow's Date field wants text.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("base_rate_effective"), date):
            data["base_rate_effective"] = data["base_rate_effective"].isoformat()
        if isinstance(data.get("base_rates"), list):
            data["base_rates"] = [{**r, "from": r["from"].isoformat()} if isinstance(r, dict) and isinstance(
                r.get("from"), date) else r for r in data["base_rates"]]
        return data

    @validates_schema
    def _rates_before_the_current(self, data: dict[str, Any], **_: Any) -> None:
        current = data.get("base_rate_effective")
        if current is not None and any(r["start"] >= current for r in data.get("base_rates", ())):
            raise ValidationError("an earlier base rate starts on or after base_rate_effective", "base_rates")


def flatten(messages: Any, prefix: str = "") -> list[str]:
    """``rules.2.min: Not a valid integer.`` lines from marshmallow's nested messages."""
    if isinstance(messages, dict):
        return [line for key, value in messages.items()
                for line in flatten(value, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {m}" for m in messages]
    if isinstance(messages, list):
        return [line for m in messages for line in flatten(m, prefix)]
    return [f"{prefix}: {messages}"]
