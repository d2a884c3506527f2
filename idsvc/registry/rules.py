"""The rulebook of a citizen record: what each field accepts and the form it is stored in. Pure.

The clerk services (:mod:`service`) and both paths of the bulk import (the general check of
:class:`imports.rows.RowChecker` and its fast path) judge values here and nowhere else, so a value
a clerk may type is a value a file may hold, and the other way round (a test holds the three paths
to that). A rule takes canonical text (:func:`names.canonical`: the import's reader and the
services make it so; ``None`` or ``""`` = unknown) and returns the value as stored, or raises
:class:`Invalid` with a reason a registry clerk can act on. No Flask, no database, no clock:
today's date and the known communes are arguments.

The import's fast path inlines the common case with the precompiled sets at the end of this
module, and calls the rule for anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Container
from datetime import date
from typing import Any

from idsvc.registry import idnumbers
from idsvc.registry import names
from idsvc.registry import reference
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate
from idsvc.registry.units import LEGACY_PROVINCES


class Invalid(ValueError):
    """A value the registry cannot take. ``reason`` says why; ``field`` is set when the rule found
    the fault in another field than the one it was asked about (the date of death of a status)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


#: Longest text per field: the database's column sizes (a test holds them to the models).
MAX_LENGTH = {
    "full_name": 200, "name_folded": 200, "other_names": 200, "place_of_birth": 200, "hometown": 200,
    "religion": 60, "marital_status": 20, "household_number": 20, "relative_name": 200,
    "email": 254, "residence_file_number": 30, "id_card_issued_by": 200, "address": 300, "destination": 300,
}

#: What a record holds when a file or a clerk leaves the nationality empty.
DEFAULT_NATIONALITY = "VN"

CONTROL_CHARACTERS = "contains invisible control characters"


# -- text and names ----------------------------------------------------------------------------

def free_text(value: str | None, field: str) -> str | None:
    """Text of a field with no closed list (religion, hometown ...): visible characters within the
    column's size."""
    if not value:
        return None
    if names.has_control_characters(value):
        raise Invalid(CONTROL_CHARACTERS)
    if len(value) > MAX_LENGTH[field]:
        raise Invalid(f"longer than {MAX_LENGTH[field]} characters")
    return value


def name(value: str | None, *, several: bool = False, field: str = "relative_name") -> str | None:
    """A personal name (:func:`names.name_problem`); ``several``: a list of names (other names)."""
    if not free_text(value, field):
        return None
    assert value is not None
    problem = names.name_problem(value, several=several)
    if problem:
        raise Invalid(problem)
    return value


def full_name(value: str | None) -> str:
    """The full name, required; its folded search form must fit its column too."""
    if not value:
        raise Invalid("a full name is required")
    name(value, field="full_name")
    if len(names.fold(value)) > MAX_LENGTH["name_folded"]:
        # Folding can lengthen a name (Hangul syllables become letters).
        raise Invalid(f"longer than {MAX_LENGTH['name_folded']} characters without diacritics")
    return value


def other_names(value: str | None) -> str | None:
    return name(value, several=True, field="other_names")


# -- birth, sex, the ID number -------------------------------------------------------------------

#: Sex as written -> as stored: M or F, or the Vietnamese words, in any case.
_SEX = {"M": "M", "F": "F", "NAM": "M", "NỮ": "F"}


def sex(value: str | None) -> str:
    """``M`` or ``F`` (``Nam``/``Nữ`` accepted, in any case)."""
    code = _SEX.get(value or "") or _SEX.get((value or "").upper())
    if code is None:
        raise Invalid(f"'{value or ''}' is not M or F")
    return code


def date_of_birth(value: str | PartialDate | None, today: date) -> PartialDate:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``, not in the future, from 1900 on (what ID numbers encode)."""
    if not value:
        raise Invalid("a date of birth is required (YYYY-MM-DD, YYYY-MM or YYYY)")
    born = value if isinstance(value, PartialDate) else _parse(value)
    if born.earliest() > today:
        raise Invalid(f"{born} is in the future")
    if born.year < idnumbers.MIN_BIRTH_YEAR:
        raise Invalid(f"{born.year} is before 1900: ID numbers cover births from 1900 on")
    return born


def birth(text: str, today: date) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of a valid date of birth written as text, or None: the import's form."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # the common full date, without a PartialDate
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if day <= today and day.year >= idnumbers.MIN_BIRTH_YEAR:
                return day.year, day.month, day.day
    try:
        born = date_of_birth(text, today)
    except Invalid:
        return None
    return born.year, born.month, born.day


def _parse(text: str) -> PartialDate:
    try:
        return PartialDate.parse(text)
    except InvalidDate as exc:
        raise Invalid(str(exc)) from None


def id_number(number: str | None, born: int | None = None, sex: str | None = None) -> str:
    """A 12-digit ID number; with the birth year and sex, the number must agree with them."""
    if not number:
        raise Invalid("an ID number is required")
    try:
        if born is None or sex is None:
            idnumbers.parse(number)
        elif not (len(number) == 12 and number.isascii() and number.isdigit() and number[:3] in REGISTRATION_CODES
                  and number[3] == CENTURY_SEX[born // 100, sex] and number[4:6] == TWO_DIGITS[born % 100]):
            idnumbers.check_consistent(number, birth_year=born, sex=sex)
    except idnumbers.InvalidIdNumber as exc:
        raise Invalid(_spreadsheet_hint(number, str(exc))) from None
    return number


def relative_id(value: str | None, own: str) -> str | None:
    """A relative's ID number (structure only: they may have been born before any rule)."""
    if not value:
        return None
    if not (len(value) == 12 and value.isascii() and value.isdigit() and value[:3] in REGISTRATION_CODES):
        id_number(value)
    if value == own:
        raise Invalid("the same number as the person's own")
    return value


#: Most old identity-card numbers one person is recorded with (a few held two or three).
MAX_OLD_ID_NUMBERS = 5


def is_old_id_number(text: str) -> bool:
    """An old identity-card (CMND) number: exactly 9 digits 0-9."""
    return len(text) == 9 and text.isascii() and text.isdigit()


def old_id_numbers(value: str | None) -> str | None:
    """The old identity-card (CMND) numbers a person held (information group 13): 9-digit numbers
    separated by spaces, stored in that form, each once."""
    if not value:
        return None
    numbers = list(dict.fromkeys(value.split()))
    for number in numbers:
        if not is_old_id_number(number):
            if any(mark in number for mark in ",;/"):
                raise Invalid(f"'{number}': separate several old ID-card numbers by spaces")
            hint = (" (a spreadsheet may have dropped a leading 0: format the column as text)"
                    if number.isascii() and number.isdigit() and len(number) in (7, 8) else "")
            raise Invalid(f"'{number}' is not an old ID-card (CMND) number: exactly 9 digits 0-9{hint}")
    if len(numbers) > MAX_OLD_ID_NUMBERS:
        raise Invalid(f"more than {MAX_OLD_ID_NUMBERS} old ID-card numbers")
    return " ".join(numbers)


def registration(code: str | None, number: str) -> str:
    """The place of birth registration (3 digits) of a person with ID ``number``: its first 3 digits."""
    if code and code != number[:3] and code.zfill(3) != number[:3]:
        raise Invalid(f"{code} but the ID number starts with {number[:3]}; they must be the same")
    return number[:3]


def _spreadsheet_hint(number: str, reason: str) -> str:
    if number.isascii() and number.isdigit() and len(number) in (10, 11):
        zeros = "0" if len(number) == 11 else "00"
        return reason + f" (a spreadsheet may have dropped the leading {zeros}: format the column as text)"
    return reason


# -- residence and household -------------------------------------------------------------------

def commune(value: str | None, known: Container[str]) -> str | None:
    """A 2025 commune code of ``known``; a short code from a spreadsheet ("70") means "00070"."""
    if not value:
        return None
    if value.isascii() and value.isdigit() and len(value) < 5:
        value = value.zfill(5)
    if value not in known:
        raise Invalid(f"commune {value} does not exist (5-digit commune code of 2025)")
    return value


def relationship(value: str | None) -> str | None:
    """Relationship to the household head: a key of :data:`reference.RELATIONSHIPS`."""
    if not value:
        return None
    if value not in reference.RELATIONSHIPS:
        raise Invalid(f"'{value}' is not one of {', '.join(reference.RELATIONSHIPS)}")
    return value


def in_household(relationship: str | None, household: str | None) -> None:
    """A relationship to a head needs the household it is in."""
    if relationship and not household:
        raise Invalid("given, but household_id is empty")


# -- other coded values ------------------------------------------------------------------------

_ETHNIC_BY_KEY = {names.fold(group).replace(" ", "").replace("-", ""): group for group in reference.ETHNIC_GROUPS}
_ETHNIC_BY_KEY.update({"hmong": "Mông", "hmông": "Mông", "stieng": "Xtiêng", "khomu": "Khơ Mú",
                       "bruvankieu": "Bru - Vân Kiều", "gietrieng": "Giẻ - Triêng"})


def canonical_ethnicity(text: str) -> str | None:
    """The canonical name of an ethnic group written any common way, or ``None`` if unknown."""
    return _ETHNIC_BY_KEY.get(names.fold(text).replace(" ", "").replace("-", "").replace("'", ""))


def ethnicity(value: str | None) -> str | None:
    """One of the 54 groups, written any common way; stored in its canonical spelling."""
    if not value:
        return None
    group = canonical_ethnicity(value)
    if group is None:
        raise Invalid(f"'{value}' is not one of the 54 ethnic groups")
    return group


def is_country_code(code: str) -> bool:
    """Two letters A-Z (ISO 3166-1 alpha-2), in upper case."""
    return len(code) == 2 and code.isascii() and code.isalpha() and code.isupper()


def nationality(value: str | None) -> str:
    """An ISO 3166-1 alpha-2 code in either case, stored in upper case; empty is Viet Nam's."""
    if not value:
        return DEFAULT_NATIONALITY
    # ASCII first: str.upper() turns "ß" into "SS" and "ﬀ" into "FF", which are no spellings of a code.
    code = value.upper() if value.isascii() else value
    if not is_country_code(code):
        raise Invalid(f"'{code}' is not a 2-letter country code (VN)")
    return code


def blood_type(value: str | None) -> str | None:
    """A, B, AB or O, with + or - or without, in either case."""
    if not value:
        return None
    if value not in reference.BLOOD_TYPES:
        value = value.upper()
        if value not in reference.BLOOD_TYPES:
            raise Invalid(f"'{value}' is not a blood type (A, B, AB, O, with + or -)")
    return value


def phone_as_stored(text: str) -> str:
    """A telephone number without the spaces and dots people write in it (check it with :func:`is_phone`)."""
    return text.replace(" ", "").replace(".", "")


def is_phone(phone: str) -> bool:
    """9 to 15 digits 0-9, after an optional ``+`` (ITU-T E.164)."""
    digits = phone[1:] if phone.startswith("+") else phone
    return digits.isascii() and digits.isdigit() and 9 <= len(digits) <= 15


def phone(value: str | None) -> str | None:
    """A telephone number, stored without spaces and dots."""
    if not value:
        return None
    if not is_phone(value):
        value = phone_as_stored(value)
        if not is_phone(value):
            raise Invalid(f"'{value}' is not a telephone number")
    return value


def email(value: str | None) -> str | None:
    """An e-mail address (field 25): one ``@`` between a local part and a domain with a dot, no
    spaces; the domain is stored in lower case (it is case-insensitive, the local part is not)."""
    if not value:
        return None
    if len(value) > MAX_LENGTH["email"]:
        raise Invalid(f"longer than {MAX_LENGTH['email']} characters")
    local, at, domain = value.rpartition("@")
    if (not at or not local or "@" in local or len(local) > 64 or "." not in domain.strip(".")
            or any(c.isspace() for c in value) or ".." in domain):
        raise Invalid(f"'{value}' is not an e-mail address")
    return f"{local}@{domain.lower()}"


def residence_file_number(value: str | None) -> str | None:
    """The residence file number (field 20): letters, digits, ``-``, ``/`` and ``.``."""
    if not value:
        return None
    if len(value) > MAX_LENGTH["residence_file_number"]:
        raise Invalid(f"longer than {MAX_LENGTH['residence_file_number']} characters")
    if not all(c.isascii() and (c.isalnum() or c in "-/.") for c in value):
        raise Invalid(f"'{value}' is not a residence file number (letters, digits, '-', '/', '.')")
    return value.upper()


def full_date(value: str | date | None, field: str) -> date | None:
    """A full date, ``YYYY-MM-DD`` (or a date); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise Invalid(f"{field}: a date, YYYY-MM-DD")
    day = _parse(value)
    if day.precision != "day":
        raise Invalid("write the full date, YYYY-MM-DD")
    return day.earliest()


def id_card(issued_on: str | date | None, issued_by: str | None, expires_on: str | date | None,
            born: PartialDate | None, today: date) -> tuple[date | None, str | None, date | None]:
    """The identity card in force (field 14): issued on a full date, not in the future nor before
    the birth, by an authority (free text); expiring after it was issued, if it expires. All
    three empty: no card recorded.

    :raises Invalid: with ``field`` naming the part at fault.
    """
    try:
        issued = full_date(issued_on, "id_card_issued_on")
    except Invalid as exc:
        raise Invalid(exc.reason, field="id_card_issued_on") from None
    try:
        expires = full_date(expires_on, "id_card_expires_on")
    except Invalid as exc:
        raise Invalid(exc.reason, field="id_card_expires_on") from None
    if issued is None:
        if issued_by or expires:
            raise Invalid("required with the issuing authority or the expiry date", field="id_card_issued_on")
        return None, None, None
    if issued > today:
        raise Invalid(f"{issued.isoformat()} is in the future", field="id_card_issued_on")
    if born is not None and issued < born.earliest():
        raise Invalid(f"{issued.isoformat()} is before the date of birth {born}", field="id_card_issued_on")
    if not issued_by:
        raise Invalid("the issuing authority is required with the issue date", field="id_card_issued_by")
    try:
        free_text(issued_by, "id_card_issued_by")
    except Invalid as exc:
        raise Invalid(exc.reason, field="id_card_issued_by") from None
    if expires is not None and expires <= issued:
        raise Invalid(f"{expires.isoformat()} is not after the issue date {issued.isoformat()}",
                      field="id_card_expires_on")
    return issued, issued_by, expires


# -- life status ---------------------------------------------------------------------------------

def date_of_death(value: str | date, born: PartialDate | None, today: date) -> date:
    """A full date (``YYYY-MM-DD`` or a date), not in the future, not before the birth."""
    if isinstance(value, str):
        death = _parse(value)
        if death.precision != "day":
            raise Invalid("write the full date, YYYY-MM-DD")
        value = death.earliest()
    elif not isinstance(value, date):
        raise Invalid("the date of death is a date, YYYY-MM-DD")
    if value > today:
        raise Invalid(f"{value.isoformat()} is in the future")
    if born is not None and value < born.earliest():
        raise Invalid(f"{value.isoformat()} is before the date of birth {born}")
    return value


def life_status(status: str | None, death: str | None, born: PartialDate | None,
                today: date) -> tuple[str, date | None]:
    """(status, date of death): alive without a date; deceased or missing (declared disappeared)
    with a full date. ``status`` in either case, empty = alive.

    :raises Invalid: with ``field`` = ``"date_of_death"`` when the date is at fault.
    """
    status = status or "alive"
    if status not in reference.STATUSES:
        status = status.lower()
        if status not in reference.STATUSES:
            raise Invalid(f"'{status}' is not alive, deceased or missing", field="status")
    if status == "alive":
        if death:
            raise Invalid("given, but status is alive", field="date_of_death")
        return status, None
    if not death:
        raise Invalid(f"required when status is {status}", field="date_of_death")
    try:
        return status, date_of_death(death, born, today)
    except Invalid as exc:
        raise Invalid(exc.reason, field="date_of_death") from None


# -- a clerk's values ----------------------------------------------------------------------------

def record_field(field: str, value: Any, *, today: date, communes: Container[str]) -> Any:
    """The value of field ``field`` of a citizen record as stored, from a clerk's canonical value.

    Fields without a rule here (the household, a database row) are the caller's to check.
    """
    rule = _RECORD_RULES.get(field)
    if rule is None:
        return value
    if isinstance(value, str) and names.has_control_characters(value):
        raise Invalid(CONTROL_CHARACTERS)
    return rule(value, today, communes)


_RECORD_RULES: dict[str, Callable[[Any, date, Container[str]], Any]] = {
    "full_name": lambda v, today, communes: full_name(v),
    "other_names": lambda v, today, communes: other_names(v),
    "date_of_birth": lambda v, today, communes: date_of_birth(v, today),
    "sex": lambda v, today, communes: sex(v),
    "place_of_birth": lambda v, today, communes: free_text(v, "place_of_birth"),
    "hometown": lambda v, today, communes: free_text(v, "hometown"),
    "ethnicity": lambda v, today, communes: ethnicity(v),
    "religion": lambda v, today, communes: free_text(v, "religion"),
    "nationality": lambda v, today, communes: nationality(v),
    "blood_type": lambda v, today, communes: blood_type(v),
    "marital_status": lambda v, today, communes: free_text(v, "marital_status"),
    "permanent_commune_code": lambda v, today, communes: commune(v, communes),
    "current_commune_code": lambda v, today, communes: commune(v, communes),
    "relationship_to_head": lambda v, today, communes: relationship(v),
    "phone": lambda v, today, communes: phone(v),
    "email": lambda v, today, communes: email(v),
    "residence_file_number": lambda v, today, communes: residence_file_number(v),
}


# -- precompiled checks for the import's fast path -------------------------------------------------
# Each is the common case of a rule above, for a value already in its stored form; a value that
# misses one goes to the rule itself.

#: First three digits of an ID number: a pre-2025 province or a country of birth registration.
REGISTRATION_CODES = frozenset(LEGACY_PROVINCES) | idnumbers.ABROAD_CODES
#: (century, sex) -> the 4th digit of an ID number.
CENTURY_SEX = {(century, sex): str((century - 19) * 2 + (sex == "F"))
               for century in range(19, 24) for sex in ("M", "F")}
#: n -> two digits, the 5th and 6th of an ID number.
TWO_DIGITS = [f"{n:02d}" for n in range(100)]
#: Sex as stored.
STORED_SEXES = frozenset(reference.SEXES)
BLOOD_TYPES = reference.BLOOD_TYPES
RELATIONSHIPS = reference.RELATIONSHIPS
