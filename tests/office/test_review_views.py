"""The review queue's pages (``/office/reviews``): who sees which item, the row beside its
candidates, a decision recorded with the keyboard's controls, and the next check using it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.eligibility.models import CheckBatchRow
from idsvc.eligibility.models import MatchDecision
from tests.browser import Browser
from tests.browser import totp_now
from tests.eligibility.programme_clients import Caller
from tests.eligibility.programme_clients import new_caller
from tests.eligibility.reviewing import HOME
from tests.eligibility.reviewing import UNSURE
from tests.eligibility.reviewing import check_batch
from tests.eligibility.reviewing import check_now
from tests.eligibility.reviewing import make_registry
from tests.eligibility.reviewing import unsure_elsewhere
from tests.factories import make_account

QUEUE = "/office/reviews/"


@pytest.fixture()
def registry(setup_data) -> dict[str, Any]:
    return setup_data(make_registry)


@pytest.fixture()
def caller(client, setup_data, registry) -> Caller:
    return new_caller(client, setup_data)


@pytest.fixture()
def items(app, client, setup_data, registry, caller) -> dict[str, str]:
    """A checked list with a row for a clerk in HOME and one in another province: ref -> its page."""
    check_batch(app, client, caller, [UNSURE, unsure_elsewhere(registry)])

    def pages() -> dict[str, str]:
        rows = db.session().execute(select(CheckBatchRow.batch_id, CheckBatchRow.line, CheckBatchRow.row_values)
                                    .where(CheckBatchRow.review_fingerprint.is_not(None))).all()
        return {values["ref"]: f"{QUEUE}{batch}-{line}" for batch, line, values in rows}

    return setup_data(pages)


def staff(setup_data, *roles: tuple[str, str], **citizen: Any) -> str:
    """A level-2 account holding ``roles``: its ID number."""

    def make() -> str:
        account = make_account(level=2, **citizen)
        from idsvc.identity import service
        for role, unit in roles:
            service.grant_role(account, role, unit, actor="test")
        db.session().flush()
        return account.citizen.id_number

    return setup_data(make)


def logged_in(app, number: str, lang: str = "en") -> Any:
    client = app.test_client()
    client.set_cookie("idsvc_lang", lang)
    browser = Browser(client)
    assert browser.login(number, next_url=QUEUE).status_code == 302
    assert browser.second_factor(totp_now(), next_url=QUEUE).status_code == 302
    return client


def token(client: Any) -> str:
    """A CSRF token of the session (from a page with a form, for a page that shows none)."""
    return Browser.csrf(client.get("/account").text)


def _refs(page: str) -> list[str]:
    return re.findall(r'<span class="hint">(U-\d)</span>', page)


def test_a_clerk_compares_a_row_with_its_candidates_and_confirms_one(app, client, setup_data, registry, items,
                                                                      caller) -> None:
    clerk = logged_in(app, staff(setup_data, ("clerk", HOME)))
    queue = clerk.get(QUEUE)
    assert queue.status_code == 200
    assert _refs(queue.text) == ["U-1"], "only the row whose best candidate lives in the clerk's commune"

    page = clerk.get(items["U-1"])
    assert page.status_code == 200 and "Who is this row?" in page.text
    assert page.text.count("Nguyễn Văn An") >= 4  # the row's name beside each candidate's
    assert "1935-05-17" in page.text and "1935-09-02" in page.text and "the same year" in page.text
    radios = re.findall(r'<input type="radio" name="candidate" id="([^"]+)" value="([^"]+)" required>', page.text)
    assert [v for _, v in radios][-1] == "none" and len(radios) == 3
    for ident, _ in radios:  # every choice is named by its label
        assert f'<label for="{ident}">' in page.text

    an = registry["an"][0]
    decided = clerk.post(items["U-1"], data={"candidate": str(an), "csrf_token": Browser.csrf(page.text)})
    assert decided.status_code == 303 and decided.headers["Location"].startswith(QUEUE + "?decided=")
    after = clerk.get(decided.headers["Location"])
    assert "Decision recorded" in after.text and _refs(after.text) == []

    [again] = check_now(client, caller, [UNSURE])
    assert again["match"] == "clerk" and "MATCH_REVIEW" not in again["reasons"]
    shown = clerk.get(items["U-1"])
    assert "Decided: the row is Nguyễn Văn An (candidate" in shown.text and 'name="candidate"' not in shown.text


def test_rejecting_every_candidate_and_choosing_nothing(app, client, setup_data, items, caller) -> None:
    clerk = logged_in(app, staff(setup_data, ("supervisor", "01"), ("clerk", HOME)))
    page = clerk.get(items["U-1"])
    token = Browser.csrf(page.text)
    nothing = clerk.post(items["U-1"], data={"csrf_token": token})
    assert nothing.status_code == 422 and "Choose one of the people" in nothing.text
    stranger = clerk.post(items["U-1"], data={"candidate": "999999", "csrf_token": token})
    assert stranger.status_code == 422
    assert clerk.post(items["U-1"], data={"candidate": "none", "csrf_token": token}).status_code == 303
    [again] = check_now(client, caller, [UNSURE])
    assert (again["match"], again["verdict"]) == ("none", "NOT_FOUND")


def test_an_auditor_sees_every_item_and_decides_none(app, setup_data, items) -> None:
    auditor = logged_in(app, staff(setup_data, ("auditor", "*")))
    assert _refs(auditor.get(QUEUE).text) == ["U-1", "U-2"]
    page = auditor.get(items["U-2"])
    assert page.status_code == 200 and 'name="candidate"' not in page.text
    assert "You may read this row but not decide it." in page.text
    refused = auditor.post(items["U-2"], data={"candidate": "none", "csrf_token": token(auditor)})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session().scalar(select(MatchDecision.id)) is None


def test_a_clerk_of_another_unit_neither_sees_nor_opens_the_item(app, setup_data, registry, items) -> None:
    clerk = logged_in(app, staff(setup_data, ("clerk", registry["province"])))
    assert _refs(clerk.get(QUEUE).text) == ["U-2"]
    refused = clerk.get(items["U-1"])
    assert refused.status_code == 403 and "Not allowed" in refused.text


@pytest.mark.parametrize("roles", [(("admin", "*"),), ()], ids=["admin", "no-role"])
def test_accounts_that_read_no_records_are_refused(app, setup_data, items, roles) -> None:
    other = logged_in(app, staff(setup_data, *roles))
    assert other.get(QUEUE).status_code == 403
    assert other.get(items["U-1"]).status_code == 403


def test_the_pages_need_a_level_2_login(client, items) -> None:
    response = client.get(QUEUE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?")


def test_nobody_decides_a_match_about_themselves(app, setup_data, items) -> None:
    # The clerk is a third Nguyễn Văn An born in 1935 in the commune: one of the candidates now?
    number = staff(setup_data, ("clerk", HOME))

    def own_id() -> int:
        from idsvc.registry.models import Citizen
        citizen = db.session().scalar(select(Citizen).where(Citizen.id_number == number))
        assert citizen is not None
        return citizen.id

    mine = setup_data(own_id)

    def make_candidate() -> None:
        row = db.session().scalar(select(CheckBatchRow).where(CheckBatchRow.row_values["ref"].as_string() == "U-1"))
        assert row is not None and row.resolution is not None
        row.resolution = {**row.resolution, "candidates": [*row.resolution["candidates"], mine]}

    setup_data(make_candidate)
    clerk = logged_in(app, number)
    page = clerk.get(items["U-1"])
    assert page.status_code == 200 and 'name="candidate"' not in page.text
    assert clerk.post(items["U-1"], data={"candidate": "none", "csrf_token": token(clerk)}).status_code == 403


def test_the_pages_speak_vietnamese(app, setup_data, items) -> None:
    clerk = logged_in(app, staff(setup_data, ("clerk", HOME)), lang="vi")
    queue = clerk.get(QUEUE)
    assert '<html lang="vi">' in queue.text and "Các trường hợp cần xem xét" in queue.text
    page = clerk.get(items["U-1"])
    assert "Dòng này là ai?" in page.text and "Không ai trong số này" in page.text


def test_nobody_decides_a_match_about_their_household(app, setup_data, registry, items) -> None:
    number = staff(setup_data, ("clerk", HOME))

    def same_household() -> None:
        from idsvc.registry.models import Citizen
        from idsvc.registry.models import Household
        home = Household(number="HH-REVIEW-1", commune_code=HOME)
        db.session().add(home)
        db.session().flush()
        for citizen in db.session().scalars(select(Citizen).where(
                Citizen.id_number.in_([number, registry["an2"][1]]))):
            citizen.household_id = home.id

    setup_data(same_household)
    clerk = logged_in(app, number)
    page = clerk.get(items["U-1"])
    assert page.status_code == 200 and 'name="candidate"' not in page.text
    refused = clerk.post(items["U-1"], data={"candidate": "none", "csrf_token": token(clerk)})
    assert refused.status_code == 403 and "household" in refused.text
