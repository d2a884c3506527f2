"""``idsvc identity …``: the counter clerk's commands, with their exact output and errors."""

from __future__ import annotations

import re

from sqlalchemy import select

from idsvc import db
from idsvc.identity import service
from idsvc.identity.models import Account
from idsvc.identity.models import OutboxMessage
from idsvc.identity.models import StaffRole
from idsvc.registry.models import Citizen
from tests.factories import make_account
from tests.factories import make_citizen

NEW_PASSWORD = "a new phrase for my e-ID"


def _account(number: str) -> Account:
    return db.session().scalar(select(Account).join(Citizen).where(Citizen.id_number == number))


def _code(output: str) -> str:
    match = re.fullmatch(r"activation code \(hand it over\): ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\n", output)
    assert match, output
    return match.group(1)


def test_create_account_prints_a_code_that_activates_it(runner, setup_data) -> None:
    number = setup_data(lambda: make_citizen().id_number)
    result = runner.invoke(args=["identity", "create-account", number, "--actor", "clerk:7"])
    assert result.exit_code == 0, result.output
    code = _code(result.output)

    def activate() -> tuple[str, str]:
        service.activate(number, code, NEW_PASSWORD)
        return _account(number).status, _account(number).password_hash or ""
    status, stored = setup_data(activate)
    assert status == "active" and code not in stored


def test_create_account_by_sms_writes_the_outbox(runner, setup_data) -> None:
    number = setup_data(lambda: make_citizen(phone="0912345678").id_number)
    result = runner.invoke(args=["identity", "create-account", number, "--sms"])
    assert result.exit_code == 0 and result.output == "activation code sent by SMS\n"
    bodies = setup_data(lambda: db.session().scalars(select(OutboxMessage.body)).all())
    assert len(bodies) == 1 and not re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", bodies[0])  # encrypted
    shown = runner.invoke(args=["identity", "outbox", number])
    assert shown.exit_code == 0 and "sms *******678: " in shown.output
    assert re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", shown.output)


def test_create_account_errors_are_messages_not_tracebacks(runner, setup_data) -> None:
    number = setup_data(lambda: make_account().citizen.id_number)
    result = runner.invoke(args=["identity", "create-account", number])
    assert result.exit_code == 1
    assert result.output == "Error: This person already has an e-ID account.\n"
    no_phone = setup_data(lambda: make_citizen().id_number)
    result = runner.invoke(args=["identity", "create-account", no_phone, "--sms"])
    assert result.exit_code == 1 and "no phone number for this person" in result.output
    assert setup_data(lambda: _account(no_phone)) is None  # nothing was written


def test_issue_code_needs_an_account_and_replaces_the_old_code(runner, setup_data) -> None:
    number = setup_data(lambda: make_citizen().id_number)
    result = runner.invoke(args=["identity", "issue-code", number])
    assert result.exit_code == 2
    assert "This person has no e-ID account yet: run `idsvc identity create-account`." in result.output
    first = _code(runner.invoke(args=["identity", "create-account", number]).output)
    second = _code(runner.invoke(args=["identity", "issue-code", number]).output)
    assert first != second

    def try_both() -> list[bool]:
        outcomes = []
        for code in (first, second):
            try:
                service.activate(number, code, NEW_PASSWORD)
                outcomes.append(True)
            except service.ActivationFailed:
                outcomes.append(False)
        return outcomes
    assert setup_data(try_both) == [False, True]


def test_verify_in_person_then_grant_role(runner, setup_data) -> None:
    number = setup_data(lambda: make_account().citizen.id_number)
    result = runner.invoke(args=["identity", "grant-role", number, "clerk", "00070"])
    assert result.exit_code == 1
    assert result.output == "Error: Staff accounts need level 2: verify the person in person first.\n"

    result = runner.invoke(args=["identity", "verify-in-person", number])
    assert result.exit_code == 0
    assert result.output.startswith("level 2; scan this in an authenticator app now: otpauth://totp/idsvc:")
    assert number not in result.output

    result = runner.invoke(args=["identity", "grant-role", number, "clerk", "00070", "--actor", "admin:1"])
    assert result.exit_code == 0 and result.output == "clerk over 00070\n"
    roles = setup_data(lambda: [(r.role, r.unit_code, r.granted_by) for r in _account(number).roles])
    assert roles == [("clerk", "00070", "admin:1")]


def test_granting_a_role_twice_is_a_message_not_a_traceback(runner, setup_data) -> None:
    number = setup_data(lambda: make_account(level=2, role=("clerk", "00070")).citizen.id_number)
    result = runner.invoke(args=["identity", "grant-role", number, "clerk", "00070"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: "), result.output
    assert setup_data(lambda: len(db.session().scalars(select(StaffRole.id)).all())) == 1


def test_disable_ends_login(runner, setup_data) -> None:
    number = setup_data(lambda: make_account().citizen.id_number)
    result = runner.invoke(args=["identity", "disable", number, "--reason", "fraud report 12"])
    assert result.exit_code == 0 and result.output == "disabled\n"
    assert setup_data(lambda: (_account(number).status, _account(number).disabled_reason)) == (
        "disabled", "fraud report 12")
    assert not setup_data(lambda: service.authenticate(number, "correct horse battery staple").ok)


def test_unknown_number_is_reported(runner) -> None:
    result = runner.invoke(args=["identity", "create-account", "001090999999"])
    assert result.exit_code == 1
    assert result.output == "Error: No citizen holds ID number *********999.\n"
