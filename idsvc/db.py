"""Database plumbing: the typed declarative ``Base``, the engine and the sessions.

Services call ``flush()`` only. A web request commits as its view declared
(:mod:`idsvc.unit_of_work`, the transaction policy); a CLI command commits through
:func:`transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import ClassVar
from typing import cast

from flask import Flask
from flask import current_app
from flask import g
from sqlalchemy import BigInteger
from sqlalchemy import CursorResult
from sqlalchemy import DateTime
from sqlalchemy import Engine
from sqlalchemy import Executable
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import make_url
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from sqlalchemy.types import TypeDecorator

from idsvc.groupwrite import GroupWriter

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit surrogate keys on PostgreSQL; SQLite's INTEGER PRIMARY KEY is already 64-bit.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both engines (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    #: Each model maps one table (SQLAlchemy types ``__table__`` as any FromClause).
    __table__: ClassVar[Table]


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, enforced foreign keys and a busy timeout.

    Error messages never quote the statement's values (``hide_parameters``): they would carry ID
    numbers into logs. Only ``SQL_ECHO`` (development) shows them.
    """
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, hide_parameters=not echo)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, emit BEGIN so that savepoints and
            # transaction boundaries behave (SQLAlchemy SQLite dialect docs).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
            # instead of failing with "database is locked" on lock upgrade.
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":  # read_only views
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping (it costs a round trip on every request): a connection broken by a server
    # restart fails its one request, and SQLAlchemy then drops the whole stale pool at once.
    return create_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_recycle=1800, hide_parameters=not echo)


class Database:
    """Per-app engine and session factory, kept in ``app.extensions['idsvc.db']``."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.group_writer = GroupWriter(self.engine)
        # Sessions of read_only views (idsvc.unit_of_work): no transaction, so no BEGIN and COMMIT.
        self.read_sessionmaker = sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                              expire_on_commit=False)
        event.listen(self.read_sessionmaker, "before_flush", _refuse_flush)


def _refuse_flush(*_args: Any) -> None:
    raise RuntimeError("a read_only view changed a row: it must not (its writes would not be atomic)")


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["idsvc.db"]


def session() -> Session:
    """The session of the current app context (one per request or CLI command)."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


def changed(s: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in ``s``: the number of rows it changed (what a conditional claim
    or a counter needs to know whether it won)."""
    return cast(CursorResult[Any], s.execute(statement)).rowcount


def in_transaction() -> bool:
    """Whether this app context's session has begun a transaction (a read begins one too)."""
    s = g.get("db_session")
    return s is not None and s.in_transaction()


@contextmanager
def transaction() -> Iterator[Session]:
    """Commit on success, roll back on any exception; for CLI commands and jobs."""
    s = session()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def init_app(app: Flask) -> None:
    app.extensions["idsvc.db"] = Database(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"])
    app.teardown_appcontext(_close_session)
