"""One rulebook, three paths: the import's general check, its fast path and the clerk services
accept and refuse exactly the same values, and store them alike.

For each field: a table of good and bad values, then Hypothesis-generated strings. A value is
given to the clerk services as typed (they canonicalise it) and to the import as its reader hands
it on (canonical text), in an otherwise valid row whose ID number agrees with the date of birth and
sex under test. The fast path takes only rows of a plain block (no control characters), and for
those it must return what the general check returns, or None exactly when the general check refuses.
"""

from __future__ import annotations

import re
import string
from datetime import date
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import String

from idsvc import db
from idsvc.errors import ValidationFailed
from idsvc.registry import dates
from idsvc.registry import idnumbers
from idsvc.registry import names
from idsvc.registry import reference
from idsvc.registry import rules
from idsvc.registry import service
from idsvc.registry.dates import PartialDate
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.imports.rows import ROW_AT
from idsvc.registry.imports.rows import RowChecker
from idsvc.registry.imports.rows import RowRejected
from idsvc.registry.models import Citizen
from idsvc.registry.models import Household
from idsvc.registry.units import communes_2025
from tests.registry.test_importer import person

COMMUNES = frozenset(unit.code for unit in communes_2025())

#: File column -> (field of the record the services take, where the import stores it).
FIELDS = {
    "full_name": ("full_name", "full_name"),
    "other_names": ("other_names", "other_names"),
    "date_of_birth": ("date_of_birth", "birth_year"),
    "sex": ("sex", "sex"),
    "place_of_birth": ("place_of_birth", "place_of_birth"),
    "hometown": ("hometown", "hometown"),
    "ethnicity": ("ethnicity", "ethnicity"),
    "religion": ("religion", "religion"),
    "nationality": ("nationality", "nationality"),
    "blood_type": ("blood_type", "blood_type"),
    "marital_status": ("marital_status", "marital_status"),
    "permanent_commune": ("permanent_commune_code", "permanent_commune_code"),
    "current_commune": ("current_commune_code", "current_commune_code"),
    "relationship_to_head": ("relationship_to_head", "relationship_to_head"),
    "phone": ("phone", "phone"),
    "email": ("email", "email"),
    "residence_file_number": ("residence_file_number", "residence_file_number"),
}

LONG = {200: "Đ" * 200, 201: "Đ" * 201}
NAMES_GOOD = ["Đỗ Văn Khoa", "Y-Moan K’Lơng O'Neil", "J. Smith", "สมชาย ใจดี", "  Lê   Văn\u00a0Hà ", "Ðỗ Văn Hà",
              "Nguye\u0302\u0303n Văn An", LONG[200], "\uac01" * 66, "Ê-đê"]
NAMES_BAD = ["=2+3", "@Lê", "-Lê", "Lê Thị 2", "Lê\u200bHà", "Lê\u202eKhôi", "Lê\x1fHà", LONG[201], "\uac01" * 67,
             "Tý/Tèo", "Tý; Tèo", "'Lê"]

TABLE: dict[str, tuple[list[Any], list[Any]]] = {
    # column: (good values, bad values)
    "full_name": (NAMES_GOOD, [*NAMES_BAD, "", "   ", None]),
    "other_names": ([*NAMES_GOOD, "Tý, Tèo, J. Smith", "\uac01" * 67, "", None],  # no search form to fit
                    [v for v in NAMES_BAD if v != "\uac01" * 67]),
    "date_of_birth": (["1990-06-01", "1990-06", "1990", "1900", "2000-02-29", " 1990-06-01 ", "2026-01-01"],
                      ["", None, "1899-12-31", "1850", "2023-02-30", "2023-13", "01/06/1990", "1990-6-1", "19900601",
                       "2999", "0000", "１９９０", "1990-06-01T00:00", "1990-W22-5", "+990-06-01", "1990-06-1\u200b"]),
    "sex": (["M", "F", "m", "f", "Nam", "Nữ", "NAM", "nữ", "NỮ", " M "],
            ["", None, "X", "Male", "Nu", "Nư", "MF", "ﬀ"]),
    "place_of_birth": (["Hà Nội, Việt Nam", "", None, LONG[200], "#12 = home"], [LONG[201], "Hà\u200bNội"]),
    "hometown": (["Nam Định", "", LONG[200]], [LONG[201], "a\x00b"]),
    "ethnicity": (["Kinh", "kinh", "KINH", "Mông", "hmong", "H'Mông", "Bru - Vân Kiều", "bru van kieu", "Ê Đê", "Ede",
                   "", None], ["Viking", "Kinh2", "Ki\u200bnh", "Klingon"]),
    "religion": (["Không", "Phật giáo", "x" * 60, ""], ["x" * 61, "a\u2028b"]),
    "nationality": (["VN", "vn", "Vn", "JP", "fr", "", None, " jp "],
                    ["Vietnam", "V", "VNM", "V1", "Ｖ Ｎ", "ÉT", "ß", "ıt", "ﬀ"]),
    "blood_type": (["A", "O-", "AB+", "ab+", "o", "Ab-", "", None], ["C", "A++", "AB0", "0+", "B +", "ﬀ"]),
    "marital_status": (["married", "x" * 20, ""], ["x" * 21]),
    "permanent_commune": (["00070", "70", "00004", "4", " 70 ", "", None], ["99999", "0070a", "７０", "000070", "7 0"]),
    "current_commune": (["00070", "070", ""], ["1234567", "abcde"]),
    "relationship_to_head": ([*reference.RELATIONSHIPS, " head ", "", None],
                             ["boss", "Head", "HEAD", "chủ hộ", "hea d"]),
    "phone": (["0912345678", "+84912345678", "+84 912 345 678", "0912.345.678", "+84 912 . 345 . 678  ",
               "123456789", "1" * 15, "", None],
              ["12345678", "1" * 16, "call me maybe", "\uff10912345678", "+-0912345678", "++84912345678",
               "0912-345-678", "09123456٧8"]),
    "email": (["an@example.vn", "An.Nguyen@Example.VN", "a+b@mail.gov.vn", "nguyễn@ví-dụ.vn", "", None],
              ["an", "an@", "@example.vn", "an@example", "an @example.vn", "an@@example.vn", "an@example..vn",
               "a" * 65 + "@example.vn", "a@" + "b" * 250 + ".vn"]),
    "residence_file_number": (["HS-12/2026", "hs.12", "X" * 30, "", None], ["X" * 31, "12 34", "số 12", "12_34"]),
}


def _row(column: str, text: str) -> dict[str, str]:
    """A valid row with ``column`` = ``text``; the ID number follows the date of birth or sex under test."""
    row = person(**{column: text})
    if column == "relationship_to_head":
        row["household_id"] = "H1"
    year, sex = 1990, "M"
    match = re.match(r"([0-9]{4})", text)
    if column == "date_of_birth" and match and 1900 <= int(match.group(1)) <= 2399:
        year = int(match.group(1))
    if column == "sex" and text.upper() in ("F", "NỮ"):
        sex = "F"
    row["citizen_id"] = idnumbers.prefix_for("001", year, sex) + "000001"
    return row


def _general(checker: RowChecker, row: dict[str, str]) -> tuple[object, ...] | None:
    try:
        return checker.check(row)
    except RowRejected:
        return None


def _clerk(field: str, value: Any) -> tuple[bool, Any]:
    """(accepted, the value as stored) by the clerk services' validation."""
    try:
        stored = service._validate_fields({field: value})[field]
    except ValidationFailed as exc:
        assert field in exc.extra["errors"]
        return False, None
    if isinstance(stored, PartialDate):
        stored = stored.year, stored.month, stored.day
    return True, stored


def assert_agree(checker: RowChecker, column: str, value: Any) -> bool:
    """The three paths agree on ``value`` for ``column``; returns whether they accept it."""
    field, stored_at = FIELDS[column]
    text = names.canonical(value or "")  # what the import's reader hands on
    row = _row(column, text)
    general = _general(checker, row)
    if not names.has_control_characters(text):  # only such rows reach the fast path
        fast = checker.plain(tuple(COLUMNS))([row[c] for c in COLUMNS])
        assert fast == general, (column, value, fast, general)
    accepted, stored = _clerk(field, value)
    assert accepted is (general is not None), (column, value, general, accepted)
    if accepted and general is not None and (text or column != "current_commune"):  # empty: the permanent one
        at = ROW_AT[stored_at] - 1
        imported = general[at:at + 3] if column == "date_of_birth" else general[at]
        assert stored == imported, (column, value, stored, imported)
    return accepted


@pytest.fixture()
def checker(app_ctx) -> RowChecker:
    return RowChecker(COMMUNES, dates.today())


@pytest.mark.parametrize("column", sorted(TABLE))
def test_the_three_paths_agree_on_a_table_of_good_and_bad_values(checker, column) -> None:
    good, bad = TABLE[column]
    assert [v for v in good if not assert_agree(checker, column, v)] == [], "refused"
    assert [v for v in bad if assert_agree(checker, column, v)] == [], "accepted"


_TEXT = st.text(max_size=12)
_SHORT_DIGITS = st.text(alphabet=string.digits, max_size=6)
STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    "full_name": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("ĐđÐỗăâa' -.’,=2\u0303\u00a0\u200b"), max_size=8),
                           st.text(alphabet="\uac01a ", min_size=60, max_size=70)),
    "other_names": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("Tý, .-'’/;"), max_size=10)),
    "date_of_birth": st.one_of(
        st.from_regex(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?", fullmatch=True),
        st.dates(min_value=date(1850, 1, 1), max_value=date.today() + timedelta(days=900)).map(date.isoformat),
        st.text(alphabet=st.sampled_from("0123456789-/ T０"), max_size=11), _TEXT),
    "sex": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("MFmfNAanữỮuı "), max_size=4)),
    "place_of_birth": st.one_of(_TEXT, st.text(alphabet="ab ", min_size=195, max_size=205)),
    "hometown": _TEXT,
    "ethnicity": st.one_of(_TEXT, st.sampled_from(reference.ETHNIC_GROUPS).map(names.fold),
                           st.sampled_from(reference.ETHNIC_GROUPS).map(str.upper),
                           st.text(alphabet=st.sampled_from("kinhKINH -'"), max_size=8)),
    "religion": st.one_of(_TEXT, st.text(alphabet="x ", min_size=55, max_size=65)),
    "nationality": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("vnVNıſﬀßK1 "), max_size=3)),
    "blood_type": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("ABOabo+-0 ıﬀ"), max_size=4)),
    "marital_status": st.one_of(_TEXT, st.text(alphabet="x", min_size=18, max_size=22)),
    "permanent_commune": st.one_of(_TEXT, _SHORT_DIGITS, st.sampled_from(sorted(COMMUNES))),
    "current_commune": st.one_of(_SHORT_DIGITS, st.sampled_from(sorted(COMMUNES)).map(lambda c: c.lstrip("0"))),
    "relationship_to_head": st.one_of(_TEXT, st.sampled_from(sorted(reference.RELATIONSHIPS)).map(str.title)),
    "phone": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("0123456789+ .-٧０"), max_size=18),
                       st.from_regex(r"\+?[0-9]{7,17}", fullmatch=True)),
    "email": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("aB.@ -+ễ"), max_size=12)),
    "residence_file_number": st.one_of(_TEXT, st.text(alphabet=st.sampled_from("aB1-/. _"), max_size=32)),
}


@pytest.mark.parametrize("column", sorted(STRATEGIES))
def test_the_three_paths_agree_on_generated_values(checker, column) -> None:
    # The app (and its database) is the test's; Hypothesis runs inside it.
    @settings(max_examples=150, deadline=None, database=None)
    @given(STRATEGIES[column])
    def agree(value: str) -> None:
        assert_agree(checker, column, value)

    agree()


DEATHS_GOOD = ["1990-06-01", "2000-01-31", " 2020-02-29 "]
DEATHS_BAD = ["", "1990-05-31", "2020", "2020-02", "2019-02-29", "20200101", "2020-W05-7", "2020-1-1", "１９９５-01-01",
              "yesterday", "2999-01-01", "2020-01-01\u200b"]


def test_a_death_date_is_judged_alike_by_the_import_and_by_record_death(checker, create_citizen) -> None:
    citizen = create_citizen(birth_month=6, birth_day=1)  # born 1990-06-01, as the rows are
    today = dates.today()

    def agree(text: str) -> bool:
        row = person(status="deceased", date_of_death=names.canonical(text))
        general = _general(checker, row)
        if not names.has_control_characters(row["date_of_death"]):
            assert checker.plain(tuple(COLUMNS))([row[c] for c in COLUMNS]) == general, text
        savepoint = db.session().begin_nested()
        try:
            service.record_death(citizen, text, actor="staff:clerk-1", reason="Death certificate 1")
            recorded = citizen.date_of_death
        except ValidationFailed:
            recorded = None
        finally:
            savepoint.rollback()
        assert (recorded is None) is (general is None), (text, recorded, general)
        assert general is None or general[ROW_AT["date_of_death"] - 1] == recorded.isoformat()
        return general is not None

    assert [t for t in [*DEATHS_GOOD, today.isoformat()] if not agree(t)] == []
    assert [t for t in [*DEATHS_BAD, (today + timedelta(days=1)).isoformat()] if agree(t)] == []

    @settings(max_examples=100, deadline=None, database=None)
    @given(st.one_of(st.dates(min_value=date(1989, 1, 1), max_value=today + timedelta(days=400)).map(date.isoformat),
                     st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
                     st.text(alphabet=st.sampled_from("0123456789-W "), max_size=11)))
    def generated(text: str) -> None:
        agree(text)

    generated()


def test_the_rulebooks_limits_are_the_columns_sizes() -> None:
    """The rulebook is pure, so it states the sizes; they must stay the database's."""
    columns = {c.name: c.type.length for c in Citizen.__table__.columns if isinstance(c.type, String)}
    for field in ("full_name", "name_folded", "other_names", "place_of_birth", "hometown", "religion",
                  "marital_status", "email", "residence_file_number", "id_card_issued_by"):
        assert rules.MAX_LENGTH[field] == columns[field], field
    assert rules.MAX_LENGTH["household_number"] == Household.__table__.c.number.type.length  # type: ignore[attr-defined]  # a String
    from idsvc.registry.models import Relative

    assert rules.MAX_LENGTH["relative_name"] == Relative.__table__.c.full_name.type.length  # type: ignore[attr-defined]  # a String


def test_the_rulebook_imports_no_framework() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(rules.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("flask", "sqlalchemy")}
    assert not {m for m in imported if m.startswith("idsvc.") and m.split(".")[-1] in ("db", "models", "service")}


ID_COLUMNS = ("citizen_id", "birth_registration_province", "father_id", "mother_id", "spouse_id")


@pytest.mark.parametrize("column", ID_COLUMNS)
def test_the_import_paths_agree_on_generated_id_numbers(column) -> None:
    """ID numbers are the import's alone (the services issue them): its two paths must agree."""
    checker = RowChecker(COMMUNES, date(2026, 1, 1))
    quick = checker.plain(tuple(COLUMNS))
    numbers = st.one_of(
        st.from_regex(r"[0-9]{1,3}|[0-9]{10,13}", fullmatch=True),
        st.builds(lambda code, digit, year, serial: f"{code}{digit}{year}{serial}",
                  st.sampled_from(["001", "003", "096", "097", "101", "232", "295", "296", "999"]),
                  st.sampled_from("0123456789"), st.sampled_from(["89", "90", "91", "20"]),
                  st.from_regex(r"[0-9]{6}", fullmatch=True)),
        st.text(alphabet=st.sampled_from("0123456789０٧ x"), max_size=13))

    @settings(max_examples=300, deadline=None, database=None)
    @given(numbers)
    def agree(number: str) -> None:
        row = person(**{column: names.canonical(number)})
        if names.has_control_characters(row[column]):
            return
        assert quick([row[c] for c in COLUMNS]) == _general(checker, row), number

    agree()
