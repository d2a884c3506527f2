"""The transaction policy: each view declares its unit of work, and only this module carries it out.

Services flush and never commit, roll back or decide either; the request's declared policy
decides once, after the view (and its error handlers) made the answer. A view declares one of:

``@unit_of_work.read_only``
    Reads outside any transaction (AUTOCOMMIT: no BEGIN and COMMIT round trips) and writes
    nothing: a flush or an appended row fails loudly. Introspection and the probes.

``@unit_of_work.read_write``
    One transaction, committed when the answer is below 400 and rolled back otherwise: a change
    and its audit event commit together, or neither does.

    ``persist_on=(status, ...)``: refusals with these statuses commit too. They are the security
    writes that must stick although the answer is an error, and nothing else:

    - a failed try counted towards the lockout, the lockout itself and their audit events
      (login and second factor: 401; activation and password change: 400);
    - a spent authorization code (one try per code, RFC 9700 §2.1.1: a redemption refused after
      the code was claimed), the tokens revoked when a code is replayed, a refresh-token family
      revoked on reuse, and their audit events (token endpoint: 400).

    So a view that declares a status writes nothing else before it refuses with it (the refresh
    grant claims its token only once nothing can refuse the request any more). The one write it
    may make before is the touch of the login session's idle time, which then stands too.

``@unit_of_work.read_write(..., group_commit=True)`` — append-only, group-committed
    Rows a request appends (:func:`write_rows`) before it has begun a transaction go to the
    group writer (``idsvc.groupwrite``), committed with other requests' rows before the answer
    leaves. The token endpoint: a client_credentials token and its audit event, which read
    nothing in a transaction. Once the request has begun its transaction (the code and refresh
    grants), appended rows join it. Without ``group_commit``, appended rows always join the
    request's transaction.

Three writes stand apart from a view's unit of work, on purpose:

- a spent client assertion (``jti``), committed on its own through the group writer before the
  request begins its transaction (:func:`write_apart`), whatever the request then answers — a
  refused request must not make the assertion usable again;
- CLI commands and jobs, which commit through :func:`idsvc.db.transaction`;
- the registry import, which loads a file through its own connection, in transactions it owns
  (``idsvc.registry.imports.importer``).

A view that declares nothing (a test's) is ``read_write``; ``tests/test_unit_of_work.py`` checks
that every view of the application declares its policy.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask import g
from flask import has_request_context

from idsvc import db
from idsvc.groupwrite import Rows
from idsvc.groupwrite import insert_statement

READ_ONLY = "read-only"
READ_WRITE = "read-write"


@dataclass(frozen=True)
class Policy:
    """How one view's request meets the database (see the module's docstring)."""

    mode: str
    #: Statuses of refusals whose writes must stick (commit although the answer is 4xx).
    persist_on: frozenset[int] = frozenset()
    #: Rows appended before the request begins a transaction are group-committed.
    group_commit: bool = False

    def commits(self, status: int) -> bool:
        return status < 400 or status in self.persist_on


#: The policy of a view that declares none.
DEFAULT = Policy(READ_WRITE)


def _declare(policy: Policy, view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.unit_of_work = policy
        if policy.mode == READ_ONLY:
            g.db_session = db.get_db().read_sessionmaker()
        return view(*args, **kwargs)

    wrapper.unit_of_work = policy  # type: ignore[attr-defined]  # read by policy_of
    return wrapper


def read_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Declare a view that reads outside any transaction and writes nothing. Put it right under
    the route, so that it comes before anything else of the view touches the database."""
    return _declare(Policy(READ_ONLY), view)


def read_write(view: Callable[..., Any] | None = None, *, persist_on: Collection[int] = (),
               group_commit: bool = False) -> Any:
    """Declare a view with one transaction, committed below 400 and on the ``persist_on``
    statuses; with ``group_commit``, rows appended before that transaction begins are
    group-committed. Put it right under the route. Usable bare or with arguments.
    """
    statuses = frozenset(persist_on)
    if any(not 400 <= status < 500 for status in statuses):
        raise ValueError("persist_on names refusals: statuses from 400 to 499")
    policy = Policy(READ_WRITE, statuses, group_commit)
    if view is not None:
        return _declare(policy, view)
    return functools.partial(_declare, policy)


def policy_of(view: Callable[..., Any]) -> Policy | None:
    """The policy a view declared, or None."""
    return getattr(view, "unit_of_work", None)


def current() -> Policy:
    """The policy of the request being served (the default outside a declared view)."""
    return g.get("unit_of_work", DEFAULT) if has_request_context() else DEFAULT


def write_rows(rows: Rows) -> None:
    """Insert ``rows`` (table, values) in the current unit of work, durably before the answer.

    Outside a request, in the caller's transaction (a CLI command's). In a ``group_commit`` view
    that has not begun its transaction, through the group writer: this returns once they are
    committed. Otherwise in the request's transaction (a change and its audit event commit
    together). A ``read_only`` view writes nothing.

    :raises idsvc.groupwrite.GroupWriteFailed: the group writer did not commit them.
    """
    policy = current()
    if has_request_context():
        if policy.mode == READ_ONLY:
            raise RuntimeError("a read_only view appended rows: it must not (declare it read_write)")
        if policy.group_commit and not db.in_transaction():
            db.get_db().group_writer.write(rows)
            return
    session = db.session()
    # Consecutive rows of one table go as one executemany (a list check's audit events).
    for table, group in itertools.groupby(rows, key=lambda row: row[0]):
        session.execute(insert_statement(table), [values for _, values in group])


def write_apart(rows: Rows) -> None:
    """Commit ``rows`` in a transaction of their own, whatever the request then answers: a spent
    client assertion. Client authentication comes first at every endpoint, so the request has
    not begun its transaction yet (on SQLite that transaction would hold the write lock the group
    writer waits for).

    :raises idsvc.groupwrite.GroupWriteFailed: they were not committed (a duplicate key among them).
    """
    if db.in_transaction() and current().mode != READ_ONLY:
        raise RuntimeError("write_apart() after the request began its transaction: it would not stand apart")
    db.get_db().group_writer.write(rows)


def _end(response: Any) -> Any:
    """Commit or roll back the request's transaction as its view declared. An after-request hook:
    it sees the answer an exception was turned into (a failure is 500: rolled back), and it runs
    before the answer leaves, so what the answer reports is durable."""
    session = g.get("db_session")
    if session is not None and current().mode != READ_ONLY:
        if current().commits(response.status_code):
            session.commit()
        else:
            session.rollback()
    return response


def init_app(app: Flask) -> None:
    app.after_request(_end)
