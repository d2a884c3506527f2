"""Old identity-card (CMND) numbers: the ``old_id_numbers`` column of a population file."""

from __future__ import annotations

import csv
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.registry import names
from idsvc.registry import rules
from idsvc.registry import service
from idsvc.registry.imports import importer
from idsvc.registry.imports.rows import RowChecker
from idsvc.registry.imports.rows import RowRejected
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenOldNumber
from tests.registry.test_importer import DEMO
from tests.registry.test_importer import person
from tests.registry.test_importer import read_rejects
from tests.registry.test_importer import run
from tests.registry.test_importer import write_csv

TODAY = date(2026, 1, 1)

BAD = {
    "12345678": "'12345678' is not an old ID-card (CMND) number: exactly 9 digits 0-9 (a spreadsheet may have dropped",
    "012345678 01234567X": "'01234567X' is not an old ID-card (CMND) number",
    "0123456789": "'0123456789' is not an old ID-card (CMND) number",
    "001090000001": "'001090000001' is not an old ID-card (CMND) number",
    "012345678,023456789": "'012345678,023456789': separate several old ID-card numbers by spaces",
    "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18": "exactly 9 digits 0-9",
    " ".join(f"01234567{n}" for n in range(6)): "more than 5 old ID-card numbers",
}


def held() -> list[tuple[str, str]]:
    """(current ID number, old number) pairs in the registry, sorted."""
    return sorted(db.session().execute(
        select(Citizen.id_number, CitizenOldNumber.number).join(Citizen, Citizen.id == CitizenOldNumber.citizen_id)))


def old_rows() -> int:
    return db.session().scalar(select(func.count()).select_from(CitizenOldNumber)) or 0


def test_the_rule_keeps_9_digit_numbers_once_each_and_says_what_is_wrong() -> None:
    assert rules.old_id_numbers("") is None and rules.old_id_numbers(None) is None
    assert rules.old_id_numbers("012345678") == "012345678"
    assert rules.old_id_numbers("012345678 023456789 012345678") == "012345678 023456789"
    for value, reason in BAD.items():
        with pytest.raises(rules.Invalid, match=re.escape(reason)):
            rules.old_id_numbers(value)


@pytest.mark.parametrize("value", ["012345678", "012345678 023456789", "012345678 012345678", *BAD])
def test_the_fast_check_and_the_general_check_agree(value) -> None:
    checker = RowChecker(frozenset({"00070"}), TODAY)
    row = person(old_id_numbers=value)
    header = tuple(row)
    quick = checker.plain(header)([row[c] for c in header])
    try:
        checked = checker.check(row)
    except RowRejected as exc:
        assert quick is None
        assert str(exc).startswith("old_id_numbers: ")
        return
    assert quick == checked and checked[-1] == rules.old_id_numbers(value)


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.text(alphabet=st.sampled_from("0123456789 ,;x\u0667\uff10"), max_size=40),
                 st.lists(st.from_regex(r"[0-9]{9}", fullmatch=True), max_size=7).map(" ".join),
                 st.lists(st.sampled_from(["012345678", "023456789"]), max_size=4).map(" ".join)))
def test_the_fast_check_and_the_general_check_agree_on_generated_values(value) -> None:
    checker = RowChecker(frozenset({"00070"}), TODAY)
    row = person(old_id_numbers=names.canonical(value))
    header = tuple(row)
    try:
        general: object = checker.check(row)
    except RowRejected:
        general = None
    assert checker.plain(header)([row[c] for c in header]) == general, value


@pytest.mark.parametrize("initial_load", [False, True], ids=["chunk-by-chunk", "initial-load"])
@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "reading-process"])
def test_import_records_old_numbers_rejects_bad_ones_and_a_rerun_adds_nothing(
        app_ctx, tmp_path, monkeypatch, initial_load, parallel) -> None:
    if parallel:
        monkeypatch.setattr(importer, "PARALLEL_FROM_LINES", 1)
    rows = [person(citizen_id="001090000001", old_id_numbers="012345678"),
            person(citizen_id="001090000002", old_id_numbers="012345679 162345678"),
            person(citizen_id="001090000003"),
            # The same old number for two people: CMND numbers were not unique, both are kept.
            person(citizen_id="001090000004", full_name="Đỗ Văn Tư", old_id_numbers="012345678"),
            *(person(citizen_id=f"0010900001{i:02d}", old_id_numbers=value) for i, value in enumerate(BAD))]
    path = write_csv(tmp_path / "people.csv", rows)
    result = run(path, tmp_path, chunk_size=2, initial_load=initial_load)
    assert (result.imported, result.rejected) == (4, len(BAD))
    assert held() == [("001090000001", "012345678"), ("001090000002", "012345679"),
                      ("001090000002", "162345678"), ("001090000004", "012345678")]
    rejects = read_rejects(result.rejects_path)
    for line, reason in zip(range(6, 6 + len(BAD)), BAD.values(), strict=True):
        assert rejects[line].startswith("old_id_numbers: ") and reason in rejects[line], (line, rejects[line])
    assert result.rejects_path is not None
    with result.rejects_path.open(encoding="utf-8-sig") as f:
        assert [r["old_id_numbers"] for r in csv.DictReader(f)] == list(BAD)

    again = run(path, tmp_path, chunk_size=2)
    assert (again.imported, again.present, again.rejected) == (0, 4, len(BAD))
    assert old_rows() == 4


def test_people_already_present_gain_the_old_numbers_of_a_later_file_once(app_ctx, tmp_path) -> None:
    first = write_csv(tmp_path / "first.csv", [person(), person(citizen_id="001090000002")])
    assert run(first, tmp_path).imported == 2 and old_rows() == 0
    later = write_csv(tmp_path / "later.csv", [person(old_id_numbers="012345678 023456789"),
                                               person(citizen_id="001090000002", old_id_numbers="034567890")])
    result = run(later, tmp_path)
    assert (result.imported, result.present) == (0, 2)
    assert held() == [("001090000001", "012345678"), ("001090000001", "023456789"), ("001090000002", "034567890")]
    # Another file repeating a number already held adds only the new one.
    third = write_csv(tmp_path / "third.csv", [person(old_id_numbers="023456789 045678901")])
    run(third, tmp_path)
    run(later, tmp_path)
    assert old_rows() == 4


def test_registry_show_prints_the_old_numbers(runner, tmp_path) -> None:
    out = runner.invoke(args=["registry", "import", str(DEMO), "--rejects", str(tmp_path / "r.csv")])
    assert out.exit_code == 0, out.output
    shown = runner.invoke(args=["registry", "show", "001080012345"])
    assert shown.exit_code == 0
    lines = [line for line in shown.output.splitlines() if "Old ID-card number" in line]
    assert [line.split()[-1] for line in lines] == ["012345678", "162345678"]
    child = runner.invoke(args=["registry", "show", "001313000111"])
    assert "Old ID-card number" not in child.output


def test_old_id_numbers_lists_a_persons_numbers(app_ctx, tmp_path) -> None:
    run(DEMO, tmp_path)
    an = service.get_citizen_by_number("001080012345")
    assert service.old_id_numbers(an.id) == ["012345678", "162345678"]
    assert service.old_id_numbers(service.get_citizen_by_number("232301000777").id) == []


def test_a_row_refused_against_the_registry_keeps_its_old_numbers_in_the_rejects_file(app_ctx, tmp_path) -> None:
    run(write_csv(tmp_path / "first.csv", [person()]), tmp_path)
    other = person(full_name="Đỗ Văn Khác", old_id_numbers="012345678 023456789")
    result = run(write_csv(tmp_path / "other.csv", [other, person(citizen_id="001090000002")]), tmp_path)
    assert (result.imported, result.rejected) == (1, 1)
    assert result.rejects_path is not None
    with result.rejects_path.open(encoding="utf-8-sig") as f:
        (refused,) = csv.DictReader(f)
    assert "another name" in refused["reason"]
    assert (refused["full_name"], refused["old_id_numbers"]) == ("Đỗ Văn Khác", "012345678 023456789")
    assert old_rows() == 0  # nothing recorded for the person who holds the number
