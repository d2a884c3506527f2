"""Helpers for the list-check tests: programmes made in the test, rows of applicants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from idsvc import db
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.applicants import applicant
from idsvc.eligibility.models import Programme
from idsvc.eligibility.models import ProgrammeRuleSet
from idsvc.registry.models import Citizen

ON = date(2026, 12, 5)

ALIVE = {"kind": "alive", "code": "DECEASED", "message_vi": "Đã mất", "message_en": "Deceased"}


def age_rule(minimum: int) -> dict[str, Any]:
    return {"kind": "age", "code": f"AGE_UNDER_{minimum}", "min": minimum, "message_vi": f"Chưa đủ {minimum} tuổi",
            "message_en": f"Under {minimum}"}


def make_programme(code: str = "test-elderly", *, rules: list[dict[str, Any]] | None = None,
                   coefficient: str = "1.5", category: str = "monthly_allowance", ids: bool = False) -> Programme:
    """A programme with version 1 of ``rules`` (default: alive and 60 or over)."""
    programme = Programme(code=code, name_vi=code, name_en=code, legal_basis="Nghị định 20/2021/NĐ-CP",
                          benefit_category=category, coefficient=Decimal(coefficient), base_rate=500000,
                          base_rate_effective=date(2024, 7, 1), may_receive_id_numbers=ids, description="",
                          rule_set_version=1)
    s = db.session()
    s.add(programme)
    s.flush()
    s.add(ProgrammeRuleSet(programme_id=programme.id, version=1, rules=rules if rules is not None
                           else [ALIVE, age_rule(60)], source_sha256="0" * 64, source_name=f"{code}.toml"))
    s.flush()
    return programme


def row_of(citizen: Citizen, line: int, ref: str | None = None, **changes: str) -> Applicant:
    """The row an office would write for ``citizen`` (its details as the registry has them, unless
    ``changes`` say otherwise)."""
    values = {"ref": ref or f"R{line}", "citizen_id": citizen.id_number, "full_name": citizen.full_name,
              "date_of_birth": str(citizen.date_of_birth), "sex": citizen.sex,
              "commune_code": citizen.permanent_commune_code or ""}
    values.update(changes)
    return applicant(values, line, today=ON)
