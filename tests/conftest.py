"""Test fixtures: every database test runs on SQLite, and on PostgreSQL too when
``IDSVC_TEST_DATABASE_URL`` is set (``make test`` and CI set it).

Databases are built by the real migrations, never ``create_all``:
- SQLite: a template file is migrated once per session and copied for each test.
- PostgreSQL: a template database is migrated once and cloned for each test
  (``CREATE DATABASE ... TEMPLATE``), so commits are real and tests cannot see each other.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

from idsvc import create_app
from idsvc import db
from idsvc import migrate
from idsvc.config import normalise_database_url

pytest_plugins = ["tests.factories"]

PG_URL = os.environ.get("IDSVC_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
#: One template per pytest process, so that parallel runs on one server do not collide.
PG_TEMPLATE = f"idsvc_test_template_{os.getpid()}"


def _pg_admin_engine():
    url = make_url(normalise_database_url(PG_URL or "")).set(database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_url(database: str) -> str:
    return make_url(normalise_database_url(PG_URL or "")).set(database=database).render_as_string(False)


def _migrate_and_load_units(url: str, keys_dir: Path) -> None:
    app = create_app({"DATABASE_URL": url, "KEYS_DIR": str(keys_dir), "TESTING": True})
    with app.app_context():
        migrate.upgrade(db.get_db().engine)
        from idsvc.registry import service

        with db.transaction():
            service.sync_units()
        db.get_db().engine.dispose()


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide key directory with freshly generated keys (never the repository's keys/)."""
    from idsvc.oidc.keys import KeyStore

    directory = tmp_path_factory.mktemp("keys")
    KeyStore(directory).ensure()
    return directory


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            keys_dir: Path) -> Iterator[str]:
    """Build the migrated template database of one engine; yields the engine's name."""
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
        _migrate_and_load_units(f"sqlite:///{template}", keys_dir)
        request.config.stash[_SQLITE_TEMPLATE] = template
        yield "sqlite"
        return
    try:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_TEMPLATE}"))
    except Exception as exc:  # the suite must fail, never skip, when PostgreSQL is asked for
        pytest.exit(f"IDSVC_TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {exc}", returncode=3)
    _migrate_and_load_units(_pg_url(PG_TEMPLATE), keys_dir)
    yield "postgresql"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
    admin.dispose()


_SQLITE_TEMPLATE = pytest.StashKey[Path]()


@pytest.fixture()
def scratch_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for this test, migrated, with units; commits are real."""
    if backend == "sqlite":
        copy = tmp_path / "scratch.sqlite3"
        shutil.copyfile(request.config.stash[_SQLITE_TEMPLATE], copy)
        yield f"sqlite:///{copy}"
        return
    name = f"idsvc_scratch_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}"))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture()
def app(backend: str, scratch_database_url: str, keys_dir: Path, tmp_path: Path):
    """The application on a database of its own (SQLite copy, or PostgreSQL clone)."""
    application = create_app({
        "TESTING": True,
        "DATABASE_URL": scratch_database_url,
        "KEYS_DIR": str(keys_dir),
        "IMPORT_CHUNK_SIZE": 50,
        # Cheap argon2 in tests only; production parameters are checked in test_passwords.
        "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 64, "parallelism": 1},
        "LOGIN_RATE_LIMIT": "1000 per minute",
    })
    yield application
    db.get_db(application).engine.dispose()


@pytest.fixture()
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis (database 15), where production keeps the per-source login counters.

    The full run (``IDSVC_TEST_DATABASE_URL`` set; ``.ci/run`` starts Redis) fails without it; a
    SQLite-only run skips the few tests that need it, saying why.
    """
    from limits.storage import storage_from_string

    url = "redis://127.0.0.1:6379/15"
    if storage_from_string(url, socket_connect_timeout=2, socket_timeout=2).check():
        return url
    message = "Redis is not answering on 127.0.0.1:6379 (Debian: `sudo apt-get install redis-server`)"
    if PG_URL:
        pytest.fail(message)
    pytest.skip(message)
