"""``idsvc eligibility check`` and ``recheck`` end to end: files in, files out, exit statuses."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select

from idsvc import db
from idsvc.eligibility import check
from idsvc.eligibility.models import Enrolment
from tests.eligibility.checking import make_programme
from tests.factories import make_citizen

HEADER = "ref,citizen_id,full_name,date_of_birth,sex,commune_code\n"


def people(setup_data) -> dict[str, tuple[int, str]]:
    def make() -> dict[str, tuple[int, str]]:
        make_programme("test-elderly")
        found = {}
        for key, name, year in (("old", "Trần Thị Lan", 1950), ("young", "Lê Văn Hùng", 1990),
                                ("other", "Phạm Văn Tư", 1945)):
            c = make_citizen(full_name=name, birth_year=year, sex="F" if key == "old" else "M")
            found[key] = (c.id, c.id_number)
        return found
    return setup_data(make)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_check_a_csv_file(runner, setup_data, tmp_path: Path) -> None:
    p = people(setup_data)
    source = tmp_path / "list.csv"
    source.write_text(HEADER + f"A1,{p['old'][1]},Trần Thị Lan,17/05/1950,F,\n"
                      f"A2,{p['young'][1]},Lê Văn Hùng,17/5/1990,M,00070\n"
                      f"A3,{p['old'][1]},Tran Thi Lan,05/1950,,\n"
                      "A4,,Nguyễn Văn Ba,not a date,M,\n"
                      "A5,001090000000,Đỗ Văn Năm,1950,M,00070\n"
                      "=cmd|' /C calc'!A0,,,,,\n"
                      "A7,too,few\n", encoding="utf-8")
    out = tmp_path / "results.csv"
    result = runner.invoke(args=["eligibility", "check", "--programme", "test-elderly", str(source),
                                 "--out", str(out), "--on", "2026-12-05"])
    assert result.exit_code == 0, result.output
    assert "test-elderly, 2026-12-05: 7 rows: 1 ELIGIBLE, 2 NOT_ELIGIBLE, 3 REVIEW, 1 NOT_FOUND" in result.stderr
    rows = read_csv(out)
    assert list(rows[0]) == list(check.OUTPUT_COLUMNS)
    assert [(r["ref"], r["verdict"], r["duplicate_group"]) for r in rows] == [
        ("A1", "ELIGIBLE", "D1"), ("A2", "NOT_ELIGIBLE", ""), ("A3", "NOT_ELIGIBLE", "D1"), ("A4", "REVIEW", ""),
        ("A5", "NOT_FOUND", ""), ("'=cmd|' /C calc'!A0", "REVIEW", ""), ("", "REVIEW", "")]
    assert rows[0]["monthly_amount"] == "750000" and rows[0]["citizen_id"].startswith("P")
    assert rows[1]["reasons"] == "AGE_UNDER_60" and rows[2]["reasons"] == "DUPLICATE_IN_BATCH:D1"
    assert rows[3]["reasons"].startswith("INVALID_ROW:date_of_birth: 'not a date' is not a date")
    assert rows[4]["reasons"] == "ID_UNKNOWN"
    assert rows[5]["reasons"].startswith("INVALID_ROW:full_name: empty")
    assert rows[6]["reasons"].startswith("INVALID_ROW:line 8: has 3 values")
    assert p["old"][1] not in out.read_text(encoding="utf-8-sig")


def test_check_a_jsonl_file_into_jsonl_and_enrol(runner, setup_data, tmp_path: Path) -> None:
    p = people(setup_data)
    source = tmp_path / "list.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"ref": "J1", "citizen_id": p["old"][1], "full_name": "Trần Thị Lan", "date_of_birth": "1950-05-17"},
        {"ref": "J2", "citizen_id": p["other"][1], "full_name": "Phạm Văn Tư", "date_of_birth": "1945-05-17"},
    ]) + "\n[1, 2]\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    result = runner.invoke(args=["eligibility", "check", "--programme", "test-elderly", str(source),
                                 "--out", str(out), "--enrol", "--actor", "clerk:5"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["ref"], r["verdict"], r["monthly_amount"]) for r in rows] == [
        ("J1", "ELIGIBLE", 750000), ("J2", "ELIGIBLE", 750000), ("", "REVIEW", None)]
    assert rows[2]["reasons"][0].startswith("INVALID_ROW:line 3: not a JSON object")
    assert rows[0]["score"] is None and rows[0]["match"] == "id"

    # A death recorded later (as civil status reports it) is what the recheck reports.
    died = runner.invoke(args=["registry", "record-death", p["other"][1], "2026-12-01", "--reason", "GCT 12/2026"])
    assert died.exit_code == 0, died.output
    assert runner.invoke(args=["registry", "record-death", p["other"][1], "2026-12-01", "--reason", "again"]
                         ).exit_code == 1
    changes = tmp_path / "changes.csv"
    result = runner.invoke(args=["eligibility", "recheck", "--programme", "test-elderly", "--out", str(changes)])
    assert result.exit_code == 0, result.output
    assert "2 enrolments of test-elderly rechecked: 1 DECEASED, 0 MOVED" in result.stderr
    assert read_csv(changes) == [{"ref": "J2", "citizen_id": rows[1]["citizen_id"], "change": "DECEASED",
                                  "reasons": "DECEASED"}]
    with runner.app.app_context():
        enrolled = db.session().scalars(select(Enrolment).order_by(Enrolment.ref)).all()
        assert [(e.ref, e.enrolled_by, e.last_status) for e in enrolled] == [
            ("J1", "clerk:5", "alive"), ("J2", "clerk:5", "deceased")]
    again = runner.invoke(args=["eligibility", "recheck", "--programme", "test-elderly"])
    assert again.output.startswith("2 enrolments of test-elderly rechecked: 0 DECEASED")


def test_a_semicolon_separated_file_with_a_byte_order_mark(runner, setup_data, tmp_path: Path) -> None:
    p = people(setup_data)
    source = tmp_path / "excel.csv"
    source.write_bytes(("\ufeff" + HEADER.replace(",", ";")
                        + f"X1;{p['old'][1]};Trần Thị Lan;17/05/1950;F;00070\n").encode("utf-8"))
    out = tmp_path / "results.csv"
    result = runner.invoke(args=["eligibility", "check", "--programme", "test-elderly", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [(r["ref"], r["verdict"]) for r in read_csv(out)] == [("X1", "ELIGIBLE")]


def test_an_unknown_programme_exits_2(runner, setup_data, tmp_path: Path) -> None:
    people(setup_data)
    source = tmp_path / "list.csv"
    source.write_text(HEADER, encoding="utf-8")
    result = runner.invoke(args=["eligibility", "check", "--programme", "nope", str(source),
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert "no programme 'nope'" in result.stderr
    assert not (tmp_path / "out.csv").exists()
    assert runner.invoke(args=["eligibility", "recheck", "--programme", "nope"]).exit_code == 2


def test_a_file_without_the_columns_is_refused(runner, setup_data, tmp_path: Path) -> None:
    people(setup_data)
    source = tmp_path / "list.csv"
    source.write_text("name,dob\nAn,1950\n", encoding="utf-8")
    result = runner.invoke(args=["eligibility", "check", "--programme", "test-elderly", str(source),
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 1 and "lacks the columns ref, citizen_id" in result.output
