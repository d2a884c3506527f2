"""Checking one row of a population file by the registry's rulebook: no database, no I/O.

:class:`RowChecker` turns a raw row (column -> text, as read from CSV or JSONL) into the tuple
the importer writes (:data:`CHECKED_COLUMNS`), or raises :class:`RowRejected` with every problem
of the row in words a registry clerk can act on. What a value must be is :mod:`idsvc.registry.rules`,
which the clerk services apply too; this module maps a file's columns onto it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import itemgetter
from typing import Any

from idsvc.registry import names
from idsvc.registry import rules
from idsvc.registry.dates import PartialDate
from idsvc.registry.imports.fileformat import COLUMNS

#: What the checker returns for each accepted row, in this order (``line`` is prepended).
CHECKED_COLUMNS = (
    "id_number", "full_name", "name_folded", "other_names", "birth_year", "birth_month", "birth_day",
    "sex", "place_of_birth", "birth_registration_code", "hometown", "ethnicity", "religion",
    "nationality", "blood_type", "marital_status", "permanent_commune_code", "current_commune_code",
    "relationship_to_head", "status", "date_of_death", "phone", "email", "residence_file_number",
    "id_card_issued_on", "id_card_issued_by", "id_card_expires_on",
    # not columns of ``citizen``:
    "household_number", "father_id", "father_name", "mother_id", "mother_name", "spouse_id", "spouse_name",
    "old_id_numbers",  # space-separated, or None
)

#: Where each checked value sits in an importer row, ``(line, *checked values)``.
ROW_AT = {column: i + 1 for i, column in enumerate(CHECKED_COLUMNS)}

#: Free-text columns -> the field of the rulebook that limits them.
_TEXT_FIELDS = {
    "full_name": "full_name", "other_names": "other_names", "place_of_birth": "place_of_birth",
    "hometown": "hometown", "religion": "religion", "marital_status": "marital_status",
    "household_id": "household_number", "father_name": "relative_name", "mother_name": "relative_name",
    "spouse_name": "relative_name",
}
#: Longest accepted text per column (:data:`rules.MAX_LENGTH`, by file column).
MAX_LENGTH = {column: rules.MAX_LENGTH[field] for column, field in _TEXT_FIELDS.items()}

_RELATIVES = ("father", "mother", "spouse")

Birth = tuple[int, int | None, int | None]


class RowRejected(ValueError):
    """The row cannot be imported; ``str(exc)`` lists every problem found."""


class _Problems(dict[str, str]):
    """Column -> the first problem found in it, in the order found."""

    def judge(self, column: str, rule: Callable[..., Any], *args: Any) -> Any:
        """``rule(*args)``, or None with the problem noted (a column already at fault is not judged again)."""
        if column in self:
            return None
        try:
            return rule(*args)
        except rules.Invalid as exc:
            self.setdefault(exc.field or column, exc.reason)
            return None


class RowChecker:
    """Validates and normalises rows against the known communes as of ``today``.

    Values are expected as :mod:`reader` yields them (canonical text, "" = unknown). The common,
    valid case takes the fast path (:meth:`plain`); :meth:`check` judges any row and says why.
    """

    def __init__(self, commune_codes: frozenset[str], today: date) -> None:
        self.communes = commune_codes
        self.today = today
        self._ethnicities: dict[str, str | None] = {}
        #: Dates of birth as written -> (year, month, day) when valid, None when not (the rules
        #: then run again for the message). A few tens of thousands of distinct values at most.
        self._births: dict[str, Birth | None] = {}
        #: Full name -> folded form; cleared when it grows (names repeat within a region's rows).
        self._folded: dict[str, str] = {}

    def _ethnicity(self, text: str) -> str | None:
        if text not in self._ethnicities:
            self._ethnicities[text] = rules.canonical_ethnicity(text)
        return self._ethnicities[text]

    # -- the general path: every rule, every problem ---------------------------------------------

    def check(self, raw: dict[str, str]) -> tuple[object, ...]:
        """The checked tuple for ``raw`` (:data:`CHECKED_COLUMNS`).

        :raises RowRejected: naming each bad column and why.
        """
        values = {column: raw.get(column) or "" for column in COLUMNS}
        problems = _Problems()
        _hygiene(values, problems)
        full_name, other_names, relative_names = _names(values, problems)
        _free_text(values, problems)
        number, sex, born = self._identity(values, problems)
        permanent, current, household, relationship = self._residence(values, problems)
        ethnicity, nationality, blood_type = self._origins(values, problems)
        status, died = problems.judge("status", rules.life_status, values["status"], values["date_of_death"],
                                      PartialDate(*born) if born else None, self.today) or ("alive", None)
        phone = problems.judge("phone", rules.phone, values["phone"])
        email = problems.judge("email", rules.email, values["email"])
        file_number = problems.judge("residence_file_number", rules.residence_file_number,
                                     values["residence_file_number"])
        card = problems.judge("id_card_issued_on", rules.id_card, values["id_card_issued_on"],
                              values["id_card_issued_by"], values["id_card_expires_on"],
                              PartialDate(*born) if born else None, self.today) or (None, None, None)
        relative_ids = [problems.judge(f"{kind}_id", rules.relative_id, values[f"{kind}_id"], number)
                        for kind in _RELATIVES]
        old_numbers = problems.judge("old_id_numbers", rules.old_id_numbers, values["old_id_numbers"])
        if problems:
            raise RowRejected("; ".join(f"{column}: {reason}" for column, reason in problems.items()))
        assert born is not None and sex is not None
        return (
            number, full_name, names.fold(full_name), other_names, *born, sex, values["place_of_birth"] or None,
            number[:3], values["hometown"] or None, ethnicity, values["religion"] or None, nationality, blood_type,
            values["marital_status"] or None, permanent, current, relationship, status,
            died.isoformat() if died else None, phone, email, file_number, *_card(card), household,
            *(value for pair in zip(relative_ids, relative_names, strict=True) for value in pair), old_numbers,
        )

    def _identity(self, values: dict[str, str], problems: _Problems) -> tuple[str, str | None, Birth | None]:
        """The ID number, sex and date of birth, which the number must agree with; the place of
        birth registration, which must be the number's."""
        sex = problems.judge("sex", rules.sex, values["sex"])
        born = problems.judge("date_of_birth", rules.date_of_birth, values["date_of_birth"], self.today)
        number = values["citizen_id"]
        if born is not None and sex is not None:
            problems.judge("citizen_id", rules.id_number, number, born.year, sex)
        else:
            problems.judge("citizen_id", rules.id_number, number)
        if number:
            problems.judge("birth_registration_province", rules.registration,
                           values["birth_registration_province"], number)
        return number, sex, (born.year, born.month, born.day) if born else None

    def _residence(self, values: dict[str, str],
                   problems: _Problems) -> tuple[str | None, str | None, str | None, str | None]:
        """Permanent and current commune (the current one defaults to the permanent), household and
        relationship to its head."""
        permanent = problems.judge("permanent_commune", rules.commune, values["permanent_commune"], self.communes)
        current = problems.judge("current_commune", rules.commune, values["current_commune"], self.communes)
        relationship = problems.judge("relationship_to_head", rules.relationship, values["relationship_to_head"])
        household = values["household_id"] or None
        problems.judge("relationship_to_head", rules.in_household, relationship, household)
        return permanent, current or permanent, household, relationship

    def _origins(self, values: dict[str, str], problems: _Problems) -> tuple[str | None, str | None, str | None]:
        """Ethnicity, nationality and blood type, in their stored spelling."""
        ethnicity = problems.judge("ethnicity", rules.ethnicity, values["ethnicity"])
        nationality = problems.judge("nationality", rules.nationality, values["nationality"])
        blood_type = problems.judge("blood_type", rules.blood_type, values["blood_type"])
        return ethnicity, nationality, blood_type

    # -- the fast path ------------------------------------------------------------------------------

    def plain(self, header: tuple[str, ...]) -> Callable[[list[str]], tuple[object, ...] | None]:
        """A fast check for rows whose values (in ``header`` order) are known to be canonical and free
        of control characters (a plain :class:`reader.Block`).

        It returns exactly what :meth:`check` returns for a row it accepts, and None for a row
        :meth:`check` refuses (the caller then asks :meth:`check` for the reasons): the same rules,
        with the common case written out inline (the precompiled sets of :mod:`rules`) and the
        rule itself called for any other value. A test holds both paths, and the clerk services,
        to the same verdicts.
        """
        pick, padded = _picker(header)
        communes, births, folded, ethnicities, today = (self.communes, self._births, self._folded,
                                                         self._ethnicities, self.today)
        codes, century_sex, two_digits = rules.REGISTRATION_CODES, rules.CENTURY_SEX, rules.TWO_DIGITS
        sexes, relationships, blood_types = rules.STORED_SEXES, rules.RELATIONSHIPS, rules.BLOOD_TYPES
        household_limit, marital_limit, religion_limit, text_limit, folded_limit = _FAST_LIMITS
        birth, name, invalid = rules.birth, rules.name, rules.Invalid
        old_limit = rules.MAX_OLD_ID_NUMBERS

        def check(values: list[str]) -> tuple[object, ...] | None:
            if padded:
                values = [*values, ""]
            permanent: str | None  # these may become None as a rule reads them
            current: str | None
            ethnicity: str | None
            blood_type: str | None
            phone: str | None
            old_numbers: str | None
            email: str | None
            file_number: str | None
            (number, full_name, born, sex, registration, permanent, current, household, relationship,
             ethnicity, religion, nationality, status, death, other_names, place_of_birth, hometown, blood_type,
             marital_status, phone, father_id, father_name, mother_id, mother_name, spouse_id,
             spouse_name, old_numbers, email, file_number, card_issued_on, card_issued_by,
             card_expires_on) = pick(values)
            try:
                # Identity: sex, date of birth, the ID number that encodes them, where the birth was registered.
                if not full_name:
                    return None
                if sex not in sexes:
                    sex = rules.sex(sex)
                dob = births.get(born, _UNSEEN)
                if dob is _UNSEEN:
                    dob = births[born] = birth(born, today)
                if dob is None:
                    return None
                year = dob[0]
                prefix = number[:3]
                if not (len(number) == 12 and number.isascii() and number.isdigit() and prefix in codes
                        and number[3] == century_sex[year // 100, sex] and number[4:6] == two_digits[year % 100]):
                    return None
                if registration and registration != prefix:
                    rules.registration(registration, number)
                # Residence and household.
                if permanent and permanent not in communes:
                    permanent = rules.commune(permanent, communes)
                if current and current not in communes:
                    current = rules.commune(current, communes)
                if relationship and (relationship not in relationships or not household):
                    return None
                # Coded values, life status, phone.
                if ethnicity:
                    ethnicity = ethnicities.get(ethnicity) or self._ethnicity(ethnicity)
                    if ethnicity is None:
                        return None
                if nationality and nationality != "VN":
                    nationality = rules.nationality(nationality)
                if blood_type and blood_type not in blood_types:
                    blood_type = rules.blood_type(blood_type)
                died = None
                if (status and status != "alive") or death:
                    status, died = rules.life_status(status, death, PartialDate(*dob), today)
                if phone and not (phone.isascii() and phone.isdigit() and 9 <= len(phone) <= 15):
                    phone = rules.phone(phone)
                # Card and contact data: rare in bulk files, judged by the rules themselves.
                if email:
                    email = rules.email(email)
                if file_number:
                    file_number = rules.residence_file_number(file_number)
                card: tuple[object, ...] = (None, None, None)
                if card_issued_on or card_issued_by or card_expires_on:
                    card = _card(rules.id_card(card_issued_on, card_issued_by, card_expires_on, PartialDate(*dob),
                                               today))
                # Relatives' numbers, text sizes, names.
                for relative in (father_id, mother_id, spouse_id):
                    if relative and (relative == number or not (
                            len(relative) == 12 and relative.isascii() and relative.isdigit()
                            and relative[:3] in codes)):
                        rules.relative_id(relative, number)
                if (len(household) > household_limit or len(marital_status) > marital_limit
                        or len(religion) > religion_limit or len(full_name) > text_limit
                        or len(other_names) > text_limit or len(place_of_birth) > text_limit
                        or len(hometown) > text_limit or len(father_name) > text_limit
                        or len(mother_name) > text_limit or len(spouse_name) > text_limit):
                    return None
                # Names of letters and spaces only (names.is_plain_name, written out for speed); the
                # name rule judges anything else (a hyphen, an apostrophe, combining marks ...).
                if other_names and not other_names.replace(" ", "").isalpha():
                    name(other_names, several=True, field="other_names")
                if father_name and not father_name.replace(" ", "").isalpha():
                    name(father_name)
                if mother_name and not mother_name.replace(" ", "").isalpha():
                    name(mother_name)
                if spouse_name and not spouse_name.replace(" ", "").isalpha():
                    name(spouse_name)
                name_folded = folded.get(full_name)
                if name_folded is None:
                    if not full_name.replace(" ", "").isalpha():
                        name(full_name, field="full_name")
                    if len(folded) > 200_000:
                        folded.clear()
                    name_folded = folded[full_name] = names.fold(full_name)
                if len(name_folded) > folded_limit:
                    return None
                # Old identity-card numbers: 9 digits each, once each.
                if old_numbers:
                    parts = old_numbers.split(" ")
                    if not (len(parts) <= old_limit and len(set(parts)) == len(parts) and all(
                            len(part) == 9 and part.isascii() and part.isdigit() for part in parts)):
                        old_numbers = rules.old_id_numbers(old_numbers)
            except invalid:
                return None
            return (
                number, full_name, name_folded, other_names or None, *dob, sex, place_of_birth or None, prefix,
                hometown or None, ethnicity or None, religion or None, nationality or "VN", blood_type or None,
                marital_status or None, permanent or None, current or permanent or None, relationship or None,
                status or "alive", died.isoformat() if died else None, phone or None, email or None,
                file_number or None, *card, household or None,
                father_id or None, father_name or None, mother_id or None, mother_name or None, spouse_id or None,
                spouse_name or None, old_numbers or None,
            )

        return check


def _picker(header: tuple[str, ...]) -> tuple[Callable[[list[str]], tuple[str, ...]], bool]:
    """A row's values (in ``header`` order) -> its values in :data:`COLUMNS` order; and whether a
    row must first be padded with the empty value that stands for the columns the file lacks."""
    at = {column: i for i, column in enumerate(header)}
    absent = len(header)  # the index of the empty value appended to every row
    pick = itemgetter(*(at.get(column, absent) for column in COLUMNS))
    return pick, any(column not in at for column in COLUMNS)


def _fast_limits() -> tuple[int, int, int, int, int]:
    """The sizes the fast path compares with: household, marital status, religion, any long text, folded name."""
    text = MAX_LENGTH["full_name"]
    if {MAX_LENGTH[c] for c in ("other_names", "place_of_birth", "hometown", "father_name")} != {text}:
        raise AssertionError("the fast path takes every long text column to have the full name's limit")
    return (MAX_LENGTH["household_id"], MAX_LENGTH["marital_status"], MAX_LENGTH["religion"], text,
            rules.MAX_LENGTH["name_folded"])


_FAST_LIMITS = _fast_limits()


def _hygiene(values: dict[str, str], problems: _Problems) -> None:
    """Control characters, in any column (a plain block has none)."""
    if names.has_control_characters("".join(values.values())):
        for column, value in values.items():
            if names.has_control_characters(value):
                problems[column] = rules.CONTROL_CHARACTERS


def _names(values: dict[str, str], problems: _Problems) -> tuple[str, str | None, list[str | None]]:
    """The full name (required), other names and the relatives' names, each by the name rule."""
    full_name = problems.judge("full_name", rules.full_name, values["full_name"]) or ""
    other_names = problems.judge("other_names", rules.other_names, values["other_names"])
    relative_names = [problems.judge(f"{kind}_name", rules.name, values[f"{kind}_name"]) for kind in _RELATIVES]
    return full_name, other_names, relative_names


def _free_text(values: dict[str, str], problems: _Problems) -> None:
    """Free-text columns within their sizes."""
    for column in ("place_of_birth", "hometown", "religion", "marital_status", "household_id"):
        problems.judge(column, rules.free_text, values[column], _TEXT_FIELDS[column])


def _card(card: tuple[date | None, str | None, date | None]) -> tuple[str | None, str | None, str | None]:
    """The identity card's dates as the importer writes dates (ISO text)."""
    issued, by, expires = card
    return issued.isoformat() if issued else None, by, expires.isoformat() if expires else None


#: A ``dict.get`` default told apart from any value (typed Any, as it stands in for any of them).
_UNSEEN: Any = object()


def file_values(checked: tuple[object, ...]) -> dict[str, str]:
    """A checked tuple written back as file columns (for the rejects file)."""
    value = dict(zip(CHECKED_COLUMNS, checked, strict=True))
    dob = PartialDate(value["birth_year"], value["birth_month"], value["birth_day"])  # type: ignore[arg-type]  # checked date parts
    out = {
        "citizen_id": value["id_number"], "date_of_birth": dob.isoformat(),
        "birth_registration_province": value["birth_registration_code"],
        "permanent_commune": value["permanent_commune_code"], "current_commune": value["current_commune_code"],
        "household_id": value["household_number"],
    }
    out.update({c: value[c] for c in COLUMNS if c in value})
    return {c: "" if out.get(c) is None else str(out[c]) for c in COLUMNS}
