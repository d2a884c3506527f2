"""Run the Alembic migrations of ``migrations/`` against an engine or connection."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy import Engine

from idsvc.config import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "migrations" / "alembic.ini"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ALEMBIC_INI.parent))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def compared(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object`` when models and database are compared: an index the models keep
    for one engine only (``.ddl_if(dialect=...)``: PostgreSQL's trigram index on an expression) is
    left out, on every engine. Alembic cannot reflect such an index on SQLite, and reads its
    expression back on PostgreSQL in the server's own spelling, so it would always differ; the
    tests check it by name (tests/registry/test_search.py)."""
    model = compare_to if reflected else obj
    return model is None or getattr(model, "_ddl_if", None) is None


def upgrade(bind: Engine | Connection, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` in one transaction."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    else:
        command.upgrade(alembic_config(bind), revision)


def downgrade(bind: Engine | Connection, revision: str) -> None:
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            command.downgrade(alembic_config(conn), revision)
    else:
        command.downgrade(alembic_config(bind), revision)


def current(bind: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with bind.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
