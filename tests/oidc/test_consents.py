"""A person's consents: listed on the account, withdrawn there, and then nothing more is released."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from tests.browser import Browser
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import assert_invalid_token
from tests.oidc.helpers import authorize
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import refresh
from tests.oidc.helpers import userinfo


@pytest.fixture()
def agency(setup_data):
    """An agency app (not trusted: it needs consent) and a citizen: (client_id, secret, id_number)."""
    def create():
        client, secret = make_client(name="Cổng dịch vụ công tỉnh")
        return client.client_id, secret, make_account().citizen.id_number
    return setup_data(create)


def test_a_withdrawn_consent_ends_the_release_of_data_and_the_apps_tokens(client, agency, setup_data) -> None:
    client_id, secret, number = agency
    tokens = code_tokens(client, client_id, secret, number, scope="openid profile")
    assert "name" in userinfo(client, tokens["access_token"]).get_json()
    apps = client.get("/account/apps")
    assert apps.status_code == 200
    assert "Cổng dịch vụ công tỉnh" in apps.text and "<li>Họ và tên</li>" in apps.text

    response = client.post(f"/account/apps/{client_id}/withdraw", data={"csrf_token": Browser.csrf(apps.text)})
    assert response.status_code == 302
    after = client.get(response.headers["Location"])
    assert "Đã rút lại sự đồng ý" in after.text and "Cổng dịch vụ công tỉnh" not in after.text
    assert_invalid_token(userinfo(client, tokens["access_token"]))
    assert refresh(client, client_id, secret, tokens["refresh_token"]).status_code == 400
    events = setup_data(lambda: [(e.actor, e.subject_id, e.data) for e in db.session().scalars(
        select(AuditEvent).where(AuditEvent.action == "oidc:consent:withdraw"))])
    assert len(events) == 1 and events[0][0] == events[0][1].join(("account:", ""))  # the person, about themself
    assert events[0][2] == {"client": client_id, "purpose": "login"}
    # The next login asks again.
    _, again = Browser(client).start(client_id)
    assert again.status_code == 200 and 'name="decision"' in again.text


def test_a_code_not_yet_redeemed_is_spent_by_the_withdrawal(client, agency) -> None:
    client_id, secret, number = agency
    browser, request, code = authorize(client, client_id, number)
    apps = client.get("/account/apps")
    client.post(f"/account/apps/{client_id}/withdraw", data={"csrf_token": Browser.csrf(apps.text)})
    assert browser.redeem(request, code, (client_id, secret)).status_code == 400


def test_withdrawing_needs_the_form_token_and_a_consent(client, agency) -> None:
    client_id, secret, number = agency
    tokens = code_tokens(client, client_id, secret, number)
    assert client.post(f"/account/apps/{client_id}/withdraw").status_code == 400  # no CSRF token: refused
    assert userinfo(client, tokens["access_token"]).status_code == 200
    token = Browser.csrf(client.get("/account/apps").text)
    unknown = client.post("/account/apps/no-such-app/withdraw", data={"csrf_token": token})
    assert unknown.status_code == 404


def test_withdrawing_what_was_not_given_is_told_in_the_page_language(client, agency) -> None:
    """The service says the fact (``NoConsent``, plain English); the page says it to the person."""
    client_id, secret, number = agency
    code_tokens(client, client_id, secret, number)
    token = Browser.csrf(client.get("/account/apps").text)
    vietnamese = client.post("/account/apps/no-such-app/withdraw", data={"csrf_token": token})
    assert vietnamese.status_code == 404 and vietnamese.mimetype == "text/html"
    assert "Bạn không chia sẻ dữ liệu với ứng dụng này." in vietnamese.text
    assert "You do not share" not in vietnamese.text
    client.get("/language/en")
    english = client.post("/account/apps/no-such-app/withdraw", data={"csrf_token": token})
    assert english.status_code == 404 and "You do not share data with this app." in english.text
    assert "Bạn không" not in english.text


def test_the_service_states_the_missing_consent_as_a_fact(app_ctx) -> None:
    from idsvc.errors import NotFound
    from idsvc.oidc import consents

    account = make_account()
    with pytest.raises(consents.NoConsent) as missing:
        consents.withdraw(account, "no-such-app", "login")
    assert isinstance(missing.value, NotFound)
    assert missing.value.detail == "no live consent to the client 'no-such-app' for 'login'"


def test_the_apps_page_needs_a_login(client) -> None:
    response = client.get("/account/apps")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_withdrawing_from_one_app_leaves_another_apps_tokens_working(client, agency, setup_data) -> None:
    a_id, a_secret, number = agency

    def create_b():
        b_client, b_secret = make_client(name="Cổng thuế")
        return b_client.client_id, b_secret
    b_id, b_secret = setup_data(create_b)
    a_tokens = code_tokens(client, a_id, a_secret, number, scope="openid profile")
    b_tokens = code_tokens(client, b_id, b_secret, number, scope="openid profile")  # the same login
    apps = client.get("/account/apps")
    withdrawn = client.post(f"/account/apps/{a_id}/withdraw", data={"csrf_token": Browser.csrf(apps.text)})
    assert withdrawn.status_code == 302

    assert_invalid_token(userinfo(client, a_tokens["access_token"]))
    assert "name" in userinfo(client, b_tokens["access_token"]).get_json()  # B still gets what was agreed
    renewed = refresh(client, b_id, b_secret, b_tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert "name" in userinfo(client, renewed.get_json()["access_token"]).get_json()
    listed = client.get("/account/apps").text
    assert "Cổng thuế" in listed and "Cổng dịch vụ công tỉnh" not in listed
