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

    def _create(**overrides: Any) -> Citizen:
        birth_year = overrides.pop("birth_year", 1990)
        sex = overrides.pop("sex", "M")
        code = overrides.pop("birth_registration_code", "001")
        number = overrides.pop("id_number", None) or make_id_number(code, birth_year, sex)
        full_name = names.canonical(overrides.pop("full_name", "Nguyễn Văn An"))
        citizen = Citizen(
            id_number=number, full_name=full_name, name_folded=names.fold(full_name),
            birth_year=birth_year, birth_month=overrides.pop("birth_month", 5),
            birth_day=overrides.pop("birth_day", 17), sex=sex, birth_registration_code=code,
            nationality="VN", status="alive", permanent_commune_code="00070",
            current_commune_code="00070", ethnicity="Kinh", **overrides,
        )
        citizen.numbers.append(CitizenNumber(number=number))
        s = db.session()
        s.add(citizen)
        s.flush()
        return citizen

    return _create


@pytest.fixture()
def create_household(app_ctx: Any) -> Callable[..., Household]:
    def _create(number: str | None = None, commune_code: str = "00070") -> Household:
        household = Household(number=number or f"HH{next(_serials):08d}", commune_code=commune_code)
        db.session().add(household)
        db.session().flush()
        return household

    return _create
