"""An import killed (SIGKILL) or stopped (Ctrl-C) mid-file leaves no half-written person, loses
no row it reported, and the same command run again finishes the job. Real processes, real signals."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from idsvc.config import normalise_database_url
from idsvc.registry import idnumbers
from idsvc.registry.imports.fileformat import COLUMNS

pytestmark = pytest.mark.slow

IDSVC = str(Path(sys.executable).parent / "idsvc")
ROWS = 12_000
#: A file the import needs seconds for, even on a fast machine: long enough to pause it mid-way.
LONG_ROWS = 60_000
CHUNK = 200


def write_population(path: Path, count: int) -> None:
    """``count`` valid people in households of four, each child with both parents."""
    communes = ["00004", "00070", "00256", "20242", "27139"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(count):
            household, role = divmod(i, 4)
            year, sex = (1970, "M") if role == 0 else (1972, "F") if role == 1 else (2000 + role, "F")
            number = idnumbers.prefix_for("001", year, sex) + f"{i:06d}"
            head = idnumbers.prefix_for("001", 1970, "M") + f"{household * 4:06d}"
            spouse = idnumbers.prefix_for("001", 1972, "F") + f"{household * 4 + 1:06d}"
            row = dict(citizen_id=number, full_name="Nguyễn Văn Người", date_of_birth=f"{year}-01-15",
                       sex=sex, birth_registration_province="001", permanent_commune=communes[household % 5],
                       current_commune="", household_id=f"HH{household:07d}",
                       relationship_to_head=("head", "spouse", "child", "child")[role], ethnicity="Kinh",
                       religion="Không", nationality="VN", status="alive", date_of_death="",
                       father_id=head if role > 1 else "", mother_id=spouse if role > 1 else "")
            writer.writerow([row.get(c, "") for c in COLUMNS])


def start_env(url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "IDSVC_DATABASE_URL": url, "IDSVC_IMPORT_CHUNK_SIZE": str(CHUNK),
            "IDSVC_KEYS_DIR": str(tmp_path / "keys")}


def start_import(url: str, path: Path, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([IDSVC, "registry", "import", str(path), "--rejects", str(tmp_path / "rejects.csv")],
                            env=start_env(url, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def query(url: str, sql: str) -> int:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def wait_for_rows(url: str, proc: subprocess.Popen[str], at_least: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the import finished before it could be interrupted: " + proc.stdout.read()
        try:
            have = query(url, "SELECT count(*) FROM citizen")
        except Exception:  # a write lock held for a moment
            have = 0
        if have >= at_least:
            return have
        time.sleep(0.02)
    raise AssertionError("the import made no progress")


def assert_every_person_whole(url: str, expected_children: bool = True) -> int:
    people = query(url, "SELECT count(*) FROM citizen")
    assert query(url, "SELECT count(*) FROM citizen c WHERE NOT EXISTS "
                      "(SELECT 1 FROM citizen_number n WHERE n.citizen_id = c.id)") == 0
    assert query(url, "SELECT count(*) FROM citizen_number") == people
    children = query(url, "SELECT count(*) FROM citizen WHERE relationship_to_head = 'child'")
    assert query(url, "SELECT count(*) FROM citizen_relative") == 2 * children
    assert query(url, "SELECT count(*) FROM citizen WHERE household_id IS NULL") == 0
    assert query(url, "SELECT count(*) FROM household h WHERE head_id IS NULL AND EXISTS (SELECT 1 FROM citizen c "
                      "WHERE c.household_id = h.id AND c.relationship_to_head = 'head')") == 0
    return people


@pytest.mark.parametrize("how", ["kill", "ctrl-c"])
def test_an_interrupted_import_resumes_and_finishes(scratch_database_url, tmp_path, how) -> None:
    url = scratch_database_url
    path = tmp_path / "population.csv"
    write_population(path, ROWS)
    proc = start_import(url, path, tmp_path)
    wait_for_rows(url, proc, 5 * CHUNK)
    proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if how == "kill":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, err
        assert "Run the same command again to finish" in err and "Traceback" not in err
    before = assert_every_person_whole(url)
    assert 0 < before < ROWS
    assert before % CHUNK == 0  # whole chunks only: no person, and no part of a chunk, half-written

    again = start_import(url, path, tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"{ROWS - before:,} imported, {before:,} already in the registry, 0 rejected" in out
    assert assert_every_person_whole(url) == ROWS
    assert not (tmp_path / "rejects.csv").exists()


def test_a_killed_initial_load_leaves_an_empty_registry_with_its_schema_whole(scratch_database_url, tmp_path) -> None:
    from tests.registry.test_importer import schema_drift

    url = scratch_database_url
    path = tmp_path / "population.csv"
    write_population(path, ROWS)
    with path.open("r+", encoding="utf-8") as f:  # a bad first row: its reject shows that loading began
        header, first, rest = f.readline(), f.readline(), f.read()
        f.seek(0)
        f.write(header + first.replace(",Nguyễn Văn Người,", ",,", 1) + rest)
        f.truncate()
    env = {**os.environ, "IDSVC_DATABASE_URL": url, "IDSVC_IMPORT_CHUNK_SIZE": str(CHUNK)}
    command = [IDSVC, "registry", "import", "--initial-load", str(path), "--rejects", str(tmp_path / "rejects.csv")]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "rejects.csv").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.kill()
    proc.communicate(timeout=60)
    assert query(url, "SELECT count(*) FROM citizen") == 0  # all or nothing
    assert query(url, "SELECT count(*) FROM household") == 0
    assert schema_drift(url) == []  # the dropped indexes and foreign keys came back with the rollback

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1, again.stderr  # rows rejected
    assert f"{ROWS - 1:,} imported, 0 already in the registry, 1 rejected" in again.stdout
    assert query(url, "SELECT count(*) FROM citizen") == ROWS - 1
    assert schema_drift(url) == []


def test_a_second_import_while_one_runs_is_refused_and_the_first_counts_every_row(scratch_database_url,
                                                                                  tmp_path) -> None:
    url = scratch_database_url
    path = tmp_path / "population.csv"
    # A long file: on a fast machine 12,000 rows were all in before the pause below could land.
    write_population(path, LONG_ROWS)
    first = start_import(url, path, tmp_path)
    wait_for_rows(url, first, CHUNK)
    # Paused, perhaps inside a chunk's transaction, the first one holds the import lock as long as the
    # second one tries: the second is refused before it waits for any of the first one's writes.
    first.send_signal(signal.SIGSTOP)
    try:
        paused_at = query(url, "SELECT count(*) FROM citizen")
        assert first.poll() is None and paused_at < LONG_ROWS, "the first import ended before it was paused"
        second = subprocess.run([IDSVC, "registry", "import", str(path), "--rejects", str(tmp_path / "r2.csv")],
                                env=start_env(url, tmp_path), capture_output=True, text=True, timeout=60)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, second.stderr
    assert "Another import is running on this database" in second.stderr and "Traceback" not in second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert f"{LONG_ROWS:,} imported, 0 already in the registry, 0 rejected" in out
    assert query(url, "SELECT count(*) FROM import_batch") == 1
    assert query(url, "SELECT rows_imported FROM import_batch") == LONG_ROWS
    assert assert_every_person_whole(url) == LONG_ROWS
