"""Fixtures shared by the identity tests: a controllable clock, apps with other settings, ready accounts."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from idsvc import create_app
from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.identity import service
from tests.factories import TEST_TOTP_SEED
from tests.factories import make_account


class Clock:
    """Stands in for ``utcnow`` in the identity service: time moves only when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the identity service's clock (TOTP steps, lockouts, session expiry)."""
    frozen = Clock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(service, "utcnow", frozen)
    return frozen


def totp_at(when: datetime, steps: int = 0) -> str:
    """The code of ``TEST_TOTP_SEED`` for the 30-second step of ``when``, shifted by ``steps``."""
    totp = pyotp.TOTP(TEST_TOTP_SEED)
    return totp.generate_otp(totp.timecode(when) + steps)


def wrong_totp_at(when: datetime) -> str:
    """A well-formed code that is accepted in none of the three steps around ``when``."""
    valid = {totp_at(when, steps) for steps in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


TEST_CONFIG = {
    "TESTING": True,
    "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 64, "parallelism": 1},
    "LOGIN_RATE_LIMIT": "1000 per minute",
}


@pytest.fixture()
def config_ctx(tmp_path: Path, keys_dir: Path) -> Iterator[Any]:
    """An app context with the test configuration and a database that is never opened: for checks
    that need settings only (run once, not once per engine)."""
    application = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
                              "KEYS_DIR": str(keys_dir)})
    with application.app_context():
        yield application
    db.get_db(application).engine.dispose()


@pytest.fixture()
def app_with(scratch_database_url: str, keys_dir: Path) -> Iterator[Callable[..., Any]]:
    """``app_with(**overrides)``: the test app's configuration with some settings changed."""
    made = []

    def build(**overrides: Any) -> Any:
        application = create_app({**TEST_CONFIG, "DATABASE_URL": scratch_database_url,
                                  "KEYS_DIR": str(keys_dir), **overrides})
        made.append(application)
        return application

    yield build
    for application in made:
        db.get_db(application).engine.dispose()


@pytest.fixture()
def citizen_number(setup_data: Callable[..., Any]) -> str:
    """The ID number of a citizen with an active level-1 account (password ``TEST_PASSWORD``)."""
    return setup_data(lambda: make_account().citizen.id_number)


@pytest.fixture()
def level2_number(setup_data: Callable[..., Any]) -> str:
    """The ID number of a citizen verified in person (level 2, TOTP seed ``TEST_TOTP_SEED``)."""
    return setup_data(lambda: make_account(level=2).citizen.id_number)


def audit_events(action: str, subject_id: int | None = None) -> list[AuditEvent]:
    """Audit events of one action (and one account), oldest first; call inside an app context."""
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == str(subject_id))
    return list(db.session().scalars(query))
