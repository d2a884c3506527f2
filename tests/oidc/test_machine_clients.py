"""Machine clients: the client credentials grant (RFC 6749 §4.4) with RFC 9068 access tokens,
token introspection (RFC 7662) and token revocation (RFC 7009)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from idsvc import db
from idsvc.db import utcnow
from idsvc.oidc.models import OAuthToken
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import MACHINE_SCOPE
from tests.oidc.helpers import assert_invalid_client_401
from tests.oidc.helpers import assert_invalid_token
from tests.oidc.helpers import assert_oauth_error
from tests.oidc.helpers import basic
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import introspect
from tests.oidc.helpers import issuer
from tests.oidc.helpers import machine_token
from tests.oidc.helpers import refresh
from tests.oidc.helpers import userinfo
from tests.oidc.helpers import verify_jwt


@pytest.fixture()
def parties(setup_data):
    """Clients and a person, as {name: (client_id, secret)} plus "number"."""
    def create():
        made = {
            "machine": make_client(name="Programme back-end", grant_types=["client_credentials"],
                                   scopes=[MACHINE_SCOPE, "eligibility.lookup"], redirect_uris=[]),
            "rp": make_client(name="Agency app"),
            "other_rp": make_client(name="Another agency app", redirect_uris=["https://other.example.vn/cb"]),
            "resource_server": make_client(name="Registry API", grant_types=["client_credentials"],
                                           scopes=[MACHINE_SCOPE], redirect_uris=[], is_resource_server=True),
            "mixed": make_client(name="Agency app with a back-end",
                                 grant_types=["authorization_code", "refresh_token", "client_credentials"],
                                 scopes=["openid", "profile", MACHINE_SCOPE]),
        }
        result = {name: (client.client_id, secret) for name, (client, secret) in made.items()}
        result["number"] = make_account().citizen.id_number
        return result
    return setup_data(create)


# --- client credentials -----------------------------------------------------------------------

def test_a_machine_client_gets_an_rfc9068_access_token(client, parties) -> None:
    client_id, secret = parties["machine"]
    response = machine_token(client, client_id, secret, f"{MACHINE_SCOPE} eligibility.lookup")
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == f"{MACHINE_SCOPE} eligibility.lookup"
    assert "refresh_token" not in body and "id_token" not in body
    assert 0 < body["expires_in"] <= 600

    header, claims = verify_jwt(client, body["access_token"], audience=issuer(client))
    assert header["typ"].lower() == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == issuer(client)
    assert claims["client_id"] == client_id and claims["sub"] == client_id
    assert claims["scope"] == f"{MACHINE_SCOPE} eligibility.lookup"
    assert 0 < claims["exp"] - claims["iat"] <= 600 and claims["jti"]
    assert "acr" not in claims


def test_each_machine_token_has_its_own_jti(client, parties) -> None:
    client_id, secret = parties["machine"]
    first = machine_token(client, client_id, secret).get_json()["access_token"]
    second = machine_token(client, client_id, secret).get_json()["access_token"]
    assert verify_jwt(client, first)[1]["jti"] != verify_jwt(client, second)[1]["jti"]


@pytest.mark.parametrize(("who", "scope"), [
    pytest.param("machine", "openid", id="user-scope"),
    pytest.param("machine", "profile", id="profile"),
    pytest.param("machine", f"{MACHINE_SCOPE} clients.admin", id="machine-scope-not-allowed"),
    pytest.param("machine", "no-such-scope", id="unknown"),
    pytest.param("mixed", "openid", id="user-scope-of-a-client-allowed-it"),
    pytest.param("mixed", f"{MACHINE_SCOPE} profile", id="user-scope-mixed-in"),
])
def test_client_credentials_refuses_scopes_outside_the_clients_machine_scopes(
        client, parties, who, scope) -> None:
    assert_oauth_error(machine_token(client, *parties[who], scope=scope), "invalid_scope")


def test_a_client_of_the_code_flow_cannot_use_client_credentials(client, parties) -> None:
    assert_oauth_error(machine_token(client, *parties["rp"], scope="openid"), "unauthorized_client")
    assert_oauth_error(machine_token(client, *parties["rp"]), "unauthorized_client")


def test_a_machine_token_is_refused_at_userinfo(client, parties) -> None:
    token = machine_token(client, *parties["mixed"]).get_json()["access_token"]
    assert_invalid_token(userinfo(client, token))


# --- introspection ----------------------------------------------------------------------------

def test_a_client_introspects_its_own_token(client, parties) -> None:
    client_id, secret = parties["rp"]
    tokens = code_tokens(client, client_id, secret, parties["number"])
    _, id_claims = verify_jwt(client, tokens["id_token"], audience=client_id)
    body = introspect(client, parties["rp"], tokens["access_token"])
    assert body["active"] is True
    assert body["client_id"] == client_id and body["scope"] == "openid profile"
    assert body["sub"] == id_claims["sub"] and body["token_type"] == "Bearer"
    assert body["iss"] == issuer(client) and body["acr"] == "urn:idsvc:loa:1"
    _, access_claims = verify_jwt(client, tokens["access_token"])
    assert body["exp"] == access_claims["exp"] and body["jti"] == access_claims["jti"]
    assert parties["number"] not in str(body)


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", "session_cookie", None])
def test_a_refresh_token_is_found_whatever_the_hint(client, parties, hint) -> None:
    """The hint only orders the search; a wrong or unknown one is ignored (RFC 7662 §2.1)."""
    tokens = code_tokens(client, *parties["rp"], parties["number"])
    body = introspect(client, parties["rp"], tokens["refresh_token"], **({"token_type_hint": hint} if hint else {}))
    assert body["active"] is True and body["client_id"] == parties["rp"][0]
    access = introspect(client, parties["rp"], tokens["access_token"], **({"token_type_hint": hint} if hint else {}))
    assert access["active"] is True and access["jti"]


def test_revocation_ignores_an_unknown_hint(client, parties) -> None:
    tokens = code_tokens(client, *parties["rp"], parties["number"])
    response = client.post("/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "id_token"},
                           headers=basic(*parties["rp"]))
    assert response.status_code == 200, response.text
    assert introspect(client, parties["rp"], tokens["refresh_token"]) == {"active": False}


def test_a_refresh_token_stays_active_after_its_access_token_expires(client, parties, setup_data) -> None:
    tokens = code_tokens(client, *parties["rp"], parties["number"])
    past = utcnow() - timedelta(seconds=1)
    setup_data(lambda: db.session().execute(update(OAuthToken).values(access_expires_at=past)))
    body = introspect(client, parties["rp"], tokens["refresh_token"], token_type_hint="refresh_token")
    # RFC 7662 §2.2: "active" and "exp" describe the token presented, here the 30-day refresh token.
    assert body["active"] is True
    assert body["exp"] > int(time.time()) + 86400


def test_another_ordinary_client_learns_nothing_about_a_token(client, parties) -> None:
    tokens = code_tokens(client, *parties["rp"], parties["number"])
    assert introspect(client, parties["other_rp"], tokens["access_token"]) == {"active": False}
    assert introspect(client, parties["machine"], tokens["refresh_token"]) == {"active": False}


def test_a_resource_server_introspects_any_token(client, parties) -> None:
    tokens = code_tokens(client, *parties["rp"], parties["number"])
    body = introspect(client, parties["resource_server"], tokens["access_token"])
    assert body["active"] is True and body["client_id"] == parties["rp"][0]
    machine = machine_token(client, *parties["machine"]).get_json()["access_token"]
    body = introspect(client, parties["resource_server"], machine)
    assert body["active"] is True and body["sub"] == parties["machine"][0] and body["scope"] == MACHINE_SCOPE


def test_revoked_and_expired_tokens_are_inactive(client, parties, setup_data) -> None:
    revoked = code_tokens(client, *parties["rp"], parties["number"])
    assert client.post("/revoke", data={"token": revoked["access_token"]},
                       headers=basic(*parties["rp"])).status_code == 200
    assert introspect(client, parties["rp"], revoked["access_token"]) == {"active": False}

    expired = machine_token(client, *parties["machine"]).get_json()["access_token"]
    _, claims = verify_jwt(client, expired)
    setup_data(lambda: db.session().execute(update(OAuthToken).where(OAuthToken.jti == claims["jti"]).values(
        access_expires_at=utcnow() - timedelta(seconds=1))))
    assert introspect(client, parties["resource_server"], expired) == {"active": False}
    assert introspect(client, parties["machine"], "garbage") == {"active": False}


def test_introspection_needs_client_authentication(client, parties) -> None:
    token = machine_token(client, *parties["machine"]).get_json()["access_token"]
    assert_invalid_client_401(client.post("/introspect", data={"token": token}))
    assert_invalid_client_401(client.post("/introspect", data={"token": token},
                                          headers=basic(parties["machine"][0], "wrong")))


def test_a_public_client_cannot_introspect(client, setup_data, parties) -> None:
    public_id = setup_data(lambda: make_client(auth_method="none")[0].client_id)
    token = machine_token(client, *parties["machine"]).get_json()["access_token"]
    assert_invalid_client_401(client.post("/introspect", data={"token": token, "client_id": public_id}))


# --- revocation -------------------------------------------------------------------------------

def test_revoking_a_refresh_token_revokes_its_family(client, parties) -> None:
    client_id, secret = parties["rp"]
    first = code_tokens(client, client_id, secret, parties["number"])
    second = refresh(client, client_id, secret, first["refresh_token"]).get_json()
    response = client.post("/revoke", data={"token": second["refresh_token"], "token_type_hint": "refresh_token"},
                           headers=basic(client_id, secret))
    assert response.status_code == 200
    assert_oauth_error(refresh(client, client_id, secret, second["refresh_token"]), "invalid_grant")
    assert_invalid_token(userinfo(client, second["access_token"]))
    assert introspect(client, parties["rp"], second["access_token"]) == {"active": False}


def test_revoking_an_access_token_ends_the_grant(client, parties) -> None:
    client_id, secret = parties["rp"]
    tokens = code_tokens(client, client_id, secret, parties["number"])
    assert userinfo(client, tokens["access_token"]).status_code == 200
    response = client.post("/revoke", data={"token": tokens["access_token"], "token_type_hint": "access_token"},
                           headers=basic(client_id, secret))
    assert response.status_code == 200
    assert_invalid_token(userinfo(client, tokens["access_token"]))
    assert_oauth_error(refresh(client, client_id, secret, tokens["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_an_unknown_token_answers_200(client, parties, hint) -> None:
    form = {"token": "no-such-token"} | ({"token_type_hint": hint} if hint else {})
    response = client.post("/revoke", data=form, headers=basic(*parties["rp"]))
    assert response.status_code == 200


def test_a_client_cannot_revoke_another_clients_token(client, parties) -> None:
    tokens = code_tokens(client, *parties["rp"], parties["number"])
    response = client.post("/revoke", data={"token": tokens["refresh_token"]}, headers=basic(*parties["other_rp"]))
    assert_oauth_error(response, "invalid_grant")
    assert userinfo(client, tokens["access_token"]).status_code == 200


def test_revocation_needs_client_authentication(client, parties) -> None:
    tokens = code_tokens(client, *parties["rp"], parties["number"])
    assert_invalid_client_401(client.post("/revoke", data={"token": tokens["refresh_token"]},
                                          headers=basic(parties["rp"][0], "wrong")))
    assert userinfo(client, tokens["access_token"]).status_code == 200


# --- the client cache (oidc.clients.find_client) ------------------------------------------------

def test_a_client_disabled_through_the_service_is_refused_at_once(client, parties, setup_data) -> None:
    from idsvc.oidc import clients

    client_id, secret = parties["machine"]
    assert machine_token(client, client_id, secret).status_code == 200  # now cached by this process
    setup_data(lambda: clients.disable_client(clients.get_client(client_id), actor="test"))
    assert_invalid_client_401(machine_token(client, client_id, secret))


def test_a_request_during_the_change_does_not_keep_the_old_client(app, client, parties, setup_data) -> None:
    from idsvc.oidc import clients

    client_id, secret = parties["machine"]
    seen: list[object] = []

    def disable_while_another_request_reads() -> None:
        clients.disable_client(clients.get_client(client_id), actor="test")

        def other_request() -> None:  # sees the row as committed: still enabled, and caches it
            with app.app_context():
                seen.append(clients.find_client(client_id))

        reader = threading.Thread(target=other_request)
        reader.start()
        reader.join()

    setup_data(disable_while_another_request_reads)
    # Asserted here: an assertion that fails in the thread would only print a warning.
    assert len(seen) == 1 and seen[0] is not None, seen
    assert_invalid_client_401(machine_token(client, client_id, secret))


def test_a_change_made_by_another_process_is_seen_within_the_cache_time(app, client, parties, setup_data) -> None:
    from idsvc.oidc.models import OAuthClient

    app.config["CLIENT_CACHE_SECONDS"] = 0.5
    client_id, secret = parties["machine"]
    assert machine_token(client, client_id, secret).status_code == 200
    # Disabled behind this process's back (as another worker or the CLI would).
    setup_data(lambda: db.session().execute(
        update(OAuthClient).where(OAuthClient.client_id == client_id).values(disabled_at=utcnow())))
    assert machine_token(client, client_id, secret).status_code == 200  # this process's copy
    time.sleep(0.6)
    assert_invalid_client_401(machine_token(client, client_id, secret))


def test_an_issued_token_is_stored_and_audited_before_the_answer(client, parties, setup_data) -> None:
    from sqlalchemy import select

    from idsvc.audit.models import AuditEvent

    client_id, secret = parties["machine"]
    body = machine_token(client, client_id, secret).get_json()
    jti = verify_jwt(client, body["access_token"])[1]["jti"]
    stored = setup_data(lambda: db.session().scalar(select(OAuthToken.scope).where(OAuthToken.jti == jti)))
    events = setup_data(lambda: [e.data for e in db.session().scalars(
        select(AuditEvent).where(AuditEvent.action == "oidc:token:issue", AuditEvent.actor == f"client:{client_id}"))])
    assert stored == MACHINE_SCOPE
    assert events == [{"grant_type": "client_credentials", "scope": MACHINE_SCOPE, "jti": jti}]


def test_a_token_and_its_audit_event_are_one_group_write(app, client, parties, monkeypatch) -> None:
    """The token endpoint group-commits a client_credentials token: its row and its event reach
    the group writer together, one transaction and one round trip for both."""
    writer = db.get_db(app).group_writer
    real_write = writer.write
    writes: list[list[str]] = []
    monkeypatch.setattr(writer, "write", lambda rows: (writes.append([t.name for t, _ in rows]), real_write(rows)))
    client_id, secret = parties["machine"]
    assert machine_token(client, client_id, secret).status_code == 200
    assert writes == [["oauth_token", "audit_event"]]
