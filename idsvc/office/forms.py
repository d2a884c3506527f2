"""The console's forms: one per registry operation, built from the operation's field descriptions.

A form is read from the posted values into the operation's payload, after the checks a clerk
should hear about before anything is proposed: an ID number's 12 digits and its structure, a
partial date's shape, a commune code that exists, a required value, one of the choices. The
messages are in the page's language; the service validates again (and completely), and its
refusals are shown beside the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

from flask_babel import gettext as _

from idsvc import i18n
from idsvc.office.operations import Document
from idsvc.registry import idnumbers
from idsvc.registry import reference
from idsvc.registry import service as registry
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate

#: Names of the form's own inputs; the operation's fields are ``p_<name>`` so they cannot collide.
PREFIX = "p_"
#: Longest text a field takes (the registry's widest text column).
MAX_TEXT = 300


def label(vi: str, en: str) -> str:
    """The label in the page's language."""
    return vi if i18n.current() == "vi" else en


def label_of(described: Any) -> str:
    """The label of an operation or a field (``label_vi``, ``label_en``) in the page's language."""
    return label(described.label_vi, described.label_en)


@dataclass
class Input:
    """One field of an operation's form as the page shows it, with what was typed and its error."""

    name: str
    label: str
    kind: str
    required: bool
    choices: list[tuple[str, str]]
    value: str = ""
    error: str | None = None
    #: The record's value now (a person's operations), shown beside the field.
    current: str | None = None

    @property
    def id(self) -> str:
        return PREFIX + self.name

    @property
    def hint(self) -> str | None:
        """The format expected, shown under the label (and read with the field)."""
        return {
            "id_number": _("12 digits"),
            "partial_date": _("YYYY-MM-DD, or YYYY-MM or YYYY when only that is known"),
            "commune": _("5-digit commune code (2025 list)"),
            "household": _("Household registration number"),
        }.get(self.kind)

    @property
    def pattern(self) -> str | None:
        """The browser's own check of the format (the server checks again)."""
        return {"id_number": "[0-9]{12}", "commune": "[0-9]{5}",
                "partial_date": "[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?"}.get(self.kind)


@dataclass
class OperationForm:
    """An operation's form: its fields, the reason and document every change carries, the record
    version(s) it was opened on, and the errors of a refused submission."""

    operation: str
    inputs: list[Input]
    reason: str = ""
    document_number: str = ""
    document_date: str = ""
    version: int | None = None
    #: Errors of the form's own inputs (reason, document) and those no field owns ("_form").
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(i.error for i in self.inputs)

    def summary(self) -> list[tuple[str, str, str]]:
        """(input id, label, error) of every error, for the list at the top of the page."""
        own = {"reason": _("Reason"), "document_number": _("Document number"),
               "document_date": _("Document date")}
        found = [(i.id, i.label, i.error) for i in self.inputs if i.error]
        found += [(key, str(own[key]), message) for key, message in self.errors.items() if key in own]
        return found

    def refuse(self, errors: Mapping[str, Any]) -> None:
        """Show the service's refusal ({field: message}) beside the fields it names."""
        by_name = {i.name: i for i in self.inputs}
        for key, message in errors.items():
            text = "; ".join(map(str, message)) if isinstance(message, (list, tuple)) else str(message)
            if key in by_name:
                by_name[key].error = text
            elif key in ("reason", "document_number", "document_date"):
                self.errors[key] = text
            else:
                self.errors["_form"] = (self.errors.get("_form", "") + " " + text).strip()


@dataclass(frozen=True)
class Submission:
    """What a valid form asks for, ready for ``service.propose``."""

    payload: dict[str, Any]
    reason: str
    document: Document | None
    expected_version: int | None


def blank(operation: Any, *, version: int | None = None, record: Any = None) -> OperationForm:
    """The empty form of ``operation`` (an ``operations.Operation``), opened on ``version`` of
    ``record`` (a person, whose current values are shown beside the fields of the same name)."""
    inputs = [Input(name=f.name, label=label_of(f), kind=f.kind, required=f.required,
                    choices=[(value, label(vi, en)) for value, vi, en in f.choices],
                    current=current_value(record, f.name))
              for f in operation.fields]
    return OperationForm(operation=operation.name, inputs=inputs, version=version)


def current_value(record: Any, name: str) -> str | None:
    """A record's value of a field as the page shows it (None: no such field, or empty)."""
    found = getattr(record, name, None) if record is not None else None
    return None if found is None or found == "" else str(shown(name, found))


def read(operation: Any, posted: Mapping[str, str], *, record: Any = None) -> tuple[OperationForm, Submission | None]:
    """The form as posted, and its submission when every check passes (else None: the form holds
    the errors)."""
    form = blank(operation, version=_int(posted.get("version")), record=record)
    payload: dict[str, Any] = {}
    for item in form.inputs:
        item.value = posted.get(item.id, "").strip()[:MAX_TEXT]
        item.error = _check(item)
        if item.value and item.error is None:
            payload[item.name] = item.value
    form.reason = posted.get("reason", "").strip()
    form.document_number = posted.get("document_number", "").strip()[:100]
    form.document_date = posted.get("document_date", "").strip()
    if not form.reason:
        form.errors["reason"] = _("Give the reason: the legal basis, or the person's request.")
    document = _document(form)
    if form.has_errors:
        return form, None
    return form, Submission(payload, form.reason, document, form.version)


def _document(form: OperationForm) -> Document | None:
    if not form.document_number and not form.document_date:
        return None
    if not form.document_number:
        form.errors["document_number"] = _("Give the document's number with its date.")
        return None
    if not form.document_date:
        form.errors["document_date"] = _("Give the document's date with its number.")
        return None
    try:
        return Document(number=form.document_number, date=date.fromisoformat(form.document_date))
    except ValueError:
        form.errors["document_date"] = _("Write the date as YYYY-MM-DD.")
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else None


def _check(item: Input) -> str | None:
    """The error of one field's value, in the page's language, or None."""
    value = item.value
    if not value:
        return _("This field is required.") if item.required else None
    match item.kind:
        case "id_number":
            if len(value) != 12 or not value.isascii() or not value.isdigit():
                return _("An ID number has exactly 12 digits.")
            try:
                idnumbers.parse(value)
            except idnumbers.InvalidIdNumber:
                return _("%(number)s is not a valid ID number: its first six digits must give a place of "
                         "birth registration, a sex and century, and a year of birth.", number=value)
        case "partial_date":
            try:
                PartialDate.parse(value)
            except InvalidDate:
                return _("%(value)s is not a date: write YYYY-MM-DD, or YYYY-MM or YYYY when only that "
                         "is known.", value=value)
        case "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return _("%(value)s is not a date: write YYYY-MM-DD.", value=value)
        case "commune":
            if len(value) != 5 or not value.isascii() or not value.isdigit() or not registry.unit_exists(value):
                return _("No commune has the code %(code)s: commune codes have 5 digits (the 2025 list).",
                         code=value)
        case "choice":
            if item.choices and value not in {key for key, _text in item.choices}:
                return _("Choose one of the options.")
    return None


def field_label(name: str) -> str:
    """What a record field is called on the page (the history, the diff, the conflict)."""
    return {
        "id_number": _("ID number"), "full_name": _("Full name"), "other_names": _("Other names"),
        "date_of_birth": _("Date of birth"), "sex": _("Sex"), "place_of_birth": _("Place of birth"),
        "hometown": _("Hometown"), "ethnicity": _("Ethnicity"), "religion": _("Religion"),
        "nationality": _("Nationality"), "blood_type": _("Blood type"), "marital_status": _("Marital status"),
        "permanent_commune_code": _("Permanent residence"), "current_commune_code": _("Current residence"),
        "household_id": _("Household"), "relationship_to_head": _("Relationship to the head"),
        "status": _("Status"), "date_of_death": _("Date of death"), "phone": _("Phone"), "email": _("Email"),
        "residence_file_number": _("Residence file number"), "id_card_issued_on": _("ID card issued on"),
        "id_card_issued_by": _("ID card issued by"), "id_card_expires_on": _("ID card expires on"),
        "merged_into_id": _("Merged into"), "birth_registration_code": _("Birth registered"),
    }.get(name, name)


#: Fields whose stored codes have labels (the history and the diff show the label).
_CODED = {"sex": reference.SEXES, "status": reference.STATUSES, "relationship_to_head": reference.RELATIONSHIPS}


def shown(name: str, value: Any) -> Any:
    """A field's value as the page shows it: the label of a code ("deceased" -> "Đã chết"), else as is."""
    labels = _CODED.get(name)
    if labels is not None and isinstance(value, str) and value in labels:
        return label(*labels[value])
    return value
