"""Interoperability: an independent, OpenID Certified relying-party library (openid-client, in
Node.js) against the running service: discovery, code + PKCE S256, the ``claims`` parameter with an
essential claim and ``verified_claims`` (OpenID Identity Assurance), token, ID token signature
checked against the published JWKS, userinfo, refresh, revocation.

The relying party checks the structure of the verified claims it receives itself (a verification
with trust framework, ISO 8601 time and evidence; only claims it asked for); this test checks their
values against the demo registry person.

The library does every protocol check itself (iss, aud, exp, nonce, state, RFC 9207 ``iss``,
signature, userinfo ``sub``); a complaint fails its phase and is shown here verbatim.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import idsvc
from tests.e2e.harness import Provider
from tests.e2e.harness import WebUser

pytestmark = pytest.mark.slow

TRUST_FRAMEWORK = "vn_national_population_database"
AGE_CHECK = "To check that you are old enough for this service"
#: What the relying party asks with the ``claims`` parameter: the name, essential, in the ID token,
#: with verified names; verified names and date of birth at userinfo, from the population register.
CLAIMS = {
    "id_token": {
        "name": {"essential": True},
        "verified_claims": {"verification": {"trust_framework": None, "time": None},
                            "claims": {"given_name": None, "family_name": None}},
    },
    "userinfo": {
        "verified_claims": {
            "verification": {"trust_framework": {"value": TRUST_FRAMEWORK},
                             "evidence": [{"type": {"value": "electronic_record"}}]},
            "claims": {"given_name": {"essential": True}, "family_name": None, "birthdate": {"purpose": AGE_CHECK}},
        },
    },
}


def _rp(command: list[str], env: dict[str, str], *args: str) -> dict:
    done = subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=60)
    try:
        output = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"the relying party printed no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    if done.returncode != 0 or "failed" in output:
        pytest.fail(f"openid-client rejected the provider in `{args[0]}`:\n{json.dumps(output, indent=2)}\n"
                    f"{done.stderr}")
    return output


def test_openid_client_code_flow_refresh_and_revocation(node_rp: list[str], provider: Provider,
                                                        tmp_path: Path) -> None:
    client = provider.clients["interop"]
    account = provider.accounts["level1"]  # Nguyễn Văn An, born 1980-03-15 (fixtures/demo_citizens.csv)
    # The agency may receive the date of birth as well as its scope's claims (its allow-list).
    idsvc(provider.env, "clients", "allow-claims", client.client_id, "name", "family_name", "middle_name",
          "given_name", "updated_at", "birthdate")
    env = {
        **os.environ,
        "RP_ISSUER": provider.issuer,
        "RP_CLIENT_ID": client.client_id,
        "RP_CLIENT_SECRET": client.secret or "",
        "RP_REDIRECT_URI": client.redirect_uri,
        "RP_SCOPE": "openid profile",
        "RP_ACR_VALUES": "urn:idsvc:loa:1",
        "RP_ID_TOKEN_ALG": "ES256",
        "RP_CLAIMS": json.dumps(CLAIMS),
    }
    state_file = str(tmp_path / "rp-state.json")

    started = _rp(node_rp, env, "authorize", state_file)
    assert started["issuer"] == provider.issuer
    assert started["endpoints"]["revocation"] == f"{provider.issuer}/revoke"
    request = {k: v[0] for k, v in parse_qs(urlsplit(started["authorization_url"]).query).items()}
    assert request["code_challenge_method"] == "S256" and request["code_challenge"]
    assert request["state"] == started["state"] and request["nonce"] == started["nonce"]
    assert json.loads(request["claims"]) == CLAIMS

    callback = WebUser(provider.issuer).authorize(started["authorization_url"], client.redirect_uri,
                                                  id_number=account.id_number, password=account.password)
    back = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert set(back) >= {"code", "state", "iss"}, callback

    result = _rp(node_rp, env, "callback", state_file, callback)

    token = result["token"]
    claims = token["id_token_claims"]
    assert token["token_type"].lower() == "bearer"
    assert token["has_refresh_token"]
    # Signed with the ES256 key the client registered for; the library fetched the published
    # JWKS (it does only to verify a signature) and the signing kid is in it.
    assert token["id_token_header"]["alg"] == "ES256"
    assert token["id_token_header"]["kid"] in token["verified_with_kids"]
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == client.client_id or client.client_id in claims["aud"]
    assert claims["nonce"] == started["nonce"]
    assert claims["acr"] == "urn:idsvc:loa:1"
    assert claims["sub"] and claims["sub"] != account.id_number  # pairwise, never the ID number

    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["userinfo"]["name"] == "Nguyễn Văn An"  # profile scope

    # The essential claim asked for the ID token is in it; the verified claims in the ID token and
    # at userinfo passed the relying party's own checks, and hold the registry's values.
    assert claims["name"] == "Nguyễn Văn An"
    assert result["verified_claims"] == {"id_token": {"present": True, "problems": []},
                                         "userinfo": {"present": True, "problems": []}}
    in_token, at_userinfo = claims["verified_claims"], result["userinfo"]["verified_claims"]
    assert in_token["claims"] == {"given_name": "An", "family_name": "Nguyễn"}
    assert at_userinfo["claims"] == {"given_name": "An", "family_name": "Nguyễn", "birthdate": "1980-03-15"}
    for verified in (in_token, at_userinfo):
        verification = verified["verification"]
        assert verification["trust_framework"] == TRUST_FRAMEWORK
        # The record's last applied change: the demo record was imported when the service was set up.
        when = datetime.fromisoformat(verification["time"])
        assert datetime.now(UTC) - timedelta(hours=1) < when <= datetime.now(UTC)
        [evidence] = verification["evidence"]
        assert evidence["type"] == "electronic_record" and evidence["time"] == verification["time"]
        assert evidence["record"]["type"] == "population_register"
        assert evidence["record"]["source"]["country_code"] == "VNM"
        assert "National Population Database" in evidence["record"]["source"]["name"]

    refresh = result["refresh"]
    assert refresh["has_access_token"] and refresh["new_access_token"]
    assert refresh["new_refresh_token"]
    if refresh["id_token_claims"]:
        assert refresh["id_token_claims"]["sub"] == claims["sub"]

    assert result["revocation"] == {"ok": True}
    after = result["after_revocation"]
    assert after["refreshed"] is False
    assert after["error"] == "invalid_grant", after
