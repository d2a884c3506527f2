"""``idsvc sources import|list``: exit statuses, messages, the demo lists of the seed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.eligibility.sources import commands
from idsvc.eligibility.sources.models import SourceFact
from idsvc.eligibility.sources.models import SourceList
from idsvc.eligibility.sources.service import source_facts
from tests.factories import make_citizen


def people(app, count: int) -> list[tuple[int, str]]:
    with app.app_context(), db.transaction():
        made = [make_citizen(birth_year=1940 + i) for i in range(count)]
        return [(c.id, c.id_number) for c in made]


def test_import_then_again_then_list(app, runner, tmp_path: Path) -> None:
    (first, number), = people(app, 1)
    path = tmp_path / "kt.csv"
    path.write_text(f"citizen_id,level,certified_on\n{number},2,2024-01-01\n", encoding="utf-8")
    result = runner.invoke(args=["sources", "import", "disability", str(path), "--issuer", "UBND xã",
                                 "--valid-on", "2025-01-01", "--actor", "clerk:7"])
    assert result.exit_code == 0, result.output
    assert "disability list 1, in force from 2025-01-01: read 1 rows, 1 loaded, 0 rejected" in result.output
    again = runner.invoke(args=["sources", "import", "disability", str(path)])
    assert again.exit_code == 0
    assert "this file was loaded before as disability list 1" in again.output and "nothing added" in again.output
    listing = runner.invoke(args=["sources", "list"]).output.splitlines()
    assert len(listing) == 1
    assert listing[0].startswith("1\tdisability\t2025-01-01\t1/0\t")
    assert listing[0].endswith("\tclerk:7\tkt.csv\tUBND xã")
    with app.app_context():  # committed
        assert source_facts([first], date(2025, 6, 1)) == {first: {"disability_level": 2}}


def test_rejected_rows_exit_1_with_the_rejects_file(app, runner, tmp_path: Path) -> None:
    (_, number), = people(app, 1)
    path = tmp_path / "bhxh.csv"
    path.write_text(f"citizen_id,benefit,start_date,end_date\n{number},retirement pension,2001-11-01,\n"
                    f"{number},survivor benefit,2020-01-01,2019-12-31\n", encoding="utf-8")
    result = runner.invoke(args=["sources", "import", "pension", str(path)])
    assert result.exit_code == 1, result.output
    assert "read 2 rows, 1 loaded, 1 rejected" in result.output
    assert f"rejected rows and the reasons: {path}.rejects.csv" in result.output
    rejects = (tmp_path / "bhxh.csv.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0] == "line,reason,citizen_id,benefit,start_date,end_date"
    assert rejects[1].startswith("3,end_date: 2019-12-31 is before start_date 2020-01-01,")


def test_a_refused_file_exits_2_and_loads_nothing(app, runner, tmp_path: Path) -> None:
    bad_header = tmp_path / "hn.csv"
    bad_header.write_text("citizen_id,level\n001090000001,poor\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("citizen_id,level,certified_on\n001090000001,2,Ngày\n".encode("cp1258"))
    for args, message in (
            (["poverty", str(bad_header)], "the header lacks the columns commune_code, year"),
            (["disability", str(latin1)], "is not UTF-8 text"),
            (["disability", str(tmp_path / "missing.csv")], "does not exist"),
            (["poverty", str(bad_header), "--valid-on", "2025-01-01"], "dated by its year column")):
        result = runner.invoke(args=["sources", "import", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
    # A list no row of which names a known person is not kept: in force, it would say nobody is on it.
    nobody = tmp_path / "kt.csv"
    nobody.write_text("citizen_id,level,certified_on\n001090999999,2,2024-01-01\n", encoding="utf-8")
    result = runner.invoke(args=["sources", "import", "disability", str(nobody)])
    assert result.exit_code == 2
    assert f"kt.csv: no row could be loaded, 1 rejected (see {nobody}.rejects.csv); the list is not kept" \
        in result.output
    assert "no citizen has this number" in (tmp_path / "kt.csv.rejects.csv").read_text(encoding="utf-8-sig")
    unknown = runner.invoke(args=["sources", "import", "income", str(bad_header)])
    assert unknown.exit_code == 2 and "'income' is not one of 'poverty', 'disability', 'pension'" in unknown.output
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(SourceList)) == 0


def test_ctrl_c_exits_130_and_loads_nothing(app, runner, tmp_path: Path, monkeypatch) -> None:
    pairs = people(app, 3)
    path = tmp_path / "kt.csv"
    path.write_text("citizen_id,level,certified_on\n" + "".join(f"{n},2,2024-01-01\n" for _, n in pairs),
                    encoding="utf-8")
    monkeypatch.setattr(commands.StopOnInterrupt, "__call__", lambda self: True)
    result = runner.invoke(args=["sources", "import", "disability", str(path)])
    assert result.exit_code == 130, result.output
    assert "nothing of the list was loaded" in result.output
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(SourceFact)) == 0
        assert db.session().scalar(select(func.count()).select_from(SourceList)) == 0
    monkeypatch.undo()
    assert runner.invoke(args=["sources", "import", "disability", str(path)]).exit_code == 0


#: The demo population's people the demo lists name, and people they leave out (fixtures/).
DEMO_ON = date(2026, 12, 5)
DEMO_VERDICTS = {
    "sa-elderly-poor-alone": {
        "093062202940": ("ELIGIBLE", ()),  # 64, alone, poor household
        "026156003122": ("ELIGIBLE", ()),  # 70, alone, poor household
        "091161543832": ("NOT_ELIGIBLE", ("NOT_POOR_HOUSEHOLD",)),  # near-poor
        "091060857361": ("REVIEW", ("FACT_UNKNOWN:poor_household",)),  # no list for the commune
    },
    "sa-severe-disability": {
        "046154759661": ("ELIGIBLE", ()),  # severe
        "084153639230": ("ELIGIBLE", ()),  # extremely severe
        "087056332255": ("NOT_ELIGIBLE", ("DISABILITY_NOT_SEVERE",)),  # mild
        "015136386761": ("NOT_ELIGIBLE", ("DISABILITY_NOT_SEVERE",)),  # on no list
    },
    "sa-elderly-80-no-pension": {
        "015136386761": ("ELIGIBLE", ()),  # 90, on no pension list
        "093044289878": ("ELIGIBLE", ()),  # 82, the survivor benefit ended in March 2025
        "044038488612": ("NOT_ELIGIBLE", ("HAS_PENSION",)),
    },
    "social-pension-2025": {
        "015136386761": ("ELIGIBLE", ()),
        "037156106599": ("ELIGIBLE", ()),  # 70, her husband heads a near-poor household
        "026156003122": ("ELIGIBLE", ()),  # 70, poor household
        "001041524091": ("NOT_ELIGIBLE", ("HAS_PENSION",)),
    },
}


def test_the_seed_loads_the_demo_lists_so_the_demo_programmes_have_eligible_people(app, runner) -> None:
    from idsvc.eligibility import service as eligibility
    from idsvc.registry import service as registry

    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "poverty-2025.csv: poverty list 1, in force from 2025-01-01: read 4 rows, 4 loaded, 0 rejected" \
        in first.output
    assert "disability.csv: disability list 2, in force from 2025-07-01: read 5 rows, 5 loaded" in first.output
    assert "pension.csv: pension list 3, in force from 2025-07-01: read 4 rows, 4 loaded" in first.output
    again = runner.invoke(args=["seed", "--if-empty"])
    assert again.output.count("was loaded before") == 3
    with app.app_context():
        for code, expected in DEMO_VERDICTS.items():
            programme = eligibility.get_programme(code)
            ids = {number: registry.get_citizen_by_number(number).id for number in expected}
            facts = eligibility.facts_for(ids.values(), on=DEMO_ON)
            got = {number: eligibility.evaluate(programme, facts[ids[number]], on=DEMO_ON) for number in expected}
            assert {n: (r.verdict.value, r.reasons) for n, r in got.items()} == expected, code
