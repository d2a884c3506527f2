"""Counters and one-time steps under parallel requests: password lockout, the second factor's try
limit and its replay protection hold whatever the number of requests racing on one account.

Each request runs in its own thread with its own test client (so its own app context, database
session and connection), and all of them are released together by a barrier. SQLite runs whole
transactions one at a time; PostgreSQL is where the race can happen.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from idsvc import db
from idsvc.audit.tags import AuditAction
from idsvc.identity import passwords
from idsvc.identity import service
from idsvc.identity.models import Account
from idsvc.identity.models import LoginSession
from idsvc.registry.models import Citizen
from tests.browser import Browser
from tests.factories import make_account
from tests.identity.conftest import audit_events
from tests.identity.conftest import totp_at
from tests.identity.conftest import wrong_totp_at

PARALLEL = 40


def _all_at_once(clients: list[Any], send: Callable[[Any], Any]) -> list[Any]:
    """``send(client)`` for every client, from as many threads, started together."""
    start = threading.Barrier(len(clients))

    def run(client: Any) -> Any:
        start.wait()
        return send(client)

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(run, clients))


def _account(number: str) -> Account:
    return db.session().scalar(select(Account).join(Citizen).where(Citizen.id_number == number))


def _reasons(action: str) -> Counter[str]:
    return Counter(event.data["reason"] for event in audit_events(action))


def test_parallel_wrong_passwords_get_five_checks_then_the_lock(app, setup_data, citizen_number,
                                                                 monkeypatch) -> None:
    checked = []
    verify = passwords.verify

    def counted(stored_hash: str | None, password: str) -> bool:
        checked.append(password)
        return verify(stored_hash, password)

    monkeypatch.setattr(passwords, "verify", counted)
    clients = [app.test_client() for _ in range(PARALLEL)]
    forms = {client: {"id_number": citizen_number, "password": "not my password", "next": "/account",
                      "csrf_token": Browser.csrf(client.get("/login").text)} for client in clients}
    answers = _all_at_once(clients, lambda client: client.post("/login", data=forms[client]))

    assert [a.status_code for a in answers] == [401] * PARALLEL
    assert len(checked) == 5  # against the real hash; every other attempt found the account locked
    account = setup_data(lambda: _account(citizen_number))
    assert account.lockouts == 1 and account.locked_until is not None and account.failed_count == 0
    assert setup_data(lambda: _reasons(AuditAction.IDENTITY_LOGIN_FAILURE)) == {
        "password": 5, "locked": PARALLEL - 5}


def test_parallel_wrong_codes_in_one_login_get_five_checks(app, setup_data, level2_number, clock) -> None:
    signed_in = app.test_client()
    assert Browser(signed_in).login(level2_number).status_code == 302
    cookie = signed_in.get_cookie("idsvc_session").value
    clients = [app.test_client() for _ in range(PARALLEL)]
    forms = {}
    for client in clients:
        client.set_cookie("idsvc_session", cookie)
        forms[client] = {"code": wrong_totp_at(clock.now), "next": "/account",
                         "csrf_token": Browser.csrf(client.get("/login/otp").text)}
    answers = _all_at_once(clients, lambda client: client.post("/login/otp", data=forms[client]))

    assert all(a.status_code in (302, 401) for a in answers)
    assert not any(a.headers.get("Location") == "/account" for a in answers)
    reasons = setup_data(lambda: _reasons(AuditAction.IDENTITY_OTP_FAILURE))
    assert reasons["wrong"] == 5 and set(reasons) <= {"wrong", "locked"}
    login = setup_data(lambda: db.session().scalar(select(LoginSession).where(
        LoginSession.account_id == _account(level2_number).id)))
    assert login.totp_failures == 5 and login.revoked_at is not None


def test_one_code_sent_from_many_logins_at_once_steps_up_only_one(app, setup_data, level2_number, clock) -> None:
    clients = [app.test_client() for _ in range(12)]
    forms = {}
    for client in clients:
        assert Browser(client).login(level2_number).status_code == 302
        forms[client] = {"code": totp_at(clock.now), "next": "/account",
                         "csrf_token": Browser.csrf(client.get("/login/otp").text)}
    answers = _all_at_once(clients, lambda client: client.post("/login/otp", data=forms[client]))

    assert sorted(a.status_code for a in answers) == [302] + [401] * 11
    assert setup_data(lambda: len(db.session().scalars(select(LoginSession.id).where(
        LoginSession.account_id == _account(level2_number).id, LoginSession.level == 2)).all())) == 1
    # The other eleven are replays: failures of the account, which locks at the fifth.
    assert setup_data(lambda: _reasons(AuditAction.IDENTITY_OTP_FAILURE)) == {"reused": 5, "locked": 6}


def test_parallel_wrong_activation_codes_get_five_checks(app, setup_data) -> None:
    def pending() -> str:
        account = make_account(status="pending")
        service.issue_activation_code(account, actor="clerk:1")
        return account.citizen.id_number

    number = setup_data(pending)
    clients = [app.test_client() for _ in range(PARALLEL)]
    forms = {client: {"id_number": number, "code": "ABCD-EFGH-JKMN", "password": "a new phrase for my e-ID",
                      "password2": "a new phrase for my e-ID", "csrf_token": Browser.csrf(client.get("/activate").text)}
             for client in clients}
    answers = _all_at_once(clients, lambda client: client.post("/activate", data=forms[client]))

    assert [a.status_code for a in answers] == [400] * PARALLEL
    account = setup_data(lambda: _account(number))
    assert account.lockouts == 1 and account.locked_until is not None and account.status == "pending"
    assert setup_data(lambda: _reasons(AuditAction.IDENTITY_LOGIN_FAILURE)) == {"activation-code": 5}
