"""An applicant list's rows, read and checked. Pure: no Flask, no database.

A list comes from a programme's office (a CSV or JSONL file, or the rows of an API request) with the
columns of :data:`LAYOUT`. A row that cannot be checked at all (no name, a date that is no date) is
still an :class:`Applicant`, with :attr:`Applicant.invalid` saying why: the list check answers it
``INVALID_ROW:<why>`` and goes on, so one bad row never fails a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from idsvc.registry import rules as registry_rules
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate
from idsvc.registry.imports.reader import Layout
from idsvc.registry.names import canonical
from idsvc.registry.names import has_control_characters
from idsvc.registry.names import name_problem

#: The columns of an applicant list; ``citizen_id``, ``sex`` and ``commune_code`` may be empty.
REQUIRED_COLUMNS = ("ref", "citizen_id", "full_name", "date_of_birth")
LAYOUT = Layout(REQUIRED_COLUMNS, (*REQUIRED_COLUMNS, "sex", "commune_code"))

#: Longest ``ref`` kept: a programme's own key for the row, echoed in the answer.
MAX_REF = 64
MAX_NAME = 200

#: ``dd/mm/yyyy`` and ``d/m/yyyy``, ``mm/yyyy`` (Vietnamese forms); also with ``-`` or ``.``.
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$", re.ASCII)
_MY = re.compile(r"^(\d{1,2})[/.-](\d{4})$", re.ASCII)
_DIGITS = re.compile(r"^\d+$", re.ASCII)
_COMMUNE = re.compile(r"^\d{5}$", re.ASCII)


@dataclass(frozen=True, slots=True)
class Applicant:
    """One row of a list, as the office wrote it (values in canonical form)."""

    #: Position in the list, 1-based: answers come back in this order.
    line: int
    #: The office's own key for the row, echoed in the answer.
    ref: str
    full_name: str
    born: PartialDate | None
    #: Digits as written: 12 (personal ID number) or 9 (old identity card, CMND); None when empty.
    #: Anything else is kept in :attr:`malformed_id` and the row is resolved on its details.
    citizen_id: str | None = None
    #: "M", "F" or None.
    sex: str | None = None
    #: A 5-digit commune code as written: a 2025 code or a pre-2025 one.
    commune_code: str | None = None
    #: The ``citizen_id`` as written when it is neither 9 nor 12 digits (a typo, a passport number).
    malformed_id: str | None = None
    #: Why the row cannot be checked (``"date_of_birth: 31/02/1950 is not a date"``), or None.
    invalid: str | None = None

    @property
    def is_old_number(self) -> bool:
        return self.citizen_id is not None and len(self.citizen_id) == 9


def parse_date(text: str) -> PartialDate:
    """A date of birth as the registry writes it (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``) or as a
    Vietnamese form does (``dd/mm/yyyy``, ``d/m/yyyy``, ``mm/yyyy``).

    :raises InvalidDate: naming the accepted forms.
    """
    text = text.strip()
    if m := _DMY.match(text):
        return PartialDate(int(m[3]), int(m[2]), int(m[1]))
    if m := _MY.match(text):
        return PartialDate(int(m[2]), int(m[1]))
    try:
        return PartialDate.parse(text)
    except InvalidDate:
        raise InvalidDate(f"'{text}' is not a date; write dd/mm/yyyy, mm/yyyy, yyyy "
                          "or YYYY-MM-DD") from None


def applicant(values: Mapping[str, str | None], line: int, *, today: date) -> Applicant:
    """The :class:`Applicant` of one row's values (missing keys are empty). Never raises: a row that
    cannot be checked carries the first reason in :attr:`Applicant.invalid`."""
    v = {k: canonical(val) if isinstance(val, str) else "" for k, val in values.items()}
    ref, name = v.get("ref", ""), v.get("full_name", "")
    number, dob = v.get("citizen_id", ""), v.get("date_of_birth", "")
    sex_text, commune = v.get("sex", ""), v.get("commune_code", "")
    problem: str | None = None

    def refuse(why: str) -> None:
        nonlocal problem
        problem = problem or why

    if any(has_control_characters(x) for x in (ref, name, number, dob, sex_text, commune)):
        refuse("contains invisible control characters")
    if not ref:
        refuse("ref: empty; every row needs the programme's own reference")
    elif len(ref) > MAX_REF:
        refuse(f"ref: longer than {MAX_REF} characters")
    if not name:
        refuse("full_name: empty")
    elif len(name) > MAX_NAME:
        refuse(f"full_name: longer than {MAX_NAME} characters")
    elif why := name_problem(name):
        refuse(f"full_name: {why}")
    born: PartialDate | None = None
    if dob:
        try:
            born = parse_date(dob)
        except InvalidDate as exc:
            refuse(f"date_of_birth: {exc}")
        else:
            if born.earliest() > today:
                refuse(f"date_of_birth: {born} is in the future")
                born = None
    sex: str | None = None
    if sex_text:
        try:
            sex = registry_rules.sex(sex_text)
        except registry_rules.Invalid as exc:
            refuse(f"sex: {exc}")
    if commune and not _COMMUNE.match(commune):
        refuse(f"commune_code: '{commune[:12]}' is not a 5-digit commune code")
    citizen_id: str | None = None
    malformed: str | None = None
    compact = number.replace(" ", "").replace(".", "")
    if compact and _DIGITS.match(compact) and len(compact) in (9, 12):
        citizen_id = compact
    elif compact:
        malformed = number[:20]
    return Applicant(line=line, ref=ref[:MAX_REF], full_name=name[:MAX_NAME], born=born, citizen_id=citizen_id,
                     sex=sex, commune_code=commune or None, malformed_id=malformed, invalid=problem)
