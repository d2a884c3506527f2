"""Writing checked chunks of people into the registry, set-based, on PostgreSQL or SQLite.

One chunk = one transaction, a handful of statements whatever its size: look up which numbers
the registry already knows, add missing households, reserve citizen ids, then write citizens,
numbers, old identity-card numbers and relatives with ``COPY`` (PostgreSQL) or one ``executemany``
each (SQLite), and set household heads. No statement per person is sent from Python on PostgreSQL; on SQLite the driver
steps per row in C, with no round trip.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import CheckConstraint
from sqlalchemy import Connection
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Index
from sqlalchemy import UniqueConstraint
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import AddConstraint
from sqlalchemy.schema import CreateIndex
from sqlalchemy.schema import DropConstraint
from sqlalchemy.schema import DropIndex

from idsvc.db import Base
from idsvc.db import UTCDateTime
from idsvc.registry.imports.copytext import CITIZEN_COLUMNS
from idsvc.registry.imports.copytext import CITIZEN_WRITE_COLUMNS
from idsvc.registry.imports.copytext import RELATIVE_KINDS
from idsvc.registry.imports.copytext import CopyRows
from idsvc.registry.imports.rows import ROW_AT
from idsvc.registry.models import Citizen

#: PostgreSQL advisory lock held while an import runs (one import at a time; any constant).
IMPORT_LOCK = 0x1D5C_0001

#: Where each relative's id (and after it, the name) sits in an importer row.
_RELATIVE_AT = [(kind, ROW_AT[f"{kind}_id"]) for kind in RELATIVE_KINDS]

#: Where a row's old identity-card numbers (space-separated, or None) sit in an importer row.
_OLD_NUMBERS = ROW_AT["old_id_numbers"]

#: (number, retired_at, import_batch_id, import_line, name_folded, birth_year, birth_month, birth_day, sex,
#: citizen id)
Known = tuple[str, Any, int | None, int | None, str, int, int | None, int | None, str, int]
_KNOWN_SELECT = ("SELECT n.number, n.retired_at, c.import_batch_id, c.import_line, c.name_folded, c.birth_year, "
                 "c.birth_month, c.birth_day, c.sex, c.id FROM citizen_number n JOIN citizen c ON c.id = n.citizen_id ")


#: The tables an initial load fills; their secondary indexes and foreign keys are deferred.
BULK_TABLES = ("citizen", "citizen_number", "citizen_relative", "citizen_old_number", "household")


def _deferred() -> tuple[list[Index], list[ForeignKeyConstraint]]:
    """Non-unique indexes and foreign keys of :data:`BULK_TABLES`, from the models (= the migrations).

    Primary keys and the other unique constraints stay: they are what makes numbers and households
    unique during the load (see :func:`_unique_number` for the one PostgreSQL also defers).
    """
    tables = [Base.metadata.tables[name] for name in BULK_TABLES]
    indexes = [ix for t in tables for ix in sorted(t.indexes, key=lambda i: str(i.name)) if not ix.unique]
    keys = [fk for t in tables for fk in sorted(t.foreign_key_constraints, key=lambda k: str(k.name))]
    return indexes, keys


def _built_on(ix: Index, dialect: str) -> bool:
    """Whether the index exists on this engine: one the models keep for another engine only
    (``.ddl_if(dialect=...)``, PostgreSQL's trigram index) is neither dropped nor built here."""
    condition = ix._ddl_if  # the DDL element's own condition, which executing CreateIndex ignores
    return condition is None or condition.dialect in (None, dialect)


def _unique_number() -> UniqueConstraint:
    """The unique constraint on ``citizen.id_number``, from the models. An initial load on PostgreSQL
    builds it at the end: ``citizen_number``'s primary key keeps the numbers unique meanwhile."""
    return next(c for c in Base.metadata.tables["citizen"].constraints
                if isinstance(c, UniqueConstraint) and [col.name for col in c.columns] == ["id_number"])


def _checks(table: str) -> list[CheckConstraint]:
    """The CHECK constraints of a table, from the models (= the migrations)."""
    constraints = Base.metadata.tables[table].constraints
    return sorted((c for c in constraints if isinstance(c, CheckConstraint)), key=lambda c: str(c.name))


class BulkWriter:
    """The statements of one chunk on the connection ``conn`` (the caller owns the transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self.driver: Any = conn.connection.driver_connection
        stamp = UTCDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
        self._stamp = stamp or (lambda value: value)
        #: Citizen ids are reserved as one block (initial load on PostgreSQL: tables locked).
        self._block_ids = False
        #: SQLite: the open lock file while this writer holds the import lock.
        self._lock_fd: int | None = None

    # -- session -----------------------------------------------------------------------------

    def lock(self) -> bool:
        """Take the import lock; False if another import holds it.

        PostgreSQL: a session advisory lock. SQLite: an exclusive ``flock`` on a file next to the
        database (``<database>.import-lock``; SQLite only serialises each chunk's transaction, so two
        imports would otherwise interleave). Either is released by the operating system or server
        when the holder dies, even by ``kill -9``: no stale lock to clear by hand.
        """
        if self.pg:
            taken = bool(self.conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({IMPORT_LOCK})").scalar())
            self.conn.commit()
            return taken
        database = self.conn.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return True  # a database of this process only
        fd = os.open(f"{database}.import-lock", os.O_RDWR | os.O_CREAT, 0o600)  # not inherited (PEP 446)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def unlock(self) -> None:
        if self.pg:
            self.conn.exec_driver_sql(f"SELECT pg_advisory_unlock({IMPORT_LOCK})")
            self.conn.commit()
        elif self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the only descriptor releases the flock
            self._lock_fd = None

    def tune(self, *, initial_load: bool = False) -> None:
        """SQLite, this connection only: a 128 MB page cache for random-order index inserts (64 MB
        for an initial load, whose index builds sort in memory of the same size: the import stays
        under 300 MB), and checkpoints every 400 MB of WAL instead of every 4 MB, so hot index pages
        are copied back to the database file once instead of once per chunk.

        An initial load also turns SQLite's enforcement of foreign keys and CHECK constraints off for
        its one transaction (the foreign-key pragma cannot change inside a transaction); together they
        cost about a third of each citizen insert. :meth:`restore_constraints` checks every row of the
        loaded tables in bulk before the commit instead, as PostgreSQL validates its rebuilt keys.
        """
        if not self.pg:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {-65536 if initial_load else -131072}")
            self.conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 100000")
            self.conn.commit()
            if initial_load:
                self.driver.execute("PRAGMA foreign_keys = OFF")  # outside any transaction, or it is ignored
                self.driver.execute("PRAGMA ignore_check_constraints = ON")

    def untune(self) -> None:
        if not self.pg:
            self.driver.execute("PRAGMA foreign_keys = ON")
            self.driver.execute("PRAGMA ignore_check_constraints = OFF")
            self.conn.exec_driver_sql("PRAGMA cache_size = -2000")
            self.conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 1000")
            self.conn.commit()

    # -- initial load: one transaction, constraints built in bulk at the end ------------------

    def registry_is_empty(self) -> bool:
        return not self.conn.execute(select(func.count()).select_from(Citizen)).scalar()

    def defer_constraints(self) -> None:
        """Drop the secondary indexes (and, on PostgreSQL, the foreign keys and the unique constraint
        on ``citizen.id_number``) inside the caller's transaction; :meth:`restore_constraints` builds
        them again in bulk before it commits.

        PostgreSQL's manual recommends this for bulk loads ("Populating a Database"). Numbers stay
        unique during the load through ``citizen_number``'s primary key, which every chunk is checked
        against; the rebuilt unique constraint proves it again over all rows. SQLite cannot drop
        constraints declared in its tables: its foreign keys are checked in bulk instead (:meth:`tune`).
        """
        indexes, keys = _deferred()
        if self.pg:
            self.conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")  # index builds sort in memory
            for fk in keys:
                self.conn.execute(DropConstraint(fk, if_exists=True))
            self.conn.execute(DropConstraint(_unique_number()))
        for ix in indexes:
            if _built_on(ix, self.conn.dialect.name):
                self.conn.execute(DropIndex(ix, if_exists=True))
        self._block_ids = self.pg  # the tables are locked: nobody else draws citizen ids meanwhile

    def restore_constraints(self) -> None:
        """Build the indexes and unique constraint, and add and validate the foreign keys over the
        loaded rows (SQLite: check them).

        :raises IntegrityError: a loaded row breaks one (the caller's transaction is then rolled back).
        """
        indexes, keys = _deferred()
        self._block_ids = False
        if self.pg:
            self.conn.execute(AddConstraint(_unique_number()))
        for ix in indexes:
            if _built_on(ix, self.conn.dialect.name):
                self.conn.execute(CreateIndex(ix, if_not_exists=True))
        if self.pg:
            for fk in keys:
                self.conn.execute(AddConstraint(fk))
            return
        for table in BULK_TABLES:
            broken = self.conn.exec_driver_sql(f"PRAGMA foreign_key_check({table})").first()
            if broken is not None:
                raise IntegrityError(f"PRAGMA foreign_key_check({table})", None,
                                     Exception(f"a row of {broken[0]} refers to a missing row of {broken[2]}"))
            checks = _checks(table)
            # A CHECK holds unless its expression is false (NULL passes), hence NOT (...); one scan
            # for all of a table's checks, and only if a row breaks one, which one.
            breaks = [f"NOT ({check.sqltext})" for check in checks]
            if checks and self.conn.exec_driver_sql(
                    f"SELECT 1 FROM {table} WHERE {' OR '.join(breaks)} LIMIT 1").first() is not None:  # noqa: S608
                name = next(c.name for c, sql in zip(checks, breaks, strict=True)
                            if self.conn.exec_driver_sql(f"SELECT 1 FROM {table} WHERE {sql} LIMIT 1").first())  # noqa: S608
                raise IntegrityError(f"CHECK {name}", None, Exception(f"a row of {table} breaks the check {name}"))

    # -- one chunk ---------------------------------------------------------------------------

    def attempt(self, write: Callable[[], object]) -> bool:
        """Run ``write`` in a savepoint; False, with nothing of it kept, if it broke a unique constraint."""
        cur = self.driver.cursor()
        cur.execute("SAVEPOINT chunk")
        try:
            write()
        except (psycopg.errors.UniqueViolation, sqlite3.IntegrityError) as exc:
            if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" not in str(exc):
                raise
            cur.execute("ROLLBACK TO SAVEPOINT chunk")
            cur.execute("RELEASE SAVEPOINT chunk")
            return False
        cur.execute("RELEASE SAVEPOINT chunk")
        return True

    def known(self, numbers: Sequence[str]) -> list[Known]:
        """The chunk's numbers the registry has ever issued or imported, with their holder."""
        cur = self.driver.cursor()
        if self.pg:
            cur.execute(_KNOWN_SELECT + "WHERE n.number = ANY(%s)", (list(numbers),))
        else:
            cur.execute(_KNOWN_SELECT + "WHERE n.number IN (SELECT value FROM json_each(?))", (json.dumps(numbers),))  # noqa: S608
        return cur.fetchall()

    def households(self, communes_by_number: dict[str, str | None]) -> dict[str, int]:
        """Ids of the chunk's households, adding the ones the registry does not have yet."""
        if not communes_by_number:
            return {}
        cur = self.driver.cursor()
        numbers = list(communes_by_number)
        now = self._stamp(datetime.now(UTC))
        if self.pg:
            cur.execute("INSERT INTO household (number, commune_code, created_at) "
                        "SELECT n, c, %s FROM unnest(%s::text[], %s::text[]) AS u(n, c) "
                        "ON CONFLICT (number) DO NOTHING RETURNING number, id",
                        (now, numbers, list(communes_by_number.values())))
            found = dict(cur.fetchall())
            if len(found) < len(numbers):  # those the registry had already: looked up
                cur.execute("SELECT number, id FROM household WHERE number = ANY(%s)",
                            ([n for n in numbers if n not in found],))
                found.update(cur.fetchall())
            return found
        cur.executemany("INSERT OR IGNORE INTO household (number, commune_code, created_at) VALUES (?, ?, ?)",
                        [(n, c, now) for n, c in communes_by_number.items()])
        cur.execute("SELECT number, id FROM household WHERE number IN (SELECT value FROM json_each(?))",
                    (json.dumps(numbers),))
        return dict(cur.fetchall())

    def headed(self, numbers: Sequence[str]) -> set[str]:
        """Of these household numbers, those of households the registry holds with a head."""
        if not numbers:
            return set()
        cur = self.driver.cursor()
        if self.pg:
            cur.execute("SELECT number FROM household WHERE number = ANY(%s) AND head_id IS NOT NULL", (list(numbers),))
        else:
            cur.execute("SELECT number FROM household WHERE number IN (SELECT value FROM json_each(?)) "
                        "AND head_id IS NOT NULL", (json.dumps(list(numbers)),))
        return {row[0] for row in cur.fetchall()}

    def reserve_ids(self, count: int) -> Sequence[int]:
        """``count`` fresh citizen ids: from the sequence, or after the largest id under SQLite's write lock.

        During an initial load on PostgreSQL the citizen table is locked, so the block is taken in one
        move of the sequence instead of ``count`` draws.
        """
        cur = self.driver.cursor()
        if self._block_ids:
            cur.execute("SELECT setval(s, nextval(s) + %s - 1) FROM pg_get_serial_sequence('citizen', 'id') AS s",
                        (count,))
            last = cur.fetchone()[0]
            return range(last - count + 1, last + 1)
        if self.pg:
            cur.execute("SELECT nextval(pg_get_serial_sequence('citizen', 'id')) FROM generate_series(1, %s)",
                        (count,))
            return [row[0] for row in cur.fetchall()]
        cur.execute("SELECT coalesce(max(id), 0) FROM citizen")
        first = cur.fetchone()[0] + 1
        return range(first, first + count)

    def write(self, rows: Sequence[tuple[Any, ...]], ids: range, household_ids: dict[str, int],
              batch_id: int) -> None:
        """SQLite: citizens (``rows`` = (line, *checked)), their numbers, relatives, and household heads.

        ``ids`` is the block :meth:`reserve_ids` gives on SQLite, so the numbers are copied from the
        citizens just written in one statement. (PostgreSQL takes :meth:`write_copy`.)
        """
        now = self._stamp(datetime.now(UTC))
        hh, rel = ROW_AT["household_number"], ROW_AT["relationship_to_head"]
        end = len(CITIZEN_COLUMNS) + 1
        self._insert_many("citizen", CITIZEN_WRITE_COLUMNS, (
            (*row[1:end], row[0], household_ids.get(row[hh]), cid, batch_id, 1, now, now)
            for cid, row in zip(ids, rows, strict=True)))
        self.driver.execute("INSERT INTO citizen_number (number, citizen_id, issued_at) "
                            "SELECT id_number, id, created_at FROM citizen WHERE id BETWEEN ? AND ?",
                            (ids.start, ids.stop - 1))
        self._insert_many("citizen_relative", ("citizen_id", "kind", "id_number", "full_name"), (
            (cid, kind, row[at], row[at + 1])
            for cid, row in zip(ids, rows, strict=True) for kind, at in _RELATIVE_AT
            if row[at] is not None or row[at + 1] is not None))
        self._insert_many("citizen_old_number", ("number", "citizen_id"), (
            (number, cid) for cid, row in zip(ids, rows, strict=True) if row[_OLD_NUMBERS]
            for number in row[_OLD_NUMBERS].split(" ")))
        self._set_heads([(cid, household_ids[row[hh]]) for cid, row in zip(ids, rows, strict=True)
                         if row[rel] == "head" and row[hh] is not None])

    def write_copy(self, rows: CopyRows, keep: Sequence[int] | None, ids: Sequence[int],
                   household_ids: dict[str, int], batch_id: int) -> None:
        """PostgreSQL: what :meth:`write` does, streaming the ``COPY`` text the reading process made
        (:mod:`copytext`); ``keep``: the rows to write (None: all), ``ids`` their citizen ids in that order.

        (SQLite takes :meth:`write`: it binds Python values about twice as fast as it could convert
        text with ``NULLIF`` and column affinity, measured.)
        """
        chosen = range(len(rows)) if keep is None else keep
        hid = {number: b"%d" % i for number, i in household_ids.items()}
        households = [rows.households[i] for i in chosen]
        now = datetime.now(UTC).isoformat(sep=" ").encode()
        tail = b"\t%d\t1\t%b\t%b\n" % (batch_id, now, now)
        cur = self.driver.cursor()
        with cur.copy(f"COPY citizen ({', '.join(CITIZEN_WRITE_COLUMNS)}) FROM STDIN") as copy:
            copy.write(b"".join([b"%b%b\t%d%b" % (rows.citizens[i], b"\\N" if hh is None else hid[hh], cid, tail)
                                 for cid, hh, i in zip(ids, households, chosen, strict=True)]))
        with cur.copy("COPY citizen_number (number, citizen_id, issued_at) FROM STDIN") as copy:
            copy.write(b"".join([b"%b\t%d\t%b\n" % (rows.numbers[i].encode(), cid, now)
                                 for cid, i in zip(ids, chosen, strict=True)]))
        with cur.copy("COPY citizen_relative (citizen_id, kind, id_number, full_name) FROM STDIN") as copy:
            for pieces in rows.relatives:
                copy.write(b"".join([b"%d\t%b" % (cid, pieces[i])  # type: ignore[str-format]  # None: filtered out
                                     for cid, i in zip(ids, chosen, strict=True)
                                     if pieces[i] is not None]))
        with cur.copy("COPY citizen_old_number (number, citizen_id) FROM STDIN") as copy:
            copy.write(b"".join([b"%b\t%d\n" % (number.encode(), cid)
                                 for cid, i in zip(ids, chosen, strict=True) if rows.old_numbers[i]
                                 for number in rows.old_numbers[i].split(" ")]))  # type: ignore[union-attr]  # None: filtered out
        self._set_heads([(cid, household_ids[hh]) for cid, hh, i in zip(ids, households, chosen, strict=True)
                         if hh is not None and rows.heads[i]])

    def add_old_numbers(self, held: Iterable[tuple[str, int]]) -> int:
        """Record old identity-card numbers (number, citizen id) of people already in the registry,
        each pair once: the ones the registry holds already are left as they are. Returns how many
        were added."""
        pairs = sorted(set(held))
        if not pairs:
            return 0
        cur = self.driver.cursor()
        if self.pg:
            cur.execute("INSERT INTO citizen_old_number (number, citizen_id) "
                        "SELECT u.n, u.c FROM unnest(%s::text[], %s::bigint[]) AS u(n, c) WHERE NOT EXISTS "
                        "(SELECT 1 FROM citizen_old_number o WHERE o.number = u.n AND o.citizen_id = u.c)",
                        ([n for n, _ in pairs], [c for _, c in pairs]))
            return int(cur.rowcount)
        before = self.driver.total_changes
        cur.executemany("INSERT INTO citizen_old_number (number, citizen_id) SELECT ?1, ?2 WHERE NOT EXISTS "
                        "(SELECT 1 FROM citizen_old_number WHERE number = ?1 AND citizen_id = ?2)", pairs)
        return int(self.driver.total_changes - before)

    def _set_heads(self, heads: list[tuple[int, int]]) -> None:
        """The chunk's household heads, where the household has none yet."""
        if heads and self.pg:
            self.driver.cursor().execute(
                "UPDATE household h SET head_id = u.c FROM unnest(%s::bigint[], %s::bigint[]) AS u(c, h) "
                "WHERE h.id = u.h AND h.head_id IS NULL", ([c for c, _ in heads], [h for _, h in heads]))
        elif heads:
            self.driver.cursor().executemany("UPDATE household SET head_id = ? WHERE id = ? AND head_id IS NULL",
                                             heads)

    def _insert_many(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        self.driver.cursor().executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)  # noqa: S608  (constants)
