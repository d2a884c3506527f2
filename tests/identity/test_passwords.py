"""Password hashing (argon2id, OWASP parameters, rehash at login) and the password policy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.config import load_config
from idsvc.identity import passwords
from idsvc.identity.models import Account
from idsvc.identity.passwords import PasswordRefusal
from idsvc.identity.passwords import PasswordRefused
from idsvc.registry.models import Citizen
from tests.browser import Browser
from tests.factories import TEST_PASSWORD
from tests.factories import make_account


def _stored_hash(number: str) -> str:
    return db.session().scalar(select(Account.password_hash).join(Citizen).where(Citizen.id_number == number))


# --- hashing ----------------------------------------------------------------------------------

def test_hash_is_argon2id_and_verifies_only_the_same_password(config_ctx) -> None:
    stored = passwords.hash_password(TEST_PASSWORD)
    assert stored.startswith("$argon2id$")
    assert TEST_PASSWORD not in stored
    assert passwords.verify(stored, TEST_PASSWORD)
    assert not passwords.verify(stored, TEST_PASSWORD.upper())
    assert not passwords.verify(stored, TEST_PASSWORD + " ")
    assert passwords.hash_password(TEST_PASSWORD) != stored  # salted


def test_missing_or_malformed_hash_never_verifies(config_ctx) -> None:
    assert not passwords.verify(None, TEST_PASSWORD)
    assert not passwords.verify("not-a-phc-string", TEST_PASSWORD)


def test_vietnamese_passphrase_is_accepted_and_verifies(config_ctx) -> None:
    phrase = "mùa thu hà nội lá vàng rơi"
    passwords.check_policy(phrase)
    assert passwords.verify(passwords.hash_password(phrase), phrase)


def test_production_parameters_meet_the_owasp_argon2id_floor(config_ctx, tmp_path) -> None:
    params = load_config(tmp_path)["PASSWORD_HASH"]
    assert params["memory_cost"] >= 19456  # KiB
    assert params["time_cost"] >= 2
    assert params["parallelism"] == 1
    config_ctx.config["PASSWORD_HASH"] = params
    stored = passwords.hash_password(TEST_PASSWORD)
    assert stored.startswith(f"$argon2id$v=19$m={params['memory_cost']},t={params['time_cost']},p=1$")
    assert passwords.verify(stored, TEST_PASSWORD)
    assert not passwords.needs_rehash(stored)


def test_login_replaces_a_hash_made_with_older_parameters(app, setup_data, client) -> None:
    current = app.config["PASSWORD_HASH"]
    app.config["PASSWORD_HASH"] = {"time_cost": 1, "memory_cost": 32, "parallelism": 1}
    number = setup_data(lambda: make_account().citizen.id_number)
    app.config["PASSWORD_HASH"] = current
    old = setup_data(lambda: _stored_hash(number))
    assert old.startswith("$argon2id$v=19$m=32,t=1,p=1$")

    assert Browser(client).login(number, "a wrong password here").status_code == 401
    assert setup_data(lambda: _stored_hash(number)) == old  # only a good password may rehash

    assert Browser(client).login(number).status_code == 302
    new = setup_data(lambda: _stored_hash(number))
    assert new.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert setup_data(lambda: passwords.verify(new, TEST_PASSWORD))
    # The new hash works for the next login too.
    assert Browser(app.test_client()).login(number).status_code == 302


# --- policy -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "reason"), [
    ("short phrase", None),  # exactly 12 characters: the minimum is accepted
    ("elevenchars", PasswordRefusal.TOO_SHORT),
    ("", PasswordRefusal.TOO_SHORT),
    ("a" * 128, PasswordRefusal.TOO_GUESSABLE),  # long enough, but one character repeated
    ("long passphrase " * 8, None),  # 128 characters: the maximum is accepted
    ("long passphrase " * 8 + "!", PasswordRefusal.TOO_LONG),
    ("qwerty123456", PasswordRefusal.TOO_GUESSABLE),  # in the shipped list
    ("Unbelievable", PasswordRefusal.TOO_GUESSABLE),  # compared lower-cased
    ("abc123456789", PasswordRefusal.TOO_GUESSABLE),
    ("abababababababab", PasswordRefusal.TOO_GUESSABLE),  # fewer than four different characters
])
def test_policy(config_ctx, password, reason) -> None:
    if reason is None:
        passwords.check_policy(password)
    else:
        with pytest.raises(PasswordRefused) as failed:
            passwords.check_policy(password)
        assert failed.value.reason is reason


def test_a_refusal_carries_the_limit_it_broke(config_ctx) -> None:
    with pytest.raises(PasswordRefused) as short:
        passwords.check_policy("elevenchars")
    assert (short.value.min_length, short.value.max_length) == (12, None)
    with pytest.raises(PasswordRefused) as long:
        passwords.check_policy("long passphrase " * 8 + "!")
    assert (long.value.min_length, long.value.max_length) == (None, 128)
    # A fact, not a sentence: English for logs, the CLI and API clients; no page text.
    assert short.value.detail == "password refused: too-short (min_length=12)"
    assert short.value.extra == {"reason": "too-short", "min_length": 12}
    assert short.value.code == "password-refused" and short.value.status == 422


def test_policy_refuses_the_persons_own_data(config_ctx) -> None:
    personal = ("001090000123", "17051990", "nguyenvanan")
    for password in ("001090000123", "my number 001090000123", "born on 17051990 in hanoi",
                     "Nguyễn Văn An!!", "i am nguyen-van-an"):
        with pytest.raises(PasswordRefused) as failed:
            passwords.check_policy(password, personal=personal)
        assert failed.value.reason is PasswordRefusal.PERSONAL_DATA
    passwords.check_policy("a long phrase of my own", personal=personal)


def test_common_password_list_is_loaded_without_its_comment_lines(config_ctx) -> None:
    common = passwords.common_passwords()
    assert len(common) > 10_000
    assert {"password", "matkhau123", "vneid@123"} <= common
    assert not any(entry.startswith("# ") for entry in common)


# A common password with digits or symbols around it, look-alike characters, a keyboard row, a
# run, a repetition: none of them is in the list as typed, all of them are guessed early.
GUESSABLE = [
    "password123456", "123456789012", "Password1234", "matkhau123456", "anhyeuem1234", "qwertyuiop12",
    "P@ssw0rd!2026", "M4tkh4u@2026", "2026!matkhau!", "Mật khẩu 123456", "em yêu anh 2026", "Em-Yeu-Anh-2026",
    "$ecret123456", "asdfghjkl;'1", "zxcvbnm12345", "abcdefghijklmn", "987654321098", "aaaaaaaaaaaa",
    "abcabcabcabc", "vietnam@12345", "iloveyou2026!",
]
# Passphrases, Vietnamese or not, and the passwords of the README's demo accounts.
ACCEPTED = [
    "sông Hồng chảy về biển", "correct horse battery staple", "an-demo-password-2026", "binh-demo-password-2026",
    "phuong-demo-password-2026", TEST_PASSWORD, "mùa thu hà nội lá vàng rơi", "a new phrase for my e-ID",
    "Bún chả Hàng Mành ngon nhất",
]


def test_the_base_of_a_password_is_what_a_guesser_starts_from(config_ctx) -> None:
    assert passwords.bases("P@ssw0rd-2026!") == {"password"}
    assert passwords.bases("2026 Mật khẩu!") == {"matkhau"}
    assert passwords.bases("Em-Yêu-Anh 2026") == {"emyeuanh"}
    assert "secret" in passwords.bases("$ecret123456") and "iloveyou" in passwords.bases("1loveyou!!!!")
    assert passwords.bases("123456789012") == set()


@pytest.mark.parametrize("password", GUESSABLE)
def test_policy_refuses_what_a_guesser_tries_first(config_ctx, password) -> None:
    with pytest.raises(PasswordRefused) as failed:
        passwords.check_policy(password)
    assert failed.value.reason is PasswordRefusal.TOO_GUESSABLE


@pytest.mark.parametrize("password", ACCEPTED)
def test_policy_accepts_passphrases(config_ctx, password) -> None:
    passwords.check_policy(password)


def test_policy_judges_a_long_password_by_its_beginning(config_ctx) -> None:
    # The estimator's time grows fast with the length: past 48 characters, the rest only adds.
    passwords.check_policy("correct horse battery staple, " + "x" * 98)
    with pytest.raises(PasswordRefused):
        passwords.check_policy("a" * 60 + "correct horse battery staple")
