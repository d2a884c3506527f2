"""The migrations are the schema: they go up, down and up again, and match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from idsvc import migrate
from idsvc import models  # noqa: F401
from idsvc.db import Base
from idsvc.db import make_engine


def test_upgrade_downgrade_upgrade_leaves_no_drift(scratch_database_url: str) -> None:
    engine = make_engine(scratch_database_url)
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": migrate.compared})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert {"citizen", "citizen_number", "household", "commune", "citizen_revision", "audit_event"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


def test_units_survive_as_reference_data(app_ctx) -> None:
    from idsvc.registry import service

    assert service.unit_counts() == (34, 3321)
    assert len(service.commune_codes()) == 3321


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
