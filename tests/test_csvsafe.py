"""CSV files we write are safe to open in a spreadsheet (no formula runs), and read back the same."""

from __future__ import annotations

import csv
import io

import pytest

from idsvc import csvsafe
from idsvc.population.generator import generate
from idsvc.population.generator import write_csv


@pytest.mark.parametrize("value", ["=1+1", "+84912345678", "-", "@SUM(A1)", "\tx", "\rx", "'=x", "'", "", "Lê", "0=1",
                                   "'Lê"])
def test_risky_cells_are_escaped_and_come_back_as_they_were(value) -> None:
    out = io.StringIO()
    csvsafe.Writer(out).writerow(["1", value, "Đỗ Văn Khoa"])
    written = next(csv.reader(io.StringIO(out.getvalue())))
    assert not written[1].startswith(csvsafe.FORMULA_STARTS)
    assert written[1] == (f"'{value}" if value.startswith(csvsafe.FORMULA_STARTS) else value)
    assert csvsafe.unescape(written[1]) == value or value.startswith("'")  # ours never begin with a quote
    assert written[0] == "1" and written[2] == "Đỗ Văn Khoa"


def test_generated_files_go_through_the_escaping_writer() -> None:
    row = next(iter(generate(1, 1)))
    out = io.StringIO()
    write_csv([{**row, "religion": "=cmd()"}], out)
    assert ",'=cmd()," in out.getvalue()
