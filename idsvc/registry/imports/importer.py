"""Bulk import of population files into the registry: streaming, set-based, resumable.

The file is read in chunks of ``IMPORT_CHUNK_SIZE`` rows and every row is checked in Python
(:mod:`reader`; :mod:`rows`, by the rulebook :mod:`idsvc.registry.rules`). Each chunk is then
written in ONE transaction by a handful of set-based statements (:mod:`bulkwrite`): a person is
written whole (citizen, number, relatives, household) or not at all, and a chunk reported
imported is committed. For large files the
reading and checking runs in a second process, so that it overlaps the database's work.

Re-running is safe. A file is identified by its SHA-256 (:class:`ImportBatch`); every citizen
keeps the batch and the line it came from, so on a re-run a row that meets its own earlier import
counts as "already present" and the run carries on where the last one stopped. Against other
data the number decides: the same number for the same person (name, birth date, sex) is already
present; for anyone else, or a retired number, the row is rejected. A row already present still
adds the old identity-card (CMND) numbers of its ``old_id_numbers`` that the registry does not
hold for that person, so a file of them can follow the first load (each pair is held once).

Bulk-imported records get no per-row revision: their provenance is the batch (who, when, which
file, its hash) and the line, which keeps a 100-million-row migration at bulk-load speed. Every
later change goes through :mod:`idsvc.registry.service` and writes revisions.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import TextIO
from typing import cast

from sqlalchemy import Connection
from sqlalchemy import select

from idsvc import csvsafe
from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.errors import Conflict
from idsvc.errors import ValidationFailed
from idsvc.registry import dates
from idsvc.registry.imports import reader
from idsvc.registry.imports.bulkwrite import BulkWriter
from idsvc.registry.imports.copytext import CopyRows
from idsvc.registry.imports.copytext import to_copy
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.imports.rows import ROW_AT
from idsvc.registry.imports.rows import RowChecker
from idsvc.registry.imports.rows import RowRejected
from idsvc.registry.imports.rows import file_values
from idsvc.registry.models import Commune
from idsvc.registry.models import ImportBatch

#: Longest actor name the batch and the audit trail keep.
ACTOR_MAX_LENGTH = 100
#: Files with at least this many lines are read and checked in a second process.
PARALLEL_FROM_LINES = 10_000


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
    #: Accepted rows: (line, *checked values).
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    #: Rows refused by the checks: (line, reason, values as read).
    rejects: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    read: int = 0
    #: PostgreSQL: the accepted rows as ``COPY`` text instead of ``rows`` (see :mod:`copytext`).
    copy: CopyRows | None = None


class Rejects:
    """The rejects CSV: line, reason and the row, so a clerk can fix it and import it again.

    Cells a spreadsheet would run as formulas are escaped (:mod:`csvsafe`); the reader takes the
    escape off, so a corrected rejects file still imports as it is. ``columns``: the file's layout
    (the population file's by default; attribute-source lists have their own)."""

    def __init__(self, path: Path, columns: tuple[str, ...] = COLUMNS) -> None:
        self.path = path
        self.columns = columns
        self.count = 0
        self._file: TextIO | None = None
        self._writer: Any = None

    def begin(self) -> None:
        """The import is under way: a stale file from an earlier run would mislead (a refused
        import leaves it alone)."""
        self.path.unlink(missing_ok=True)

    def add(self, line: int, reason: str, values: dict[str, str]) -> None:
        if self._file is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data
            # With a byte-order mark: spreadsheets then read it as UTF-8 rather than a legacy code page.
            self._file = open(fd, "w", encoding="utf-8-sig", newline="")
            self._writer = csvsafe.Writer(self._file, lineterminator="\n")
            self._writer.writerow([*reader.REJECTS_COLUMNS, *self.columns])
        self._writer.writerow([str(line), reason, *(values.get(c, "") for c in self.columns)])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class ImportStopped(Exception):
    """An initial load was stopped (Ctrl-C); being one transaction, it was rolled back whole."""


def import_file(path: Path, *, actor: str, rejects_path: Path | None = None, fmt: str | None = None,
                chunk_size: int | None = None, progress: Callable[[int], None] | None = None,
                should_stop: Callable[[], bool] = lambda: False, initial_load: bool = False,
                facts: reader.FileFacts | None = None) -> ImportResult:
    """Import ``path`` (CSV or JSONL) into the registry of the current app.

    :param progress: called with the number of rows read since the last call.
    :param should_stop: polled between chunks; True stops cleanly after the chunk in hand.
    :param facts: :func:`reader.inspect` of the file, if the caller has it already (it reads the whole file).
    :param initial_load: load an EMPTY registry in one transaction, with secondary indexes (and,
        on PostgreSQL, foreign keys) built in bulk at the end: much faster, all or nothing, and the
        registry tables are locked until it commits.
    :raises reader.UnreadableFile: the file cannot be read (nothing was written).
    :raises Conflict: another import is running, or an initial load meets a non-empty registry.
    :raises ImportStopped: an initial load was stopped; nothing was written.
    """
    from flask import current_app

    started = time.perf_counter()
    if not actor or len(actor) > ACTOR_MAX_LENGTH:
        raise ValidationFailed(f"the actor (who runs the import) is 1 to {ACTOR_MAX_LENGTH} characters")
    chunk_size = chunk_size or current_app.config["IMPORT_CHUNK_SIZE"]
    fmt = reader.detect_format(path, fmt)
    facts = facts or reader.inspect(path)
    header_check = reader.read_blocks(path, fmt, 1)  # the header is checked before anything is written
    next(header_check, None)
    header_check.close()
    job = _Job(path, actor, facts, Rejects(rejects_path_for(path, rejects_path)), progress, should_stop, started)

    db.session().rollback()  # the caller's session must not hold SQLite's write lock meanwhile
    with db.get_db().engine.connect() as conn:
        writer = BulkWriter(conn)
        if not writer.lock():
            raise Conflict("Another import is running on this database; wait for it to finish.")
        try:  # the lock first: a second import is refused at once, not after waiting for the first one's writes
            communes = _known_communes(conn)
            writer.tune(initial_load=initial_load)
            source = _chunks_from_process if job.facts.lines >= PARALLEL_FROM_LINES else _checked_chunks
            chunks = source(path, fmt, communes, dates.today(), chunk_size, writer.pg)
            result = (_load_empty_registry if initial_load else _write_chunk_by_chunk)(conn, writer, chunks, job)
            if result.imported >= ANALYZE_FROM:
                _analyze(conn)
        finally:
            job.rejects.close()
            writer.untune()
            writer.unlock()

    if not job.rejects.count:
        result.rejects_path = None
    _audit_run(job, result, initial_load)
    return result


#: Rows imported from which the registry's planner statistics are refreshed at the end of the run.
ANALYZE_FROM = 10_000
_ANALYZED = ("citizen", "citizen_number", "citizen_relative", "household", "citizen_old_number")


def _analyze(conn: Connection) -> None:
    """Fresh planner statistics after a large load. Without them (before autovacuum comes round, or
    where it is off) the database plans joins on the registry for the tables as they were: measured
    on 1,000,000 imported citizens, an eligibility check's fact queries took 5 times as long."""
    for table in _ANALYZED:
        conn.exec_driver_sql(f"ANALYZE {table}")
    conn.commit()


@dataclass
class _Job:
    """One run of :func:`import_file`: what it reads, for whom, and where its rejects go."""

    path: Path
    actor: str
    facts: reader.FileFacts
    rejects: Rejects
    progress: Callable[[int], None] | None
    should_stop: Callable[[], bool]
    started: float


def rejects_path_for(path: Path, rejects_path: Path | None) -> Path:
    """Where the rejects file goes: given, or next to the file; refused if it cannot be written there."""
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.csv")
    if not rejects_path.parent.is_dir() or not os.access(rejects_path.parent, os.W_OK):
        raise ValidationFailed(f"the rejects file cannot be written in {rejects_path.parent}: "
                               "the folder does not exist or is not writable")
    if rejects_path.exists() and rejects_path.samefile(path):
        raise ValidationFailed(f"the rejects file {rejects_path.name} is the file being imported; "
                               "name another one with --rejects")
    return rejects_path


def _known_communes(conn: Connection) -> frozenset[str]:
    """The registry's commune codes; a registry without them cannot take a single row."""
    communes = frozenset(conn.execute(select(Commune.code)).scalars())
    conn.rollback()
    if not communes:
        raise reader.UnreadableFile("the registry has no administrative units yet; run `idsvc units sync` first")
    return communes


def _load_empty_registry(conn: Connection, writer: BulkWriter, chunks: Iterator[_Chunk], job: _Job) -> ImportResult:
    """An initial load: the whole file in one transaction, constraints and indexes built at the end."""
    with conn.begin():
        if not writer.registry_is_empty():
            raise Conflict("An initial load is for an empty registry; this one has citizens. "
                           "Import without --initial-load.")
        batch_id, resumed = _open_batch(conn, job.facts, job.path, job.actor)
        result = ImportResult(batch_id=batch_id, rejects_path=job.rejects.path, resumed=resumed)
        writer.defer_constraints()
        _run(chunks, lambda chunk: _write_chunk(writer, chunk, batch_id, optimistic=True), result,
             job.rejects, job.progress, job.should_stop)
        if result.interrupted:
            raise ImportStopped("The initial load was stopped and rolled back: nothing was imported. "
                                "Run the same command again.")
        writer.restore_constraints()
        result.seconds = time.perf_counter() - job.started
        _close_batch(conn, result)
    return result


def _write_chunk_by_chunk(conn: Connection, writer: BulkWriter, chunks: Iterator[_Chunk], job: _Job) -> ImportResult:
    """An import into a live registry: one transaction per chunk, so a stopped run keeps what it wrote."""
    with conn.begin():
        batch_id, resumed = _open_batch(conn, job.facts, job.path, job.actor)
    result = ImportResult(batch_id=batch_id, rejects_path=job.rejects.path, resumed=resumed)

    def write(chunk: _Chunk) -> tuple[int, int, list[tuple[int, str, dict[str, str]]]]:
        with conn.begin():
            return _write_chunk(writer, chunk, batch_id)

    _run(chunks, write, result, job.rejects, job.progress, job.should_stop)
    result.seconds = time.perf_counter() - job.started
    with conn.begin():
        _close_batch(conn, result)
    return result


def _audit_run(job: _Job, result: ImportResult, initial_load: bool) -> None:
    """The run in the audit trail: counts, never numbers."""
    with db.transaction():
        audit.record(AuditAction.REGISTRY_IMPORT_RUN, actor=job.actor, subject_type="import_batch",
                     subject_id=result.batch_id, data={
                         "file": job.path.name, "sha256": job.facts.sha256, "read": result.rows_read,
                         "imported": result.imported, "present": result.present, "rejected": result.rejected,
                         "finished": not result.interrupted, "initial_load": initial_load})


def _run(chunks: Iterator[_Chunk], write: Callable[[_Chunk], tuple[int, int, list[tuple[int, str, dict[str, str]]]]],
         result: ImportResult, rejects: Rejects, progress: Callable[[int], None] | None,
         should_stop: Callable[[], bool]) -> None:
    """Write chunk after chunk, counting and writing rejects, until the end or a stop request."""
    rejects.begin()
    try:
        for chunk in chunks:
            imported, present, refused = write(chunk)
            for line, reason, values in sorted(chunk.rejects + refused, key=lambda r: r[0]):
                rejects.add(line, reason, values)
            result.rows_read += chunk.read
            result.imported += imported
            result.present += present
            if progress:
                progress(chunk.read)
            if should_stop():
                result.interrupted = True
                break
    finally:
        if hasattr(chunks, "close"):
            chunks.close()  # stops the reading process, if any
        result.rejected = rejects.count


def _write_chunk(writer: BulkWriter, chunk: _Chunk, batch_id: int,
                 optimistic: bool = False) -> tuple[int, int, list[tuple[int, str, dict[str, str]]]]:
    """Write the chunk's new people; returns (imported, already present, refused rows).

    ``optimistic`` (an initial load: the registry held nobody when it began): write the whole chunk
    without looking its numbers up first, in a savepoint; only if a number breaks a unique
    constraint (it was in an earlier chunk of the file) is the chunk rolled back and written the
    usual way, with the look-up that finds and rejects the repeated numbers.
    """
    count = len(chunk.copy) if chunk.copy is not None else len(chunk.rows)
    if not count:
        return 0, 0, []
    if optimistic and writer.attempt(lambda: _write_new(writer, chunk, None, batch_id)):
        return count, 0, []
    present = 0
    refused: list[tuple[int, str, dict[str, str]]] = []
    keep: list[int] | None = None
    old_numbers: list[tuple[str, int]] = []  # of people already present: (number, citizen id)
    numbers = chunk.copy.numbers if chunk.copy is not None else [row[1] for row in chunk.rows]
    known = {k[0]: k for k in writer.known(numbers)}
    if known:
        keep = []
        for i, number in enumerate(numbers):
            hit = known.get(number)
            if hit is None:
                keep.append(i)
                continue
            row = chunk.copy.row(i) if chunk.copy is not None else chunk.rows[i]
            reason = _why_not_new(row, hit, batch_id)
            if reason is None:
                present += 1
                if row[_OLD_NUMBERS]:
                    old_numbers += [(number, hit[-1]) for number in row[_OLD_NUMBERS].split(" ")]
            else:
                refused.append((row[0], reason, file_values(row[1:])))
    writer.add_old_numbers(old_numbers)
    keep = _no_second_head(writer, chunk, keep, refused)
    return _write_new(writer, chunk, keep, batch_id), present, refused


def _no_second_head(writer: BulkWriter, chunk: _Chunk, keep: list[int] | None,
                    refused: list[tuple[int, str, dict[str, str]]]) -> list[int] | None:
    """The rows of ``keep`` (None: all) but those naming themselves head of a household the registry
    holds with a head already (another person: the row is new), which go to ``refused``. A file
    gives a household one head (:func:`_one_head_each`); this holds it to the registry's too."""
    rows = range(len(chunk.copy) if chunk.copy is not None else len(chunk.rows)) if keep is None else keep
    if chunk.copy is not None:
        copy = chunk.copy
        heads = {i: copy.households[i] for i in rows if copy.heads[i] and copy.households[i] is not None}
    else:
        heads = {i: chunk.rows[i][_HOUSEHOLD] for i in rows
                 if chunk.rows[i][_RELATIONSHIP] == "head" and chunk.rows[i][_HOUSEHOLD] is not None}
    headed = writer.headed(sorted({h for h in heads.values() if h is not None}))
    if not headed:
        return keep
    second = {i for i, household in heads.items() if household in headed}
    for i in sorted(second):
        row = chunk.copy.row(i) if chunk.copy is not None else chunk.rows[i]
        refused.append((row[0], f"relationship_to_head: household {row[_HOUSEHOLD]} already has a head in the "
                                "registry; record the change of head there first", file_values(row[1:])))
    return [i for i in rows if i not in second]


def _write_new(writer: BulkWriter, chunk: _Chunk, keep: list[int] | None, batch_id: int) -> int:
    """Write the rows ``keep`` of the chunk (None: all), with their households; returns how many."""
    if chunk.copy is not None:
        rows = chunk.copy
        chosen: Sequence[int] = range(len(rows)) if keep is None else keep
        if chosen:
            households = writer.households({rows.households[i]: rows.communes[i]  # type: ignore[misc]  # Nones filtered out
                                            for i in chosen if rows.households[i] is not None})
            writer.write_copy(rows, keep, writer.reserve_ids(len(chosen)), households, batch_id)
        return len(chosen)
    fresh = chunk.rows if keep is None else [chunk.rows[i] for i in keep]
    if fresh:
        households = writer.households({row[_HOUSEHOLD]: row[_PERMANENT] for row in fresh
                                        if row[_HOUSEHOLD] is not None})
        ids = writer.reserve_ids(len(fresh))
        writer.write(fresh, ids, households, batch_id)  # type: ignore[arg-type]  # SQLite reserves a range
    return len(fresh)


def _why_not_new(row: tuple[Any, ...], hit: tuple[Any, ...], batch_id: int) -> str | None:
    """None if the row is already in the registry (this file's earlier run, or the same person)."""
    line = row[0]
    _, retired_at, c_batch, c_line, *holder, _ = hit
    if retired_at is not None:
        return "citizen_id: this number was retired and replaced by a newer one; use the person's current number"
    if c_batch == batch_id:
        return None if c_line == line else f"citizen_id: the same ID number as line {c_line} of this file"
    if tuple(holder) == (row[_NAME_FOLDED], *row[_BIRTH:_BIRTH + 3], row[_SEX]):
        return None
    return "citizen_id: the registry already holds this number for a person with another name, date of birth or sex"


_HOUSEHOLD, _PERMANENT = ROW_AT["household_number"], ROW_AT["permanent_commune_code"]
_RELATIONSHIP = ROW_AT["relationship_to_head"]
_NAME_FOLDED, _BIRTH, _SEX = ROW_AT["name_folded"], ROW_AT["birth_year"], ROW_AT["sex"]
_OLD_NUMBERS = ROW_AT["old_id_numbers"]


# -- reading and checking --------------------------------------------------------------------

def _checked_chunks(path: Path, fmt: str, communes: frozenset[str], today: date, size: int,
                    copy: bool = False) -> Iterator[_Chunk]:
    """The file as checked chunks of at most ``size`` rows; a number twice in one chunk is caught here
    (across chunks, by the database). ``copy``: accepted rows as ``COPY`` text (:mod:`copytext`).

    Rows of a plain block (:class:`reader.Block`) go through :meth:`RowChecker.plain`, and through
    :meth:`RowChecker.check` only if it refuses them (for the reasons) or repeats a number.
    """
    checker = RowChecker(communes, today)
    quick_checks: dict[tuple[str, ...], Callable[[list[str]], tuple[Any, ...] | None]] = {}
    heads: dict[str, int] = {}  # household -> the line of its head, over the whole file
    for block in reader.read_blocks(path, fmt, size):
        chunk = _Chunk(read=len(block.items))
        seen: dict[str, int] = {}
        if block.plain:
            header = block.header
            if header not in quick_checks:
                quick_checks[header] = checker.plain(header)
            quick = quick_checks[header]
            for line, values in cast("list[tuple[int, list[str]]]", block.items):
                checked = quick(values)
                if checked is None or checked[0] in seen:
                    _check_row(checker, chunk, seen, line, dict(zip(header, values, strict=True)))
                else:
                    seen[checked[0]] = line
                    chunk.rows.append((line, *checked))
        else:
            for raw in cast("list[reader.RawRow]", block.items):
                if raw.error:
                    chunk.rejects.append((raw.line, raw.error, raw.values))
                else:
                    _check_row(checker, chunk, seen, raw.line, raw.values)
        _one_head_each(chunk, heads)
        if copy:
            chunk.copy, chunk.rows = to_copy(chunk.rows), []
        yield chunk


def _one_head_each(chunk: _Chunk, heads: dict[str, int]) -> None:
    """A household has one head: a later row of the file naming itself head of the same household
    is refused (``heads``: household -> line of its head, so far)."""
    refused = set()
    for i, row in enumerate(chunk.rows):
        if row[_RELATIONSHIP] == "head" and row[_HOUSEHOLD] is not None:
            first = heads.setdefault(row[_HOUSEHOLD], row[0])
            if first != row[0]:
                refused.add(i)
                chunk.rejects.append((row[0], f"relationship_to_head: household {row[_HOUSEHOLD]} already has "
                                              f"its head on line {first} of this file", file_values(row[1:])))
    if refused:
        chunk.rows = [row for i, row in enumerate(chunk.rows) if i not in refused]


def _check_row(checker: RowChecker, chunk: _Chunk, seen: dict[str, int], line: int, values: dict[str, str]) -> None:
    """Check one row into ``chunk``: accepted, or rejected with its reasons (``seen``: the chunk's numbers)."""
    try:
        checked = checker.check(values)
    except RowRejected as exc:
        chunk.rejects.append((line, str(exc), values))
        return
    number = cast(str, checked[0])
    if number in seen:
        chunk.rejects.append((line, f"citizen_id: the same ID number as line {seen[number]} of this file", values))
        return
    seen[number] = line
    chunk.rows.append((line, *checked))


def _produce(path: Path, fmt: str, communes: frozenset[str], today: date, size: int, copy: bool,
             out: multiprocessing.Queue[Any]) -> None:
    """Body of the reading process: checked chunks into ``out``, then None (or an error text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's to handle
    # The rows are tuples and dicts of strings, never in a cycle: the cyclic collector would only
    # scan them again and again (a sixth of this process's time, measured).
    gc.disable()
    parent = multiprocessing.parent_process()

    def put(item: Any) -> None:
        while True:
            try:
                out.put(item, timeout=1)
                return
            except queue.Full:
                if parent is None or not parent.is_alive():
                    # The importer died (kill -9): leave at once, without flushing the queue's pipe,
                    # which nobody reads any more.
                    os._exit(1)

    try:
        for chunk in _checked_chunks(path, fmt, communes, today, size, copy):
            put(chunk)
    except Exception as exc:  # reported by the importer as its own error
        put(f"{type(exc).__name__}: {exc}")
        return
    put(None)


def _chunks_from_process(path: Path, fmt: str, communes: frozenset[str], today: date,
                         size: int, copy: bool = False) -> Iterator[_Chunk]:
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[Any] = context.Queue(maxsize=2)
    process = context.Process(target=_produce, args=(path, fmt, communes, today, size, copy, out), daemon=True,
                              name="idsvc-import-reader")
    process.start()
    try:
        while True:
            try:
                item = out.get(timeout=5)
            except queue.Empty:
                if not process.is_alive():
                    raise reader.UnreadableFile("the process reading the file stopped unexpectedly; "
                                                "nothing after the last imported chunk was written") from None
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise reader.UnreadableFile(f"reading the file failed: {item}")
            yield item
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)
        out.close()


# -- the batch -------------------------------------------------------------------------------

def _open_batch(conn: Connection, facts: reader.FileFacts, path: Path, actor: str) -> tuple[int, bool]:
    """The batch of this file (by hash): created on the first run, found again on a re-run.
    Runs in the caller's transaction."""
    table = ImportBatch.__table__
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
