"""Inclusion proofs: each sealed event's proof checks against the published keys; an altered one does not."""

from __future__ import annotations

import copy

from idsvc.audit import ledger
from idsvc.audit.ledgerkeys import get_ledger_keys
from tests.audit.conftest import write_events


def test_every_sealed_event_has_a_proof_that_checks(sealed_log, client) -> None:
    jwks = client.get("/.well-known/ledger-keys.json").get_json()
    for event_id in sealed_log:
        proof = ledger.proof(event_id).to_json()
        assert proof["event"]["id"] == event_id
        assert ledger.check_proof(proof, jwks)
    assert ledger.sealed(sealed_log) == {i: ledger.proof(i).block for i in sealed_log}


def test_an_altered_proof_does_not_check(sealed_log) -> None:
    jwks = get_ledger_keys().public_jwks()
    proof = ledger.proof(sealed_log[5]).to_json()
    assert proof["audit_path"]

    def altered(change) -> dict:
        bad = copy.deepcopy(proof)
        change(bad)
        return bad

    for change in [
        lambda p: p["event"].update(actor="client:other"),
        lambda p: p["event"]["data"].update(n=999),
        lambda p: p["audit_path"].__setitem__(0, "00" * 32),
        lambda p: p["audit_path"].pop(),
        lambda p: p.update(leaf_index=p["leaf_index"] ^ 1),
        lambda p: p.update(root="11" * 32),
        lambda p: p.update(block=p["block"] + 1),
        lambda p: p["event"].update(seq=p["seq"] + 1),
        lambda p: p.update(signed_head=p["signed_head"][:-4] + "AAAA"),
        lambda p: p.update(kid="someone-else"),
    ]:
        assert not ledger.check_proof(altered(change), jwks)
    assert not ledger.check_proof(proof, {"keys": []})
    assert ledger.check_proof(proof, jwks)


def test_an_unsealed_event_has_no_proof_until_sealed(sealed_log) -> None:
    from idsvc import db

    (event_id,) = write_events(1, start=50)
    assert ledger.proof(event_id) is None and ledger.sealed([event_id]) == {}
    with db.transaction():  # on demand, as the citizen's page does
        ledger.seal()
    proof = ledger.proof(event_id)
    assert proof is not None and ledger.check_proof(proof.to_json(), get_ledger_keys().public_jwks())
