"""``idsvc eligibility programmes load|list``, and the seed."""

from __future__ import annotations

import shutil
from pathlib import Path

from idsvc.eligibility import service

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "programmes"


def test_load_then_list(app, runner, tmp_path: Path) -> None:
    directory = tmp_path / "programmes"
    shutil.copytree(FIXTURES, directory)
    first = runner.invoke(args=["eligibility", "programmes", "load", str(directory)])
    assert first.exit_code == 0, first.output
    assert "social-pension-2025: rule set version 1 (added)" in first.output
    again = runner.invoke(args=["eligibility", "programmes", "load", str(directory), "--actor", "clerk:42"])
    assert again.output.count("(unchanged)") == 5
    path = directory / "sa-orphan-child.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("coefficient = 1.5", "coefficient = 2.5"),
                    encoding="utf-8")
    changed = runner.invoke(args=["eligibility", "programmes", "load", str(directory)])
    assert "sa-orphan-child: rule set version 2 (new-version)" in changed.output
    listing = runner.invoke(args=["eligibility", "programmes", "list"]).output.splitlines()
    assert "sa-orphan-child\tv2\t1250000\tChildren under 16 without a source of care" in listing
    assert len(listing) == 5
    with app.app_context():  # committed, not only flushed
        assert service.get_programme("sa-orphan-child").rule_set_version == 2


def test_a_bad_file_is_a_one_line_error_and_loads_nothing(app, runner, tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('code = "broken"\n', encoding="utf-8")
    result = runner.invoke(args=["eligibility", "programmes", "load", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: broken.toml: " in result.output and "name_vi: Missing data for required field." in result.output
    assert runner.invoke(args=["eligibility", "programmes", "list"]).output == ""


def test_load_defaults_to_the_demo_programmes(runner) -> None:
    result = runner.invoke(args=["eligibility", "programmes", "load"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 5
