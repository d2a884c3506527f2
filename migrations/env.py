"""Alembic environment: the same migrations for SQLite and PostgreSQL.

The database URL comes from, in order: a connection handed over by the caller
(``config.attributes["connection"]``, used by ``idsvc db`` and the tests), the ``-x url=...``
argument, then the app configuration (``IDSVC_DATABASE_URL`` or the SQLite default).
"""

from __future__ import annotations

import logging.config

from alembic import context
from sqlalchemy import Connection

from idsvc import models  # noqa: F401  (fills Base.metadata)
from idsvc.db import Base
from idsvc.db import make_engine
from idsvc.migrate import compared

config = context.config
if config.config_file_name and not config.attributes.get("connection"):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url

    from idsvc.config import PROJECT_ROOT
    from idsvc.config import load_config

    return load_config(PROJECT_ROOT / "instance")["DATABASE_URL"]


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=compared,
    )

def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()

if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported; run against a database")
run_migrations_online()
