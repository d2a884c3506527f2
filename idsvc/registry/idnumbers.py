"""The 12-digit personal identification number (số định danh cá nhân): pure rules, no I/O.

Structure (Decree 137/2015 Art. 13; Circular 59/2021 Art. 4)::

    PPP G YY RRRRRR
    PPP     code of the province where the birth was REGISTERED (63 pre-2025 codes), or of
            the country, for births registered abroad (101-295)
    G       century of birth and sex: 0/1 = 1900s male/female, 2/3 = 2000s, ... 8/9 = 2300s
    YY      last two digits of the birth year
    RRRRRR  a random range; no check digit exists in any official text

Existing numbers keep their pre-2025 province prefix after the 2025 reform.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from idsvc.registry.units import LEGACY_PROVINCES

#: Country codes of births registered abroad, Circular 07/2016 Appendix (101 Afghanistan ... 295
#: Zimbabwe). Secondary source only; see the README's data notes.
ABROAD_CODES = frozenset(f"{n:03d}" for n in range(101, 296))

MIN_BIRTH_YEAR = 1900  # no century code exists before 1900
MAX_BIRTH_YEAR = 2399


class InvalidIdNumber(ValueError):
    """The number breaks a structural rule; ``str(exc)`` is a reason a clerk understands."""


@dataclass(frozen=True, slots=True)
class IdNumberParts:
    registration_code: str
    sex: str  # "M" or "F"
    birth_year: int
    serial: str

    @property
    def born_abroad(self) -> bool:
        return self.registration_code in ABROAD_CODES


def century_sex_digit(birth_year: int, sex: str) -> int:
    """The 4th digit for a birth year and sex ("M"/"F")."""
    if not MIN_BIRTH_YEAR <= birth_year <= MAX_BIRTH_YEAR:
        raise InvalidIdNumber(f"no ID number can encode birth year {birth_year} (1900-2399 only)")
    return (birth_year // 100 - 19) * 2 + (1 if sex == "F" else 0)


def parse(number: str) -> IdNumberParts:
    """Check the structure and decode it.

    :raises InvalidIdNumber: with the first rule broken.
    """
    if not (number.isascii() and number.isdigit()):
        raise InvalidIdNumber("an ID number has only the digits 0-9")
    if len(number) != 12:
        raise InvalidIdNumber(f"an ID number has exactly 12 digits; this one has {len(number)}")
    code = number[:3]
    if code not in LEGACY_PROVINCES and code not in ABROAD_CODES:
        raise InvalidIdNumber(f"the first three digits {code} are neither a province code of birth "
                              "registration nor a country code")
    g = int(number[3])
    return IdNumberParts(
        registration_code=code,
        sex="F" if g % 2 else "M",
        birth_year=(19 + g // 2) * 100 + int(number[4:6]),
        serial=number[6:],
    )


def check_consistent(number: str, *, birth_year: int, sex: str) -> IdNumberParts:
    """Parse ``number`` and check that it agrees with the person's birth year and sex.

    :raises InvalidIdNumber: naming the digit that disagrees and what it should be.
    """
    parts = parse(number)
    if parts.sex != sex or parts.birth_year // 100 != birth_year // 100:
        want = century_sex_digit(birth_year, sex)
        raise InvalidIdNumber(
            f"digit 4 is {number[3]} (born {parts.birth_year // 100}xx, sex {parts.sex}) but the person "
            f"is {sex}, born {birth_year}: it should be {want}")
    if parts.birth_year != birth_year:
        raise InvalidIdNumber(f"digits 5-6 are {number[4:6]} but the person was born in {birth_year}: "
                              f"they should be {birth_year % 100:02d}")
    return parts


def prefix_for(registration_code: str, birth_year: int, sex: str) -> str:
    """The first six digits for a person; validates the registration code."""
    if registration_code not in LEGACY_PROVINCES and registration_code not in ABROAD_CODES:
        raise InvalidIdNumber(f"{registration_code} is not a province or country code of birth registration")
    return f"{registration_code}{century_sex_digit(birth_year, sex)}{birth_year % 100:02d}"


def random_serial() -> str:
    """Six random digits from the OS CSPRNG; uniqueness is the database's job."""
    return f"{secrets.randbelow(1_000_000):06d}"
