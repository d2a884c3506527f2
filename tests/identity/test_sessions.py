"""Login sessions through the browser: the cookie, rotation at login and step-up, the second factor,
the sessions list, logging out elsewhere, expiry, and a death recorded in the registry."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.identity.models import Account
from idsvc.identity.models import LoginSession
from idsvc.registry import service as registry
from idsvc.registry.models import Citizen
from tests.browser import Browser
from tests.factories import make_account
from tests.identity.conftest import audit_events
from tests.identity.conftest import totp_at
from tests.identity.conftest import wrong_totp_at

COOKIE = "idsvc_session"


def _account_id(number: str):
    return select(Account.id).join(Citizen).where(Citizen.id_number == number).scalar_subquery()


def _logged_in(app, number: str, user_agent: str | None = None):
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert Browser(client).login(number).status_code == 302
    return client


def _logged_out(client) -> bool:
    response = client.get("/account")
    return response.status_code == 302 and response.headers["Location"].startswith("/login?")


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _with_cookie(app, value: str):
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def _set_sessions(setup_data, number: str, **values) -> None:
    setup_data(lambda: db.session().execute(
        update(LoginSession).where(LoginSession.account_id == _account_id(number)).values(**values)))


def _live_sessions(setup_data, number: str) -> int:
    return len(setup_data(lambda: db.session().scalars(select(LoginSession.id).where(
        LoginSession.account_id == _account_id(number), LoginSession.revoked_at.is_(None))).all()))


# --- the cookie -------------------------------------------------------------------------------

def _session_set_cookie(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    return header


def test_session_cookie_is_http_only_and_same_site_lax(client, citizen_number) -> None:
    header = _session_set_cookie(Browser(client).login(citizen_number))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # a development issuer on http://


def test_session_cookie_is_secure_behind_an_https_issuer(app_with) -> None:
    response = app_with(ISSUER="https://id.example.vn").test_client().get("/login", base_url="https://localhost")
    header = _session_set_cookie(response)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


# --- rotation ---------------------------------------------------------------------------------

def test_login_gives_a_new_cookie_and_a_planted_one_stays_anonymous(app, client, citizen_number) -> None:
    client.get("/login")
    planted = _cookie(client)
    assert Browser(client).login(citizen_number).status_code == 302
    first = _cookie(client)
    assert first != planted
    assert _logged_out(_with_cookie(app, planted))
    assert _with_cookie(app, first).get("/account").status_code == 200


def test_logging_in_again_ends_the_previous_session(app, client, setup_data, citizen_number) -> None:
    assert Browser(client).login(citizen_number).status_code == 302
    first = _cookie(client)
    assert Browser(client).login(citizen_number).status_code == 302
    second = _cookie(client)
    assert second != first
    assert _logged_out(_with_cookie(app, first))
    assert client.get("/account").status_code == 200
    assert _live_sessions(setup_data, citizen_number) == 1


def test_step_up_rotates_the_session(app, setup_data, level2_number, clock) -> None:
    client = _logged_in(app, level2_number)
    before = _cookie(client)
    response = Browser(client).second_factor(totp_at(clock.now))
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    after = _cookie(client)
    assert after != before
    assert "<dd>mức độ 2 (mật khẩu + mã xác thực)</dd>" in client.get("/account").text
    assert _logged_out(_with_cookie(app, before))
    [event] = setup_data(lambda: [e.data for e in audit_events(AuditAction.IDENTITY_STEP_UP)])
    assert (event["level"], event["amr"]) == (2, "pwd otp")


# --- second factor ----------------------------------------------------------------------------

def test_staff_are_sent_to_the_second_factor_at_login(app, client, setup_data) -> None:
    number = setup_data(lambda: make_account(level=2, role=("clerk", "00070")).citizen.id_number)
    response = Browser(client).login(number)
    assert response.status_code == 302 and response.headers["Location"] == "/login/otp?next=/account"


def test_second_factor_page_for_a_level_one_account_says_what_to_do(app, citizen_number) -> None:
    response = _logged_in(app, citizen_number).get("/login/otp")
    assert response.status_code == 403
    assert "Cần xác thực mức độ 2" in response.text and "Hãy đến công an cấp xã để xác minh." in response.text


def test_a_code_used_once_is_refused_in_another_browser(app, level2_number, clock) -> None:
    code = totp_at(clock.now)
    assert Browser(_logged_in(app, level2_number)).second_factor(code).status_code == 302
    other = _logged_in(app, level2_number)
    response = Browser(other).second_factor(code)
    assert response.status_code == 401
    assert "Mã không đúng; còn 4 lần thử." in response.text
    assert other.get("/account").headers["Location"] == "/login/otp?next=/account"  # still at level 1


def test_second_factor_with_an_unparsable_next_goes_to_the_account_page(app, level2_number, clock) -> None:
    client = _logged_in(app, level2_number)
    assert client.get("/login/otp", query_string={"next": "//["}).status_code == 200
    response = Browser(client).second_factor(totp_at(clock.now), next_url="//[")
    assert response.status_code == 302 and response.headers["Location"] == "/account"


def test_five_wrong_codes_end_the_login_and_it_starts_again(app, client, setup_data, level2_number, clock) -> None:
    assert Browser(client).login(level2_number).status_code == 302
    wrong = wrong_totp_at(clock.now)
    for left in (4, 3, 2, 1):
        response = Browser(client).second_factor(wrong)
        assert response.status_code == 401
        assert f"Mã không đúng; còn {left} lần thử." in response.text
    response = Browser(client).second_factor(wrong)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account&notice=otp-limit"
    assert "Nhập sai mã quá nhiều lần; hãy đăng nhập lại." in client.get(response.headers["Location"]).text
    assert _logged_out(client)
    assert client.get("/login/otp").status_code == 302
    assert _live_sessions(setup_data, level2_number) == 0
    # Five wrong codes are five failures of the account: it is locked for a minute, like passwords.
    assert Browser(client).login(level2_number).status_code == 401
    clock.advance(seconds=61)
    assert Browser(client).login(level2_number).status_code == 302
    assert Browser(client).second_factor(totp_at(clock.now)).status_code == 302


# --- the sessions list ------------------------------------------------------------------------

def _end_forms(html: str) -> list[str]:
    return re.findall(r'action="(/account/sessions/\d+/end)"', html)


LAPTOP = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
PHONE = ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
         "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36")


def test_account_lists_sessions_and_ends_another_one(app, setup_data, citizen_number) -> None:
    laptop = _logged_in(app, citizen_number, LAPTOP)
    phone = _logged_in(app, citizen_number, PHONE)
    page = laptop.get("/account").text
    assert "Chrome trên Windows" in page and "Samsung Internet trên Android" in page  # not the raw header
    assert "Mozilla" not in page
    assert page.count("<strong>Phiên này</strong>") == 1
    [end_phone] = _end_forms(page)  # no button to end the session in use
    response = laptop.post(end_phone, data={"csrf_token": Browser.csrf(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert _logged_out(phone)
    page = laptop.get("/account").text
    assert "Samsung Internet" not in page and _end_forms(page) == []
    [event] = setup_data(lambda: [e.data for e in audit_events(AuditAction.IDENTITY_LOGOUT)])
    assert event["session"] == int(end_phone.split("/")[3])


def test_nobody_can_end_another_persons_session(app, setup_data, citizen_number) -> None:
    victim = _logged_in(app, citizen_number)
    [victim_session] = setup_data(lambda: db.session().scalars(select(LoginSession.id).where(
        LoginSession.account_id == _account_id(citizen_number))).all())
    intruder = _logged_in(app, setup_data(lambda: make_account().citizen.id_number))
    page = intruder.get("/account").text
    response = intruder.post(f"/account/sessions/{victim_session}/end", data={"csrf_token": Browser.csrf(page)})
    # Answered as for a session of one's own that ended meanwhile: a page, not an error body.
    assert response.status_code == 302 and response.headers["Location"] == "/account?notice=session-gone"
    assert "Phiên đăng nhập đó đã kết thúc." in intruder.get(response.headers["Location"]).text
    assert victim.get("/account").status_code == 200


def test_log_out_everywhere_ends_every_session_of_the_account(app, setup_data, citizen_number) -> None:
    laptop = _logged_in(app, citizen_number)
    phone = _logged_in(app, citizen_number)
    bystander_number = setup_data(lambda: make_account().citizen.id_number)
    bystander = _logged_in(app, bystander_number)
    page = laptop.get("/account").text
    response = laptop.post("/account/logout-everywhere", data={"csrf_token": Browser.csrf(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/login?notice=logged-out"
    assert "Bạn đã đăng xuất." in laptop.get(response.headers["Location"]).text
    assert _logged_out(laptop) and _logged_out(phone)
    assert bystander.get("/account").status_code == 200
    assert _live_sessions(setup_data, citizen_number) == 0
    [event] = setup_data(lambda: [e.data for e in audit_events(AuditAction.IDENTITY_SESSIONS_REVOKE)])
    assert (event["reason"], event["sessions"]) == ("logout-everywhere", 2)


# --- expiry -----------------------------------------------------------------------------------

def test_idle_session_ends_after_30_minutes(app, setup_data, citizen_number) -> None:
    client = _logged_in(app, citizen_number)
    _set_sessions(setup_data, citizen_number, last_seen_at=utcnow() - timedelta(minutes=29))
    assert client.get("/account").status_code == 200  # activity keeps it alive
    _set_sessions(setup_data, citizen_number, last_seen_at=utcnow() - timedelta(minutes=31))
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/account")


def test_session_ends_at_its_absolute_limit_despite_activity(app, setup_data, citizen_number) -> None:
    client = _logged_in(app, citizen_number)
    [(created, expires)] = setup_data(lambda: db.session().execute(select(
        LoginSession.created_at, LoginSession.expires_at).where(
        LoginSession.account_id == _account_id(citizen_number))).all())
    assert expires - created == timedelta(hours=12)
    _set_sessions(setup_data, citizen_number, expires_at=utcnow() - timedelta(seconds=1))
    assert _logged_out(client)


# --- death in the registry --------------------------------------------------------------------

def test_recorded_death_logs_the_browser_out_and_login_fails(app, setup_data, citizen_number) -> None:
    client = _logged_in(app, citizen_number)

    def record_death() -> None:
        citizen = registry.get_citizen_by_number(citizen_number)
        registry.record_death(citizen, date(2025, 3, 1), actor="clerk:9", reason="death certificate")
    setup_data(record_death)
    assert _logged_out(client)
    assert Browser(client).login(citizen_number).status_code == 401
    assert setup_data(lambda: db.session().scalar(select(Account.status).where(
        Account.id == _account_id(citizen_number)))) == "disabled"


# --- the account page -------------------------------------------------------------------------

def test_account_page_shows_vietnam_time_the_device_and_the_level_in_words(app, setup_data, citizen_number) -> None:
    laptop = _logged_in(app, citizen_number, LAPTOP)
    setup_data(lambda: db.session().execute(update(LoginSession).values(
        created_at=datetime(2026, 12, 5, 11, 10, tzinfo=UTC))))
    page = laptop.get("/account").text
    assert "05/12/2026 18:10 (giờ Việt Nam)" in page and "UTC" not in page
    assert "Chrome trên Windows" in page
    assert "<dt>Phiên này</dt><dd>mức độ 1 (mật khẩu)</dd>" in page
    laptop.set_cookie("idsvc_lang", "en")
    page = laptop.get("/account").text
    assert "05 Dec 2026, 18:10 (Vietnam time)" in page and "Chrome on Windows" in page
    assert "<dt>This session</dt><dd>level 1 (password)</dd>" in page


def test_account_settings_need_the_accounts_own_level(app, level2_number, citizen_number, clock) -> None:
    # A password alone is not enough to reach the settings of an account verified for level 2.
    client = _logged_in(app, level2_number)
    for path in ("/account", "/account/password", "/account/apps"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == f"/login/otp?next={path}", path
    response = Browser(client).second_factor(totp_at(clock.now), next_url="/account/password")
    assert response.headers["Location"] == "/account/password"
    assert client.get("/account/password").status_code == 200
    assert client.get("/account/apps").status_code == 200
    # A level-1 account needs its password only: it has no second factor to give.
    level1 = _logged_in(app, citizen_number)
    assert [level1.get(path).status_code for path in ("/account", "/account/password", "/account/apps")] == [200] * 3
