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
