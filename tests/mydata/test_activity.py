"""Who used my data: the person's entries of each kind, theirs only, paged, filtered, in Vietnam time."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.mydata import activity
from tests.browser import Browser
from tests.mydata.conftest import RELATIVE_NUMBER
from tests.mydata.conftest import STAFF_NUMBER
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import userinfo


def _entries(app: Any, account_id: int, **filters: Any) -> list[activity.Entry]:
    from idsvc.identity.models import Account

    with app.app_context():
        account = db.session().get(Account, account_id)
        return list(activity.all_entries(account, activity.Filters.parse(**filters)))


def test_every_kind_appears_for_the_person_and_not_for_others(app, client, world):
    tokens = code_tokens(client, world["client_id"], world["secret"], world["binh_number"])
    assert userinfo(client, tokens["access_token"]).status_code == 200

    found = _entries(app, world["binh"])
    kinds = {e.kind for e in found}
    assert set(activity.KINDS) == kinds
    release = next(e for e in found if e.kind == "release")
    assert release.who.name == "Cổng dịch vụ công thử nghiệm"
    assert "name" in release.what["claims"]
    assert release.what["purpose"] == "login" and release.what["purpose_text"]["en"]
    consent = next(e for e in found if e.kind == "consent")
    assert (consent.who.name, consent.what["event"]) == ("Cổng dịch vụ công thử nghiệm", "granted")
    assert "name" in consent.what["claims"]
    check = next(e for e in found if e.kind == "check")
    assert (check.who.names or {})["en"] == "Old-age allowance"
    assert check.what["verdict"] == "ELIGIBLE"
    read = next(e for e in found if e.kind == "read")
    assert (read.who.kind, read.who.role, read.who.unit) == ("office", "clerk", _commune_name(app, "00070"))
    change = next(e for e in found if e.kind == "change")
    assert change.what["fields"] == ["hometown"]
    assert change.what["approved_by"].role == "supervisor"
    assert change.event_id is not None  # the event of the update, for its proof
    agency_login = next(e for e in found if e.kind == "login" and e.who.kind == "agency")
    assert agency_login.what["level"] == 1

    others = _entries(app, world["chi"])
    assert {e.kind for e in others} == {"read", "check"}
    assert next(e for e in others if e.kind == "check").what["verdict"] == "NOT_ELIGIBLE"
    assert not {e.event_id for e in found} & {e.event_id for e in others}


def _commune_name(app: Any, code: str) -> str:
    from idsvc.registry.models import Commune

    with app.app_context():
        return db.session().get(Commune, code).name


def test_entries_are_newest_first_and_pages_follow_each_other(app, world):
    with app.app_context():
        for i in range(7):
            audit.record(AuditAction.IDENTITY_LOGIN_SUCCESS, actor=f"account:{world['binh']}",
                         subject_type="account", subject_id=world["binh"], data={"level": 1, "n": i})
        # Two events at the very same time: the page order falls back on their ids.
        db.session().execute(update(AuditEvent).where(AuditEvent.data["n"].as_integer().in_([3, 4]))
                             .values(at=datetime(2026, 3, 1, tzinfo=UTC)))
        db.session().commit()
    everything = _entries(app, world["binh"])
    keys = [e.key for e in everything]
    assert len(keys) == len(set(keys))
    assert [(e.at, e.key) for e in everything] == sorted([(e.at, e.key) for e in everything], reverse=True)

    from idsvc.identity.models import Account

    with app.app_context():
        account = db.session().get(Account, world["binh"])
        paged: list[str] = []
        after = None
        pages = 0
        while True:
            page = activity.entries(account, after=after, limit=3)
            paged += [e.key for e in page.entries]
            pages += 1
            if page.next_cursor is None:
                break
            after = page.next_cursor
    assert paged == keys
    assert pages == -(-len(keys) // 3)


def test_an_event_and_a_revision_at_the_same_instant_each_come_once_page_by_page(app, world):
    from idsvc.identity.models import Account
    from idsvc.registry.models import CitizenRevision

    same = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
    with app.app_context():
        db.session().execute(update(AuditEvent).where(AuditEvent.subject_type == "citizen").values(at=same))
        db.session().execute(update(CitizenRevision).values(at=same))
        db.session().commit()
    everything = [e.key for e in _entries(app, world["binh"])]
    with app.app_context():
        account = db.session().get(Account, world["binh"])
        paged: list[str] = []
        after = None
        while True:
            page = activity.entries(account, after=after, limit=1)
            paged += [e.key for e in page.entries]
            if page.next_cursor is None:
                break
            after = page.next_cursor
    assert paged == everything
    assert any(k.startswith("r") for k in paged) and sum(k.startswith("e") for k in paged) >= 2


def test_filters_by_kind_and_by_vietnam_days(app, world):
    with app.app_context():
        # 17:30 UTC on 1 January is 00:30 on 2 January in Vietnam.
        event_at = datetime(2026, 1, 1, 17, 30, tzinfo=UTC)
        db.session().execute(update(AuditEvent).where(AuditEvent.action == "eligibility:person:check")
                             .values(at=event_at))
        db.session().commit()
    only_checks = _entries(app, world["binh"], kinds=["check"])
    assert {e.kind for e in only_checks} == {"check"}
    assert [e.at for e in _entries(app, world["binh"], kinds=["check"], since="2026-01-02", until="2026-01-02")] \
        == [event_at]
    assert _entries(app, world["binh"], kinds=["check"], since="2025-12-01", until="2026-01-01") == []
    changes = _entries(app, world["binh"], kinds=["change", "read"])
    assert {e.kind for e in changes} == {"change", "read"}


def test_the_page_shows_vietnam_time_and_no_third_party_numbers(app, client, world):
    with app.app_context():
        db.session().execute(update(AuditEvent).where(AuditEvent.action == "eligibility:person:check")
                             .values(at=datetime(2026, 1, 1, 17, 30, tzinfo=UTC)))
        db.session().commit()
    browser = Browser(client)
    browser.login(world["binh_number"])
    page = client.get("/account/activity")
    assert page.status_code == 200
    assert "02/01/2026 00:30" in page.text
    assert "Trợ cấp người cao tuổi" in page.text
    numbers = set(re.findall(r"\d{9,12}", page.text))
    assert not numbers & {STAFF_NUMBER, RELATIVE_NUMBER, world["chi_number"]}
    assert "Phạm Thu Hà" not in page.text  # the office and role, never the staff member
    assert "Ai đã sử dụng dữ liệu của tôi" in page.text
    client.get("/language/en")
    english = client.get("/account/activity", query_string={"kind": "check"})
    assert "Who used my data" in english.text
    assert "Old-age allowance" in english.text and "eligible" in english.text
    assert "Registry office" not in english.text  # only checks asked for


def test_the_page_shows_every_kind_in_plain_words(app, client, world):
    tokens = code_tokens(client, world["client_id"], world["secret"], world["binh_number"])
    assert userinfo(client, tokens["access_token"]).status_code == 200
    client.get("/language/en")
    page = client.get("/account/activity")
    assert page.status_code == 200
    text = page.text
    assert "Received: Full name, Family name" in text  # the release, in the catalogue's words and order
    assert "Consent given: " in text
    assert "You logged in to this agency with your e-ID" in text
    assert "Result: eligible" in text
    assert "Registry office: " in text and "(registry clerk)" in text
    assert "Changed: Hometown" in text and "approved by Registry office" in text
    assert "Not sealed yet" in text
    client.get("/language/vi")
    vietnamese = client.get("/account/activity")
    assert "Đã nhận: Họ và tên" in vietnamese.text
    assert "Kết quả: đủ điều kiện" in vietnamese.text


def test_a_bad_filter_is_refused_with_the_page(client, world):
    Browser(client).login(world["binh_number"])
    assert client.get("/account/activity?kind=everything").status_code == 400
    assert client.get("/account/activity?since=2026-13-01").status_code == 400
    assert client.get("/account/activity?after=nonsense").status_code == 400
    assert client.get("/account/activity?after=20261399T000000000000.0.1").status_code == 400  # no 13th month
    assert client.get("/account/activity?since=0001-01-01").status_code == 400
    assert client.get("/account/activity?until=9999-12-31").status_code == 400


def test_the_page_needs_a_login(client):
    response = client.get("/account/activity")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_another_persons_event_has_no_proof_here(app, client, world):
    with app.app_context():
        theirs = db.session().scalar(select(AuditEvent.id).where(
            AuditEvent.subject_type == "citizen", AuditEvent.action == "eligibility:person:check",
            AuditEvent.data["verdict"].as_string() == "NOT_ELIGIBLE"))
    Browser(client).login(world["binh_number"])
    assert client.get(f"/account/activity/{theirs}/proof").status_code == 404
    assert client.get("/account/activity/999999999/proof").status_code == 404


def test_events_older_than_the_window_do_not_become_a_changes_proof(app, world):
    found = _entries(app, world["binh"], kinds=["change"])
    change = found[0]
    with app.app_context():
        event = db.session().get(AuditEvent, change.event_id)
        assert event.action == "registry:citizen:update"
        assert event.at - change.at < timedelta(seconds=60)
