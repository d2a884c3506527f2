"""The office API (``/api/v1/registry``) as a staff member's program uses it: a bearer token of
scope ``registry.staff``, search with ``next`` links, a record with its ``ETag``, changes made
with ``If-Match`` (428 without, 412 when stale), proposals approved or rejected, problem
documents for every refusal, and two clerks racing on one person: one wins, the other gets 412."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.identity.models import Account
from idsvc.oidc import clients
from idsvc.oidc import issuance
from idsvc.oidc.claims import STAFF_SCOPE
from tests.factories import make_account
from tests.factories import make_client
from tests.office.conftest import COMMUNE
from tests.office.conftest import ELSEWHERE
from tests.office.conftest import PROVINCE
from tests.office.conftest import make_staff
from tests.office.conftest import person

API = "/api/v1/registry"
REASON = "Đơn đề nghị của công dân / Citizen's request"


def _token(account: Any, level: int = 2) -> str:
    client = _office_client()
    return issuance.issue_tokens(client=client, account=account, scope=f"openid {STAFF_SCOPE}",
                                 grant_type="authorization_code", include_refresh=False, level=level,
                                 amr="pwd otp", auth_time=db.utcnow())["access_token"]


def _office_client() -> Any:
    found = clients.find_client("office-app")
    if found is None:
        found, _ = make_client(client_id="office-app", name="Registry office app", trusted=True,
                               scopes=["openid", STAFF_SCOPE])
    return found


def _auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def staff_auth(role: str, unit: str) -> dict[str, str]:
    """Headers of a staff member of ``role`` over ``unit`` (made in the caller's app context)."""
    staff = make_staff(role, unit)
    return _auth(_token(db.session().get(Account, staff.account_id)))


@pytest.fixture()
def office(setup_data):
    """Staff of commune 00070 and province 01, people inside and outside the unit."""
    def create() -> dict[str, Any]:
        return {
            "clerk": staff_auth("clerk", COMMUNE), "clerk2": staff_auth("clerk", COMMUNE),
            "supervisor": staff_auth("supervisor", PROVINCE), "auditor": staff_auth("auditor", "*"),
            "here": person(full_name="Trần Thị Bình", birth_year=1985, sex="F").id_number,
            "there": person(ELSEWHERE, full_name="Trần Văn Bình", birth_year=1979).id_number,
            "citizen": _auth(_token(make_account(level=2))),
        }
    return setup_data(create)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert " / " in body["title"] and body["detail"]
    return body


# --- search and read --------------------------------------------------------------------------------

def test_search_finds_people_nationwide_with_minimal_fields_and_pages_by_next_link(client, office, setup_data) -> None:
    setup_data(lambda: [person(full_name="Trần Văn Bình", birth_year=1990) for _ in range(3)])
    first = client.get(f"{API}/persons?name_words=tran binh&limit=2", headers=office["clerk"])
    assert first.status_code == 200, first.text
    body = first.get_json()
    assert [p["full_name"] for p in body["items"]] == ["Trần Thị Bình", "Trần Văn Bình"]
    assert set(body["items"][0]) == {"id_number", "full_name", "date_of_birth", "sex", "permanent_commune_code",
                                     "status", "readable", "links"}
    assert [p["readable"] for p in body["items"]] == [True, False]  # the second lives in Đà Nẵng
    assert first.headers["Link"] == f'<{body["next"]}>; rel="next"'
    seen = [p["id_number"] for p in body["items"]]
    while body["next"]:
        body = client.get(body["next"], headers=office["clerk"]).get_json()
        seen += [p["id_number"] for p in body["items"]]
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(("query", "field"), [
    ("", None), ("name=An&limit=0", "limit"), ("name=An&limit=x", "limit"), ("full_name=An", "full_name"),
    ("born=15/03/1980", None), ("name_words=an", None), ("name=An&cursor=-1", "cursor"),
    ("name=An&cursor=99999999999999999999999", "cursor"), ("name=An%00", None), ("household=H%00", None),
])
def test_a_search_that_cannot_be_read_says_why(client, office, query: str, field: str | None) -> None:
    body = _problem(client.get(f"{API}/persons?{query}", headers=office["clerk"]), 422)
    if field:
        assert field in body["errors"]


def test_a_record_comes_with_its_version_as_etag_and_every_read_is_audited(client, office, app) -> None:
    response = client.get(f"{API}/persons/{office['here']}", headers=office["clerk"])
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"' and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["record"]["full_name"] == "Trần Thị Bình" and body["record"]["version"] == 1
    assert body["numbers"][0]["number"] == office["here"] and body["history"] == [] and body["pending"] == []
    with app.app_context():
        reads = db.session().scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.REGISTRY_PERSON_READ))
    assert reads == 1


@pytest.mark.parametrize(("who", "number", "status"), [
    ("clerk", "there", 403), ("auditor", "there", 200), ("supervisor", "here", 200), ("citizen", "here", 403),
])
def test_reading_a_record_is_for_staff_of_its_unit(client, office, who: str, number: str, status: int) -> None:
    response = client.get(f"{API}/persons/{office[number]}", headers=office[who])
    assert response.status_code == status, response.text


@pytest.mark.parametrize("number", ["001099999999", "12", "x" * 500, "%00"])
def test_an_unknown_or_malformed_number_is_a_problem_not_a_failure(client, office, number: str) -> None:
    response = client.get(f"{API}/persons/{number}", headers=office["clerk"])
    assert response.status_code in (404, 422) and response.mimetype == "application/problem+json", response.text


def test_without_a_staff_token_nothing_is_served(client, office) -> None:
    assert client.get(f"{API}/persons?name=An").status_code == 401
    assert _problem(client.get(f"{API}/persons?name=An", headers=office["citizen"]), 403)


# --- changes with If-Match ---------------------------------------------------------------------------

def _correct(client: Any, headers: dict[str, str], number: str, *, blood: str = "AB", **extra: str) -> Any:
    return client.post(f"{API}/persons/{number}/proposals", headers={**headers, **extra}, json={
        "operation": "correction", "payload": {"blood_type": blood}, "reason": REASON,
        "document": {"number": "12/2026/QĐ", "date": "2026-12-01"}})


def test_a_change_needs_if_match_and_a_stale_one_gets_412_with_the_current_version(client, office) -> None:
    number = office["here"]
    missing = _problem(_correct(client, office["clerk"], number), 428)
    assert "If-Match" in missing["detail"] and f"/persons/{number}" in missing["detail"]
    assert "If-Match" in _problem(_correct(client, office["clerk"], number, **{"If-Match": "*"}), 428)["detail"]
    assert "If-Match" in _problem(_correct(client, office["clerk"], number, **{"If-Match": "1"}), 422)["errors"]

    applied = _correct(client, office["clerk"], number, **{"If-Match": '"1"'})
    assert applied.status_code == 201, applied.text
    assert applied.headers["Location"] == f"{API}/proposals/{applied.get_json()['id']}"
    assert applied.get_json()["status"] == "applied"  # a correction of this field applies at once
    assert applied.get_json()["document"] == {"number": "12/2026/QĐ", "date": "2026-12-01"}

    stale = _correct(client, office["clerk2"], number, blood="O", **{"If-Match": '"1"'})
    body = _problem(stale, 412)
    assert body["current_version"] == 2 and stale.headers["ETag"] == '"2"'
    record = client.get(f"{API}/persons/{number}", headers=office["clerk"])
    assert record.headers["ETag"] == '"2"' and record.get_json()["record"]["blood_type"] == "AB"
    [revision] = record.get_json()["history"]
    assert revision["changes"]["blood_type"] == [None, "AB"] and revision["reason"] == REASON


@pytest.mark.parametrize(("body", "field"), [
    ({"payload": {"blood_type": "A"}, "reason": REASON}, "operation"),
    ({"operation": "nothing", "payload": {}, "reason": REASON}, "operation"),
    ({"operation": "correction", "payload": {"blood_type": 1}, "reason": REASON}, "payload"),
    ({"operation": "correction", "payload": [], "reason": REASON}, "payload"),
    ({"operation": "correction", "payload": {"blood_type": "A"}, "reason": "  "}, "reason"),
    ({"operation": "correction", "payload": {"blood_type": "A"}, "reason": REASON, "extra": 1}, "extra"),
    ({"operation": "correction", "payload": {"blood_type": "A"}, "reason": REASON,
      "document": {"number": "1", "date": "01/12/2026"}}, "document"),
    ({"operation": "correction", "payload": {"blood": "A"}, "reason": REASON}, "blood"),
    ({"operation": "correction", "payload": {"date_of_birth": "1985-02-30"}, "reason": REASON}, "date_of_birth"),
    ({"operation": "birth", "payload": {}, "reason": REASON}, "operation"),
])
def test_a_proposal_that_cannot_be_read_names_the_field(client, office, body: dict[str, Any], field: str) -> None:
    response = client.post(f"{API}/persons/{office['here']}/proposals", json=body,
                           headers={**office["clerk"], "If-Match": '"1"'})
    assert field in _problem(response, 422)["errors"]


def test_a_body_that_is_no_json_object_is_a_problem(client, office) -> None:
    response = client.post(f"{API}/persons/{office['here']}/proposals", data="[1]",
                           headers={**office["clerk"], "If-Match": '"1"', "Content-Type": "application/json"})
    _problem(response, 422)


def test_a_clerk_proposes_only_inside_the_unit(client, office) -> None:
    body = _problem(_correct(client, office["clerk"], office["there"], **{"If-Match": '"1"'}), 403)
    assert ELSEWHERE in body["detail"]


# --- review ----------------------------------------------------------------------------------------

def test_a_birth_waits_for_a_supervisor_who_approves_it(client, office) -> None:
    proposed = client.post(f"{API}/births", headers=office["clerk"], json={
        "payload": {"full_name": "Nguyễn Thị Bé", "date_of_birth": "2026-11-30", "sex": "F",
                    "registration_commune": COMMUNE}, "reason": REASON})
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.get_json()
    assert proposal["status"] == "pending"

    queue = client.get(f"{API}/proposals", headers=office["supervisor"]).get_json()
    assert [p["id"] for p in queue["items"]] == [proposal["id"]]
    detail = client.get(proposal["links"]["self"], headers=office["supervisor"]).get_json()
    assert {"field": "full_name", "current": None, "proposed": "Nguyễn Thị Bé"} in detail["diff"]

    assert _problem(client.post(f"{API}/proposals/{proposal['id']}/approve", headers=office["clerk"]), 403)
    approved = client.post(f"{API}/proposals/{proposal['id']}/approve", headers=office["supervisor"])
    assert approved.status_code == 200, approved.text
    born = approved.get_json()["result"]["id_number"]
    assert client.get(f"{API}/persons/{born}", headers=office["clerk"]).get_json()["record"]["full_name"] == (
        "Nguyễn Thị Bé")
    again = client.post(f"{API}/proposals/{proposal['id']}/approve", headers=office["supervisor"])
    assert _problem(again, 409)["type"].endswith("/already-decided")
    mine = client.get(f"{API}/proposals?mine=true&status=applied", headers=office["clerk"]).get_json()
    assert [p["id"] for p in mine["items"]] == [proposal["id"]]


def test_a_rejection_needs_a_note_and_keeps_it(client, office) -> None:
    proposed = client.post(f"{API}/persons/{office['here']}/proposals", headers={**office["clerk"], "If-Match": '"1"'},
                           json={"operation": "name_change", "payload": {"full_name": "Trần Thị Bích"},
                                 "reason": REASON})
    assert proposed.status_code == 201 and proposed.get_json()["status"] == "pending", proposed.text
    pid = proposed.get_json()["id"]
    assert "note" in _problem(client.post(f"{API}/proposals/{pid}/reject", headers=office["supervisor"],
                                          json={}), 422)["errors"]
    rejected = client.post(f"{API}/proposals/{pid}/reject", headers=office["supervisor"],
                           json={"note": "Thiếu giấy tờ / Document missing"})
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["decision_note"] == "Thiếu giấy tờ / Document missing"


@pytest.mark.parametrize("path", ["/proposals/999999", "/proposals/99999999999999999999999", "/proposals/x"])
def test_an_unknown_proposal_is_404(client, office, path: str) -> None:
    _problem(client.get(f"{API}{path}", headers=office["supervisor"]), 404)


def test_the_operations_and_their_fields_are_described(client, office) -> None:
    body = client.get(f"{API}/operations", headers=office["clerk"]).get_json()
    birth = next(op for op in body["items"] if op["name"] == "birth")
    assert birth["subject"] == "new" and {"name": "full_name", "required": True} .items() <= next(
        f for f in birth["fields"] if f["name"] == "full_name").items()


# --- two clerks at once ----------------------------------------------------------------------------

def test_two_clerks_changing_one_person_from_one_version_one_wins_the_other_gets_412(app, office) -> None:
    """Both read version 1 and send their change at the same moment, each through its own request,
    transaction and connection: exactly one is applied; the other is told the record changed."""
    start = threading.Barrier(2)

    def send(who: str, blood: str) -> Any:
        client = app.test_client()
        start.wait()
        return _correct(client, office[who], office["here"], blood=blood, **{"If-Match": '"1"'})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda args: send(*args), [("clerk", "A"), ("clerk2", "B")]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 412], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 412)
    assert loser.get_json()["current_version"] == 2 and loser.headers["ETag"] == '"2"'
    winner = next(a for a in answers if a.status_code == 201)
    record = app.test_client().get(f"{API}/persons/{office['here']}", headers=office["auditor"]).get_json()
    assert record["record"]["version"] == 2
    assert record["record"]["blood_type"] == winner.get_json()["payload"]["blood_type"]
    assert len(record["history"]) == 1
