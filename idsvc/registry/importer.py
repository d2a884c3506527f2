"""Bulk import of population files into the registry: streaming, set-based, resumable.

The file is read in chunks of ``IMPORT_CHUNK_SIZE`` rows. Each chunk is checked row by row in
Python (:mod:`rows`), staged in a temporary table (COPY on PostgreSQL, one ``executemany`` on
SQLite), and merged into the registry by a handful of ``INSERT ... SELECT`` statements in ONE
transaction: a person is written whole (citizen, number, relatives, household) or not at all,
and a chunk reported imported is committed.

Re-running is safe. A file is identified by its SHA-256 (:class:`ImportBatch`); every citizen
keeps the batch and the line it came from, so on a re-run a row that meets its own earlier import
counts as "already present" and the run carries on where the last one stopped. Against other
data the number decides: the same number for the same person (name, birth date, sex) is already
present; for anyone else, or a retired number, the row is rejected.

Bulk-imported records get no per-row revision: their provenance is the batch (who, when, which
file, its hash) and the line, which keeps a 100-million-row migration at COPY speed. Every later
change goes through :mod:`service` and writes revisions.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from itertools import islice
from pathlib import Path
from typing import Any
from typing import TextIO

from sqlalchemy import Connection
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import text

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import UTCDateTime
from idsvc.errors import Conflict
from idsvc.registry import reader
from idsvc.registry.fileformat import COLUMNS
from idsvc.registry.models import Commune
from idsvc.registry.models import ImportBatch
from idsvc.registry.rows import STAGED_COLUMNS
from idsvc.registry.rows import RowChecker
from idsvc.registry.rows import RowRejected

VIETNAM_TIME = timezone(timedelta(hours=7))
#: Any constant: PostgreSQL advisory lock held while an import runs (one import at a time).
_IMPORT_LOCK = 0x1D5C_0001

_COLS = ("line", *STAGED_COLUMNS)
_SQLITE_STAGE = f"INSERT INTO import_staging VALUES ({', '.join('?' * len(_COLS))})"  # noqa: S608  (constants)
_TYPES = {"line": "INTEGER", "birth_year": "SMALLINT", "birth_month": "SMALLINT", "birth_day": "SMALLINT"}


@dataclass
class ImportResult:
    batch_id: int
    rows_read: int = 0
    imported: int = 0
    present: int = 0
    rejected: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    rejects_path: Path | None = None
    resumed: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


@dataclass
class _Chunk:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejects: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    raws: dict[int, dict[str, str]] = field(default_factory=dict)
    read: int = 0


class _Rejects:
    """The rejects CSV: line, reason and the row as read, so a clerk can fix and re-import it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: TextIO | None = None
        self._writer: Any = None
        path.unlink(missing_ok=True)  # a stale file from an earlier run would mislead

    def add(self, line: int, reason: str, values: dict[str, str]) -> None:
        if self._file is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data
            self._file = open(fd, "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file, lineterminator="\n")
            self._writer.writerow(["line", "reason", *COLUMNS])
        self._writer.writerow([line, reason, *(values.get(c, "") for c in COLUMNS)])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def import_file(path: Path, *, actor: str, rejects_path: Path | None = None, fmt: str | None = None,
                chunk_size: int | None = None, progress: Callable[[int], None] | None = None,
                should_stop: Callable[[], bool] = lambda: False) -> ImportResult:
    """Import ``path`` (CSV or JSONL) into the registry of the current app.

    :param progress: called with the number of rows read since the last call.
    :param should_stop: polled between chunks; True stops cleanly after the chunk in hand.
    :raises reader.UnreadableFile: the file cannot be read (nothing was written).
    :raises Conflict: another import is running.
    """
    from flask import current_app

    started = time.perf_counter()
    chunk_size = chunk_size or current_app.config["IMPORT_CHUNK_SIZE"]
    fmt = reader.detect_format(path, fmt)
    facts = reader.inspect(path)
    rows = reader.read_rows(path, fmt)
    first = next(rows, None)  # reads and checks the header before anything is written
    engine = db.get_db().engine
    communes = frozenset(db.session().scalars(select(Commune.code)))
    db.session().rollback()
    if not communes:
        raise reader.UnreadableFile("the registry has no administrative units yet; run `idsvc units sync` first")
    checker = RowChecker(communes, datetime.now(VIETNAM_TIME).date())
    rejects = _Rejects(rejects_path or path.with_name(path.name + ".rejects.csv"))

    with engine.connect() as conn:
        merger = _Merger(conn)
        merger.lock()
        batch_id, resumed = _open_batch(conn, facts, path, actor)
        result = ImportResult(batch_id=batch_id, rejects_path=rejects.path, resumed=resumed)
        stream: Iterable[reader.RawRow] = rows if first is None else _prepend(first, rows)

        def write(chunk: _Chunk) -> tuple[_Chunk, tuple[int, int, list[tuple[int, str]]]]:
            with conn.begin():
                return chunk, merger.merge(chunk.rows, batch_id)

        def account(chunk: _Chunk, merged: tuple[int, int, list[tuple[int, str]]]) -> None:
            imported, present, refused = merged
            for line, reason, values in sorted(chunk.rejects + [(n, r, chunk.raws[n]) for n, r in refused]):
                rejects.add(line, reason, values)
            result.rows_read += chunk.read
            result.imported += imported
            result.present += present
            if progress:
                progress(chunk.read)

        # Checking chunk N+1 in Python overlaps writing chunk N in the database (the driver
        # releases the GIL while the database works): one writer, one chunk in flight.
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer:
                pending: Future[tuple[_Chunk, tuple[int, int, list[tuple[int, str]]]]] | None = None
                for chunk in _chunks(stream, checker, chunk_size):
                    if pending is not None:
                        account(*pending.result())
                        pending = None
                        if should_stop():
                            result.interrupted = True
                            break
                    pending = writer.submit(write, chunk)
                if pending is not None:
                    account(*pending.result())
        finally:
            result.rejected = rejects.count
            rejects.close()
            result.seconds = time.perf_counter() - started
        with conn.begin():
            _close_batch(conn, result)
        merger.finish()

    if not rejects.count:
        result.rejects_path = None
    with db.transaction():
        audit.record(AuditAction.REGISTRY_IMPORT_RUN, actor=actor, subject_type="import_batch",
                     subject_id=batch_id, data={
                         "file": path.name, "sha256": facts.sha256, "read": result.rows_read,
                         "imported": result.imported, "present": result.present, "rejected": result.rejected,
                         "finished": not result.interrupted})
    return result


def _prepend(first: reader.RawRow, rest: Iterator[reader.RawRow]) -> Iterator[reader.RawRow]:
    yield first
    yield from rest


def _chunks(stream: Iterable[reader.RawRow], checker: RowChecker, size: int) -> Iterator[_Chunk]:
    """Checked chunks of at most ``size`` rows; a number twice in one chunk is caught here."""
    it = iter(stream)
    while True:
        raws = list(islice(it, size))
        if not raws:
            return
        chunk = _Chunk(read=len(raws))
        seen: dict[str, int] = {}
        for raw in raws:
            if raw.error:
                chunk.rejects.append((raw.line, raw.error, raw.values))
                continue
            try:
                staged = checker.check(raw.values)
            except RowRejected as exc:
                chunk.rejects.append((raw.line, str(exc), raw.values))
                continue
            number = staged[0]
            if number in seen:
                chunk.rejects.append((raw.line, f"citizen_id: the same ID number as line {seen[number]} of this "
                                                "file", raw.values))
                continue
            seen[number] = raw.line
            chunk.rows.append((raw.line, *staged))
            chunk.raws[raw.line] = raw.values
        yield chunk


def _open_batch(conn: Connection, facts: reader.FileFacts, path: Path, actor: str) -> tuple[int, bool]:
    """The batch of this file (by hash): created on the first run, found again on a re-run."""
    table = ImportBatch.__table__
    with conn.begin():
        found = conn.execute(select(table.c.id).where(table.c.file_sha256 == facts.sha256)).scalar()
        if found is not None:
            return int(found), True
        new_id = conn.execute(table.insert().values(
            file_sha256=facts.sha256, file_name=path.name[:300], actor=actor, started_at=datetime.now(UTC),
            rows_read=0, rows_imported=0, rows_present=0, rows_rejected=0,
        ).returning(table.c.id)).scalar_one()
    return int(new_id), False


def _close_batch(conn: Connection, result: ImportResult) -> None:
    table = ImportBatch.__table__
    conn.execute(table.update().where(table.c.id == result.batch_id).values(
        finished_at=None if result.interrupted else datetime.now(UTC), rows_read=result.rows_read,
        rows_imported=result.imported, rows_present=result.present, rows_rejected=result.rejected))


class _Merger:
    """The set-based SQL of one chunk, on PostgreSQL or SQLite."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        columns = ", ".join(f"{c} {_TYPES.get(c, 'DATE' if c == 'date_of_death' and self.pg else 'TEXT')}"
                            for c in _COLS)
        with conn.begin():
            if self.pg:
                conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS import_staging ({columns}) "
                                     "ON COMMIT DELETE ROWS")
            else:
                conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS import_staging ({columns})")
        if not self.pg:  # random-order index inserts want the B-trees in memory
            conn.exec_driver_sql("PRAGMA cache_size = -65536")
            conn.commit()

    def lock(self) -> None:
        if self.pg and not self.conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_IMPORT_LOCK})").scalar():
            self.conn.rollback()
            raise Conflict("Another import is running on this database; wait for it to finish.")
        self.conn.commit()

    def finish(self) -> None:
        if self.pg:
            self.conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_IMPORT_LOCK})")
        else:
            self.conn.exec_driver_sql("PRAGMA cache_size = -2000")  # back to the default for the pool
        self.conn.commit()

    def _stage(self, rows: list[tuple[Any, ...]]) -> None:
        if self.pg:
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY import_staging ({', '.join(_COLS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            self.conn.exec_driver_sql("ANALYZE import_staging")
        else:
            self.conn.exec_driver_sql("DELETE FROM import_staging")
            self.conn.exec_driver_sql(_SQLITE_STAGE, rows)  # type: ignore[arg-type]

    def merge(self, rows: list[tuple[Any, ...]], batch_id: int) -> tuple[int, int, list[tuple[int, str]]]:
        """Write the new people of ``rows``; returns (imported, already present, rejected (line, reason))."""
        if not rows:
            return 0, 0, []
        self._stage(rows)
        present, refused = self._classify(batch_id)
        imported = len(rows) - present - len(refused)
        if imported:
            self._insert(batch_id)
        return imported, present, refused

    def _classify(self, batch_id: int) -> tuple[int, list[tuple[int, str]]]:
        """Rows whose number the registry has seen: already imported, or conflicting."""
        conn = self.conn
        hits = conn.execute(text(
            "SELECT s.line, s.name_folded, s.birth_year, s.birth_month, s.birth_day, s.sex, "
            "n.retired_at, c.import_batch_id, c.import_line, c.name_folded, c.birth_year, c.birth_month, "
            "c.birth_day, c.sex "
            "FROM import_staging s JOIN citizen_number n ON n.number = s.id_number "
            "JOIN citizen c ON c.id = n.citizen_id")).all()
        if not hits:
            return 0, []
        present = 0
        refused: list[tuple[int, str]] = []
        for line, *mine, retired_at, c_batch, c_line, c_name, c_year, c_month, c_day, c_sex in hits:
            if retired_at is not None:
                refused.append((line, "citizen_id: this number was retired and replaced by a newer one; "
                                      "use the person's current number"))
            elif c_batch == batch_id and c_line == line:
                present += 1  # imported by an earlier run of this same file
            elif c_batch == batch_id:
                refused.append((line, f"citizen_id: the same ID number as line {c_line} of this file"))
            elif tuple(mine) == (c_name, c_year, c_month, c_day, c_sex):
                present += 1  # the same person, already in the registry from another source
            else:
                refused.append((line, "citizen_id: the registry already holds this number for a person with "
                                      "another name, date of birth or sex"))
        conn.exec_driver_sql("DELETE FROM import_staging WHERE EXISTS "
                             "(SELECT 1 FROM citizen_number n WHERE n.number = import_staging.id_number)")
        return present, refused

    def _insert(self, batch_id: int) -> None:
        conn = self.conn
        now = bindparam("now", datetime.now(UTC), type_=UTCDateTime())
        citizen_cols = [c for c in STAGED_COLUMNS if c not in (
            "household_number", "father_id", "father_name", "mother_id", "mother_name", "spouse_id", "spouse_name")]
        conn.execute(text(
            "INSERT INTO household (number, commune_code, created_at) "
            "SELECT s.household_number, MIN(s.permanent_commune_code), :now FROM import_staging s "
            "WHERE s.household_number IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM household h WHERE h.number = s.household_number) "
            "GROUP BY s.household_number").bindparams(now))
        conn.execute(text(
            f"INSERT INTO citizen ({', '.join(citizen_cols)}, household_id, import_batch_id, import_line, "  # noqa: S608
            "version, created_at, updated_at) "
            f"SELECT {', '.join('s.' + c for c in citizen_cols)}, "
            # a look-up per row through the unique index: a join would scan every household per chunk
            "(SELECT h.id FROM household h WHERE h.number = s.household_number), :batch, s.line, 1, :now, :now "
            "FROM import_staging s"
        ).bindparams(now, batch=batch_id))
        conn.execute(text(
            "INSERT INTO citizen_number (number, citizen_id, issued_at) "
            "SELECT c.id_number, c.id, :now FROM import_staging s JOIN citizen c ON c.id_number = s.id_number"
        ).bindparams(now))
        relatives = " UNION ALL ".join(
            f"SELECT c.id, '{kind}', s.{kind}_id, s.{kind}_name FROM import_staging s "  # noqa: S608  (constants)
            f"JOIN citizen c ON c.id_number = s.id_number WHERE s.{kind}_id IS NOT NULL OR s.{kind}_name IS NOT NULL"
            for kind in ("father", "mother", "spouse"))
        conn.execute(text("INSERT INTO citizen_relative (citizen_id, kind, id_number, full_name) " + relatives))
        conn.execute(text(
            "UPDATE household SET head_id = (SELECT MIN(c.id) FROM citizen c "
            "WHERE c.household_id = household.id AND c.relationship_to_head = 'head') "
            "WHERE head_id IS NULL AND number IN "
            "(SELECT household_number FROM import_staging WHERE relationship_to_head = 'head')"))
