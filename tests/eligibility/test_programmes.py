"""Programme files: the schema's errors, idempotent loading, append-only versions, the demo files."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.eligibility import service
from idsvc.eligibility.models import ProgrammeRuleSet
from idsvc.eligibility.rules import PersonFacts
from idsvc.eligibility.rules import Verdict
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry.dates import PartialDate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "programmes"

GOOD = """\
code = "test-elderly"
name_vi = "Người cao tuổi"
name_en = "The elderly"
legal_basis = "Nghị định 20/2021/NĐ-CP, Điều 5"
benefit_category = "monthly_allowance"
coefficient = 1.5
base_rate = 500000
base_rate_effective = 2024-07-01

[[rules]]
kind = "age"
code = "AGE_UNDER_80"
min = 80
message_vi = "Chưa đủ 80 tuổi"
message_en = "Under 80"
"""


def write(directory: Path, text: str, name: str = "test-elderly.toml") -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_is_idempotent_and_a_change_adds_a_version(app_ctx, tmp_path: Path) -> None:
    write(tmp_path / "p", GOOD)
    assert service.load_programmes(tmp_path / "p") == [service.Loaded("test-elderly", 1, "added")]
    assert service.load_programmes(tmp_path / "p") == [service.Loaded("test-elderly", 1, "unchanged")]
    write(tmp_path / "p", GOOD.replace("min = 80", "min = 75").replace("coefficient = 1.5", "coefficient = 2"))
    assert service.load_programmes(tmp_path / "p") == [service.Loaded("test-elderly", 2, "new-version")]
    programme = service.get_programme("test-elderly")
    assert (programme.rule_set_version, programme.coefficient, programme.monthly_amount) == (2, Decimal(2), 1_000_000)
    versions = db.session().scalars(select(ProgrammeRuleSet).where(ProgrammeRuleSet.programme_id == programme.id)
                                    .order_by(ProgrammeRuleSet.version)).all()
    assert [(v.version, v.rules[0]["min"]) for v in versions] == [(1, 80), (2, 75)]
    assert versions[0].source_sha256 != versions[1].source_sha256
    # The old version is kept and can still be evaluated.
    born_1948 = PersonFacts(birth=PartialDate(1948, 6, 1), sex="M")
    assert service.evaluate(programme, born_1948, on=date(2026, 12, 5)).verdict is Verdict.ELIGIBLE
    old = service.rule_set(programme, 1)
    assert old.version == 1
    events = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "eligibility:programme:load")).all()
    assert [e.data["version"] for e in events] == [1, 2]


@pytest.mark.parametrize(("change", "message"), [
    (("coefficient = 1.5", "coefficient = \"many\""), "test-elderly.toml: coefficient: Not a valid number."),
    (("base_rate = 500000\n", ""), "test-elderly.toml: base_rate: Missing data for required field."),
    (("min = 80", "min = \"80\""), "test-elderly.toml: rules.0.min: Not a valid integer."),
    (("min = 80", "min = 80\nmax = 70"), "test-elderly.toml: rules.0.max: max is below min"),
    (("min = 80", "communes = [\"00070\"]"), "test-elderly.toml: rules.0.communes: not a field of a 'age' rule"),
    (('kind = "age"', 'kind = "horoscope"'), "test-elderly.toml: rules.0.kind: Must be one of:"),
    (('code = "AGE_UNDER_80"', 'code = "under 80"'), "test-elderly.toml: rules.0.code: a reason code"),
    (('code = "test-elderly"', 'code = "other"'), "test-elderly.toml: code: 'other' is not the file's name"),
    (("legal_basis", "legal_basiss"), "test-elderly.toml: legal_basiss: Unknown field."),
    (("[[rules]]", "[[rules]]]"), "test-elderly.toml: not a UTF-8 TOML file"),
])
def test_a_bad_file_is_refused_naming_file_and_field(app_ctx, tmp_path: Path, change: tuple[str, str],
                                                     message: str) -> None:
    write(tmp_path / "p", GOOD.replace(*change))
    with pytest.raises(ValidationFailed) as refused:
        service.load_programmes(tmp_path / "p")
    detail = refused.value.detail
    assert detail.startswith("test-elderly.toml: ") and message.removeprefix("test-elderly.toml: ") in detail, detail
    assert service.list_programmes() == []


def test_fact_and_any_of_rules_are_checked(app_ctx, tmp_path: Path) -> None:
    fact = GOOD.replace('kind = "age"', 'kind = "fact"').replace("min = 80", 'name = "pension"')
    write(tmp_path / "p", fact)
    with pytest.raises(ValidationFailed, match=r"rules\.0\.equals: a fact rule has exactly one of"):
        service.load_programmes(tmp_path / "p")
    nested = GOOD.replace('kind = "age"', 'kind = "any_of"').replace(
        "min = 80", 'alternatives = [[{ kind = "alive", code = "DEAD", message_vi = "x" }], []]')
    write(tmp_path / "p", nested)
    with pytest.raises(ValidationFailed) as refused:
        service.load_programmes(tmp_path / "p")
    assert "rules.0.alternatives.0.0.message_en: Missing data for required field." in refused.value.detail
    assert "rules.0.alternatives.1: Shorter than minimum length 1." in refused.value.detail


def test_one_bad_file_loads_nothing(app_ctx, tmp_path: Path) -> None:
    write(tmp_path / "p", GOOD)
    write(tmp_path / "p", GOOD.replace("test-elderly", "zz-bad").replace("min = 80", "min = -1"), "zz-bad.toml")
    with pytest.raises(ValidationFailed, match=r"zz-bad\.toml: rules\.0\.min"):
        service.load_programmes(tmp_path / "p")
    assert service.list_programmes() == []


def test_an_empty_directory_and_an_unknown_programme(app_ctx, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        service.load_programmes(tmp_path)
    with pytest.raises(NotFound):
        service.get_programme("nope")


def test_the_demo_programmes_load_with_their_amounts(app_ctx, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "programmes")
    loaded = service.load_programmes(tmp_path / "programmes")
    assert {p.code for p in loaded} == {"sa-orphan-child", "sa-elderly-poor-alone", "sa-elderly-80-no-pension",
                                        "sa-severe-disability", "social-pension-2025"}
    amounts = {p.code: p.monthly_amount for p in service.list_programmes()}
    assert amounts == {"sa-orphan-child": 750_000, "sa-elderly-poor-alone": 750_000,
                       "sa-elderly-80-no-pension": 500_000, "sa-severe-disability": 750_000,
                       "social-pension-2025": 500_000}
    assert "UNVERIFIED" in service.get_programme("sa-elderly-80-no-pension").description
    pension = service.get_programme("social-pension-2025")
    on = date(2026, 12, 5)
    poor_72 = PersonFacts(birth=PartialDate(1954, 3, 1), sex="F", facts={"poor_household": "near_poor",
                                                                          "pension": False})
    assert service.evaluate(pension, poor_72, on=on).verdict is Verdict.ELIGIBLE
    assert service.evaluate(pension, PersonFacts(birth=PartialDate(1951), sex="F", facts={"pension": False}),
                            on=on).reasons == ("AGE_UNCERTAIN", "FACT_UNKNOWN:poor_household")
