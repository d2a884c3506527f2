"""Account workflows in the service layer: activation, authentication and lockout, second factor,
staff roles, and what a death in the registry does to the account."""

from __future__ import annotations

import json
from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import select

from idsvc import crypto
from idsvc import db
from idsvc.audit.tags import AuditAction
from idsvc.errors import Conflict
from idsvc.errors import Forbidden
from idsvc.errors import ValidationFailed
from idsvc.identity import service
from idsvc.identity.models import ActivationCode
from idsvc.identity.models import LoginSession
from idsvc.identity.models import OutboxMessage
from idsvc.identity.models import StaffRole
from idsvc.identity.passwords import PasswordRefusal
from idsvc.identity.passwords import PasswordRefused
from idsvc.registry import service as registry
from tests.factories import TEST_PASSWORD
from tests.factories import make_citizen
from tests.identity.conftest import audit_events
from tests.identity.conftest import totp_at
from tests.identity.conftest import wrong_totp_at

NEW_PASSWORD = "a new phrase for my e-ID"
#: One fact for every refused activation (the page's text is in test_pages).
ACTIVATION_FAILED = "activation refused: the ID number or activation code is wrong, or the code has expired"


def _pending(**citizen_fields):
    """A pending account and a clerk-issued code for it."""
    account = service.create_account(make_citizen(**citizen_fields), actor="clerk:1")
    return account, service.issue_activation_code(account, actor="clerk:1")


def _activation_refused(number: str, code: str, password: str = NEW_PASSWORD) -> None:
    with pytest.raises(service.ActivationFailed) as failed:
        service.activate(number, code, password)
    assert failed.value.detail == ACTIVATION_FAILED


# --- accounts and activation ------------------------------------------------------------------

def test_account_is_opened_pending_once_per_living_person(app_ctx) -> None:
    citizen = make_citizen()
    account = service.create_account(citizen, actor="clerk:1")
    assert (account.status, account.level, account.password_hash) == ("pending", 1, None)
    assert not service.authenticate(citizen.id_number, TEST_PASSWORD).ok
    with pytest.raises(Conflict, match="already has an e-ID account"):
        service.create_account(citizen, actor="clerk:1")
    dead = make_citizen()
    dead.status, dead.date_of_death = "deceased", date(2024, 1, 2)
    with pytest.raises(Conflict, match="only be opened for a living person"):
        service.create_account(dead, actor="clerk:1")


def test_clerk_code_activates_the_account_and_the_person_can_log_in(app_ctx) -> None:
    account, code = _pending()
    number = account.citizen.id_number
    assert len(code) == 14 and code[4] == code[9] == "-"
    service.activate(number, code, NEW_PASSWORD)
    assert account.status == "active"
    assert service.authenticate(number, NEW_PASSWORD).account is account
    assert not service.authenticate(number, TEST_PASSWORD).ok
    [event] = audit_events(AuditAction.IDENTITY_ACCOUNT_ACTIVATE, account.id)
    assert event.data == {"channel": "clerk", "reset": False}


def test_code_is_accepted_in_lower_case_and_without_dashes(app_ctx) -> None:
    account, code = _pending()
    service.activate(account.citizen.id_number, " " + code.replace("-", " ").lower(), NEW_PASSWORD)
    assert account.status == "active"


def test_code_works_once(app_ctx) -> None:
    account, code = _pending()
    number = account.citizen.id_number
    service.activate(number, code, NEW_PASSWORD)
    _activation_refused(number, code, "another phrase to take over")
    assert service.authenticate(number, NEW_PASSWORD).ok


def test_code_expires_after_72_hours(app_ctx, clock) -> None:
    account, code = _pending()
    row = db.session().scalar(select(ActivationCode).where(ActivationCode.account_id == account.id))
    assert row.expires_at == clock.now + timedelta(hours=72)
    clock.advance(hours=72)
    _activation_refused(account.citizen.id_number, code)
    assert account.status == "pending"


def test_a_new_code_replaces_the_earlier_one(app_ctx) -> None:
    account, first = _pending()
    second = service.issue_activation_code(account, actor="clerk:2")
    _activation_refused(account.citizen.id_number, first)
    service.activate(account.citizen.id_number, second, NEW_PASSWORD)
    assert account.status == "active"


def test_code_is_stored_as_a_keyed_hash_only(app_ctx) -> None:
    account, code = _pending()
    row = db.session().scalar(select(ActivationCode).where(ActivationCode.account_id == account.id))
    assert row.code_hash == crypto.keyed_hash("activation", code)
    stored = [str(getattr(row, column.key)) for column in ActivationCode.__table__.columns]
    assert not any(code in value or code.replace("-", "") in value for value in stored)
    issued = audit_events(AuditAction.IDENTITY_ACTIVATION_ISSUE, account.id)
    assert issued and code not in json.dumps([event.data for event in issued])


def test_wrong_code_and_unknown_number_get_the_same_answer(app_ctx) -> None:
    account, code = _pending()
    for wrong in ("ABCD-EFGH-JKMN", "", "not a code at all"):
        _activation_refused(account.citizen.id_number, wrong)
    _activation_refused("001090999999", code)  # no such person
    _activation_refused("not a number", code)
    assert account.status == "pending" and account.failed_count == 3


def test_guessing_codes_locks_activation_even_for_the_right_code(app_ctx, clock) -> None:
    account, code = _pending()
    number = account.citizen.id_number
    for _ in range(5):
        _activation_refused(number, "ABCD-EFGH-JKMN")
    _activation_refused(number, code)
    clock.advance(seconds=61)
    service.activate(number, code, NEW_PASSWORD)
    assert account.status == "active"


def test_policy_failure_at_activation_does_not_spend_the_code(app_ctx) -> None:
    account, code = _pending()
    number = account.citizen.id_number
    with pytest.raises(PasswordRefused) as failed:
        service.activate(number, code, "too short")
    assert failed.value.reason is PasswordRefusal.TOO_SHORT and failed.value.min_length == 12
    for personal in (number, f"my id is {number}", "born 17051990 here"):
        with pytest.raises(PasswordRefused) as failed:
            service.activate(number, code, personal)
        assert failed.value.reason is PasswordRefusal.PERSONAL_DATA
    assert account.status == "pending"
    service.activate(number, code, NEW_PASSWORD)
    assert account.status == "active"


def test_sms_code_goes_to_the_registered_phone_through_the_outbox(app_ctx) -> None:
    account = service.create_account(make_citizen(phone="0912345678"), actor="clerk:1")
    code = service.issue_activation_code(account, actor="clerk:1", channel="sms")
    [(message, text)] = service.outbox(account)
    assert message.channel == "sms"
    assert message.recipient == "*******678"
    assert code in text and "72 gio" in text
    # Stored encrypted: reading the table does not give the code away.
    stored = db.session().scalar(select(OutboxMessage.body).where(OutboxMessage.account_id == account.id))
    assert code not in stored and code.replace("-", "") not in stored and "gio" not in stored
    # A message written before the outbox was encrypted is shown as it is, not a crash.
    db.session().add(OutboxMessage(account_id=account.id, channel="sms", recipient="*******678", body="Ma: ABCD"))
    assert service.outbox(account)[0][1] == "(stored in clear) Ma: ABCD"
    [row] = db.session().scalars(select(ActivationCode).where(ActivationCode.account_id == account.id))
    assert row.channel == "sms"
    service.activate(account.citizen.id_number, code, NEW_PASSWORD)
    [event] = audit_events(AuditAction.IDENTITY_ACCOUNT_ACTIVATE, account.id)
    assert event.data == {"channel": "sms", "reset": False}


def test_sms_code_needs_a_phone_in_the_registry(app_ctx) -> None:
    account = service.create_account(make_citizen(), actor="clerk:1")
    with pytest.raises(ValidationFailed, match="no phone number for this person"):
        service.issue_activation_code(account, actor="clerk:1", channel="sms")


def test_disabled_account_gets_no_code_and_cannot_use_an_old_one(app_ctx) -> None:
    account, code = _pending()
    service.disable_account(account, actor="clerk:1", reason="fraud")
    _activation_refused(account.citizen.id_number, code)
    with pytest.raises(Conflict, match="disabled"):
        service.issue_activation_code(account, actor="clerk:1")


def test_password_reset_with_a_new_code_ends_existing_sessions(app_ctx) -> None:
    # A person whose password leaked gets a new code at the counter: whoever used the old
    # password must be logged out, as a password change does.
    account, code = _pending()
    number = account.citizen.id_number
    service.activate(number, code, NEW_PASSWORD)
    _, token = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    reset = service.issue_activation_code(account, actor="clerk:1")
    service.activate(number, reset, "yet another phrase of mine")
    assert service.session_from_token(token) is None


# --- authentication and lockout ---------------------------------------------------------------

def test_unknown_wrong_locked_pending_and_disabled_all_fail_alike(app_ctx, create_account, clock) -> None:
    good = create_account()
    locked = create_account()
    locked.locked_until = clock.now + timedelta(minutes=5)
    pending = create_account(status="pending")
    disabled = create_account()
    service.disable_account(disabled, actor="clerk:1", reason="fraud")
    attempts = [("001090999999", TEST_PASSWORD), ("12345", TEST_PASSWORD), (good.citizen.id_number, "wrong one"),
                (locked.citizen.id_number, TEST_PASSWORD), (pending.citizen.id_number, TEST_PASSWORD),
                (disabled.citizen.id_number, TEST_PASSWORD)]
    for number, password in attempts:
        result = service.authenticate(number, password)
        assert result == service.LoginResult(None) and not result.ok
    assert service.authenticate(" " + good.citizen.id_number + " ", TEST_PASSWORD).ok


def test_failures_lock_the_account_and_the_lock_ends(app_ctx, create_account, clock) -> None:
    account = create_account()
    number = account.citizen.id_number
    for _ in range(4):
        assert not service.authenticate(number, "wrong password!").ok
    assert account.locked_until is None and account.failed_count == 4
    assert not service.authenticate(number, "wrong password!").ok
    assert account.locked_until == clock.now + timedelta(seconds=60)
    assert not service.authenticate(number, TEST_PASSWORD).ok  # the right password, while locked
    clock.advance(seconds=59)
    assert not service.authenticate(number, TEST_PASSWORD).ok
    clock.advance(seconds=2)
    assert service.authenticate(number, TEST_PASSWORD).ok
    assert (account.failed_count, account.lockouts, account.locked_until) == (0, 0, None)


def test_failures_outside_the_window_do_not_add_up(app_ctx, create_account, clock) -> None:
    account = create_account()
    for _ in range(4):
        service.authenticate(account.citizen.id_number, "wrong password!")
    clock.advance(seconds=901)
    service.authenticate(account.citizen.id_number, "wrong password!")
    assert account.failed_count == 1 and account.locked_until is None


def test_lockout_doubles_each_time_up_to_the_cap_and_is_never_permanent(app_ctx, create_account, clock) -> None:
    account = create_account()
    number = account.citizen.id_number
    durations = []
    for _ in range(8):
        for _ in range(5):
            service.authenticate(number, "wrong password!")
        durations.append(int((account.locked_until - clock.now).total_seconds()))
        clock.advance(seconds=durations[-1] + 1)
    assert durations == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    locks = [event.data["locked_for_seconds"] for event in audit_events(AuditAction.IDENTITY_LOGIN_FAILURE, account.id)
             if "locked_for_seconds" in event.data]
    assert locks == durations
    assert service.authenticate(number, TEST_PASSWORD).ok
    assert account.lockouts == 0


def test_login_failures_are_audited_without_the_id_number(app_ctx, create_account, clock) -> None:
    account = create_account()
    number = account.citizen.id_number
    for _ in range(5):
        service.authenticate(number, "wrong password!")
    service.authenticate(number, TEST_PASSWORD)
    service.authenticate("001090999999", TEST_PASSWORD)
    events = audit_events(AuditAction.IDENTITY_LOGIN_FAILURE)
    assert [(e.subject_id, e.data.get("reason"), e.data.get("failures")) for e in events] == [
        *[(str(account.id), "password", n) for n in range(1, 6)],
        (str(account.id), "locked", None),
        (None, "unknown-or-inactive", None),
    ]
    assert events[-1].data["id_number"] == "*********999"
    assert number not in json.dumps([e.data for e in events]) and "001090999999" not in json.dumps(
        [e.data for e in events])


# --- second factor ----------------------------------------------------------------------------

@pytest.fixture()
def level2_login(app_ctx, create_account):
    account = create_account(level=2)
    login, _ = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    return login


def test_current_code_passes_and_cannot_be_replayed(level2_login, clock) -> None:
    code = totp_at(clock.now)
    assert service.verify_second_factor(level2_login, code)
    assert not service.verify_second_factor(level2_login, code)
    other, _ = service.start_session(level2_login.account, level=1, amr="pwd", ip=None, user_agent=None)
    assert not service.verify_second_factor(other, code)  # not from another session either
    assert [e.data for e in audit_events(AuditAction.IDENTITY_OTP_FAILURE)] == [
        {"reason": "reused", "tries": 1, "failures": 1, "session_ended": False},
        {"reason": "reused", "tries": 1, "failures": 2, "session_ended": False}]


def test_earlier_step_is_refused_once_a_later_one_was_used(level2_login, clock) -> None:
    assert service.verify_second_factor(level2_login, totp_at(clock.now, 1))
    assert not service.verify_second_factor(level2_login, totp_at(clock.now))
    clock.advance(seconds=30)
    assert not service.verify_second_factor(level2_login, totp_at(clock.now))  # the step used above
    clock.advance(seconds=30)
    assert service.verify_second_factor(level2_login, totp_at(clock.now))


def test_one_step_of_clock_drift_is_tolerated(level2_login, clock) -> None:
    # A code two steps away may equal a valid one (3 in a million): move on to a step where not.
    while {totp_at(clock.now, -2), totp_at(clock.now, 2)} & {totp_at(clock.now, s) for s in (-1, 0, 1)}:
        clock.advance(seconds=30)
    assert not service.verify_second_factor(level2_login, totp_at(clock.now, -2))
    assert not service.verify_second_factor(level2_login, totp_at(clock.now, 2))
    # Increasing steps, so that replay protection does not interfere.
    for steps in (-1, 0, 1):
        assert service.verify_second_factor(level2_login, totp_at(clock.now, steps)), steps


def test_code_with_a_space_is_accepted_and_letters_are_not(level2_login, clock) -> None:
    code = totp_at(clock.now)
    assert not service.verify_second_factor(level2_login, "12a456")
    # Other scripts' digits are no code (and no server error): only ASCII 0-9 are compared.
    fullwidth = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    arabic_indic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert not service.verify_second_factor(level2_login, fullwidth)
    assert not service.verify_second_factor(level2_login, arabic_indic)
    assert service.verify_second_factor(level2_login, f"{code[:3]} {code[3:]}")


def test_five_wrong_codes_end_the_pending_login(level2_login, clock) -> None:
    wrong = wrong_totp_at(clock.now)
    for tries in range(1, 5):
        assert not service.verify_second_factor(level2_login, wrong)
        assert level2_login.totp_failures == tries and level2_login.revoked_at is None
    assert not service.verify_second_factor(level2_login, wrong)
    assert level2_login.revoked_at == clock.now
    assert not service.verify_second_factor(level2_login, totp_at(clock.now))  # even the right code now
    # One event per wrong code, counting towards the account's lockout; none as a password failure.
    events = audit_events(AuditAction.IDENTITY_OTP_FAILURE)
    assert [(e.data["reason"], e.data.get("tries"), e.data.get("session_ended")) for e in events] == [
        *[("wrong", n, False) for n in range(1, 5)], ("wrong", 5, True), ("locked", None, None)]
    assert [e.data["failures"] for e in events[:4]] == [1, 2, 3, 4]
    assert audit_events(AuditAction.IDENTITY_LOGIN_FAILURE) == []


def test_a_right_password_does_not_reset_the_lockout_of_wrong_codes(app_ctx, create_account, clock) -> None:
    """Knowing the password must not buy five code guesses a minute for ever: the locks keep doubling."""
    account = create_account(level=2)
    number = account.citizen.id_number
    locks = []
    for _ in range(3):
        assert service.authenticate(number, TEST_PASSWORD).account is account
        login, _ = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
        for _ in range(5):
            assert not service.verify_second_factor(login, wrong_totp_at(clock.now))
        locks.append(audit_events(AuditAction.IDENTITY_OTP_FAILURE)[-1].data["locked_for_seconds"])
        clock.advance(seconds=locks[-1] + 1)
    assert locks == [60, 120, 240]
    # A whole login (the password and a right code) forgives them.
    assert service.authenticate(number, TEST_PASSWORD).account is account
    login, _ = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    assert service.verify_second_factor(login, totp_at(clock.now))
    assert (account.lockouts, account.locked_until) == (0, None)


def test_a_right_password_between_wrong_codes_does_not_start_the_count_again(app_ctx, create_account, clock) -> None:
    account = create_account(level=2)
    number = account.citizen.id_number
    for _ in range(2):  # four wrong codes, log in again, four more
        assert service.authenticate(number, TEST_PASSWORD).account is account
        login, _ = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
        for _ in range(4):
            service.verify_second_factor(login, wrong_totp_at(clock.now))
    assert account.is_locked(clock.now)  # locked at the fifth wrong code


def test_second_factor_needs_in_person_verification(app_ctx, create_account, clock) -> None:
    account = create_account()
    login, _ = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    with pytest.raises(Forbidden, match="needs in-person verification"):
        service.verify_second_factor(login, totp_at(clock.now))
    uri = service.verify_in_person(account, actor="clerk:1")
    assert account.level == 2
    assert uri.startswith("otpauth://totp/idsvc:") and account.citizen.id_number not in uri
    assert account.citizen.id_number[-3:] in uri


def test_step_up_ends_the_level_one_session(level2_login, clock) -> None:
    assert service.verify_second_factor(level2_login, totp_at(clock.now))
    stepped, token = service.step_up(level2_login, ip=None, user_agent=None)
    assert level2_login.revoked_at is not None
    assert (stepped.level, stepped.amr) == (2, "pwd otp")
    assert service.session_from_token(token) is stepped


# --- staff ------------------------------------------------------------------------------------

def test_staff_role_needs_level_two(app_ctx, create_account) -> None:
    account = create_account()
    with pytest.raises(Conflict) as failed:
        service.grant_role(account, "clerk", "00070", actor="admin:1")
    assert failed.value.detail == "Staff accounts need level 2: verify the person in person first."
    assert not account.is_staff
    service.verify_in_person(account, actor="clerk:1")
    role = service.grant_role(account, "clerk", "00070", actor="admin:1")
    assert account.is_staff and (role.role, role.unit_code, role.granted_by) == ("clerk", "00070", "admin:1")
    [event] = audit_events(AuditAction.IDENTITY_ROLE_GRANT, account.id)
    assert event.data == {"role": "clerk", "unit": "00070"}


def test_unknown_role_is_refused(app_ctx, create_account) -> None:
    account = create_account(level=2)
    with pytest.raises(ValidationFailed, match="role is one of clerk, supervisor, auditor, admin"):
        service.grant_role(account, "superuser", "*", actor="admin:1")


def test_role_scope_is_the_country_a_province_or_a_commune(app_ctx, create_account) -> None:
    account = create_account(level=2)
    for unit in ("*", "01", "00070"):
        service.grant_role(account, "auditor", unit, actor="admin:1")
    scopes = db.session().scalars(select(StaffRole.unit_code).where(StaffRole.account_id == account.id))
    assert sorted(scopes) == ["*", "00070", "01"]


@pytest.mark.parametrize("unit", ["99999", "abc"])
def test_role_scope_must_name_an_existing_unit(app_ctx, create_account, unit) -> None:
    account = create_account(level=2)
    with pytest.raises(ValidationFailed):
        service.grant_role(account, "clerk", unit, actor="admin:1")


def test_the_same_role_twice_is_a_conflict(app_ctx, create_account) -> None:
    account = create_account(level=2)
    service.grant_role(account, "clerk", "00070", actor="admin:1")
    with pytest.raises(Conflict):
        service.grant_role(account, "clerk", "00070", actor="admin:1")


# --- death in the registry --------------------------------------------------------------------

def test_recorded_death_disables_the_account_and_ends_its_sessions(app_ctx, create_account) -> None:
    account = create_account()
    _, token = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    registry.record_death(account.citizen, date(2025, 3, 1), actor="clerk:9", reason="death certificate 12/2025")
    assert (account.status, account.disabled_reason) == ("disabled", "deceased")
    assert service.session_from_token(token) is None
    assert db.session().scalar(select(LoginSession.revoked_at).where(LoginSession.account_id == account.id))
    assert not service.authenticate(account.citizen.id_number, TEST_PASSWORD).ok
    [event] = audit_events(AuditAction.IDENTITY_ACCOUNT_DISABLE, account.id)
    assert (event.actor, event.data) == ("clerk:9", {"reason": "deceased", "consents": 0})
    with pytest.raises(Conflict):
        service.issue_activation_code(account, actor="clerk:1")


def test_a_person_recorded_missing_is_logged_out_and_cannot_log_in(app_ctx, create_account) -> None:
    account = create_account()
    _, token = service.start_session(account, level=1, amr="pwd", ip=None, user_agent=None)
    registry.record_death(account.citizen, date(2025, 3, 1), actor="clerk:9", reason="court declaration 3/2025",
                          status="missing")
    assert service.session_from_token(token) is None
    assert not service.authenticate(account.citizen.id_number, TEST_PASSWORD).ok
    assert account.status == "active"  # not disabled: the record may be corrected
