"""Name canonicalisation and partial dates."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from idsvc.registry import names
from idsvc.registry.dates import InvalidDate
from idsvc.registry.dates import PartialDate


def test_nfd_input_is_stored_as_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Văn Đức")
    assert nfd != "Nguyễn Văn Đức"
    assert names.canonical(nfd) == "Nguyễn Văn Đức"


def test_eth_look_alike_becomes_d_with_stroke() -> None:
    assert names.canonical("\u00d0inh Th\u1ecb Mai") == "Đinh Thị Mai"


def test_whitespace_is_collapsed() -> None:
    assert names.canonical("  Trần\tThị \u00a0 Bình \n") == "Trần Thị Bình"


@pytest.mark.parametrize("control", ["\x1f", "\x0b", "\x85", "\u2028", "\n"])
def test_control_characters_inside_a_name_are_kept_to_be_refused(control: str) -> None:
    """Python's str.split() takes these for spaces: a name must not lose them unseen."""
    name = names.canonical(f"Trần{control}Thị Bình")
    assert control in name and names.has_control_characters(name)


@pytest.mark.parametrize("text", ["Nguyễn Văn Đức", "Nguyên Vân Đực", "NGUYEN VAN DUC", "nguyen  van duc"])
def test_folding_is_for_candidates_only(text: str) -> None:
    assert names.fold(text) == "nguyen van duc"


def test_partial_date_precision_and_bounds() -> None:
    assert PartialDate.parse("1950").precision == "year"
    assert PartialDate.parse("1950-02").latest() == date(1950, 2, 28)
    assert PartialDate.parse("1952-02").latest() == date(1952, 2, 29)
    assert PartialDate.parse("1950-02-03").earliest() == date(1950, 2, 3)
    assert str(PartialDate.parse(" 1950-07 ")) == "1950-07"


@pytest.mark.parametrize(("text", "reason"), [
    ("2023-02-30", "has no day 30"), ("2023-13", "month 13 does not exist"), ("23-01-01", "is not a date"),
    ("01/02/2023", "is not a date"), ("2023-1-5", "is not a date"), ("", "is not a date"),
])
def test_impossible_or_malformed_dates(text: str, reason: str) -> None:
    with pytest.raises(InvalidDate, match=reason):
        PartialDate.parse(text)
