"""Password hashing (argon2id) and the password policy: the only module that imports argon2.

Production parameters are OWASP's argon2id floor (m=19 MiB, t=2, p=1; ASVS 5.0 V11.4.2); tests
configure cheap ones. A hash made with older parameters is replaced at the next successful login.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app

from idsvc.errors import ValidationFailed
from idsvc.registry import names

MAX_LENGTH = 128


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


def check_policy(password: str, *, personal: tuple[str, ...] = ()) -> None:
    """Refuse a password that is too short, too long, too common or made of the person's own data.

    :param personal: values the password must not contain (ID number, folded full name without
        spaces, birth date digits), compared with the password as typed and folded.
    :raises ValidationFailed: with the reason, in Vietnamese and English.
    """
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ValidationFailed(
            f"Mật khẩu cần ít nhất {minimum} ký tự; một cụm từ dễ nhớ là lựa chọn tốt. / "
            f"The password needs at least {minimum} characters; a memorable phrase works well.")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"Mật khẩu tối đa {MAX_LENGTH} ký tự. / "
                               f"The password can have at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    squeezed = re.sub(r"[\W_]", "", names.fold(password))  # "Nguyễn Văn-An" -> "nguyenvanan"
    if any(value and (value.lower() in lowered or value.lower() in squeezed) for value in personal):
        raise ValidationFailed("Mật khẩu không được chứa số định danh, họ tên hay ngày sinh của bạn. / "
                               "The password must not contain your ID number, full name or date of birth.")
    if lowered in common_passwords() or len(set(password)) < 4:
        raise ValidationFailed("Mật khẩu này quá phổ biến, dễ bị đoán. / "
                               "This password is too common and easy to guess.")
