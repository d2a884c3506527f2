"""Each entry's ledger status and inclusion proof: sealed on demand, the person's own entries only,
and a proof an outsider checks with the published ledger keys."""

from __future__ import annotations

import json

from sqlalchemy import select

from idsvc import db
from idsvc.audit import ledger
from idsvc.audit.models import AuditEvent
from tests.browser import Browser


def _own_check(app, world) -> int:
    with app.app_context():
        return db.session().scalar(select(AuditEvent.id).where(
            AuditEvent.subject_type == "citizen", AuditEvent.action == "eligibility:person:check",
            AuditEvent.data["verdict"].as_string() == "ELIGIBLE"))


def test_an_unsealed_entry_is_sealed_on_demand_and_its_proof_checks(app, client, world):
    event_id = _own_check(app, world)
    Browser(client).login(world["binh_number"])
    page = client.get("/account/activity", query_string={"kind": "check"})
    assert f"/account/activity/{event_id}/proof" in page.text
    assert "Chưa được niêm phong" in page.text  # nothing sealed yet

    response = client.get(f"/account/activity/{event_id}/proof")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Disposition"] == f'attachment; filename="proof-{event_id}.json"'
    proof = json.loads(response.data)
    assert proof["event"]["id"] == event_id
    keys = client.get("/.well-known/ledger-keys.json").get_json()
    assert ledger.check_proof(proof, keys)
    tampered = {**proof, "event": {**proof["event"], "data": {**proof["event"]["data"], "verdict": "NOT_ELIGIBLE"}}}
    assert not ledger.check_proof(tampered, keys)

    again = client.get("/account/activity", query_string={"kind": "check"})
    assert "Đã niêm phong trong sổ cái (khối 1)" in again.text


def test_the_change_of_a_record_has_the_proof_of_its_audit_event(app, client, world):
    Browser(client).login(world["binh_number"])
    with app.app_context():
        update_event = db.session().scalar(select(AuditEvent.id).where(AuditEvent.action == "registry:citizen:update"))
    response = client.get(f"/account/activity/{update_event}/proof")
    assert response.status_code == 200
    assert json.loads(response.data)["event"]["action"] == "registry:citizen:update"


def test_someone_elses_entry_is_not_found_even_when_sealed(app, client, world):
    with app.app_context():
        ledger.seal()
        db.session().commit()
        theirs = db.session().scalar(select(AuditEvent.id).where(
            AuditEvent.subject_type == "citizen", AuditEvent.action == "registry:person:read",
            AuditEvent.subject_id != str(world["binh_citizen"])))
    Browser(client).login(world["binh_number"])
    assert client.get(f"/account/activity/{theirs}/proof").status_code == 404
