"""Password hashing (argon2id) and the password policy: the only module that imports argon2 and
zxcvbn.

Production parameters are OWASP's argon2id floor (m=19 MiB, t=2, p=1; ASVS 5.0 V11.4.2); tests
configure cheap ones. A hash made with older parameters is replaced at the next successful login.

A new password must not be guessed early (ASVS 5.0 V6.2.4, V6.2.11): its base must not be one of
our common passwords (which hold the Vietnamese favourites), and Dropbox's zxcvbn estimator, which
knows English words, names, keyboard rows, sequences, repetitions and dates, must rate it 3 of 4.

A refused password raises :class:`PasswordRefused` with its :class:`PasswordRefusal`: a fact, not
a sentence. The pages say it in their language (``idsvc.identity.views``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app
from zxcvbn import zxcvbn

from idsvc.errors import ValidationFailed
from idsvc.registry import names

MAX_LENGTH = 128
#: zxcvbn's score from which a password is safe from an online attack and slows an offline one
#: (about 10^8 guesses or more).
MIN_SCORE = 3
#: zxcvbn rates only this many first characters: its time grows fast with the length (a second
#: for 72 random characters), and a beginning that is hard to guess is enough.
RATED_LENGTH = 48
#: Digits and symbols that stand for letters in passwords ("p@ssw0rd"); 1 is read as i and as l.
_LOOK_ALIKES = str.maketrans({"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LOOK_ALIKE_CHARS = "013457@$"
#: Digits, symbols and separators (anything but a letter).
_NOT_LETTERS = r"[\W\d_]"


class PasswordRefusal(StrEnum):
    """Why a password is refused: a fact, which the page says to the person in its language."""

    TOO_SHORT = "too-short"  #: fewer characters than ``PASSWORD_MIN_LENGTH`` (``min_length``)
    TOO_LONG = "too-long"  #: more than :data:`MAX_LENGTH` characters (``max_length``)
    PERSONAL_DATA = "personal-data"  #: holds the person's ID number, full name or date of birth
    TOO_GUESSABLE = "too-guessable"  #: a common password, in disguise or not, or rated weak
    REPEAT_DIFFERS = "repeat-differs"  #: the two copies typed in a form differ
    SAME_AS_CURRENT = "same-as-current"  #: a new password equal to the current one
    WRONG_CURRENT = "wrong-current"  #: the current password given to change it is wrong
    LOCKED = "locked"  #: the account is locked: the current password was not even checked


class PasswordRefused(ValidationFailed):
    """A password refused, with its :class:`PasswordRefusal` and the limit it broke, if any.

    ``detail`` names the fact in English for logs, the CLI and API clients; what a person reads
    is chosen by the view from ``reason`` (``idsvc.identity.views``).
    """

    code = "password-refused"

    def __init__(self, reason: PasswordRefusal, *, min_length: int | None = None,
                 max_length: int | None = None) -> None:
        limits = {name: value for name, value in (("min_length", min_length), ("max_length", max_length))
                  if value is not None}
        shown = "".join(f" ({name}={value})" for name, value in limits.items())
        super().__init__(f"password refused: {reason}{shown}", reason=reason.value, **limits)
        self.reason = reason
        self.min_length = min_length
        self.max_length = max_length


def _params() -> tuple[int, int, int]:
    params = current_app.config["PASSWORD_HASH"]
    return params["time_cost"], params["memory_cost"], params["parallelism"]


def _hasher() -> PasswordHasher:
    return _hasher_for(*_params())


@cache
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
                          hash_len=32, salt_len=16, type=Type.ID)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one hash (same timing)."""
    if stored_hash is None:
        burn(password)
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn(password: str) -> None:
    """Spend the time of one verification, so that an unknown account answers like a known one."""
    try:
        _hasher().verify(_dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        pass


def _dummy_hash() -> str:
    return _dummy_for(*_params())


@cache
def _dummy_for(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher_for(time_cost, memory_cost, parallelism).hash("not a password: timing equaliser")


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


@cache
def common_passwords() -> frozenset[str]:
    """Passwords too common to allow (lower-cased), shipped in ``idsvc/data/common-passwords.txt``."""
    text = resources.files("idsvc").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("# "))


@cache
def _common_bases() -> frozenset[str]:
    return frozenset(base for entry in common_passwords() for base in bases(entry))


def bases(password: str) -> set[str]:
    """What a password is built on, as a guesser sees it: case and diacritics folded, the digits
    and symbols at either end dropped, look-alikes read as letters, separators inside dropped.

    "P@ssw0rd-2026!" and "2026 Mật khẩu" give "password" and "matkhau". A look-alike just before
    the first letter may be one ("$ecret"), so the core is taken with and without it; 1 is read as
    i and as l. (Empty when the password has no letter.)
    """
    folded = names.fold(password)
    first = re.search(r"[^\W\d_]", folded)  # the first letter
    if first is None:
        return set()
    core = re.sub(f"{_NOT_LETTERS}+$", "", folded[first.start():])
    cores = {core}
    if first.start() and folded[first.start() - 1] in _LOOK_ALIKE_CHARS:  # "$ecret", "4dmin"
        cores.add(folded[first.start() - 1] + core)
    return {re.sub(_NOT_LETTERS, "", core.translate(_LOOK_ALIKES).replace("1", one))
            for core in cores for one in ("i", "l")}


def is_guessable(password: str) -> bool:
    """True when the password is a common one, as typed or in disguise, or zxcvbn rates it below
    ``MIN_SCORE``."""
    if password.lower() in common_passwords() or bases(password) & _common_bases():
        return True
    return int(zxcvbn(password[:RATED_LENGTH])["score"]) < MIN_SCORE


def check_policy(password: str, *, personal: tuple[str, ...] = ()) -> None:
    """Refuse a password that is too short, too long, made of the person's own data, or guessable.

    :param personal: values the password must not contain (ID number, folded full name without
        spaces, birth date digits), compared with the password as typed and folded.
    :raises PasswordRefused: ``TOO_SHORT`` (with ``min_length``), ``TOO_LONG`` (with
        ``max_length``), ``PERSONAL_DATA`` or ``TOO_GUESSABLE``, checked in that order.
    """
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise PasswordRefused(PasswordRefusal.TOO_SHORT, min_length=minimum)
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(PasswordRefusal.TOO_LONG, max_length=MAX_LENGTH)
    lowered = password.lower()
    squeezed = re.sub(r"[\W_]", "", names.fold(password))  # "Nguyễn Văn-An" -> "nguyenvanan"
    if any(value and (value.lower() in lowered or value.lower() in squeezed) for value in personal):
        raise PasswordRefused(PasswordRefusal.PERSONAL_DATA)
    if is_guessable(password):
        raise PasswordRefused(PasswordRefusal.TOO_GUESSABLE)
