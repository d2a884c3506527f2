"""The clerk console (``/office``) as a browser sees it: who gets in, what each role sees, the
forms' checks, the version a form carries, and the approval of a proposal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.office.models import Proposal
from idsvc.registry import service as registry
from idsvc.registry.models import Absence
from idsvc.registry.models import Citizen
from idsvc.registry.models import Household
from tests.browser import Browser
from tests.browser import totp_now
from tests.factories import make_account
from tests.factories import make_citizen

#: A commune of province 01 (the clerk's), and one of another province (the outsider's).
HOME, ELSEWHERE = "00070", "27139"


@dataclass
class People:
    subject: str
    subject_household: str
    clerk: str
    supervisor: str
    outsider: str
    citizen: str


@pytest.fixture()
def people(setup_data) -> People:
    """A person of commune 00070 in a household, and the staff around them: a clerk of 00070, a
    supervisor of province 01, a clerk of another province, and a level-2 citizen with no role."""

    def build() -> People:
        household = Household(number="HH-CONSOLE-1", commune_code=HOME, address="12 Phố Huế")
        db.session().add(household)
        db.session().flush()
        subject = make_citizen(full_name="Đỗ Thị Lan", household_id=household.id, relationship_to_head="head",
                               sex="F", birth_year=1970)
        household.head_id = subject.id
        # Staff live in Ho Chi Minh City: never in the households they work on.
        clerk = make_account(level=2, role=("clerk", HOME), full_name="Lý Văn Thư", permanent_commune_code=ELSEWHERE)
        supervisor = make_account(level=2, role=("supervisor", "01"), full_name="Mai Văn Duyệt",
                                  permanent_commune_code=ELSEWHERE)
        outsider = make_account(level=2, role=("clerk", ELSEWHERE), full_name="Hồ Văn Xa",
                                permanent_commune_code=ELSEWHERE)
        citizen = make_account(level=2, full_name="Ngô Văn Dân")
        return People(subject.id_number, household.number, clerk.citizen.id_number, supervisor.citizen.id_number,
                      outsider.citizen.id_number, citizen.citizen.id_number)

    return setup_data(build)


def staff_client(app, number: str, lang: str = "en") -> Any:
    """A browser logged in at level 2 (password and code) as ``number``, its pages in ``lang``."""
    client = app.test_client()
    client.set_cookie("idsvc_lang", lang)
    browser = Browser(client)
    assert browser.login(number, next_url="/office/").status_code == 302
    done = browser.second_factor(totp_now(), next_url="/office/")
    assert done.status_code == 302 and done.headers["Location"] == "/office/", done.text
    return client


def form_of(page: str) -> dict[str, str]:
    """The hidden inputs of the page's (last) form: the CSRF token and the record version."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def post_form(client, path: str, **values: str) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={**form_of(page.text), **values})


def proposal_of(app, operation: str) -> Proposal:
    with app.app_context():
        found = db.session().scalars(select(Proposal).where(Proposal.operation == operation)).one()
        db.session().expunge(found)
        return found


def citizen(app, number: str) -> Citizen:
    with app.app_context():
        found = registry.get_citizen_by_number(number)
        db.session().expunge(found)
        return found


# --- who gets in ------------------------------------------------------------------------------

def test_the_console_sends_a_stranger_to_log_in_and_staff_to_the_second_factor(app, people) -> None:
    client = app.test_client()
    response = client.get("/office/people/" + people.subject)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/office/people/")
    # Staff logging in come back to the console, after their code.
    assert Browser(client).login(people.clerk, next_url="/office/").headers["Location"].startswith("/login/otp")
    assert client.get("/office/").headers["Location"].startswith("/login/otp?next=/office/")


def test_a_citizen_without_a_staff_role_gets_403(app, people) -> None:
    client = app.test_client()
    client.set_cookie("idsvc_lang", "en")
    browser = Browser(client)
    browser.login(people.citizen, next_url="/office/")
    browser.second_factor(totp_now(), next_url="/office/")
    for path in ("/office/", f"/office/people/{people.subject}", "/office/proposals", "/office/births/new"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "not an active level-2 staff account" in response.text
        assert "Đỗ Thị Lan" not in response.text and "Approval queue" not in response.text
    assert "Registry office console" not in client.get("/account").text


def test_the_account_page_links_staff_to_the_console(app, people) -> None:
    client = staff_client(app, people.clerk)
    page = client.get("/account").text
    assert 'href="/office/"' in page and "Registry office console" in page


def test_a_clerk_outside_the_unit_finds_the_person_but_may_not_open_or_change_the_record(app, people) -> None:
    client = staff_client(app, people.outsider)
    found = client.get("/office/", query_string={"name": "do thi lan"})
    assert found.status_code == 200
    assert "Đỗ Thị Lan" in found.text and "outside your unit" in found.text
    assert f'href="/office/people/{people.subject}"' not in found.text  # minimal fields only

    record = client.get(f"/office/people/{people.subject}")
    assert record.status_code == 403
    assert "unit 00070" in record.text and "12 Phố Huế" not in record.text
    token = Browser.csrf(client.get("/account").text)
    refused = client.post(f"/office/people/{people.subject}/death",
                          data={"csrf_token": token, "p_date_of_death": "2026-12-01", "reason": "Trích lục khai tử"})
    assert refused.status_code == 403
    assert citizen(app, people.subject).status == "alive"
    assert client.get(f"/office/households/{people.subject_household}").status_code == 403


def test_the_clerk_reads_the_record_household_and_the_operations_of_the_unit(app, people) -> None:
    client = staff_client(app, people.clerk)
    page = client.get(f"/office/people/{people.subject}")
    assert page.status_code == 200
    assert "Đỗ Thị Lan" in page.text and people.subject_household in page.text
    assert f'/office/people/{people.subject}/death"' in page.text  # the operations, one link each
    household = client.get(f"/office/households/{people.subject_household}")
    assert household.status_code == 200 and "12 Phố Huế" in household.text and "Đỗ Thị Lan" in household.text


# --- forms ------------------------------------------------------------------------------------

def test_every_form_is_protected_against_cross_site_posts(app, people) -> None:
    client = staff_client(app, people.clerk)
    response = client.post(f"/office/people/{people.subject}/move",
                           data={"p_permanent_commune_code": "00004", "reason": "Đơn đề nghị",
                                 "version": str(citizen(app, people.subject).version)})
    assert response.status_code == 400
    assert citizen(app, people.subject).permanent_commune_code == HOME


def test_an_immediate_move_is_recorded_with_its_history(app, people) -> None:
    # A move's unit is its destination: the supervisor of the province moves the person to 00004.
    client = staff_client(app, people.supervisor)
    before = citizen(app, people.subject).version
    form = client.get(f"/office/people/{people.subject}/move")
    assert f'name="version" value="{before}"' in form.text  # the form carries the version
    done = client.post(f"/office/people/{people.subject}/move",
                       data={**form_of(form.text), "p_permanent_commune_code": "00004",
                             "reason": "Đơn đăng ký thường trú", "document_number": "123/ĐK",
                             "document_date": "2026-12-01"})
    assert done.status_code == 302, done.text
    outcome = client.get(done.headers["Location"]).text
    assert "Recorded: the change is in the registry." in outcome
    assert citizen(app, people.subject).permanent_commune_code == "00004"
    history = client.get(f"/office/people/{people.subject}").text
    timeline = history[history.index('id="history"'):]
    assert "Permanent residence" in timeline and "00070" in timeline and "00004" in timeline
    assert "Mai Văn Duyệt" in timeline and "123/ĐK" in timeline and "Đơn đăng ký thường trú" in timeline


@pytest.mark.parametrize(("lang", "messages"), [
    ("en", ["An ID number has exactly 12 digits.", "is not a date: write YYYY-MM-DD, or YYYY-MM or YYYY",
            "No commune has the code 99999", "Give the reason"]),
    ("vi", ["Số định danh gồm đúng 12 chữ số.", "không phải là ngày", "Không có xã nào mang mã 99999",
            "Hãy ghi lý do"]),
])
def test_the_birth_form_checks_numbers_dates_and_communes_in_the_page_language(app, people, lang,
                                                                                messages) -> None:
    client = staff_client(app, people.clerk, lang)
    response = post_form(client, "/office/births/new", p_full_name="Lê Văn Mới", p_sex="M",
                         p_date_of_birth="2026-13", p_registration_commune="99999", p_father="12345",
                         reason="")
    assert response.status_code == 422
    for message in messages:
        assert message in response.text, message
    assert 'aria-invalid="true"' in response.text and 'role="alert"' in response.text
    assert 'value="Lê Văn Mới"' in response.text  # what was typed stays
    with app.app_context():
        assert db.session().scalars(select(Proposal)).first() is None


def test_a_form_opened_on_an_older_version_shows_the_conflict_and_the_current_values(app, people) -> None:
    first, second = staff_client(app, people.clerk), staff_client(app, people.supervisor)
    path = f"/office/people/{people.subject}/correction"
    seen_by_second = second.get(path).text
    assert post_form(first, path, p_place_of_birth="Hải Phòng", reason="Giấy khai sinh").status_code == 302
    stale = second.post(path, data={**form_of(seen_by_second), "p_place_of_birth": "Nam Định",
                                    "reason": "Đơn đề nghị"})
    assert stale.status_code == 409
    assert "The record has changed" in stale.text
    assert "Hải Phòng" in stale.text and "Nam Định" in stale.text  # current value beside the one typed
    assert "Lý Văn Thư" in stale.text  # who changed it meanwhile
    current = citizen(app, people.subject)
    assert current.place_of_birth == "Hải Phòng"
    # Sent again from the conflict page, on the current version, it is recorded.
    again = second.post(path, data={**form_of(stale.text), "p_place_of_birth": "Nam Định", "reason": "Đơn đề nghị"})
    assert again.status_code == 302, again.text
    assert citizen(app, people.subject).place_of_birth == "Nam Định"


# --- approval ---------------------------------------------------------------------------------

def test_a_death_waits_for_a_supervisor_who_sees_the_diff_and_must_say_why_to_reject(app, people) -> None:
    clerk = staff_client(app, people.clerk)
    sent = post_form(clerk, f"/office/people/{people.subject}/death", p_date_of_death="2026-11-30",
                     reason="Trích lục khai tử", document_number="45/TLKT", document_date="2026-12-01")
    assert sent.status_code == 302, sent.text
    assert "waits for a supervisor" in clerk.get(sent.headers["Location"]).text
    assert citizen(app, people.subject).status == "alive"
    proposal = proposal_of(app, "death")
    mine = clerk.get("/office/proposals/mine")
    assert mine.status_code == 200 and f"#{proposal.id}" in mine.text
    own = clerk.get(f"/office/proposals/{proposal.id}").text
    assert 'id="approve"' not in own and 'id="withdraw"' in own  # nobody approves their own

    supervisor = staff_client(app, people.supervisor)
    queue = supervisor.get("/office/proposals")
    assert queue.status_code == 200
    assert f"#{proposal.id}" in queue.text and "Đỗ Thị Lan" in queue.text
    page = supervisor.get(f"/office/proposals/{proposal.id}")
    assert re.search(r"Date of death</th><td class=\"current\">.*?</td><td class=\"proposed\">2026-11-30", page.text)
    assert "45/TLKT" in page.text and "Lý Văn Thư" in page.text
    csrf = Browser.csrf(page.text)
    refused = supervisor.post(f"/office/proposals/{proposal.id}/reject", data={"csrf_token": csrf, "note": " "})
    assert refused.status_code == 422 and "Say why it is rejected" in refused.text
    assert proposal_of(app, "death").status == "pending"

    approved = supervisor.post(f"/office/proposals/{proposal.id}/approve", data={"csrf_token": csrf})
    assert approved.status_code == 302
    assert proposal_of(app, "death").status == "applied"
    dead = citizen(app, people.subject)
    assert dead.status == "deceased" and str(dead.date_of_death) == "2026-11-30"
    timeline = supervisor.get(f"/office/people/{people.subject}").text
    assert "Approved by" in timeline and "Mai Văn Duyệt" in timeline and "45/TLKT" in timeline
    again = supervisor.post(f"/office/proposals/{proposal.id}/approve", data={"csrf_token": csrf})
    assert again.status_code == 409  # already decided
    twice = post_form(clerk, f"/office/people/{people.subject}/death", p_date_of_death="2026-11-30",
                      reason="Trích lục khai tử")
    assert twice.status_code == 409 and 'class="errors-summary" role="alert"' in twice.text


def test_a_clerk_cannot_decide_and_its_own_proposal_can_be_withdrawn(app, people) -> None:
    clerk = staff_client(app, people.clerk)
    post_form(clerk, f"/office/people/{people.subject}/name_change", p_full_name="Đỗ Thị Lan Anh",
              reason="Quyết định thay đổi họ tên")
    proposal = proposal_of(app, "name_change")
    page = clerk.get(f"/office/proposals/{proposal.id}").text
    approve = clerk.post(f"/office/proposals/{proposal.id}/approve", data={"csrf_token": Browser.csrf(page)})
    assert approve.status_code == 403
    withdrawn = clerk.post(f"/office/proposals/{proposal.id}/withdraw", data={"csrf_token": Browser.csrf(page)})
    assert withdrawn.status_code == 302
    assert proposal_of(app, "name_change").status == "withdrawn"
    assert citizen(app, people.subject).full_name == "Đỗ Thị Lan"


def test_staff_may_not_touch_their_own_record(app, setup_data) -> None:
    number = setup_data(lambda: make_account(level=2, role=("clerk", HOME), full_name="Lý Thị Nhà").citizen.id_number)
    clerk = staff_client(app, number)
    response = post_form(clerk, f"/office/people/{number}/correction", p_phone="0912000111", reason="Tự sửa")
    assert response.status_code == 403
    assert "their own record" in response.text
    assert citizen(app, number).phone is None


def test_a_search_that_cannot_be_read_says_why(app, people) -> None:
    client = staff_client(app, people.clerk)
    response = client.get("/office/", query_string={"born": "1990-13"})
    assert response.status_code == 422
    assert 'role="alert"' in response.text and 'value="1990-13"' in response.text


def test_the_household_form_moves_the_household_and_its_page_shows_it(app, people) -> None:
    client = staff_client(app, people.clerk)
    page = client.get(f"/office/households/{people.subject_household}")
    assert f"/office/households/{people.subject_household}/household_move" in page.text
    done = post_form(client, f"/office/households/{people.subject_household}/household_move",
                     p_commune_code=HOME, p_address="5 Hàng Bài", reason="Đăng ký thay đổi địa chỉ")
    assert done.status_code == 302, done.text
    assert "5 Hàng Bài" in client.get(f"/office/households/{people.subject_household}").text


def test_an_absence_is_ended_from_the_person_page_with_its_form_filled_in(app, people, setup_data) -> None:
    def declare() -> int:
        subject = registry.get_citizen_by_number(people.subject)
        absence = Absence(citizen_id=subject.id, starts_on=date(2026, 10, 1), destination="Đà Lạt")
        db.session().add(absence)
        db.session().flush()
        return absence.id

    absence_id = setup_data(declare)
    client = staff_client(app, people.clerk)
    page = client.get(f"/office/people/{people.subject}").text
    end = f"/office/people/{people.subject}/absence_end?p_absence_id={absence_id}"
    assert f'href="{end}"' in page and "Đà Lạt" in page
    form = client.get(end).text
    assert f'name="p_absence_id" value="{absence_id}"' in form
    done = client.post(f"/office/people/{people.subject}/absence_end",
                       data={**form_of(form), "p_absence_id": str(absence_id), "p_on": "2026-11-01",
                             "reason": "Công dân đã trở về"})
    assert done.status_code == 302, done.text
    page = client.get(f"/office/people/{people.subject}").text
    assert "(ended 2026-11-01)" in page and f'href="{end}"' not in page


def test_an_approval_of_a_change_overtaken_meanwhile_is_refused_naming_the_field(app, people, setup_data) -> None:
    clerk = staff_client(app, people.clerk)
    post_form(clerk, f"/office/people/{people.subject}/name_change", p_full_name="Đỗ Thị Lan Anh",
              reason="Quyết định thay đổi họ tên")
    proposal = proposal_of(app, "name_change")
    setup_data(lambda: registry.update_citizen(registry.get_citizen_by_number(people.subject),
                                               {"full_name": "Đỗ Thị Lan Chi"}, actor="system:test",
                                               reason="Đồng bộ hộ tịch", source="civil_status_sync"))
    supervisor = staff_client(app, people.supervisor)
    page = supervisor.get(f"/office/proposals/{proposal.id}").text
    refused = supervisor.post(f"/office/proposals/{proposal.id}/approve", data={"csrf_token": Browser.csrf(page)})
    assert refused.status_code == 409
    assert "full_name" in refused.text and f'href="/office/proposals/{proposal.id}"' in refused.text
    assert proposal_of(app, "name_change").status == "pending"
    assert citizen(app, people.subject).full_name == "Đỗ Thị Lan Chi"


def test_a_clerk_records_an_arrival_from_elsewhere_without_opening_the_record(app, people) -> None:
    # A move belongs to its destination: the clerk of 27139 receives the person of 00070.
    client = staff_client(app, people.outsider)
    found = client.get("/office/", query_string={"name": "do thi lan"}).text
    assert f'href="/office/people/{people.subject}/move"' in found
    form = client.get(f"/office/people/{people.subject}/move")
    assert form.status_code == 200
    assert "12 Phố Huế" not in form.text  # the household's address stays with the unit she lives in
    refused = client.post(f"/office/people/{people.subject}/move",
                          data={**form_of(form.text), "p_permanent_commune_code": "00004", "reason": "Đăng ký"})
    assert refused.status_code == 403  # not into someone else's unit
    assert citizen(app, people.subject).permanent_commune_code == HOME
    done = client.post(f"/office/people/{people.subject}/move",
                       data={**form_of(form.text), "p_permanent_commune_code": ELSEWHERE,
                             "p_address": "5 Lê Lợi", "reason": "Đơn đăng ký thường trú"})
    assert done.status_code == 302, done.text
    assert citizen(app, people.subject).permanent_commune_code == ELSEWHERE
    assert client.get(f"/office/people/{people.subject}").status_code == 200  # now a resident of the unit


def test_the_console_menu_leads_to_the_review_queue(app, people) -> None:
    client = staff_client(app, people.clerk)
    assert 'href="/office/reviews/"' in client.get("/office/").text
    assert client.get("/office/reviews/").status_code == 200
