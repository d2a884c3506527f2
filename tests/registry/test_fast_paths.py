"""The import's fast paths read and judge exactly as the general rules do.

The reader splits *plain* blocks of CSV on commas instead of running ``csv.reader`` and the
hygiene rules on each row, and the checker accepts common rows with :meth:`RowChecker.plain`
instead of :meth:`RowChecker.check`. Both are shortcuts only: these tests compare them with the
general path on generated people and on rows built to break every rule.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest

from idsvc.population.generator import generate
from idsvc.population.generator import write_csv
from idsvc.registry.imports import reader
from idsvc.registry.imports.fileformat import CARD_AND_CONTACT_COLUMNS
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.imports.rows import MAX_LENGTH
from idsvc.registry.imports.rows import RowChecker
from idsvc.registry.imports.rows import RowRejected
from tests.registry.test_importer import BAD_ROWS
from tests.registry.test_importer import person

TODAY = date(2026, 1, 1)


def general_rows(path: Path, delimiter: str = ",") -> list[tuple[int, dict[str, str], bool]]:
    """(line, values, refused) of each row as the general rules read the file: every physical line
    through a strict ``csv.reader`` on its own and ``_clean`` on its values, written out here apart
    from the reader's blocks."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = tuple(c.lower() for c in reader._clean(next(csv.reader([f.readline()], delimiter=delimiter))))
        rows: list[tuple[int, dict[str, str], bool]] = []
        for number, text in enumerate(f, 2):
            try:
                row = next(csv.reader([text], strict=True, delimiter=delimiter), [])
            except csv.Error:
                rows.append((number, {}, True))
                continue
            if len(row) == len(header):
                rows.append((number, dict(zip(header, reader._clean(row), strict=True)), False))
            elif row and not (len(row) == 1 and not row[0].strip()):
                rows.append((number, {}, True))
    return rows


def read(rows: Iterable[reader.RawRow]) -> list[tuple[int, dict[str, str], bool]]:
    return [(row.line, row.values, row.error is not None) for row in rows]


def generated(tmp_path: Path, count: int = 2000) -> Path:
    buffer = io.StringIO()
    write_csv(generate(count, 11, today=TODAY), buffer)
    path = tmp_path / "people.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_plain_blocks_read_as_the_general_reader(tmp_path) -> None:
    path = generated(tmp_path)
    blocks = list(reader.read_blocks(path, "csv", 100))
    assert all(block.plain for block in blocks)
    assert read(reader.read_rows(path, "csv")) == general_rows(path)


def test_plain_blocks_of_a_semicolon_separated_file_read_as_the_general_reader(tmp_path) -> None:
    path = generated(tmp_path)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[5][ROW_PLACE] = "Hà Nội, Việt Nam"  # a comma is any other character here
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\n").writerows(rows)
    blocks = list(reader.read_blocks(path, "csv", 100))
    assert all(block.plain for block in blocks)
    assert read(reader.read_rows(path, "csv")) == general_rows(path, ";")
    assert next(reader.read_rows(path, "csv")).values["citizen_id"] == rows[1][0]


ROW_PLACE = COLUMNS.index("place_of_birth")


ODD_LINES = [
    '001090000002,"Lê, Văn Hà",1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,',
    '001090000003,"Lê Văn\nHà",1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,',
    "",
    "001090000004, Lê Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000005,Lê  Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000006,Lê Văn Hà ,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000007,Lê\tVăn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000008,Lê Văn\u200bHà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000009,Ðỗ Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000010," + unicodedata.normalize("NFD", "Lê Văn Hà") + ",1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,"
    "alive,,,,,,,,,,,,,,",
    "001090000011,Lê\u1680Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000012,Lê\u00a0Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000013,Lê Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,",
    "001090000014,Lê Văn Hà\x00,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    " 001090000015,Lê Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000016,Lê Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,, ",
    "001090000017,Lê Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
    "001090000018,'=Lê Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,'+84912345678",
    "'001090000019,Lê Văn Hà,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,",
]


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_odd_lines_fall_back_to_the_general_reader(tmp_path, newline, size, delimiter) -> None:
    good = "001090000001,Đỗ Văn Khoa,1990-06-01,M,001,00070,00070,,,Kinh,Không,VN,alive,,,,,,,,,,,,,,"
    # The lines below leave the optional card and contact columns out, as a file may.
    lines = [",".join(c for c in COLUMNS if c not in CARD_AND_CONTACT_COLUMNS)]
    for odd in ODD_LINES:
        lines += [good, odd, good]
    lines += [good] * 13  # a whole block of plain lines, for every size tried
    lines = [line.replace(",", delimiter) for line in lines]
    path = tmp_path / "odd.csv"
    path.write_bytes(("\ufeff" + newline.join(lines) + newline).encode())
    blocks = list(reader.read_blocks(path, "csv", size))
    assert not all(block.plain for block in blocks)
    assert any(block.plain for block in blocks) or size > len(lines)
    assert read(row for block in blocks for row in block.raw_rows()) == general_rows(path, delimiter)


def verdict(checker: RowChecker, values: dict[str, str]) -> object:
    try:
        return checker.check(values)
    except RowRejected as exc:
        return str(exc)


def test_plain_check_accepts_what_check_accepts_and_returns_the_same(tmp_path) -> None:
    path = generated(tmp_path)
    bad = [row for row, _ in BAD_ROWS.values()]
    variants = [person(**{column: value}) for column, value in [
        ("sex", "Nam"), ("sex", "f"), ("date_of_birth", "1990"), ("date_of_birth", "1990-06"),
        ("permanent_commune", "70"), ("current_commune", ""), ("permanent_commune", ""), ("nationality", "fr"),
        ("nationality", "JP"), ("blood_type", "ab+"), ("blood_type", "O-"), ("status", "missing"),
        ("phone", "+84 912 345 678"), ("phone", "0912345678"), ("ethnicity", "hmong"), ("ethnicity", ""),
        ("relationship_to_head", "head"), ("household_id", "H" * 21), ("marital_status", "x" * 21),
        ("religion", "x" * 61), ("other_names", "x" * 201), ("father_id", "001090000001"),
        ("mother_id", "001185004321"), ("spouse_id", "999185004321"), ("birth_registration_province", "1"),
        ("birth_registration_province", "001"), ("date_of_death", "2020-01-01"), ("full_name", "Nguyễn V. An"),
        ("father_name", "Y-Moan Niê"), ("mother_name", "Lê Thị 2"), ("other_names", "x=1"), ("full_name", "Lê+Hà"),
        ("email", "An@Example.VN"), ("email", "an@"), ("residence_file_number", "hs-1"),
        ("residence_file_number", "hs 1"), ("id_card_issued_on", "2021-01-01"), ("id_card_expires_on", "2030-01-01"),
    ]]
    card = {"id_card_issued_on": "2021-01-01", "id_card_issued_by": "Cục CS"}
    variants += [person(**card), person(**card, id_card_expires_on="2031-01-01"),
                 person(**card, id_card_expires_on="2020-01-01"), person(**{**card, "id_card_issued_on": "1980-01-01"}),
                 person(**{**card, "id_card_issued_on": "2021-02"})]
    variants.append(person(status="deceased", date_of_death="2020-01-01"))
    variants.append(person(household_id="H1", relationship_to_head="head"))
    checker = RowChecker(frozenset({"00070", "00004"}) | {r.values["permanent_commune"] for r in reader.read_rows(
        path, "csv")} | {r.values["current_commune"] for r in reader.read_rows(path, "csv")}, TODAY)
    header = tuple(COLUMNS)
    quick = checker.plain(header)
    accepted = 0
    for values in [r.values for r in reader.read_rows(path, "csv")] + bad + variants:
        values = {c: values.get(c, "") for c in header}  # the generated file has no card and contact columns
        if reader._plain([",".join(values[c] for c in header) + "\n"], len(header), 1) is None:
            continue  # never in a plain block: control characters, quotes ...
        fast = quick([values[c] for c in header])
        judged = verdict(checker, values)
        if fast is not None:
            accepted += 1
            assert fast == judged, values
        else:
            assert isinstance(judged, str), values  # None only for a row the general rules refuse
    assert accepted > 1950  # the fast path takes every valid row of a plain block
    for values, words in BAD_ROWS.values():
        if "invisible" not in words and "same ID number" not in words:  # a plain block's, and a row's own fault
            assert quick([values[c] for c in header]) is None, words


def test_plain_check_with_columns_in_another_order_and_optional_ones_missing() -> None:
    header = tuple(reversed([c for c in COLUMNS if c not in ("phone", "spouse_id", "spouse_name")]))
    checker = RowChecker(frozenset({"00070"}), TODAY)
    values = person(phone="", spouse_id="", spouse_name="", father_id="001060000001", father_name="Đỗ Văn Cha")
    fast = checker.plain(header)([values[c] for c in header])
    assert fast is not None and fast == checker.check({c: values[c] for c in header})


def test_copy_text_reads_back_as_the_checked_rows() -> None:
    from idsvc.registry.imports.copytext import to_copy

    checker = RowChecker(frozenset({"00070"}), TODAY)
    rows = [
        (2, *checker.check(person())),
        (3, *checker.check(person(citizen_id="001090000002", place_of_birth="Đỗ Văn \\N", hometown="a\\b",
                                  household_id="H\\1", relationship_to_head="head", father_name="Đỗ Văn Cha",
                                  spouse_id="001192000003", date_of_birth="1990", status="deceased",
                                  date_of_death="2020-01-01"))),
    ]
    copy = to_copy(rows)
    assert [copy.row(i) for i in range(len(rows))] == rows
    assert copy.heads == [False, True] and copy.households == [None, "H\\1"]
    assert b"\\\\N" in copy.citizens[1] and copy.relatives[0][0] is None
    assert copy.relatives[0][1] == "father\t\\N\tĐỗ Văn Cha\n".encode()


@pytest.mark.parametrize("column", sorted(MAX_LENGTH))
def test_plain_check_keeps_every_length_limit(column) -> None:
    """The short check writes the limits out for speed: each must stay the one :data:`MAX_LENGTH` sets."""
    checker = RowChecker(frozenset({"00070"}), TODAY)
    header = tuple(COLUMNS)
    quick = checker.plain(header)
    limit = MAX_LENGTH[column]
    extra = {"relationship_to_head": "head"} if column == "household_id" else {}
    for length, accepted in ((limit, True), (limit + 1, False)):
        values = person(**{column: "Đ" * length, **extra})
        assert (verdict(checker, values) != f"{column}: longer than {limit} characters") is accepted
        fast = quick([values[c] for c in header])
        assert (fast is not None) is accepted, (column, length)
        assert fast is None or fast == verdict(checker, values)
