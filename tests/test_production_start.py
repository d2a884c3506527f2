"""Production mode as an operator meets it, with real processes: a first deployment from an empty key
directory and an empty PostgreSQL database, and refusals that are a message, never a traceback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

from idsvc.config import normalise_database_url
from tests.processes import free_port
from tests.processes import stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("IDSVC_TEST_DATABASE_URL")
#: A database URL for the refusals, which come before any connection.
NOWHERE_DB = "postgresql://idsvc@127.0.0.1:1/idsvc"


def production_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production process: fresh secrets, an https issuer, a key directory
    that does not exist yet, the local Redis for the login limit (the refusals come whether it
    answers or not)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSVC_")}
    env.update({
        "IDSVC_ENV": "production",
        "IDSVC_SECRET_KEY": secrets.token_urlsafe(48),
        "IDSVC_HASH_KEY": secrets.token_urlsafe(48),
        "IDSVC_PAIRWISE_KEY": secrets.token_urlsafe(48),
        "IDSVC_ISSUER": "https://id.example.test",
        "IDSVC_KEYS_DIR": str(tmp_path / "keys"),
        "IDSVC_DATABASE_URL": database_url,
        "IDSVC_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
    })
    env.update(extra)
    return env


def idsvc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "idsvc"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def gunicorn(env: dict[str, str], port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """gunicorn as the README serves it (two sync workers), started in the project directory."""
    with log.open("wb") as out:
        return subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", *extra, "wsgi:app"],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture()
def empty_database() -> Iterator[str]:
    """A PostgreSQL database of its own with nothing in it (production refuses SQLite)."""
    if not PG_URL:
        pytest.skip("production runs on PostgreSQL only: set IDSVC_TEST_DATABASE_URL")
    name = f"idsvc_first_deploy_{uuid.uuid4().hex[:10]}"
    url = make_url(normalise_database_url(PG_URL))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_a_first_production_deployment_starts_from_an_empty_key_directory(tmp_path, empty_database, redis_url) -> None:
    env = production_env(tmp_path, empty_database, IDSVC_RATELIMIT_STORAGE_URI=redis_url)
    assert not (tmp_path / "keys").exists()
    for args in (["db", "upgrade"], ["keys", "generate"], ["units", "sync"],
                 ["clients", "create", "--name", "Agency portal", "--redirect-uri", "https://agency.example.test/cb"],
                 ["registry", "import", str(ROOT / "fixtures" / "demo_citizens.csv"),
                  "--rejects", str(tmp_path / "rejects.csv")],
                 ["identity", "create-account", "001080012345"]):
        done = idsvc(env, *args)
        assert done.returncode == 0, f"`idsvc {' '.join(args)}` exited {done.returncode}:\n{done.stderr}"
    assert len(list((tmp_path / "keys").glob("*.pem"))) == 2

    port = free_port()
    log = tmp_path / "gunicorn.log"
    process = gunicorn(env, port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"gunicorn exited with {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no answer on /healthz within 60 s:\n{log.read_text()}"
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or no worker booted
                pass
            time.sleep(0.2)
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json() == {"status": "ready"}
        discovery = requests.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=5).json()
        assert discovery["issuer"] == "https://id.example.test"
        assert len(requests.get(discovery["jwks_uri"].replace("https://id.example.test", f"http://127.0.0.1:{port}"),
                                timeout=5).json()["keys"]) == 2
    finally:
        stop(process)


def test_a_command_refuses_development_settings_with_a_message_and_no_traceback(tmp_path) -> None:
    done = idsvc(production_env(tmp_path, NOWHERE_DB, IDSVC_SECRET_KEY="short"), "keys", "generate")
    assert done.returncode == 1
    assert "Refusing to run this command in production mode" in done.stderr
    assert "IDSVC_SECRET_KEY must be set" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "keys").exists()


def test_idsvc_run_refuses_without_a_signing_key_with_a_message_and_no_traceback(tmp_path) -> None:
    done = idsvc(production_env(tmp_path, NOWHERE_DB), "run", "--port", str(free_port()))
    assert done.returncode == 1
    assert "Refusing to start in production mode" in done.stderr
    assert "holds no signing key: run `idsvc keys generate`" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(("config", "refused_by"), [
    ([], "master"),  # gunicorn.conf.py of the project directory
    (["-c", "python:idsvc.startup"], "master"),  # the same hook, started from anywhere
    (["-c", "/dev/null", "-w", "1"], "worker"),  # another configuration: the worker refuses
], ids=["gunicorn.conf.py", "python:idsvc.startup", "worker"])
def test_gunicorn_refuses_without_a_signing_key_logs_why_and_stops(tmp_path, config, refused_by) -> None:
    """One error log line, and exit status 4: the arbiter stops rather than starting workers again."""
    log = tmp_path / "gunicorn.log"
    process = gunicorn(production_env(tmp_path, NOWHERE_DB), free_port(), log, *config)
    try:
        assert process.wait(timeout=60) == 4  # gunicorn's "App failed to load."
    finally:
        if process.poll() is None:
            stop(process)
    output = log.read_text()
    assert "[ERROR] Refusing to start in production mode:" in output
    assert "holds no signing key: run `idsvc keys generate`" in output
    assert "Traceback" not in output
    assert ("Booting worker" in output) == (refused_by == "worker")


def test_gunicorn_refuses_per_worker_login_counters(tmp_path) -> None:
    log = tmp_path / "gunicorn.log"
    env = production_env(tmp_path, NOWHERE_DB, IDSVC_RATELIMIT_STORAGE_URI="memory://")
    process = gunicorn(env, free_port(), log)
    try:
        assert process.wait(timeout=60) == 4
    finally:
        if process.poll() is None:
            stop(process)
    output = log.read_text()
    assert "set IDSVC_RATELIMIT_STORAGE_URI=redis://host:6379/0 so all workers share the counters" in output
    assert "Traceback" not in output and "Booting worker" not in output
