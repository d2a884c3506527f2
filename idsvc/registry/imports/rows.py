"""Checking one row of a population file: pure rules, no database, no I/O.

:class:`RowChecker` turns a raw row (column -> text, as read from CSV or JSONL) into the tuple
the importer writes (:data:`CHECKED_COLUMNS`), or raises :class:`RowRejected` with every problem
of the row in words a registry clerk can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import itemgetter

from idsvc.registry import idnumbers
from idsvc.registry import names
from idsvc.registry import reference
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.units import LEGACY_PROVINCES

#: What the checker returns for each accepted row, in this order (``line`` is prepended).
CHECKED_COLUMNS = (
    "id_number", "full_name", "name_folded", "other_names", "birth_year", "birth_month", "birth_day",
    "sex", "place_of_birth", "birth_registration_code", "hometown", "ethnicity", "religion",
    "nationality", "blood_type", "marital_status", "permanent_commune_code", "current_commune_code",
    "relationship_to_head", "status", "date_of_death", "phone",
    # not columns of ``citizen``:
    "household_number", "father_id", "father_name", "mother_id", "mother_name", "spouse_id", "spouse_name",
)

#: Where each checked value sits in an importer row, ``(line, *checked values)``.
ROW_AT = {column: i + 1 for i, column in enumerate(CHECKED_COLUMNS)}

#: Longest accepted text per column (the database's column sizes).
MAX_LENGTH = {
    "full_name": 200, "other_names": 200, "place_of_birth": 200, "hometown": 200, "religion": 60,
    "marital_status": 20, "household_id": 20, "father_name": 200, "mother_name": 200, "spouse_name": 200,
}

_SEX = {"M": "M", "F": "F", "NAM": "M", "NỮ": "F"}


class RowRejected(ValueError):
    """The row cannot be imported; ``str(exc)`` lists every problem found."""


def _id_number_problem(column: str, number: str) -> str | None:
    try:
        idnumbers.parse(number)
    except idnumbers.InvalidIdNumber as exc:
        return f"{column}: {_spreadsheet_hint(number, str(exc))}"
    return None


def _spreadsheet_hint(number: str, reason: str) -> str:
    if number.isascii() and number.isdigit() and len(number) in (10, 11):
        zeros = "0" if len(number) == 11 else "00"
        return reason + f" (a spreadsheet may have dropped the leading {zeros}: format the column as text)"
    return reason


class RowChecker:
    """Validates and normalises rows against the known communes as of ``today``.

    Values are expected as :mod:`reader` yields them (canonical text, "" = unknown). The common,
    valid case takes fast paths; any doubt falls through to the general rules for the message.
    """

    def __init__(self, commune_codes: frozenset[str], today: date) -> None:
        self.communes = commune_codes
        self.today = today
        self._ethnicities: dict[str, str | None] = {}
        #: Dates of birth as written -> (year, month, day) when valid, None when not (the rules
        #: then run again for the message). A few tens of thousands of distinct values at most.
        self._births: dict[str, tuple[int, int | None, int | None] | None] = {}
        #: Full name -> folded form; cleared when it grows (names repeat within a region's rows).
        self._folded: dict[str, str] = {}

    def _commune(self, column: str, value: str, problems: list[str]) -> str | None:
        if not value:
            return None
        if value.isascii() and value.isdigit() and len(value) < 5:  # "70" from a spreadsheet means "00070"
            value = value.zfill(5)
        if value not in self.communes:
            problems.append(f"{column}: commune {value} does not exist (5-digit commune code of 2025)")
        return value

    def _date_of_birth(self, text: str, problems: list[str]) -> tuple[int, int | None, int | None] | None:
        if not text:
            problems.append("date_of_birth: a date of birth is required (YYYY-MM-DD, YYYY-MM or YYYY)")
            return None
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                day = date.fromisoformat(text)
            except ValueError:
                pass
            else:
                if day <= self.today and day.year >= idnumbers.MIN_BIRTH_YEAR:
                    return day.year, day.month, day.day
        try:
            dob = PartialDate.parse(text)
        except InvalidDate as exc:
            problems.append(f"date_of_birth: {exc}")
            return None
        if dob.earliest() > self.today:
            problems.append(f"date_of_birth: {text} is in the future")
        elif dob.year < idnumbers.MIN_BIRTH_YEAR:
            problems.append(f"date_of_birth: {dob.year} is before 1900, which no ID number can encode")
        else:
            return dob.year, dob.month, dob.day
        return None

    def _ethnicity(self, text: str) -> str | None:
        if text not in self._ethnicities:
            self._ethnicities[text] = reference.canonical_ethnicity(text)
        return self._ethnicities[text]

    def check(self, raw: dict[str, str]) -> tuple[object, ...]:
        """The checked tuple for ``raw`` (:data:`CHECKED_COLUMNS`).

        :raises RowRejected: naming each bad column and why.
        """
        problems: list[str] = []
        get = raw.get
        joined = "".join(raw.values())
        if names.has_control_characters(joined):
            problems += [f"{column}: contains an invisible control character" for column in COLUMNS
                         if names.has_control_characters(get(column) or "")]
        for column, limit in MAX_LENGTH.items():
            if limit < len(joined) and len(get(column) or "") > limit:
                problems.append(f"{column}: longer than {limit} characters")

        for column in _NAME_COLUMNS:
            name = get(column)
            if name and not (names.is_plain_name(name) or names.has_control_characters(name)):
                problem = names.name_problem(name, several=column == "other_names")
                if problem:
                    problems.append(f"{column}: {problem}")

        full_name = get("full_name") or ""
        if not full_name:
            problems.append("full_name: a full name is required")
        elif len(names.fold(full_name)) > MAX_LENGTH["full_name"] >= len(full_name):
            # Folding can lengthen a name (Hangul syllables become letters): the search column holds 200.
            problems.append(f"full_name: longer than {MAX_LENGTH['full_name']} characters without diacritics")

        sex = _SEX.get(get("sex") or "") or _SEX.get((get("sex") or "").upper())
        if sex is None:
            problems.append(f"sex: '{get('sex') or ''}' is not M or F")

        dob = self._date_of_birth(get("date_of_birth") or "", problems)

        number = get("citizen_id") or ""
        registration = get("birth_registration_province") or ""
        if not number:
            problems.append("citizen_id: an ID number is required")
        elif dob is not None and sex is not None:
            year = dob[0]
            if not (len(number) == 12 and number.isascii() and number.isdigit() and number[:3] in _REGISTRATION_CODES
                    and number[3] == _CENTURY_SEX[year // 100, sex] and number[4:6] == f"{year % 100:02d}"):
                try:
                    idnumbers.check_consistent(number, birth_year=year, sex=sex)
                except idnumbers.InvalidIdNumber as exc:
                    problems.append(f"citizen_id: {_spreadsheet_hint(number, str(exc))}")
            if registration and registration != number[:3] and registration.zfill(3) != number[:3]:
                problems.append(f"birth_registration_province: {registration} but the ID number starts "
                                f"with {number[:3]}; they must be the same")
        else:
            problem = _id_number_problem("citizen_id", number)
            if problem:
                problems.append(problem)

        permanent = self._commune("permanent_commune", get("permanent_commune") or "", problems)
        current = self._commune("current_commune", get("current_commune") or "", problems) or permanent

        relationship = get("relationship_to_head") or None
        if relationship is not None and relationship not in reference.RELATIONSHIPS:
            problems.append(f"relationship_to_head: '{relationship}' is not one of "
                            f"{', '.join(reference.RELATIONSHIPS)}")
        household = get("household_id") or None
        if relationship is not None and household is None:
            problems.append("relationship_to_head: given, but household_id is empty")

        ethnicity = get("ethnicity") or None
        if ethnicity is not None:
            canonical_ethnicity = self._ethnicity(ethnicity)
            if canonical_ethnicity is None:
                problems.append(f"ethnicity: '{ethnicity}' is not one of the 54 ethnic groups")
            ethnicity = canonical_ethnicity

        nationality = get("nationality") or "VN"
        if nationality != "VN":
            nationality = nationality.upper()
            if not reference.is_country_code(nationality):
                problems.append(f"nationality: '{nationality}' is not a 2-letter country code (VN)")

        blood_type = get("blood_type") or None
        if blood_type is not None and blood_type not in reference.BLOOD_TYPES:
            blood_type = blood_type.upper()
            if blood_type not in reference.BLOOD_TYPES:
                problems.append(f"blood_type: '{blood_type}' is not a blood type (A, B, AB, O, with + or -)")

        status = get("status") or "alive"
        death_text = get("date_of_death") or ""
        date_of_death: str | None = None
        if status not in reference.STATUSES:
            status = status.lower()
        if status not in reference.STATUSES:
            problems.append(f"status: '{status}' is not alive, deceased or missing")
        elif status == "alive":
            if death_text:
                problems.append("date_of_death: given, but status is alive")
        elif not death_text:
            problems.append(f"date_of_death: required when status is {status}")
        else:
            date_of_death = self._date_of_death(death_text, dob, problems)

        phone = get("phone") or None
        if phone is not None and not reference.is_phone(phone):
            phone = reference.phone_as_stored(phone)
            if not reference.is_phone(phone):
                problems.append(f"phone: '{phone}' is not a telephone number")

        relatives: list[str | None] = []
        for kind in ("father", "mother", "spouse"):
            rel_id = get(f"{kind}_id") or None
            if rel_id is not None:
                if not (len(rel_id) == 12 and rel_id.isascii() and rel_id.isdigit()
                        and rel_id[:3] in _REGISTRATION_CODES):
                    problem = _id_number_problem(f"{kind}_id", rel_id)
                    if problem:
                        problems.append(problem)
                if rel_id == number:
                    problems.append(f"{kind}_id: the same number as the person's own")
            relatives += [rel_id, get(f"{kind}_name") or None]

        if problems:
            raise RowRejected("; ".join(problems))
        assert dob is not None
        return (
            number, full_name, names.fold(full_name), get("other_names") or None, *dob, sex,
            get("place_of_birth") or None, number[:3], get("hometown") or None, ethnicity,
            get("religion") or None, nationality, blood_type, get("marital_status") or None, permanent,
            current, relationship, status, date_of_death, phone, household, *relatives,
        )

    def plain(self, header: tuple[str, ...]) -> Callable[[list[str]], tuple[object, ...] | None]:
        """A fast check for rows whose values (in ``header`` order) are known to be canonical and free
        of control characters (a plain :class:`reader.Block`).

        It returns exactly what :meth:`check` returns for a row it accepts, and None for any row it
        cannot accept at once, which the caller then gives to :meth:`check` for the verdict and the
        reasons: so every row is still judged by :meth:`check`'s rules (a test compares both on
        generated and broken rows).
        """
        at = {column: i for i, column in enumerate(header)}
        absent = len(header)  # the index of an empty value appended to every row
        pick = itemgetter(*(at.get(column, absent) for column in COLUMNS))
        padded = any(column not in at for column in COLUMNS)
        communes, births, folded = self.communes, self._births, self._folded
        codes, century_sex, relationships = _REGISTRATION_CODES, _CENTURY_SEX, reference.RELATIONSHIPS
        blood_types, two_digits = reference.BLOOD_TYPES, _TWO_DIGITS
        ethnicities = self._ethnicities

        def check(values: list[str]) -> tuple[object, ...] | None:
            if padded:
                values = [*values, ""]
            (number, full_name, birth, sex, registration, permanent, current, household, relationship,
             ethnicity, religion, nationality, status, death, other_names, place_of_birth, hometown, blood_type,
             marital_status, phone, father_id, father_name, mother_id, mother_name, spouse_id,
             spouse_name) = pick(values)
            if not full_name or sex not in _PLAIN_SEX:
                return None
            dob = births.get(birth, _UNSEEN)
            if dob is _UNSEEN:
                dob = births[birth] = self._date_of_birth(birth, [])
            if dob is None:
                return None
            year = dob[0]
            prefix = number[:3]
            if not (len(number) == 12 and number.isascii() and number.isdigit() and prefix in codes
                    and number[3] == century_sex[year // 100, sex] and number[4:6] == two_digits[year % 100]):
                return None
            if registration and registration != prefix:
                return None
            if (permanent and permanent not in communes) or (current and current not in communes):
                return None
            if relationship and (relationship not in relationships or not household):
                return None
            if ethnicity:
                ethnicity = ethnicities.get(ethnicity) or self._ethnicity(ethnicity)
                if ethnicity is None:
                    return None
            if (nationality and nationality != "VN") or (blood_type and blood_type not in blood_types):
                return None
            if (status and status != "alive") or death:
                return None
            if phone and not (phone.isascii() and phone.isdigit() and 9 <= len(phone) <= 15):
                return None
            for relative in (father_id, mother_id, spouse_id):
                if relative and (relative == number or not (
                        len(relative) == 12 and relative.isascii() and relative.isdigit() and relative[:3] in codes)):
                    return None
            if (len(household) > 20 or len(marital_status) > 20 or len(religion) > 60 or len(full_name) > 200
                    or len(other_names) > 200 or len(place_of_birth) > 200 or len(hometown) > 200
                    or len(father_name) > 200 or len(mother_name) > 200 or len(spouse_name) > 200):
                return None
            # Names of letters and spaces only (names.is_plain_name, written out for speed); anything else
            # is for check() to judge (a hyphen, an apostrophe, combining marks of other scripts ...).
            if ((other_names and not other_names.replace(" ", "").isalpha())
                    or (father_name and not father_name.replace(" ", "").isalpha())
                    or (mother_name and not mother_name.replace(" ", "").isalpha())
                    or (spouse_name and not spouse_name.replace(" ", "").isalpha())):
                return None
            name_folded = folded.get(full_name)
            if name_folded is None:
                if not full_name.replace(" ", "").isalpha():
                    return None
                if len(folded) > 200_000:
                    folded.clear()
                name_folded = folded[full_name] = names.fold(full_name)
            if len(name_folded) > 200:
                return None
            return (
                number, full_name, name_folded, other_names or None, *dob, sex, place_of_birth or None, prefix,
                hometown or None, ethnicity or None, religion or None, "VN", blood_type or None, marital_status or None,
                permanent or None, current or permanent or None, relationship or None, "alive", None, phone or None,
                household or None, father_id or None, father_name or None, mother_id or None, mother_name or None,
                spouse_id or None, spouse_name or None,
            )

        return check

    def _date_of_death(self, text: str, dob: tuple[int, int | None, int | None] | None,
                       problems: list[str]) -> str | None:
        try:
            death = PartialDate.parse(text)
        except InvalidDate as exc:
            problems.append(f"date_of_death: {exc}")
            return None
        if death.precision != "day":
            problems.append("date_of_death: write the full date, YYYY-MM-DD")
        elif death.earliest() > self.today:
            problems.append(f"date_of_death: {text} is in the future")
        elif dob is not None and death.earliest() < PartialDate(*dob).earliest():
            problems.append(f"date_of_death: {text} is before the date of birth {PartialDate(*dob)}")
        else:
            return death.isoformat()
        return None


_REGISTRATION_CODES = frozenset(LEGACY_PROVINCES) | idnumbers.ABROAD_CODES
_CENTURY_SEX = {(century, sex): str((century - 19) * 2 + (sex == "F"))
                for century in range(19, 24) for sex in ("M", "F")}
_TWO_DIGITS = [f"{n:02d}" for n in range(100)]
_PLAIN_SEX = frozenset({"M", "F"})
#: Columns that hold personal names (:func:`names.name_problem`).
_NAME_COLUMNS = ("full_name", "other_names", "father_name", "mother_name", "spouse_name")
_UNSEEN = object()


def file_values(checked: tuple[object, ...]) -> dict[str, str]:
    """A checked tuple written back as file columns (for the rejects file)."""
    value = dict(zip(CHECKED_COLUMNS, checked, strict=True))
    dob = PartialDate(value["birth_year"], value["birth_month"], value["birth_day"])  # type: ignore[arg-type]
    out = {
        "citizen_id": value["id_number"], "date_of_birth": dob.isoformat(),
        "birth_registration_province": value["birth_registration_code"],
        "permanent_commune": value["permanent_commune_code"], "current_commune": value["current_commune_code"],
        "household_id": value["household_number"],
    }
    out.update({c: value[c] for c in COLUMNS if c in value})
    return {c: "" if out.get(c) is None else str(out[c]) for c in COLUMNS}
