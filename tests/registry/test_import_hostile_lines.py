"""Lines built to break the reader are rejected rows, never the end of the import.

A JSONL line may nest values thousands of levels deep, hold a number of thousands of digits, or
escape half of a UTF-16 surrogate pair (``"\\ud800"``, which decodes to no character at all and
cannot be written back as UTF-8). Each is one rejected row with its reason; the rows after it are
imported and the rejects file is written, in the importing process and in the reading process alike.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from idsvc.registry import service
from idsvc.registry.imports import importer
from tests.registry.test_importer import counts
from tests.registry.test_importer import person
from tests.registry.test_importer import read_rejects
from tests.registry.test_importer import run

HOSTILE = {
    # line (JSONL has no header): (text of the line, words the reason must contain)
    2: ('{"citizen_id": "001090000002", "full_name": ' + "[" * 2000 + "]" * 2000 + "}",
        "nested too deeply"),
    3: ('{"citizen_id": ' + "1" * 5001 + "}", "a number of more than 4,300 digits"),
    4: (json.dumps(person(citizen_id="001090000003", full_name="Đỗ Văn \ud800")),
        "full_name: holds \\ud800, half of a UTF-16 surrogate pair"),
    5: (json.dumps({**person(citizen_id="001090000004"), "\udc01x": "1"}),
        "holds \\udc01, half of a UTF-16 surrogate pair"),
    6: (json.dumps(person(citizen_id="001090000005", father_name="\udbff")),
        "father_name: holds \\udbff"),
}


def hostile_file(path: Path, filler: int = 0) -> Path:
    """A valid row, the hostile lines, and ``filler`` valid rows after them."""
    lines = [json.dumps(person(), ensure_ascii=False)]
    lines += [text for _, (text, _) in sorted(HOSTILE.items())]
    lines += [json.dumps(person(citizen_id=f"001090{n:06d}"), ensure_ascii=False)
              for n in range(100, 100 + filler)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("reading_process", [False, True], ids=["in-process", "reading-process"])
def test_hostile_jsonl_lines_are_rejected_rows_and_the_import_goes_on(app_ctx, tmp_path, monkeypatch,
                                                                      reading_process) -> None:  # type: ignore[no-untyped-def]
    if reading_process:
        monkeypatch.setattr(importer, "PARALLEL_FROM_LINES", 1)  # the threshold is read by the importing process
    path = hostile_file(tmp_path / "people.jsonl", filler=120)  # more than two chunks of 50 after them
    result = run(path, tmp_path)
    rejects = read_rejects(result.rejects_path)
    assert set(rejects) == set(HOSTILE), rejects
    for line, (_, words) in HOSTILE.items():
        assert words in rejects[line], (line, rejects[line])
    assert (result.imported, result.rejected, result.interrupted) == (121, len(HOSTILE), False)
    assert counts()["citizen"] == 121
    assert service.get_citizen_by_number("001090000219").full_name == "Đỗ Văn Khoa"  # the last line
    with result.rejects_path.open(encoding="utf-8-sig", newline="") as f:
        written = {int(row["line"]): row for row in csv.DictReader(f)}
    assert written[4]["full_name"] == "Đỗ Văn \ufffd"  # the row as far as it can be written, to fix
    again = run(path, tmp_path)  # and the re-run agrees instead of failing the same way
    assert (again.imported, again.present, again.rejected) == (0, 121, len(HOSTILE))
