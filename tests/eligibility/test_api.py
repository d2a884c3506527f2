"""The synchronous check (``POST /api/v1/eligibility/programmes/<code>/checks``): who may ask,
and what comes back for good rows, bad rows and bad requests."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.eligibility.programme_clients import PROGRAMME
from tests.eligibility.programme_clients import Caller
from tests.eligibility.programme_clients import load_programmes
from tests.eligibility.programme_clients import new_caller
from tests.eligibility.programme_clients import people
from tests.eligibility.programme_clients import row

URL = f"/api/v1/eligibility/programmes/{PROGRAMME}/checks"


@pytest.fixture()
def caller(client, setup_data) -> Caller:
    setup_data(load_programmes)
    return new_caller(client, setup_data)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_a_registered_client_gets_a_result_per_row_in_order(client, setup_data, caller) -> None:
    (number, name), (other, other_name) = people(setup_data, 2)
    response = client.post(URL, headers=caller.headers, json={
        "rows": [row("A-1", number, name), row("A-2", "", "Trần Thị Bé", "31/02/1950"),
                 row("A-3", other, other_name)],
        "reference_date": "2026-01-01"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["programme"] == PROGRAMME and body["reference_date"] == "2026-01-01"
    assert isinstance(body["rule_set_version"], int)
    assert [r["ref"] for r in body["results"]] == ["A-1", "A-2", "A-3"]
    first, bad, _third = body["results"]
    assert first["verdict"] in ("ELIGIBLE", "NOT_ELIGIBLE", "REVIEW") and first["match"] == "id"
    assert isinstance(first["reasons"], list)
    assert first["monthly_amount"] is None or isinstance(first["monthly_amount"], int)
    assert first["score"] is None or isinstance(first["score"], float)
    assert bad["verdict"] != "ELIGIBLE"
    assert any(r.startswith("INVALID_ROW:") for r in bad["reasons"])
    assert set(first) == {"ref", "verdict", "citizen_id", "match", "score", "reasons", "duplicate_group",
                          "monthly_amount"}


def test_the_reference_date_defaults_to_today_in_vietnam(client, setup_data, caller) -> None:
    from idsvc.registry.dates import today

    (number, name), = people(setup_data, 1)
    body = client.post(URL, headers=caller.headers, json={"rows": [row("1", number, name)]}).get_json()
    assert body["reference_date"] == today().isoformat()


@pytest.mark.parametrize(("bad", "why"), [
    ("not an object", "not a JSON object"),
    ({"ref": "1", "citizen_id": 1234, "full_name": "Lê Văn Tám", "date_of_birth": "1950"}, "citizen_id: must be text"),
    ({"ref": "1", "full_name": "Lê Văn Tám", "date_of_birth": "1950", "salary": "9"}, "unknown keys salary"),
    ({"ref": "1", "full_name": "", "date_of_birth": "1950"}, "full_name: empty"),
    ({"ref": "1", "full_name": "Lê Văn Tám", "date_of_birth": "32/01/1950"}, "date_of_birth"),
])
def test_a_malformed_row_is_an_invalid_row_answer_not_a_failed_request(client, caller, bad: Any, why: str) -> None:
    response = client.post(URL, headers=caller.headers, json={"rows": [bad, row("ok", "", "Lê Văn Tám", "1950")]})
    assert response.status_code == 200, response.get_json()
    invalid, fine = response.get_json()["results"]
    assert invalid["verdict"] != "ELIGIBLE"
    assert any(r.startswith("INVALID_ROW:") and why in r for r in invalid["reasons"]), invalid["reasons"]
    assert not any(r.startswith("INVALID_ROW") for r in fine["reasons"])


def test_no_token_is_401(client, caller) -> None:
    response = client.post(URL, json={"rows": [row("1", "", "Lê Văn Tám", "1950")]})
    assert _problem(response, 401)["type"].endswith("missing-authorization")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_without_the_scope_is_403(client, setup_data, caller) -> None:
    other = new_caller(client, setup_data, scope="registry.verify")
    response = client.post(URL, headers=other.headers, json={"rows": [row("1", "", "Lê Văn Tám", "1950")]})
    assert _problem(response, 403)["type"].endswith("insufficient-scope")


def test_a_client_not_registered_for_the_programme_is_403(client, setup_data, caller) -> None:
    other = new_caller(client, setup_data, programmes=("sa-orphan-child",))
    response = client.post(URL, headers=other.headers, json={"rows": [row("1", "", "Lê Văn Tám", "1950")]})
    problem = _problem(response, 403)
    assert "not registered for programme 'social-pension-2025'" in problem["detail"]
    # and it may ask the one it is registered for
    allowed = client.post("/api/v1/eligibility/programmes/sa-orphan-child/checks", headers=other.headers,
                          json={"rows": [row("1", "", "Lê Văn Tám", "1950")]})
    assert allowed.status_code == 200


def test_a_revoked_client_is_403(client, setup_data, caller, runner) -> None:
    result = runner.invoke(args=["eligibility", "programmes", "revoke", PROGRAMME, caller.client_id])
    assert result.exit_code == 0 and "may no longer" in result.output
    response = client.post(URL, headers=caller.headers, json={"rows": [row("1", "", "Lê Văn Tám", "1950")]})
    _problem(response, 403)


def test_an_unknown_programme_is_404(client, caller) -> None:
    response = client.post("/api/v1/eligibility/programmes/no-such-thing/checks", headers=caller.headers,
                           json={"rows": [row("1", "", "Lê Văn Tám", "1950")]})
    assert "No programme 'no-such-thing'" in _problem(response, 404)["detail"]


def test_more_than_a_thousand_rows_is_413_pointing_to_batches(client, caller) -> None:
    rows = [row(str(i), "", "Lê Văn Tám", "1950") for i in range(1001)]
    problem = _problem(client.post(URL, headers=caller.headers, json={"rows": rows}), 413)
    assert "as a batch" in problem["detail"] and f"/programmes/{PROGRAMME}/batches" in problem["detail"]


def test_a_body_too_large_for_a_synchronous_check_is_413(client, caller) -> None:
    body = b'{"rows": [{"ref": "' + b"x" * (5 * 1024 * 1024) + b'"}]}'
    _problem(client.post(URL, headers=caller.headers, data=body, content_type="application/json"), 413)


def test_a_chunked_body_too_large_for_a_synchronous_check_is_413(client, caller) -> None:
    # Sent in chunks, the body has no Content-Length to refuse it by: it is cut off while read.
    body = b'{"rows": [{"ref": "' + b"x" * (5 * 1024 * 1024) + b'"}]}'
    response = client.post(URL, headers={**caller.headers, "Transfer-Encoding": "chunked"},
                           input_stream=io.BytesIO(body), content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})
    problem = _problem(response, 413)
    assert "4,194,304 bytes" in problem["detail"] and "as a batch" in problem["detail"]


@pytest.mark.parametrize(("body", "content_type"), [
    (b'{"rows": [', "application/json"),
    (b'[]', "application/json"),
    (b'{"rows": []}', "application/json"),
    (b'{"rows": "x"}', "application/json"),
    (b'{"rows": [{}], "reference_date": "01/01/2026"}', "application/json"),
    (b'{"rows": [{}]}', "text/plain"),
])
def test_a_malformed_request_is_422(client, caller, body: bytes, content_type: str) -> None:
    response = client.post(URL, headers=caller.headers, data=body, content_type=content_type)
    _problem(response, 422)


def test_grant_and_list_show_the_registered_clients(client, setup_data, caller, runner) -> None:
    listing = runner.invoke(args=["eligibility", "programmes", "list"]).output
    line = next(x for x in listing.splitlines() if x.startswith(PROGRAMME + "\t"))
    assert line.endswith(f"\tclients: {caller.client_id}")
    again = runner.invoke(args=["eligibility", "programmes", "grant", PROGRAMME, caller.client_id])
    assert again.exit_code == 0 and "(already registered)" in again.output
    unknown = runner.invoke(args=["eligibility", "programmes", "grant", PROGRAMME, "no-such-client"])
    assert unknown.exit_code == 1 and "No client" in unknown.output
    no_programme = runner.invoke(args=["eligibility", "programmes", "grant", "nope", caller.client_id])
    assert no_programme.exit_code == 1 and "No programme 'nope'" in no_programme.output


def test_the_seed_registers_a_demo_programme_client_that_can_check_at_once(client, runner) -> None:
    import re

    from tests.oidc.helpers import bearer
    from tests.oidc.helpers import machine_token

    seeded = runner.invoke(args=["seed"])
    assert seeded.exit_code == 0, seeded.output
    secret = re.findall(r"demo-programme=(\S+)", seeded.output)  # the last: earlier runs' are in the file too
    assert secret, seeded.output
    again = runner.invoke(args=["seed"])
    assert "demo client demo-programme registered" not in again.output
    assert "clients: demo-programme" in runner.invoke(args=["eligibility", "programmes", "list"]).output
    token = machine_token(client, "demo-programme", secret[-1], "eligibility.lookup").get_json()["access_token"]
    response = client.post("/api/v1/eligibility/programmes/sa-elderly-80-no-pension/checks", headers=bearer(token),
                           json={"rows": [row("HS001", "001080012345", "Nguyễn Văn An", "1980")]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["results"][0]["verdict"] == "NOT_ELIGIBLE"  # 45 years old: not 80
