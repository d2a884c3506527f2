"""Callable factory fixtures for test data (no fixtures/ files are read by tests implicitly)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from idsvc import db
from idsvc.registry import idnumbers
from idsvc.registry import names
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import Household

_serials = itertools.count(1)


def make_id_number(registration_code: str = "001", birth_year: int = 1990, sex: str = "M") -> str:
    """A structurally valid number, unique within the test session."""
    return idnumbers.prefix_for(registration_code, birth_year, sex) + f"{next(_serials):06d}"


@pytest.fixture()
def create_citizen(app_ctx: Any) -> Callable[..., Citizen]:
    """``create_citizen(**overrides)`` adds a consistent, alive citizen and flushes it."""

    return make_citizen


@pytest.fixture()
def create_household(app_ctx: Any) -> Callable[..., Household]:
    def _create(number: str | None = None, commune_code: str = "00070") -> Household:
        household = Household(number=number or f"HH{next(_serials):08d}", commune_code=commune_code)
        db.session().add(household)
        db.session().flush()
        return household

    return _create


TEST_PASSWORD = "correct horse battery staple"
TEST_TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_citizen(**overrides: Any) -> Citizen:
    """A consistent, alive citizen, flushed in the current app context's session."""
    birth_year = overrides.pop("birth_year", 1990)
    sex = overrides.pop("sex", "M")
    code = overrides.pop("birth_registration_code", "001")
    number = overrides.pop("id_number", None) or make_id_number(code, birth_year, sex)
    full_name = names.canonical(overrides.pop("full_name", "Nguyễn Văn An"))
    citizen = Citizen(
        id_number=number, full_name=full_name, name_folded=names.fold(full_name),
        birth_year=birth_year, birth_month=overrides.pop("birth_month", 5),
        birth_day=overrides.pop("birth_day", 17), sex=sex, birth_registration_code=code,
        nationality="VN", status="alive", permanent_commune_code=overrides.pop("permanent_commune_code", "00070"),
        current_commune_code=overrides.pop("current_commune_code", "00070"), ethnicity="Kinh", **overrides,
    )
    citizen.numbers.append(CitizenNumber(number=number))
    s = db.session()
    s.add(citizen)
    s.flush()
    return citizen


def make_account(level: int = 1, password: str = TEST_PASSWORD, role: tuple[str, str] | None = None,
                 status: str = "active", **citizen_fields: Any) -> Any:
    """An e-ID account (active by default; level 2 with ``TEST_TOTP_SEED``) of a new citizen."""
    from idsvc import crypto
    from idsvc.db import utcnow
    from idsvc.identity import passwords
    from idsvc.identity import service

    account = service.create_account(make_citizen(**citizen_fields), actor="test")
    account.password_hash = passwords.hash_password(password)
    account.status, account.password_changed_at = status, utcnow()
    if level == 2:
        account.level = 2
        account.totp_secret = crypto.encrypt("totp", TEST_TOTP_SEED.encode())
        account.totp_enrolled_at = utcnow()
    if role:
        service.grant_role(account, role[0], role[1], actor="test")
    db.session().flush()
    return account


def make_client(**settings: Any) -> Any:
    """Register a client (a confidential code-flow RP by default); returns (client, secret)."""
    from idsvc.oidc import clients
    from idsvc.oidc.schemas import client_settings

    values: dict[str, Any] = {
        "name": "Test agency app", "auth_method": "client_secret_basic",
        "redirect_uris": ["https://rp.example.vn/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "birthdate", "gender", "address"],
    }
    values.update(settings)
    client_id = values.pop("client_id", None)
    client, secret = clients.register_client(client_settings(values), client_id=client_id, actor="test")
    db.session().flush()
    return client, secret


@pytest.fixture()
def create_account(app_ctx: Any) -> Callable[..., Any]:
    return make_account


@pytest.fixture()
def create_client(app_ctx: Any) -> Callable[..., Any]:
    return make_client


@pytest.fixture()
def setup_data(app: Any) -> Callable[..., Any]:
    """``setup_data(fn)`` runs ``fn()`` in its own app context and commits: for tests that then
    make HTTP requests (which must not share the test's app context, its ``g`` or its session)."""

    def _run(fn: Callable[[], Any]) -> Any:
        with app.app_context():
            result = fn()
            db.session().commit()
            return result

    return _run
