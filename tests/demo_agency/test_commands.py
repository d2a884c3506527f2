"""``idsvc demo-agency``: where it finds its secret, what it serves, and never in production."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from idsvc import create_app
from idsvc.demo_agency.app import SECRET_ENV


@pytest.fixture()
def cli_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    app = create_app({"TESTING": True, "ISSUER": "http://127.0.0.1:5999"})
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture()
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the command would serve, instead of serving it."""
    calls: dict[str, Any] = {}
    monkeypatch.setattr("werkzeug.serving.run_simple",
                        lambda host, port, app, **kw: calls.update(host=host, port=port, app=app, **kw))
    return calls


def test_serves_the_seeded_client_with_the_secret_of_the_seed(cli_app: Flask, tmp_path: Path,
                                                              served: dict[str, Any]) -> None:
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"demo-agency": "seeded-secret"}))
    result = cli_app.test_cli_runner().invoke(args=["demo-agency"])
    assert result.exit_code == 0, result.output
    assert "demo agency at http://127.0.0.1:8000/" in result.output
    agency = served["app"]
    assert (served["host"], served["port"], served["threaded"]) == ("127.0.0.1", 8000, True)
    assert agency.config["PROVIDER_URL"] == "http://127.0.0.1:5999"  # this service's issuer
    assert agency.config["SESSION_COOKIE_NAME"] == "demo_agency_session"
    oauth = agency.extensions["demo_agency"]
    assert (oauth.client_id, oauth.client_secret) == ("demo-agency", "seeded-secret")


def test_the_environment_variable_wins_and_options_apply(cli_app: Flask, tmp_path: Path, served: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"demo-agency": "seeded-secret"}))
    monkeypatch.setenv(SECRET_ENV, "from-env")
    result = cli_app.test_cli_runner().invoke(args=[
        "demo-agency", "--port", "8123", "--client-id", "other", "--provider-url", "https://id.example.vn/"])
    assert result.exit_code == 0, result.output
    agency = served["app"]
    assert agency.config["DEMO_AGENCY_URL"] == "http://127.0.0.1:8123"
    assert agency.config["PROVIDER_URL"] == "https://id.example.vn"
    assert agency.extensions["demo_agency"].client_secret == "from-env"


def test_without_a_secret_it_says_how_to_get_one(cli_app: Flask, served: dict[str, Any]) -> None:
    result = cli_app.test_cli_runner().invoke(args=["demo-agency"])
    assert result.exit_code != 0 and "idsvc seed" in result.output and SECRET_ENV in result.output
    assert served == {}


def test_refused_in_production(cli_app: Flask, tmp_path: Path, served: dict[str, Any]) -> None:
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"demo-agency": "seeded-secret"}))
    cli_app.config["IDSVC_ENV"] = "production"
    result = cli_app.test_cli_runner().invoke(args=["demo-agency"])
    assert result.exit_code != 0 and "does not run in production" in result.output
    assert served == {}
