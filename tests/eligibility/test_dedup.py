"""The same person twice in one list: by resolution, or by details when rows were not resolved."""

from __future__ import annotations

from datetime import date

import pytest

from idsvc.eligibility import dedup
from idsvc.eligibility import matching
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.applicants import applicant

TODAY = date(2026, 12, 5)
FREQ = dedup.list_frequencies(["Nguyễn Thị Hoà", "Trần Thị Lan", "Lê Văn Hùng"])


def row(line: int, name: str, dob: str, number: str = "", commune: str = "") -> Applicant:
    return applicant({"ref": f"R{line}", "citizen_id": number, "full_name": name, "date_of_birth": dob,
                      "commune_code": commune}, line, today=TODAY)


def test_rows_resolved_to_one_person_are_a_group_whatever_number_they_wrote() -> None:
    rows = [row(1, "Trần Thị Lan", "1950"), row(2, "Lê Văn Hùng", "1951"), row(3, "Tran Thi Lan", "1950"),
            row(4, "Trần Thị Lan", "1950")]
    found = dedup.find_duplicates(rows, [7, 8, 7, 7], FREQ)
    assert found.groups == ("D1", "", "D1", "D1")
    assert found.kept == (True, True, False, False)
    assert not found.is_duplicate(0) and found.is_duplicate(2)


def test_groups_are_numbered_in_order_of_first_appearance() -> None:
    rows = [row(i, "Phạm Văn Tư", "1950") for i in range(1, 6)]
    found = dedup.find_duplicates(rows, [5, 3, 9, 3, 5], FREQ)
    assert found.groups == ("D1", "D2", "", "D2", "D1")
    assert found.kept == (True, True, True, False, False)


def test_unresolved_rows_with_the_same_details_are_one_person() -> None:
    rows = [row(1, "Nguyễn Thị Hoà", "03/04/1948", commune="00070"),
            row(2, "Đỗ Minh Quân", "1960-01-01"),
            row(3, "nguyen thi hoa", "1948-04-03", commune="00070"),  # no diacritics, ISO date
            row(4, "Hoà Nguyễn Thị", "3/4/1948", commune="00070")]  # given name first
    found = dedup.find_duplicates(rows, [None] * 4, FREQ)
    assert found.groups == ("D1", "", "D1", "D1")
    assert found.kept == (True, True, False, False)


@pytest.mark.parametrize("other", [
    row(2, "Nguyễn Thị Hoà", "03/04/1949"),   # same name, another year: a different person
    row(2, "Nguyễn Thị Hồng", "03/04/1948"),  # same date, another given name
    row(2, "Nguyễn Thị Hoà", "1948"),         # year only: not sure enough for an automatic match
])
def test_similar_rows_that_are_not_sure_matches_stay_apart(other: Applicant) -> None:
    found = dedup.find_duplicates([row(1, "Nguyễn Thị Hoà", "03/04/1948"), other], [None, None], FREQ)
    assert found.groups == ("", "")


def test_a_resolved_row_and_an_unresolved_row_are_not_compared() -> None:
    rows = [row(1, "Nguyễn Thị Hoà", "03/04/1948"), row(2, "Nguyễn Thị Hoà", "03/04/1948")]
    assert dedup.find_duplicates(rows, [4, None], FREQ).groups == ("", "")


def test_invalid_rows_belong_to_no_group() -> None:
    rows = [row(1, "Trần Thị Lan", "31/02/1950"), row(2, "Trần Thị Lan", "31/02/1950"), row(3, "Lan", "1950")]
    assert rows[0].invalid
    assert dedup.find_duplicates(rows, [None, None, 3], FREQ).groups == ("", "", "")


def test_rows_are_compared_only_within_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = matching.compare
    monkeypatch.setattr(matching, "compare", lambda *a, **k: calls.append(1) or real(*a, **k))
    given = ["An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Long", "Minh", "Nam"]
    rows = [row(i + 1, f"{s} Văn {g}", f"{i % 28 + 1}/3/{1940 + i % 30}") for i, (s, g) in enumerate(
        (s, g) for s in ("Lê", "Trần", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô") for g in given)]
    rows.append(row(101, "Lê Văn An", "1/3/1940"))
    found = dedup.find_duplicates(rows, [None] * len(rows), FREQ)
    assert found.groups[0] == found.groups[100] == "D1"
    assert sum(1 for g in found.groups if g) == 2
    assert len(calls) < 20  # 101 rows: 5,050 pairs without blocking


def test_a_short_list_counts_every_given_name_as_common() -> None:
    freq = dedup.list_frequencies(["Kiều Diệp", "Nguyễn Văn An"])
    assert freq.of_given("diep") == freq.of_given("an") == dedup.GIVEN_SHARE
    assert freq.of_surname("nguyen") == dedup.SURNAMES["nguyen"]
    assert freq.of_surname("kieu") == 0.5  # not in the national table: its share in the list


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError):
        dedup.find_duplicates([row(1, "Trần Thị Lan", "1950")], [], FREQ)
