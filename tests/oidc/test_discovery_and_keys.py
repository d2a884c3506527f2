"""Provider metadata (OpenID Connect Discovery 1.0, RFC 8414) and the published JWK Set."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import jwt
import pytest

from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import MACHINE_SCOPE
from tests.oidc.helpers import assert_invalid_client_401
from tests.oidc.helpers import assert_oauth_error
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import issuer
from tests.oidc.helpers import machine_token
from tests.oidc.helpers import verify_jwt

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture()
def metadata(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    return response.get_json()


def test_metadata_names_the_issuer_and_its_endpoints(client, metadata) -> None:
    base = issuer(client)
    assert metadata["issuer"] == base
    assert metadata["authorization_endpoint"] == f"{base}/authorize"
    assert metadata["token_endpoint"] == f"{base}/token"
    assert metadata["userinfo_endpoint"] == f"{base}/userinfo"
    assert metadata["jwks_uri"] == f"{base}/jwks.json"
    assert metadata["end_session_endpoint"] == f"{base}/logout"
    assert metadata["revocation_endpoint"] == f"{base}/revoke"
    assert metadata["introspection_endpoint"] == f"{base}/introspect"


def _is_error_page(response) -> None:
    assert response.status_code == 400 and response.mimetype == "text/html" and "Location" not in response.headers
    assert "unsupported_response_type" in response.text  # no response_type, and no client to send it back to


def _is_unsupported_grant(response) -> None:
    assert_oauth_error(response, "unsupported_grant_type")


def _is_bearer_challenge(response) -> None:
    assert_oauth_error(response, "invalid_request", 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="idsvc"'


def _is_key_set(response) -> None:
    assert response.status_code == 200 and response.get_json()["keys"]


def _is_logged_out(response) -> None:
    assert response.status_code == 302 and response.headers["Location"] == "/login?notice=logged-out"


@pytest.mark.parametrize(("name", "method", "expected"), [
    ("authorization_endpoint", "get", _is_error_page), ("token_endpoint", "post", _is_unsupported_grant),
    ("userinfo_endpoint", "get", _is_bearer_challenge), ("jwks_uri", "get", _is_key_set),
    ("end_session_endpoint", "get", _is_logged_out), ("revocation_endpoint", "post", assert_invalid_client_401),
    ("introspection_endpoint", "post", assert_invalid_client_401),
])
def test_every_advertised_endpoint_is_served(client, metadata, name, method, expected) -> None:
    """Each endpoint, asked with nothing, gives its own standard answer (an endpoint that fails on
    every request would not)."""
    path = metadata[name].removeprefix(issuer(client))
    expected(getattr(client, method)(path))


def test_metadata_advertises_only_the_code_flow_with_s256(metadata) -> None:
    assert metadata["response_types_supported"] == ["code"]
    assert sorted(metadata["grant_types_supported"]) == ["authorization_code", "client_credentials",
                                                         "refresh_token"]
    assert not {"implicit", "password"} & set(metadata["grant_types_supported"])
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_modes_supported"] == ["query"]
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_metadata_advertises_levels_subjects_and_algorithms(metadata) -> None:
    assert set(metadata["acr_values_supported"]) == {"urn:idsvc:loa:1", "urn:idsvc:loa:2"}
    assert metadata["subject_types_supported"] == ["pairwise"]
    assert {"ES256", "RS256"} <= set(metadata["id_token_signing_alg_values_supported"])
    assert "none" not in metadata["id_token_signing_alg_values_supported"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]
    assert "openid" in metadata["scopes_supported"]
    assert {"sub", "acr", "amr", "auth_time"} <= set(metadata["claims_supported"])


def test_metadata_and_jwks_may_be_cached_and_read_from_any_origin(client) -> None:
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        response = client.get(path)
        assert "max-age" in response.headers["Cache-Control"]
        assert response.headers["Access-Control-Allow-Origin"] == "*"  # browser-based apps fetch them
        head = client.head(path)
        assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_a_client_that_has_the_document_is_told_it_has_not_changed(client, path) -> None:
    first = client.get(path)
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.fixture()
def own_keys(app, tmp_path):
    """A copy of the session's keys for this app (the other tests keep theirs), read by a store that
    looks for changes every ``recheck`` seconds; returns a function making that store."""
    import shutil

    from idsvc.oidc.keys import KeyStore

    keys = tmp_path / "keys"
    shutil.copytree(app.config["KEYS_DIR"], keys)
    app.config["KEYS_DIR"] = str(keys)

    def store(recheck: float = 5.0) -> KeyStore:
        app.extensions["idsvc.keys"] = KeyStore(keys, recheck)
        return app.extensions["idsvc.keys"]

    return store


def kids(client) -> set[str]:
    return {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}


def test_a_new_key_is_published_at_once_by_the_process_that_made_it(app, own_keys) -> None:
    store = own_keys()
    client = app.test_client()
    before = kids(client)
    new = store.generate("ES256")
    assert kids(client) == before | {new.kid}


def test_a_rotation_by_the_cli_reaches_a_running_process_without_a_restart(app, own_keys, setup_data) -> None:
    from idsvc.oidc.keys import KeyStore

    own_keys(recheck=0.3)
    client = app.test_client()
    before = kids(client)
    cli = KeyStore(Path(app.config["KEYS_DIR"]))  # another process's view of the same directory
    new = cli.generate("ES256")
    time.sleep(0.4)
    assert kids(client) == before | {new.kid}
    machine = setup_data(lambda: (lambda made, secret: (made.client_id, secret))(*make_client(
        grant_types=["client_credentials"], scopes=[MACHINE_SCOPE], redirect_uris=[])))
    token = machine_token(client, *machine)
    assert jwt.get_unverified_header(token.get_json()["access_token"])["kid"] == new.kid  # signs with it too
    assert cli.prune(older_than_seconds=-1)  # the old ES256 key is retired: pruned
    time.sleep(0.4)
    assert kids(client) == {new.kid} | {kid for kid, alg, _ in cli.listing() if alg == "RS256"}


def test_a_token_signed_by_a_key_just_made_elsewhere_verifies_at_once(app, own_keys) -> None:
    from idsvc.oidc import tokens
    from idsvc.oidc.keys import KeyStore

    own_keys(recheck=3600)  # this process would not look for an hour on its own
    with app.app_context():
        tokens.encode_access_token({"iss": "x"})  # keys loaded
        new = KeyStore(Path(app.config["KEYS_DIR"])).generate("ES256")  # another worker rotates
        now = int(time.time())
        token = jwt.encode({"iss": app.config["ISSUER"], "aud": app.config["ISSUER"], "iat": now, "exp": now + 60,
                            "jti": "j1"}, new.private_key, algorithm="ES256", headers={"kid": new.kid, "typ": "at+jwt"})
        assert tokens.decode_access_token(token)["jti"] == "j1"
        with pytest.raises(tokens.TokenInvalid, match="unknown key"):
            tokens.decode_access_token(jwt.encode({"iss": "x"}, new.private_key, algorithm="ES256",
                                                  headers={"kid": "no-such-kid", "typ": "at+jwt"}))


def test_the_jwks_holds_only_public_keys_each_with_a_kid(client) -> None:
    keys = client.get("/jwks.json").get_json()["keys"]
    assert keys
    assert all(not PRIVATE_MEMBERS & set(key) for key in keys)
    kids = [key["kid"] for key in keys]
    assert all(kids) and len(set(kids)) == len(kids)
    by_alg = {key["alg"]: key for key in keys}
    assert by_alg["ES256"]["kty"] == "EC" and by_alg["ES256"]["crv"] == "P-256"
    assert by_alg["RS256"]["kty"] == "RSA"
    modulus = base64.urlsafe_b64decode(by_alg["RS256"]["n"] + "==")
    assert len(modulus) * 8 >= 2048
    assert all(key["use"] == "sig" for key in keys)


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_id_tokens_are_signed_with_the_clients_algorithm_and_a_published_key(client, setup_data, alg) -> None:
    def create():
        rp, secret = make_client(id_token_alg=alg)
        return rp.client_id, secret, make_account().citizen.id_number
    client_id, secret, number = setup_data(create)
    body = code_tokens(client, client_id, secret, number)
    header, claims = verify_jwt(client, body["id_token"], audience=client_id)
    assert header["alg"] == alg
    assert claims["iss"] == issuer(client) and claims["azp"] == client_id
    access_header, _ = verify_jwt(client, body["access_token"])
    assert access_header["alg"] == "ES256" and access_header["typ"].lower() == "at+jwt"
