"""Download my data: the record, the consents and the access history as a JSON attachment, audited,
with no other person's ID number in it."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from tests.browser import Browser
from tests.mydata.conftest import RELATIVE_NUMBER
from tests.mydata.conftest import STAFF_NUMBER
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import userinfo


def _download(client: Any) -> tuple[Any, dict[str, Any]]:
    response = client.get("/account/data")
    assert response.status_code == 200, response.text
    return response, json.loads(response.data)


def test_the_download_holds_the_record_consents_and_history(app, client, world):
    tokens = code_tokens(client, world["client_id"], world["secret"], world["binh_number"])
    assert userinfo(client, tokens["access_token"]).status_code == 200
    browser = Browser(client)
    browser.login(world["binh_number"])

    response, document = _download(client)
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.mimetype == "application/json"
    record = document["record"]
    assert record["id_number"] == world["binh_number"]
    assert record["full_name"] == "Trần Thị Bình"
    assert record["hometown"] == "Nam Định"
    assert record["relatives"] == [{"kind": "mother", "full_name": "Ngô Thị Lan", "nationality": None,
                                    "ended_on": None}]
    assert [c["client_name"] for c in document["consents"]["current"]] == ["Cổng dịch vụ công thử nghiệm"]
    kinds = {entry["kind"] for entry in document["access_history"]}
    assert {"login", "release", "check", "read", "change"} <= kinds
    assert all(entry["at"].endswith("+07:00") for entry in document["access_history"])

    text = response.data.decode()
    numbers = set(re.findall(r"\d{9,12}", text))
    assert not numbers & {STAFF_NUMBER, RELATIVE_NUMBER, world["chi_number"]}
    assert "Phạm Thu Hà" not in text


def test_a_download_is_audited_and_shown_as_the_persons_own_read(app, client, world):
    Browser(client).login(world["binh_number"])
    _download(client)
    with app.app_context():
        event = db.session().scalar(select(AuditEvent).where(AuditEvent.action == "mydata:data:download"))
        assert event is not None
        assert (event.subject_type, event.subject_id, event.actor) == (
            "account", str(world["binh"]), f"account:{world['binh']}")
    _, again = _download(client)
    own = [e for e in again["access_history"] if e["action"] == "mydata:data:download"]
    assert own and own[0]["who"] == {"kind": "self"}


def test_the_download_needs_a_login(client):
    assert client.get("/account/data").status_code == 302
