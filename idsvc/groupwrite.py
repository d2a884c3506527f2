"""Group commit for the rows of requests that write nothing else: many requests, one transaction.

A client_credentials token writes two rows (the token, its audit event) and changes nothing
else. Written alone, each costs a transaction of its own: two or three
round trips and a WAL flush, several times the CPU of the rest of the request. Here the request
thread hands its rows to one writer thread per process and waits until they are committed; the
writer takes whatever has queued meanwhile and commits it all in one transaction, with one
multi-row INSERT per table. The answer still leaves only after its rows are durable, exactly as
with a transaction of its own; under load the cost of a commit is shared by every request in it.

This is PostgreSQL's own group commit, one level up. With gunicorn's sync worker (one request
at a time) a group is one request; the gain comes with threaded servers (gunicorn gthread).

Only a view that declares ``group_commit`` hands its rows here, and only before it has begun a
transaction (:func:`idsvc.unit_of_work.write_rows`); once it has, they go into that transaction: on
SQLite the open transaction holds the write lock, and on both engines a change and its audit
event must commit together. A spent client assertion comes here too, to commit apart from its
request (:func:`idsvc.unit_of_work.write_apart`).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import Table
from sqlalchemy import insert

log = logging.getLogger(__name__)

Rows = Sequence[tuple[Table, dict[str, Any]]]


class GroupWriteFailed(RuntimeError):
    """The rows were not written (the database refused them or did not answer in time)."""


@dataclass
class _Pending:
    rows: Rows
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupWriter:
    """One writer thread per process, started on first use (so after gunicorn forks)."""

    def __init__(self, engine: Engine, *, max_batch: int = 500, timeout: float = 10.0) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.timeout = timeout
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._thread: threading.Thread | None = None

    def write(self, rows: Rows) -> None:
        """Commit ``rows`` (in a transaction shared with other requests' rows); block until durable.

        :raises GroupWriteFailed: they were not written; nothing of them is in the database.
        """
        self._start()
        pending = _Pending(rows)
        self._queue.put(pending)
        if not pending.done.wait(self.timeout):
            # The writer may still commit them later; the caller answers with an error anyway,
            # which leaves at worst a token nobody received and its audit event.
            raise GroupWriteFailed(f"the database did not commit within {self.timeout:g} s")
        if pending.error is not None:
            raise GroupWriteFailed("the database refused the rows") from pending.error

    def _start(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid():  # first use in this process, or in a forked child
                self._queue = queue.SimpleQueue()
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="idsvc-group-writer", daemon=True)
                self._thread.start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(batch)
            except Exception:  # a bad row must not fail the others: each alone
                for pending in batch:
                    try:
                        self._commit([pending])
                    except Exception as exc:  # handed to the waiting request (values never logged)
                        log.warning("group write failed: %s", type(exc).__name__)
                        pending.error = exc
            except BaseException as exc:  # the thread is going down: nobody may think they are written
                for pending in batch:
                    pending.error = exc
                self._thread = None  # the next write starts another
                raise
            finally:
                for pending in batch:
                    pending.done.set()

    def _commit(self, batch: list[_Pending]) -> None:
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for pending in batch:
            for table, row in pending.rows:
                by_table.setdefault(table, []).append(row)
        with self.engine.begin() as conn:
            for table, rows in by_table.items():
                conn.execute(insert_statement(table), rows).all()


_INSERTS: dict[Table, Any] = {}


def insert_statement(table: Table) -> Any:
    """The table's INSERT, built once (its cache key is then free on every call). With RETURNING,
    SQLAlchemy sends a list of rows as one multi-row statement ("insertmanyvalues"); without it,
    psycopg pipelines one INSERT per row, several times slower here."""
    if table not in _INSERTS:
        _INSERTS[table] = insert(table).returning(*table.primary_key.columns)
    return _INSERTS[table]
