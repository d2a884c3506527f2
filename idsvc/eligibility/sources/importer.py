"""Importing an attribute-source list: streaming, set-based, all or nothing, idempotent.

The file is read by the registry import's reader (:mod:`idsvc.registry.imports.reader`) in blocks,
with the kind's columns (:mod:`kinds`). Each block costs a constant number of queries: its ID
numbers are resolved to citizens in one look-up of ``citizen_number`` (retired numbers included:
a list drawn up before a number was re-issued still names the person), and its facts are written
in one multi-row insert. Rows that cannot become a fact go to a rejects file beside the input
(``line, reason`` and the row, as ``idsvc registry import`` writes it), and the others are loaded.

A list is loaded in the caller's transaction, whole or not at all: a half-loaded list in force
would tell the rules that everyone it has not reached yet is *not* on it. The file's SHA-256
identifies the list (:class:`SourceList`): the same file again adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.eligibility.sources.kinds import KINDS
from idsvc.eligibility.sources.kinds import FactRow
from idsvc.eligibility.sources.kinds import Kind
from idsvc.eligibility.sources.kinds import RowRefused
from idsvc.eligibility.sources.models import SourceFact
from idsvc.eligibility.sources.models import SourceList
from idsvc.eligibility.sources.models import SourceListCommune
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry import dates
from idsvc.registry import service as registry
from idsvc.registry.imports import reader
from idsvc.registry.imports.importer import ACTOR_MAX_LENGTH
from idsvc.registry.imports.importer import Rejects
from idsvc.registry.imports.importer import rejects_path_for
from idsvc.registry.models import CitizenNumber

#: Rows per block: one look-up of their numbers each (SQLite's limit on bound parameters).
BLOCK_SIZE = 500
#: Longest issuer (provenance) text kept.
ISSUER_MAX_LENGTH = 300

NO_CITIZEN = "citizen_id: no citizen has this number"


@dataclass
class SourceResult:
    """What importing a list did (for a list loaded before: what its first load did)."""

    list_id: int
    kind: str
    rows_read: int = 0
    imported: int = 0
    rejected: int = 0
    valid_on: date | None = None
    #: The same file was loaded before (at ``loaded_at``): nothing was added.
    already_loaded: bool = False
    loaded_at: datetime | None = None
    rejects_path: Path | None = None


class ImportStopped(Exception):
    """The import was stopped (Ctrl-C) before the end of the file; nothing of the list is kept."""


def kind_of(name: str) -> Kind:
    """:raises NotFound: no such kind of list."""
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound(f"No kind of list '{name}'; one of {', '.join(KINDS)}.")
    return kind


def import_list(kind_name: str, path: Path, *, actor: str, issuer: str = "", valid_on: date | None = None,
                fmt: str | None = None, rejects_path: Path | None = None, block_size: int = BLOCK_SIZE,
                progress: Callable[[int], None] | None = None, should_stop: Callable[[], bool] = lambda: False,
                facts: reader.FileFacts | None = None) -> SourceResult:
    """Load the list ``path`` of kind ``kind_name`` in the current transaction; flushes, never commits.

    :param valid_on: the date the list is as of, from which it is in force (disability and pension
        lists; default: today). A poverty list is dated by its ``year`` column: one year per list.
    :param progress: called with the number of rows read, block after block.
    :param should_stop: polled between blocks; True stops with :class:`ImportStopped`.
    :raises reader.UnreadableFile: the file cannot be read (nothing was loaded).
    :raises NotFound: an unknown kind. :raises ValidationFailed: a bad option.
    :raises ImportStopped: stopped; the caller rolls back.

    A file of which no row can be loaded is refused (:class:`ValidationFailed`, the rejects file
    written): a list in force says that whoever is not on it has no disability, no pension, or a
    household that is not poor, so an empty one is never kept.
    """
    kind = kind_of(kind_name)
    if not actor or len(actor) > ACTOR_MAX_LENGTH:
        raise ValidationFailed(f"the actor (who loads the list) is 1 to {ACTOR_MAX_LENGTH} characters")
    if len(issuer) > ISSUER_MAX_LENGTH:
        raise ValidationFailed(f"the issuer is at most {ISSUER_MAX_LENGTH} characters")
    if valid_on is not None and not kind.dated_by_caller:
        raise ValidationFailed(f"a {kind.name} list is dated by its year column, not by --valid-on")
    fmt = reader.detect_format(path, fmt)
    facts = facts or reader.inspect(path)
    s = db.session()
    earlier = s.scalar(select(SourceList).where(SourceList.file_sha256 == facts.sha256))
    if earlier is not None:
        return SourceResult(earlier.id, earlier.kind, earlier.rows_read, earlier.rows_imported,
                            earlier.rows_rejected, earlier.valid_on, already_loaded=True, loaded_at=earlier.loaded_at)
    header_check = reader.read_blocks(path, fmt, 1, layout=kind.layout)  # a bad header loads nothing
    next(header_check, None)
    header_check.close()
    rejects = Rejects(rejects_path_for(path, rejects_path), kind.layout.columns)

    source = SourceList(kind=kind.name, file_sha256=facts.sha256, file_name=path.name[:300], issuer=issuer,
                        valid_on=valid_on or dates.today(), loaded_by=actor)
    s.add(source)
    s.flush()
    communes = registry.commune_codes() if "commune_code" in kind.layout.known else frozenset()
    load = _Load(kind, source.id, rejects, communes)
    rejects.begin()
    try:
        for block in reader.read_blocks(path, fmt, block_size, layout=kind.layout):
            rows = list(block.raw_rows())
            load.block(rows)
            if progress:
                progress(len(rows))
            if should_stop():
                rejects.close()
                rejects.path.unlink(missing_ok=True)
                raise ImportStopped("Stopped before the end of the file: nothing of the list was loaded. "
                                    "Run the same command again.")
    finally:
        rejects.close()
    if not load.imported:
        # Kept, a list without a row would be in force and say that nobody is on it.
        where = f" (see {rejects.path})" if rejects.count else ""
        raise ValidationFailed(f"{path.name}: no row could be loaded, {rejects.count} rejected{where}; "
                               "the list is not kept")
    if load.year is not None:
        source.year, source.valid_on = load.year, date(load.year, 1, 1)
    if "commune_code" in kind.layout.known:  # the communes the list covers: those it names
        s.execute(insert(SourceListCommune).from_select(
            ["list_id", "commune_code"],
            select(SourceFact.list_id, SourceFact.commune_code).where(SourceFact.list_id == source.id).distinct()))
    source.rows_read, source.rows_imported, source.rows_rejected = load.read, load.imported, rejects.count
    s.flush()
    audit.record(AuditAction.ELIGIBILITY_SOURCE_IMPORT, actor=actor, subject_type="source_list",
                 subject_id=source.id, data={
                     "kind": kind.name, "file": path.name, "sha256": facts.sha256, "issuer": issuer,
                     "valid_on": source.valid_on.isoformat(), "read": load.read,
                     "imported": load.imported, "rejected": rejects.count})
    return SourceResult(source.id, kind.name, load.read, load.imported, rejects.count, source.valid_on,
                        loaded_at=source.loaded_at, rejects_path=rejects.path if rejects.count else None)


class _Load:
    """The loading of one list, block after block: what it has seen so far, and its counts."""

    def __init__(self, kind: Kind, list_id: int, rejects: Rejects, communes: frozenset[str]) -> None:
        self.kind, self.list_id, self.rejects = kind, list_id, rejects
        #: The 2025 communes (poverty lists name theirs).
        self.communes = communes
        #: Citizen id -> its first line in the list (kinds that hold a person once).
        self.seen: dict[int, int] = {}
        #: A list dated by its rows: the year of its first accepted row, which every row must share.
        self.year: int | None = None
        self.read = self.imported = 0

    def block(self, rows: list[reader.RawRow]) -> None:
        """Check, resolve and insert one block's rows: one look-up, one insert; refused rows go to
        the rejects file in line order."""
        self.read += len(rows)
        refused: list[tuple[int, str, dict[str, str]]] = []
        checked: list[tuple[reader.RawRow, FactRow]] = []
        for raw in rows:
            if raw.error:
                refused.append((raw.line, raw.error, raw.values))
                continue
            try:
                checked.append((raw, self.kind.check(raw.values)))
            except RowRefused as exc:
                refused.append((raw.line, str(exc), raw.values))
        holders = _citizens_of(row.number for _, row in checked)
        fresh: list[dict[str, Any]] = []
        for raw, row in checked:
            citizen = holders.get(row.number)
            reason = NO_CITIZEN if citizen is None else self._refusal(row, citizen)
            if reason is not None:
                refused.append((raw.line, reason, raw.values))
                continue
            assert citizen is not None  # refused otherwise
            if self.kind.once_per_person:
                self.seen[citizen] = raw.line
            if not self.kind.dated_by_caller and self.year is None:
                self.year = row.valid_from.year
            fresh.append({"list_id": self.list_id, "citizen_id": citizen, "value": row.value,
                          "valid_from": row.valid_from, "valid_to": row.valid_to, "commune_code": row.commune_code})
        if fresh:
            db.session().execute(insert(SourceFact), fresh)
        self.imported += len(fresh)
        for line, reason, values in sorted(refused, key=lambda r: r[0]):
            self.rejects.add(line, reason, values)

    def _refusal(self, row: FactRow, citizen: int) -> str | None:
        """Why a checked row of a known person cannot be loaded with the rows before it, or None."""
        if row.commune_code is not None and row.commune_code not in self.communes:
            return f"commune_code: {row.commune_code} is not a 2025 commune code"
        if self.year is not None and row.valid_from.year != self.year:
            return f"year: {row.valid_from.year}, but this list is for {self.year} (one year per list)"
        if citizen in self.seen:
            return f"citizen_id: the same person as line {self.seen[citizen]} of this list"
        return None


def _citizens_of(numbers: Iterable[str]) -> dict[str, int]:
    """Number -> citizen id, for every number ever issued (current or retired); one query per 500."""
    wanted = sorted(set(numbers))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), BLOCK_SIZE):
        found.update((number, citizen) for number, citizen in db.session().execute(
            select(CitizenNumber.number, CitizenNumber.citizen_id)
            .where(CitizenNumber.number.in_(wanted[start:start + BLOCK_SIZE]))))
    return found

