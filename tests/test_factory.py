"""The app factory: configuration from the environment, test overrides, production refusals."""

from __future__ import annotations

import socket

import pytest

from idsvc import create_app
from idsvc.config import DEV_PAIRWISE_KEY
from idsvc.config import DEV_SECRET_KEY
from idsvc.config import ConfigError


def test_environment_variables_configure_the_app(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("IDSVC_DATABASE_URL", "postgresql://u@db.internal:5432/reg")
    monkeypatch.setenv("IDSVC_ISSUER", "https://id.example.vn")
    monkeypatch.setenv("IDSVC_KEYS_DIR", str(tmp_path))
    app = create_app()
    assert app.config["DATABASE_URL"] == "postgresql+psycopg://u@db.internal:5432/reg"
    assert app.config["ISSUER"] == "https://id.example.vn"
    assert app.config["KEYS_DIR"] == str(tmp_path)


def test_overrides_win_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("IDSVC_ISSUER", "https://from-env")
    app = create_app({"ISSUER": "https://from-test", "TESTING": True})
    assert app.config["ISSUER"] == "https://from-test" and app.testing


def test_development_defaults_to_sqlite_under_instance(monkeypatch) -> None:
    monkeypatch.delenv("IDSVC_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["DATABASE_URL"].startswith("sqlite:///") and "instance" in app.config["DATABASE_URL"]


def _production(monkeypatch, tmp_path, **env: str) -> None:
    from idsvc.oidc.keys import KeyStore

    keys = tmp_path / "keys"
    KeyStore(keys).ensure()
    base = {"IDSVC_ENV": "production", "IDSVC_SECRET_KEY": "s" * 48,
            "IDSVC_DATABASE_URL": "postgresql://idsvc@db:5432/idsvc", "IDSVC_ISSUER": "https://id.example.vn",
            "IDSVC_KEYS_DIR": str(keys), "IDSVC_HASH_KEY": "h" * 48, "IDSVC_PAIRWISE_KEY": "p" * 48,
            "IDSVC_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15"}  # answering or not, for the refusals
    base.update(env)
    for key, value in base.items():
        monkeypatch.setenv(key, value)


def test_production_starts_with_proper_settings(monkeypatch, tmp_path, redis_url) -> None:
    _production(monkeypatch, tmp_path, IDSVC_RATELIMIT_STORAGE_URI=redis_url)
    assert create_app().config["IDSVC_ENV"] == "production"


@pytest.mark.parametrize(("env", "message"), [
    ({"IDSVC_SECRET_KEY": DEV_SECRET_KEY}, "IDSVC_SECRET_KEY must be set"),
    ({"IDSVC_SECRET_KEY": "short"}, "IDSVC_SECRET_KEY must be set"),
    ({"IDSVC_DATABASE_URL": "sqlite:///x.db"}, "IDSVC_DATABASE_URL must point at PostgreSQL"),
    ({"IDSVC_ISSUER": "http://id.example.vn"}, "IDSVC_ISSUER must be the public https"),
    ({"IDSVC_KEYS_DIR": "/nonexistent/keys"}, "holds no signing key"),
    ({"IDSVC_HASH_KEY": "short"}, "IDSVC_HASH_KEY must be set"),
    ({"IDSVC_PAIRWISE_KEY": DEV_PAIRWISE_KEY}, "IDSVC_PAIRWISE_KEY must be set"),
])
def test_production_refuses_development_settings(monkeypatch, tmp_path, env, message) -> None:
    _production(monkeypatch, tmp_path, **env)
    with pytest.raises(ConfigError, match=message):
        create_app()


def test_production_without_a_secret_names_every_problem(monkeypatch, tmp_path) -> None:
    _production(monkeypatch, tmp_path, IDSVC_DATABASE_URL="sqlite:///x.db")
    monkeypatch.delenv("IDSVC_SECRET_KEY")
    with pytest.raises(ConfigError) as info:
        create_app()
    assert "IDSVC_SECRET_KEY" in str(info.value) and "IDSVC_DATABASE_URL" in str(info.value)


def test_commands_in_production_need_no_signing_key_but_serving_does(monkeypatch, tmp_path) -> None:
    _production(monkeypatch, tmp_path, IDSVC_KEYS_DIR=str(tmp_path / "empty"))
    assert create_app(serving=False).config["IDSVC_ENV"] == "production"  # `idsvc keys generate` can run
    with pytest.raises(ConfigError, match="holds no signing key: run `idsvc keys generate`"):
        create_app()


def test_commands_in_production_still_refuse_development_settings(monkeypatch, tmp_path) -> None:
    _production(monkeypatch, tmp_path, IDSVC_KEYS_DIR=str(tmp_path / "empty"), IDSVC_HASH_KEY="short")
    with pytest.raises(ConfigError, match="Refusing to run this command") as info:
        create_app(serving=False)
    assert "IDSVC_HASH_KEY" in str(info.value) and "IDSVC_KEYS_DIR" not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_production_refuses_per_worker_counters(monkeypatch, tmp_path) -> None:
    _production(monkeypatch, tmp_path, IDSVC_RATELIMIT_STORAGE_URI="memory://")
    with pytest.raises(ConfigError, match=r"set IDSVC_RATELIMIT_STORAGE_URI=redis://host:6379/0 so all workers share"):
        create_app()
    assert create_app(serving=False)  # the commands count no login


def test_production_refuses_a_redis_that_does_not_answer(monkeypatch, tmp_path) -> None:
    uri = f"redis://:hunter2-password@127.0.0.1:{_closed_port()}/0"
    _production(monkeypatch, tmp_path, IDSVC_RATELIMIT_STORAGE_URI=uri)
    with pytest.raises(ConfigError, match=r"IDSVC_RATELIMIT_STORAGE_URI \(redis://…@127\.0\.0\.1:\d+/0\) does not "
                                          r"answer: start that Redis") as info:
        create_app()
    assert "hunter2" not in str(info.value)


def test_production_refuses_a_store_it_cannot_use(monkeypatch, tmp_path) -> None:
    _production(monkeypatch, tmp_path, IDSVC_RATELIMIT_STORAGE_URI="redsi://127.0.0.1:6379")
    with pytest.raises(ConfigError, match=r"IDSVC_RATELIMIT_STORAGE_URI \(redsi://127.0.0.1:6379\) cannot be used"):
        create_app()


def test_a_misspelt_immediate_operation_stops_the_start(monkeypatch) -> None:
    # Silently ignored, the misspelt name would send every move to review, or the reverse unnoticed.
    monkeypatch.setenv("IDSVC_OFFICE_IMMEDIATE_OPERATIONS", "move,adress_correction")
    with pytest.raises(RuntimeError, match="unknown operations: adress_correction"):
        create_app({"TESTING": True})
