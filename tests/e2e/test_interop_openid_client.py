"""Interoperability: an independent, OpenID Certified relying-party library (openid-client, in
Node.js) against the running service: discovery, code + PKCE S256, token, ID token signature
checked against the published JWKS, userinfo, refresh, revocation.

The library does every protocol check itself (iss, aud, exp, nonce, state, RFC 9207 ``iss``,
signature, userinfo ``sub``); a complaint fails its phase and is shown here verbatim.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.e2e.harness import Provider
from tests.e2e.harness import WebUser

pytestmark = pytest.mark.slow


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
    account = provider.accounts["level1"]
    env = {
        **os.environ,
        "RP_ISSUER": provider.issuer,
        "RP_CLIENT_ID": client.client_id,
        "RP_CLIENT_SECRET": client.secret or "",
        "RP_REDIRECT_URI": client.redirect_uri,
        "RP_SCOPE": "openid profile",
        "RP_ACR_VALUES": "urn:idsvc:loa:1",
        "RP_ID_TOKEN_ALG": "ES256",
    }
    state_file = str(tmp_path / "rp-state.json")

    started = _rp(node_rp, env, "authorize", state_file)
    assert started["issuer"] == provider.issuer
    assert started["endpoints"]["revocation"] == f"{provider.issuer}/revoke"
    request = {k: v[0] for k, v in parse_qs(urlsplit(started["authorization_url"]).query).items()}
    assert request["code_challenge_method"] == "S256" and request["code_challenge"]
    assert request["state"] == started["state"] and request["nonce"] == started["nonce"]

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
    assert result["userinfo"]["name"]  # profile scope

    refresh = result["refresh"]
    assert refresh["has_access_token"] and refresh["new_access_token"]
    assert refresh["new_refresh_token"]
    if refresh["id_token_claims"]:
        assert refresh["id_token_claims"]["sub"] == claims["sub"]

    assert result["revocation"] == {"ok": True}
    after = result["after_revocation"]
    assert after["refreshed"] is False
    assert after["error"] == "invalid_grant", after
