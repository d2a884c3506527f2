"""``idsvc keys …`` (signing-key rotation) and ``idsvc clients …`` (client administration)."""

from __future__ import annotations

import json
import re
import shutil
import stat

import pytest

from idsvc import create_app
from idsvc import db
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import MACHINE_SCOPE
from tests.oidc.helpers import assert_invalid_client_401
from tests.oidc.helpers import client_key
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import introspect
from tests.oidc.helpers import machine_token
from tests.oidc.helpers import userinfo
from tests.oidc.helpers import verify_jwt


def _invoke(runner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


# --- keys -------------------------------------------------------------------------------------

@pytest.fixture()
def keys_app(keys_dir, scratch_database_url, tmp_path):
    """An app on a copy of the session's keys (rotation must not touch the shared directory)."""
    directory = tmp_path / "keys"
    shutil.copytree(keys_dir, directory)

    def build():
        return create_app({"TESTING": True, "DATABASE_URL": scratch_database_url, "KEYS_DIR": str(directory),
                           "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 64, "parallelism": 1}})
    apps = [build()]

    def restart():
        apps.append(build())
        return apps[-1]

    yield apps[0], directory, restart
    for app in apps:
        db.get_db(app).engine.dispose()


def _listing(runner) -> dict[str, tuple[str, str]]:
    rows = [line.split("\t") for line in _invoke(runner, "keys", "list").splitlines() if line.strip()]
    return {kid: (alg, status) for kid, alg, status in rows}


def test_keys_rotate_adds_an_active_key_and_keeps_the_old_one_published(keys_app) -> None:
    app, directory, restart = keys_app
    runner = app.test_cli_runner()
    before = _listing(runner)
    assert sorted(alg for alg, status in before.values() if status == "active") == ["ES256", "RS256"]

    output = _invoke(runner, "keys", "rotate")
    assert output.count("the previous one is retired") == 2

    after = _listing(runner)
    assert set(before) < set(after) and len(after) == len(before) + 2
    new_active = {kid for kid, (_, status) in after.items() if status == "active"}
    assert len(new_active) == 2 and not new_active & set(before)
    assert all(after[kid][1] == "retired" for kid in before)
    for kid in new_active:
        assert stat.S_IMODE((directory / f"{kid}.pem").stat().st_mode) == 0o600

    published = {key["kid"] for key in restart().test_client().get("/jwks.json").get_json()["keys"]}
    assert published == set(after)


def test_keys_rotate_one_algorithm(keys_app) -> None:
    app, _, _ = keys_app
    runner = app.test_cli_runner()
    before = _listing(runner)
    _invoke(runner, "keys", "rotate", "--alg", "ES256")
    after = _listing(runner)
    assert len(after) == len(before) + 1
    assert [alg for kid, (alg, _) in after.items() if kid not in before] == ["ES256"]
    rs256 = [kid for kid, (alg, status) in before.items() if alg == "RS256" and status == "active"]
    assert after[rs256[0]][1] == "active"


def test_keys_prune_deletes_only_keys_retired_longer_than_any_token_lives(keys_app) -> None:
    app, directory, restart = keys_app
    runner = app.test_cli_runner()
    before = _listing(runner)
    _invoke(runner, "keys", "rotate", "--alg", "ES256")
    retired = next(kid for kid, (alg, status) in before.items() if alg == "ES256" and status == "active")
    assert "0 retired key(s) deleted" in _invoke(runner, "keys", "prune")  # retired a moment ago: kept
    assert (directory / f"{retired}.pem").exists()

    state = json.loads((directory / "keys.json").read_text())
    state["retired_at"][retired] = "2026-01-01T00:00:00+00:00"  # long before any live token
    (directory / "keys.json").write_text(json.dumps(state))
    output = _invoke(runner, "keys", "prune")
    assert f"deleted retired key {retired}" in output and "1 retired key(s) deleted" in output
    assert not (directory / f"{retired}.pem").exists()
    published = {key["kid"] for key in restart().test_client().get("/jwks.json").get_json()["keys"]}
    assert retired not in published and len(published) == len(before)


def test_tokens_signed_before_a_rotation_stay_valid_and_new_ones_use_the_new_key(keys_app) -> None:
    app, _, restart = keys_app
    with app.app_context():
        rp, secret = make_client()
        number = make_account().citizen.id_number
        client_id = rp.client_id
        db.session().commit()
    old = code_tokens(app.test_client(), client_id, secret, number)
    old_kid = verify_jwt(app.test_client(), old["access_token"])[0]["kid"]

    _invoke(app.test_cli_runner(), "keys", "rotate", "--alg", "ES256")  # RSA keys are slow to make
    restarted = restart().test_client()  # each worker loads the keys once: a restart picks them up

    assert userinfo(restarted, old["access_token"]).status_code == 200
    verify_jwt(restarted, old["id_token"], audience=client_id)
    new = code_tokens(restarted, client_id, secret, number)
    new_kid = verify_jwt(restarted, new["access_token"])[0]["kid"]
    assert new_kid != old_kid
    assert new_kid.startswith("es256-")


def test_keys_generate_if_missing_does_nothing_when_keys_exist(keys_app) -> None:
    app, _, _ = keys_app
    runner = app.test_cli_runner()
    before = _listing(runner)
    assert _invoke(runner, "keys", "generate", "--if-missing") == ""
    assert _listing(runner) == before


# --- clients ----------------------------------------------------------------------------------

def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}\s+(\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


@pytest.fixture()
def machine(runner):
    """A machine client made with the CLI: (client_id, secret, create output)."""
    output = _invoke(runner, "clients", "create", "--name", "Social assistance back-end",
                     "--grant-type", "client_credentials", "--scope", MACHINE_SCOPE)
    return _field(output, "client_id"), _field(output, "client_secret"), output


def test_clients_create_prints_the_secret_once_and_it_works(client, runner, machine) -> None:
    client_id, secret, output = machine
    assert "shown once" in output
    assert "auth method    client_secret_basic" in output
    response = machine_token(client, client_id, secret)
    assert response.status_code == 200, response.text
    assert response.get_json()["scope"] == MACHINE_SCOPE


def test_clients_list_and_show_never_show_the_secret(runner, machine) -> None:
    client_id, secret, _ = machine
    listing = _invoke(runner, "clients", "list")
    assert any(line.startswith(f"{client_id}\t") and "\tenabled\t" in line for line in listing.splitlines())
    shown = _invoke(runner, "clients", "show", client_id)
    assert _field(shown, "client_id") == client_id
    assert "client_credentials" in shown and MACHINE_SCOPE in shown
    for output in (listing, shown):
        assert secret not in output and "client_secret " not in output


def test_clients_rotate_secret_replaces_the_old_secret_at_once(client, runner, machine) -> None:
    client_id, old_secret, _ = machine
    output = _invoke(runner, "clients", "rotate-secret", client_id)
    new_secret = _field(output, "client_secret")
    assert new_secret != old_secret and "shown once" in output
    assert_invalid_client_401(machine_token(client, client_id, old_secret))
    assert machine_token(client, client_id, new_secret).status_code == 200


def test_clients_disable_refuses_the_client_and_revokes_its_tokens(client, runner, machine, setup_data) -> None:
    client_id, secret, _ = machine
    rs, rs_secret = setup_data(lambda: make_client(
        name="Registry API", grant_types=["client_credentials"], scopes=[MACHINE_SCOPE], redirect_uris=[],
        is_resource_server=True))
    resource_server = (rs.client_id, rs_secret)
    token = machine_token(client, client_id, secret).get_json()["access_token"]
    assert introspect(client, resource_server, token)["active"] is True

    output = _invoke(runner, "clients", "disable", client_id)
    assert output.strip() == "disabled; 1 tokens revoked"
    assert_invalid_client_401(machine_token(client, client_id, secret))
    assert introspect(client, resource_server, token) == {"active": False}
    listing = _invoke(runner, "clients", "list")
    assert any(line.startswith(f"{client_id}\t") and "\tdisabled\t" in line for line in listing.splitlines())
    assert "disabled" in _invoke(runner, "clients", "show", client_id)


def test_clients_create_a_code_flow_client_with_logout_uris(client, runner, setup_data) -> None:
    output = _invoke(runner, "clients", "create", "--name", "Tax portal",
                     "--redirect-uri", "https://tax.example.vn/cb", "--scope", "openid", "--scope", "profile",
                     "--post-logout-redirect-uri", "https://tax.example.vn/bye", "--min-level", "2")
    client_id, secret = _field(output, "client_id"), _field(output, "client_secret")
    shown = _invoke(runner, "clients", "show", client_id)
    assert "https://tax.example.vn/cb" in shown and "https://tax.example.vn/bye" in shown
    assert re.search(r"^min level\s+2$", shown, re.MULTILINE)
    assert secret not in shown


def test_clients_create_private_key_jwt_reads_the_jwks_and_prints_no_secret(runner, tmp_path) -> None:
    _, jwks = client_key()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    output = _invoke(runner, "clients", "create", "--name", "Agency back-end", "--auth-method", "private_key_jwt",
                     "--jwks", str(path), "--grant-type", "client_credentials", "--scope", MACHINE_SCOPE)
    assert "auth method    private_key_jwt" in output and "client_secret" not in output


@pytest.mark.parametrize("args", [
    pytest.param(["--redirect-uri", "http://evil.example/cb"], id="http-redirect"),
    pytest.param(["--redirect-uri", "https://rp.example.vn/*"], id="wildcard"),
    pytest.param(["--grant-type", "client_credentials", "--scope", "no-such-scope"], id="unknown-scope"),
    pytest.param(["--auth-method", "private_key_jwt", "--grant-type", "client_credentials",
                  "--scope", MACHINE_SCOPE], id="private-key-jwt-without-jwks"),
    pytest.param(["--auth-method", "none", "--grant-type", "client_credentials", "--scope", MACHINE_SCOPE],
                 id="public-client-credentials"),
    pytest.param(["--redirect-uri", "http://[::1/cb"], id="unclosed-ipv6"),
    pytest.param(["--redirect-uri", "https://rp.example.vn/" + "x" * 500], id="long-redirect"),
    pytest.param(["--redirect-uri", "https://rp.example.vn/cb", "--sector", "rp\x00"], id="nul-in-sector"),
])
def test_clients_create_refuses_bad_settings(runner, args) -> None:
    result = runner.invoke(args=["clients", "create", "--name", "Bad", *args])
    assert result.exit_code != 0
    assert "Error" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["show", "rotate-secret", "disable"])
def test_clients_commands_on_an_unknown_client_fail_cleanly(runner, command) -> None:
    result = runner.invoke(args=["clients", command, "no-such-client"])
    assert result.exit_code != 0
    assert "no-such-client" in result.output


def test_tokens_of_a_disabled_code_flow_client_are_revoked(client, runner, setup_data) -> None:
    def create():
        rp, secret = make_client()
        rs, rs_secret = make_client(name="Registry API", grant_types=["client_credentials"], scopes=[MACHINE_SCOPE],
                                    redirect_uris=[], is_resource_server=True)
        return rp.client_id, secret, (rs.client_id, rs_secret), make_account().citizen.id_number
    client_id, secret, resource_server, number = setup_data(create)
    body = code_tokens(client, client_id, secret, number)
    assert introspect(client, resource_server, body["access_token"])["active"] is True
    _invoke(runner, "clients", "disable", client_id)
    assert introspect(client, resource_server, body["access_token"]) == {"active": False}
    assert userinfo(client, body["access_token"]).status_code == 401
