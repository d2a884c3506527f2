"""`idsvc audit …` and the published ledger keys, through rotation."""

from __future__ import annotations

import json

from idsvc.audit import ledger
from idsvc.audit.ledgerkeys import get_ledger_keys
from tests.audit.conftest import raw
from tests.audit.conftest import seq_of
from tests.audit.conftest import write_events


def test_seal_verify_and_proof_commands(app_ctx, runner) -> None:
    ids = write_events(5)
    result = runner.invoke(args=["audit", "seal"])
    assert result.exit_code == 0 and "sealed" in result.output
    result = runner.invoke(args=["audit", "verify", "--quiet"])
    assert result.exit_code == 0 and "ledger ok" in result.output
    result = runner.invoke(args=["audit", "proof", str(ids[1])])
    assert result.exit_code == 0
    assert ledger.check_proof(json.loads(result.output), get_ledger_keys().public_jwks())


def test_verify_exits_1_naming_the_first_bad_entry(app_ctx, runner) -> None:
    ids = write_events(5)
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    raw("UPDATE audit_event SET ip = '10.0.0.9' WHERE id IN (:a, :b)", a=ids[1], b=ids[3])
    result = runner.invoke(args=["audit", "verify", "--quiet"])
    assert result.exit_code == 1
    assert f"seq {seq_of(ids[1])}, event {ids[1]}" in result.output
    assert f"event {ids[3]}" not in result.output


def test_proof_of_an_unsealed_event_says_so(app_ctx, runner) -> None:
    (event_id,) = write_events(1)
    result = runner.invoke(args=["audit", "proof", str(event_id)])
    assert result.exit_code == 1 and "not sealed" in result.output


def test_rotation_keeps_old_heads_checkable(app_ctx, runner, client) -> None:
    first = write_events(2)
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    old_kid = ledger.proof(first[0]).kid
    result = runner.invoke(args=["audit", "rotate-key"])
    assert result.exit_code == 0, result.output
    second = write_events(2, start=10)
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    new_kid = ledger.proof(second[0]).kid
    assert new_kid != old_kid
    response = client.get("/.well-known/ledger-keys.json")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    jwks = response.get_json()
    assert {old_kid, new_kid} <= {k["kid"] for k in jwks["keys"]}
    assert all("d" not in k for k in jwks["keys"])  # public parts only
    assert ledger.check_proof(ledger.proof(first[0]).to_json(), jwks)
    assert ledger.check_proof(ledger.proof(second[0]).to_json(), jwks)
    assert ledger.verify().ok


def test_the_keys_document_is_cacheable(client) -> None:
    first = client.get("/.well-known/ledger-keys.json")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=300"
    again = client.get("/.well-known/ledger-keys.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
