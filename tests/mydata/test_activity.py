"""Who used my data: the person's entries of each kind, theirs only, paged, filtered, in Vietnam time."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.eligibility.models import Programme
from idsvc.mydata import activity
from idsvc.office import authority
from idsvc.office import people
from idsvc.registry import service as registry
from idsvc.registry.models import Relative
from tests.browser import Browser
from tests.factories import make_account
from tests.factories import make_client
from tests.factories import make_id_number
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import userinfo

STAFF_NUMBER = make_id_number("079", 1980, "F")
RELATIVE_NUMBER = make_id_number("031", 1960, "F")


def _programme(code: str = "sa-elderly") -> Programme:
    programme = Programme(code=code, name_vi="Trợ cấp người cao tuổi", name_en="Old-age allowance",
                          legal_basis="Nghị định 20/2021/NĐ-CP", benefit_category="monthly_allowance",
                          coefficient=1, base_rate=500000, base_rate_effective=datetime(2024, 7, 1).date(),
                          rule_set_version=1)
    db.session().add(programme)
    db.session().flush()
    return programme


@pytest.fixture()
def world(app: Any, setup_data: Any) -> dict[str, Any]:
    """Bình (the person), Chi (someone else), a clerk and a supervisor of commune 00070, an agency app,
    a programme, and one use of Bình's data of every kind but logins and releases (made through the
    pages in the tests)."""

    def create() -> dict[str, Any]:
        client, secret = make_client(name="Cổng dịch vụ công thử nghiệm")
        binh = make_account(full_name="Trần Thị Bình", sex="F", birth_year=1985)
        chi = make_account(full_name="Lê Văn Chi", birth_year=1970)
        clerk = make_account(level=2, role=("clerk", "00070"), full_name="Phạm Thu Hà", id_number=STAFF_NUMBER)
        supervisor = make_account(level=2, role=("supervisor", "00070"), full_name="Đỗ Minh Quân", birth_year=1975)
        programme = _programme()
        citizen = binh.citizen
        db.session().add(Relative(citizen_id=citizen.id, kind="mother", id_number=RELATIVE_NUMBER,
                                  full_name="Ngô Thị Lan"))
        staff = authority.staff_of_account(clerk.id)
        people.read(staff, citizen.id_number)  # a staff read
        people.read(staff, chi.citizen.id_number)
        registry.update_citizen(citizen, {"hometown": "Nam Định"}, actor=staff.actor, reason="Theo đơn",
                                approved_by=f"account:{supervisor.id}")
        for who, verdict in ((citizen, "ELIGIBLE"), (chi.citizen, "NOT_ELIGIBLE")):
            audit.record_many(AuditAction.ELIGIBILITY_PERSON_CHECK, actor=f"client:{client.client_id}",
                              subject_type="citizen", subjects=[(who.id, {"programme": programme.code,
                                                                          "verdict": verdict,
                                                                          "rule_set_version": 1})])
        return {"client_id": client.client_id, "secret": secret, "binh": binh.id, "chi": chi.id,
                "binh_number": citizen.id_number, "chi_number": chi.citizen.id_number}

    return setup_data(create)


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
    assert {"login", "release", "check", "read", "change"} <= kinds
    release = next(e for e in found if e.kind == "release")
    assert release.who.name == "Cổng dịch vụ công thử nghiệm"
    assert "name" in release.what["claims"]
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
    english = client.get("/account/activity", headers={"Cookie": "lang=en"}, query_string={"kind": "check"})
    assert english.status_code == 200


def test_a_bad_filter_is_refused_with_the_page(client, world):
    Browser(client).login(world["binh_number"])
    assert client.get("/account/activity?kind=everything").status_code == 400
    assert client.get("/account/activity?since=2026-13-01").status_code == 400
    assert client.get("/account/activity?after=nonsense").status_code == 400


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
