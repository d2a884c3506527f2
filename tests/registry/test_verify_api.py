"""Verify (e-KYC without disclosure): per-field match / no-match / unknown, the life status and
the number's status, and never a value of the record, in the answer or in the audit trail."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.registry import service
from idsvc.registry import verify
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import Commune
from tests.factories import make_citizen
from tests.factories import make_client
from tests.oidc.helpers import bearer
from tests.oidc.helpers import machine_token

URL = "/api/v1/registry/verify"
MACHINE = {"auth_method": "client_secret_basic", "redirect_uris": [], "grant_types": ["client_credentials"]}
NAME = "Nguyễn Văn Đức"


def _token(client: Any, setup_data: Any, scope: str) -> tuple[dict[str, str], str]:
    agency, secret = setup_data(lambda: make_client(name="Sở Lao động", scopes=[scope], **MACHINE))
    response = machine_token(client, agency.client_id, secret, scope)
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["access_token"]), agency.client_id


@pytest.fixture()
def agency(client, setup_data) -> tuple[dict[str, str], str]:
    """Headers with a ``registry.verify`` token of a machine client, and its client_id."""
    return _token(client, setup_data, "registry.verify")


@pytest.fixture()
def person(setup_data) -> tuple[int, str]:
    """(id, number) of Nguyễn Văn Đức, man, born 1990-05-17, living in commune 00070."""
    citizen = setup_data(lambda: make_citizen(full_name=NAME))
    return citizen.id, citizen.id_number


def _verify(client: Any, headers: dict[str, str], **claim: Any) -> Any:
    return client.post(URL, headers=headers, json=claim)


# -- the comparison, a pure function --------------------------------------------------------------

@pytest.mark.parametrize(("claimed", "recorded", "outcome"), [
    ("1990-05-17", "1990-05-17", "match"),
    ("1990-05-18", "1990-05-17", "no-match"),
    ("1990", "1990-05-17", "match"),  # the claim is true as far as it goes
    ("1990-05", "1990-05-17", "match"),
    ("1990-05-17", "1990", "unknown"),  # year-only record, the year agrees
    ("1991-05-17", "1990", "no-match"),  # year-only record, the year disagrees
    ("1990-05", "1990", "unknown"),
    ("1990-05-17", "1990-05", "unknown"),  # year-month record
    ("1990-06-17", "1990-05", "no-match"),
    ("1990-05", "1990-05", "match"),
])
def test_dates_compare_as_far_as_both_know(claimed: str, recorded: str, outcome: str) -> None:
    assert verify.compare_date(PartialDate.parse(claimed), PartialDate.parse(recorded)) == outcome


@pytest.mark.parametrize(("claimed", "outcome"), [
    ("Nguyễn Văn Đức", "match"),
    ("NGUYỄN VĂN ĐỨC", "match"),  # case
    ("Nguye\u0302\u0303n Va\u0306n \u0110u\u031b\u0301c", "match"),  # NFD
    ("  Nguyễn   Văn\u00a0Đức ", "match"),  # spacing
    ("Nguyễn Văn \u00d0ức", "match"),  # the look-alike ETH for Đ
    ("Nguyen Van Duc", "no-match"),  # no diacritics: another name
    ("Nguyễn Văn Đực", "no-match"),
    ("Nguyễn Đức", "no-match"),
])
def test_names_compare_in_canonical_form(claimed: str, outcome: str) -> None:
    assert verify.compare_name(claimed, NAME) == outcome


def test_old_and_new_tone_placement_are_one_name() -> None:
    assert verify.compare_name("Lê Thị Hoà", "Lê Thị Hòa") == "match"
    assert verify.compare_name("Phạm Thuỷ", "Phạm Thủy") == "match"
    assert verify.compare_name("Lê Thị Hoa", "Lê Thị Hòa") == "no-match"


# -- the endpoint ---------------------------------------------------------------------------------

def test_every_field_matches_and_nothing_of_the_record_is_in_the_answer(client, app, agency, person) -> None:
    headers, _ = agency
    citizen_id, number = person
    response = _verify(client, headers, citizen_id=number, full_name="nguyễn văn đức", date_of_birth="1990-05-17",
                       sex="M", permanent_commune="00070")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "fields": {"full_name": "match", "date_of_birth": "match", "sex": "match", "permanent_commune": "match"},
        "life_status": "alive", "number_status": "current"}

    with app.app_context():
        commune = db.session().get(Commune, "00070")
        assert commune is not None
        commune_name = commune.name
    wrong = _verify(client, headers, citizen_id=number, full_name="Trần Thị Bình", date_of_birth="1985-01-01",
                    sex="F", permanent_commune="00004")
    assert wrong.status_code == 200
    assert wrong.get_json()["fields"] == {"full_name": "no-match", "date_of_birth": "no-match", "sex": "no-match",
                                          "permanent_commune": "no-match"}
    for text in (wrong.get_data(as_text=True), json.dumps(wrong.get_json(), ensure_ascii=False)):
        for value in (NAME, "Nguyen Van Duc", "1990", "05-17", "00070", commune_name, number, str(citizen_id)):
            assert value not in text


def test_only_the_fields_asked_are_answered(client, agency, person) -> None:
    headers, _ = agency
    response = _verify(client, headers, citizen_id=person[1], sex="M")
    assert response.get_json() == {"fields": {"sex": "match"}, "life_status": "alive", "number_status": "current"}
    assert _verify(client, headers, citizen_id=person[1]).get_json()["fields"] == {}


def test_what_the_registry_does_not_know_is_unknown(client, agency, setup_data) -> None:
    headers, _ = agency

    def create() -> tuple[str, str]:
        year_only = make_citizen(birth_month=None, birth_day=None)
        year_only.permanent_commune_code = None
        year_month = make_citizen(birth_day=None)
        db.session().flush()
        return year_only.id_number, year_month.id_number

    year_only, year_month = setup_data(create)
    answer = _verify(client, headers, citizen_id=year_only, date_of_birth="1990-05-17", permanent_commune="00070")
    assert answer.get_json()["fields"] == {"date_of_birth": "unknown", "permanent_commune": "unknown"}
    assert _verify(client, headers, citizen_id=year_only, date_of_birth="1991-05-17").get_json()["fields"] == {
        "date_of_birth": "no-match"}
    assert _verify(client, headers, citizen_id=year_only, date_of_birth="1990").get_json()["fields"] == {
        "date_of_birth": "match"}
    assert _verify(client, headers, citizen_id=year_month, date_of_birth="1990-05-30").get_json()["fields"] == {
        "date_of_birth": "unknown"}
    assert _verify(client, headers, citizen_id=year_month, date_of_birth="1990-04-17").get_json()["fields"] == {
        "date_of_birth": "no-match"}


@pytest.mark.parametrize("status", ["deceased", "missing"])
def test_the_life_status_of_a_deceased_or_missing_person(client, agency, setup_data, status: str) -> None:
    headers, _ = agency

    def create() -> str:
        citizen = make_citizen()
        service.record_death(citizen, date(2024, 3, 1), actor="test", reason="civil status", status=status)
        return citizen.id_number

    number = setup_data(create)
    response = _verify(client, headers, citizen_id=number, sex="M")
    assert response.get_json() == {"fields": {"sex": "match"}, "life_status": status, "number_status": "current"}
    assert "2024" not in response.get_data(as_text=True)


def test_a_replaced_number_answers_for_the_person_without_the_new_number(client, app, agency, setup_data) -> None:
    headers, _ = agency

    def create() -> tuple[str, int]:
        citizen = make_citizen(full_name=NAME)
        old = citizen.id_number
        service.reissue_number(citizen, actor="test", reason="data-entry error")
        return old, citizen.id

    old, citizen_id = setup_data(create)
    with app.app_context():
        citizen = db.session().get(Citizen, citizen_id)
        assert citizen is not None
        new = citizen.id_number
    assert new != old
    response = _verify(client, headers, citizen_id=old, full_name=NAME)
    assert response.status_code == 200
    assert response.get_json() == {"fields": {"full_name": "match"}, "life_status": "alive",
                                   "number_status": "replaced"}
    assert new not in response.get_data(as_text=True)


def test_an_unknown_number_is_404(client, agency) -> None:
    headers, _ = agency
    response = _verify(client, headers, citizen_id="001090999999", sex="M")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/unknown-id-number")
    assert "001090999999" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("claim", "field"), [
    ({"citizen_id": "12345"}, "citizen_id"),
    ({"citizen_id": "00109000000a"}, "citizen_id"),
    ({"citizen_id": "999090000001"}, "citizen_id"),  # no such province or country code
    ({}, "citizen_id"),
    ({"citizen_id": 1090000001}, "citizen_id"),
    ({"citizen_id": "001090000001", "date_of_birth": "17/05/1990"}, "date_of_birth"),
    ({"citizen_id": "001090000001", "date_of_birth": "1990-02-30"}, "date_of_birth"),
    ({"citizen_id": "001090000001", "sex": "male"}, "sex"),
    ({"citizen_id": "001090000001", "permanent_commune": "70"}, "permanent_commune"),
    ({"citizen_id": "001090000001", "permanent_commune": "99999"}, "permanent_commune"),  # no such commune
    ({"citizen_id": "001090000001", "full_name": "   "}, "full_name"),
    ({"citizen_id": "001090000001", "full_name": "An\u200b"}, "full_name"),
    ({"citizen_id": "001090000001", "full_name": None}, "full_name"),
    ({"citizen_id": "001090000001", "phone": "0901234567"}, "phone"),
])
def test_a_malformed_claim_is_422_naming_the_field(client, agency, claim: dict[str, Any], field: str) -> None:
    headers, _ = agency
    response = client.post(URL, headers=headers, json=claim)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {field}


def test_a_body_that_is_not_a_json_object_is_422(client, agency) -> None:
    headers, _ = agency
    for data in ("not json", "[]"):
        response = client.post(URL, headers={**headers, "Content-Type": "application/json"}, data=data)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_a_megabyte_is_413_with_or_without_its_length(client, agency, chunked: bool) -> None:
    headers, _ = agency
    body = b'{"id_number": "' + b"1" * (1024 * 1024) + b'"}'
    extra: dict[str, Any] = ({"input_stream": io.BytesIO(body), "environ_overrides": {"wsgi.input_terminated": True}}
                             if chunked else {"data": body})
    response = client.post(URL, headers={**headers, **({"Transfer-Encoding": "chunked"} if chunked else {})},
                           content_type="application/json", **extra)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert "at most 1,048,576 bytes" in response.get_json()["detail"]


def test_no_token_is_401_and_a_token_without_the_scope_403(client, setup_data, person) -> None:
    response = client.post(URL, json={"citizen_id": person[1]})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="idsvc"'

    headers, _ = _token(client, setup_data, "eligibility.lookup")
    response = client.post(URL, headers=headers, json={"citizen_id": person[1]})
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="idsvc", error="insufficient_scope", scope="registry.verify"')

    response = client.post(URL, headers=bearer("not-a-token"), json={"citizen_id": person[1]})
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_every_verify_is_audited_with_the_outcomes_never_the_values(client, app, agency, person) -> None:
    headers, client_id = agency
    citizen_id, number = person
    _verify(client, headers, citizen_id=number, full_name="Nguyen Van Duc", date_of_birth="1990-05-17")
    _verify(client, headers, citizen_id="001090999999", sex="M")  # unknown: nothing to audit, nothing kept

    with app.app_context():
        events = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "registry:citizen:verify")).all()
        assert len(events) == 1
        event = events[0]
        assert (event.actor, event.subject_type, event.subject_id) == (f"client:{client_id}", "citizen",
                                                                       str(citizen_id))
        assert event.data == {"fields": {"full_name": "no-match", "date_of_birth": "match"},
                              "number_status": "current"}
        stored = json.dumps(event.data, ensure_ascii=False)
    for value in ("Nguyen", NAME, "1990", number):
        assert value not in stored
