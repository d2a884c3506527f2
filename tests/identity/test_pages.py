"""The citizen pages as a browser sees them: headers, CSRF, redirects, languages, login answers,
lockout, the per-source rate limit, activation and password change."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.identity import service
from idsvc.identity.models import Account
from idsvc.identity.models import LoginSession
from idsvc.registry.models import Citizen
from tests.browser import Browser
from tests.factories import TEST_PASSWORD
from tests.factories import make_account
from tests.factories import make_client
from tests.identity.conftest import audit_events

LOGIN_FAILED = "Số định danh hoặc mật khẩu không đúng, hoặc tài khoản đang tạm khóa. Hãy thử lại sau ít phút."
NEW_PASSWORD = "a new phrase for my e-ID"
TOO_GUESSABLE = ("Mật khẩu này dễ bị đoán: mật khẩu phổ biến, hàng phím, dãy ký tự liên tiếp hay lặp lại, dù có "
                 "thêm số hoặc ký hiệu. Hãy dùng một câu của riêng bạn, từ bốn từ trở lên.",
                 "This password is easy to guess: a common password, a keyboard row, a sequence or a repetition, "
                 "even with digits or symbols added. Use a sentence of your own, of four words or more.")


def _account_id(number: str):
    return select(Account.id).join(Citizen).where(Citizen.id_number == number).scalar_subquery()


def _account_value(setup_data, number: str, column):
    return setup_data(lambda: db.session().scalar(select(column).where(Account.id == _account_id(number))))


def _logged_in(app, number: str, password: str = TEST_PASSWORD):
    client = app.test_client()
    assert Browser(client).login(number, password).status_code == 302
    return client


def _logged_out(client) -> bool:
    response = client.get("/account")
    return response.status_code == 302 and response.headers["Location"].startswith("/login?")


def _error(html: str) -> str:
    match = re.search(r'<p class="error" role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert match, "no error on the page"
    return match.group(1)


# --- headers and languages --------------------------------------------------------------------

def _assert_page_headers(response) -> None:
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_login_page_headers(client) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    _assert_page_headers(response)


def test_failed_login_page_headers(client) -> None:
    response = Browser(client).login("001090999999")
    assert response.status_code == 401
    _assert_page_headers(response)


def test_second_factor_page_headers(app, level2_number) -> None:
    response = _logged_in(app, level2_number).get("/login/otp")
    assert response.status_code == 200 and 'name="code"' in response.text
    _assert_page_headers(response)


def test_other_pages_carry_the_headers_too(app, client, citizen_number) -> None:
    _assert_page_headers(client.get("/activate"))
    signed_in = _logged_in(app, citizen_number)
    _assert_page_headers(signed_in.get("/account"))
    _assert_page_headers(signed_in.get("/account/password"))


@pytest.mark.parametrize(("path", "vietnamese", "english"), [
    ("/login", ["Đăng nhập", "Số định danh cá nhân", "Mật khẩu"], ["Log in", "Personal ID number", "Password"]),
    ("/activate", ["Kích hoạt tài khoản", "Mã kích hoạt", "Nhập lại mật khẩu"],
     ["Activate your account", "Activation code", "Repeat the password"]),
])
def test_pages_speak_vietnamese_or_english_one_at_a_time(client, path, vietnamese, english) -> None:
    page = client.get(path).text
    assert '<html lang="vi">' in page
    assert all(text in page for text in vietnamese) and not any(text in page for text in english)
    page = client.get(path, headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert '<html lang="en">' in page
    assert all(text in page for text in english) and not any(text in page for text in vietnamese)


def test_account_page_masks_the_number(app, citizen_number) -> None:
    page = _logged_in(app, citizen_number).get("/account").text
    for text in ("Nguyễn Văn An", "Phiên đăng nhập", "Đổi mật khẩu", "Đăng xuất mọi nơi"):
        assert text in page
    assert "*********" + citizen_number[-3:] in page and citizen_number not in page


# --- CSRF -------------------------------------------------------------------------------------

def test_login_without_csrf_token_is_refused_and_logs_nobody_in(app, client, setup_data, citizen_number) -> None:
    client.get("/login")
    response = client.post("/login", data={"id_number": citizen_number, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert response.get_json()["detail"] == "The CSRF token is missing."
    assert _logged_out(client)
    assert setup_data(lambda: db.session().scalar(select(func.count()).select_from(LoginSession))) == 0
    assert setup_data(lambda: len(audit_events(AuditAction.IDENTITY_LOGIN_SUCCESS))) == 0


def test_login_with_another_browsers_csrf_token_is_refused(app, client, citizen_number) -> None:
    token = Browser.csrf(app.test_client().get("/login").text)
    client.get("/login")
    response = client.post("/login", data={"id_number": citizen_number, "password": TEST_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 400
    assert _logged_out(client)


def test_forged_log_out_everywhere_and_password_change_do_nothing(app, setup_data, citizen_number) -> None:
    victim = _logged_in(app, citizen_number)
    assert victim.post("/account/logout-everywhere").status_code == 400
    assert victim.post("/account/password", data={"current": TEST_PASSWORD, "password": NEW_PASSWORD,
                                                  "password2": NEW_PASSWORD}).status_code == 400
    assert victim.get("/account").status_code == 200
    assert Browser(app.test_client()).login(citizen_number).status_code == 302  # old password still works
    assert setup_data(lambda: len(audit_events(AuditAction.IDENTITY_SESSIONS_REVOKE))) == 0


def test_forms_work_over_https_as_browsers_post_them(app_with) -> None:
    # The pages send ``Referrer-Policy: no-referrer``, so a browser posts their forms with no
    # Referer (and ``Origin: null``); the CSRF check must not depend on either.
    secure = app_with(ISSUER="https://id.example.vn")
    with secure.app_context():
        number = make_account().citizen.id_number
        db.session().commit()
    client = secure.test_client()
    page = client.get("/login", base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    response = client.post("/login", base_url="https://localhost", headers={"Origin": "null"},
                           data={"id_number": number, "password": TEST_PASSWORD, "next": "/account",
                                 "csrf_token": Browser.csrf(page.text)})
    assert response.status_code == 302, response.get_json()
    assert response.headers["Location"] == "/account"


# --- redirects after login --------------------------------------------------------------------

OFF_SITE = ["https://evil.example/", "//evil.example", "//evil.example/account", "/\\evil.example",
            "\\\\evil.example", "https:evil.example", "javascript:alert(1)", "/logout", "/\t/evil.example"]


def test_login_never_redirects_to_another_site(client, citizen_number) -> None:
    for target in OFF_SITE:
        response = Browser(client).login(citizen_number, next_url=target)
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/account", target


def test_login_returns_to_a_local_authorization_request(client, citizen_number) -> None:
    target = "/authorize?client_id=abc&scope=openid"
    response = Browser(client).login(citizen_number, next_url=target)
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", ["https://evil.example/", "/account\n//evil.example", "/account\r\nX-A: b",
                                    "//[", "//evil.example]/"])
def test_login_page_keeps_only_a_safe_next(client, target) -> None:
    page = client.get("/login", query_string={"next": target}).text
    assert 'name="next" value="/account"' in page and "evil.example" not in page and "X-A" not in page


def test_an_unparsable_next_means_the_account_page(client, citizen_number) -> None:
    # "//[" is no URL at all (urlsplit raises on it): it must mean the default, not a server error.
    for target in ("//[", "//%5B", "//evil.example]/"):
        response = Browser(client).login(citizen_number, next_url=target)
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/account", target


def test_login_page_names_the_agency_asking(client, setup_data) -> None:
    client_id = setup_data(lambda: make_client(name="Cổng dịch vụ công tỉnh Bắc Ninh")[0].client_id)
    asked = f"/authorize?response_type=code&client_id={client_id}&scope=openid"
    page = client.get("/login", query_string={"next": asked}).text
    assert '<p class="asking">Cổng dịch vụ công tỉnh Bắc Ninh yêu cầu bạn đăng nhập.</p>' in page
    page = client.get("/login", query_string={"next": asked}, headers={"Accept-Language": "en"}).text
    assert "Cổng dịch vụ công tỉnh Bắc Ninh is asking you to log in." in page
    failed = Browser(client).login("001090999999", "not my password", next_url=asked)
    assert "Cổng dịch vụ công tỉnh Bắc Ninh" in failed.text  # still said after a wrong password
    for nobody in ("/authorize?client_id=unknown-app", "/authorize?client_id=%00", "/account?client_id=" + client_id,
                   f"/authorize?client_id={client_id}&client_id=other", "/authorize"):
        page = client.get("/login", query_string={"next": nobody}).text
        assert 'class="asking"' not in page, nobody


def test_landing_page_says_what_the_service_is(app, client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    _assert_page_headers(response)
    page = response.text
    assert "<h1>Định danh điện tử</h1>" in page
    for link in ('href="/login"', 'href="/activate"'):
        assert link in page
    assert f"<code>{app.config['ISSUER']}/.well-known/openid-configuration</code>" in page
    english = client.get("/", headers={"Accept-Language": "en"}).text
    assert "<h1>Electronic identification</h1>" in english and "For agencies" in english


# --- login answers and lockout ----------------------------------------------------------------

def test_unknown_wrong_locked_and_pending_get_the_same_page(app, setup_data, citizen_number) -> None:
    def create():
        locked = make_account()
        locked.locked_until = utcnow() + timedelta(minutes=10)
        return locked.citizen.id_number, make_account(status="pending").citizen.id_number
    locked, pending = setup_data(create)
    pages = []
    for number, password in [("001090999999", TEST_PASSWORD), (citizen_number, "not my password"),
                             (locked, TEST_PASSWORD), (pending, TEST_PASSWORD)]:
        response = Browser(app.test_client()).login(number, password)
        assert response.status_code == 401
        assert _error(response.text) == LOGIN_FAILED
        pages.append(re.sub(r'value="[^"]*"', 'value=""', response.text))
    assert all(page == pages[0] for page in pages)


def test_lockout_refuses_the_right_password_until_it_ends(app, client, setup_data, citizen_number) -> None:
    browser = Browser(client)
    for _ in range(5):
        assert browser.login(citizen_number, "not my password").status_code == 401
    response = browser.login(citizen_number)
    assert response.status_code == 401 and _error(response.text) == LOGIN_FAILED
    assert _logged_out(client)
    assert _account_value(setup_data, citizen_number, Account.lockouts) == 1

    def audited():
        return [e.data for e in audit_events(AuditAction.IDENTITY_LOGIN_FAILURE)]
    events = setup_data(audited)
    assert [e["reason"] for e in events] == ["password"] * 5 + ["locked"]
    assert events[4]["locked_for_seconds"] == 60

    setup_data(lambda: db.session().execute(update(Account).where(Account.id == _account_id(citizen_number)).values(
        locked_until=utcnow() - timedelta(seconds=1))))
    response = browser.login(citizen_number)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert _account_value(setup_data, citizen_number, Account.lockouts) == 0


def test_login_is_audited_with_the_source_address(app, setup_data, citizen_number) -> None:
    _logged_in(app, citizen_number)
    [event] = setup_data(lambda: [(e.ip, e.data["level"]) for e in audit_events(AuditAction.IDENTITY_LOGIN_SUCCESS)])
    assert event == ("127.0.0.1", 1)


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_trusted_proxy_the_limit_counts_the_forwarded_client(app_with, proxies) -> None:
    limited = app_with(LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=proxies)
    client = limited.test_client()  # every request comes from the proxy's address, 127.0.0.1
    form = {"id_number": "001090999999", "password": "not my password", "csrf_token": Browser.csrf(
        client.get("/login").text)}

    def login_from(address: str) -> int:
        return int(client.post("/login", data=form, headers={"X-Forwarded-For": address}).status_code)

    assert [login_from("203.0.113.9") for _ in range(3)][-1] == 429
    # Another citizen behind the same proxy: not limited, unless the proxy is not trusted (then
    # X-Forwarded-For is anybody's to write, and everyone shares the proxy's address).
    assert login_from("198.51.100.4") == (429 if proxies == 0 else 401)


@pytest.mark.parametrize("path", ["/login", "/activate"])
def test_credential_forms_are_rate_limited_per_source(app_with, path) -> None:
    limited = app_with(LOGIN_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    token = Browser.csrf(client.get(path).text)
    form = {"id_number": "001090999999", "password": "not my password", "password2": "not my password",
            "code": "ABCD-EFGH-JKMN", "csrf_token": token}
    for _ in range(3):
        assert client.post(path, data=form).status_code in (400, 401)
    response = client.post(path, data=form)
    assert response.status_code == 429
    assert response.get_json()["title"] == "Too Many Requests / Quá nhiều yêu cầu"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    in_browser = client.post(path, data=form, headers={"Accept": "text/html"})
    assert in_browser.status_code == 429 and "Hãy đợi một phút rồi thử lại." in in_browser.text
    assert client.get(path).status_code == 200  # the page itself is not limited
    other = limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    token = Browser.csrf(other.get(path).text)
    assert other.post(path, data={**form, "csrf_token": token}).status_code in (400, 401)
    if path == "/login":
        with limited.app_context():
            assert len(audit_events(AuditAction.IDENTITY_LOGIN_FAILURE)) == 4  # the refused one never ran


# --- activation page --------------------------------------------------------------------------

@pytest.fixture()
def pending(setup_data):
    """A pending account with a clerk code: (id_number, code)."""
    def create():
        account = make_account(status="pending")
        account.password_hash = None
        return account.citizen.id_number, service.issue_activation_code(account, actor="clerk:1")
    return setup_data(create)


def _activate(client, number, code, password, password2=None):
    token = Browser.csrf(client.get("/activate").text)
    return client.post("/activate", data={"id_number": number, "code": code, "password": password,
                                          "password2": password if password2 is None else password2,
                                          "csrf_token": token})


def test_activation_page_then_login(app, client, pending) -> None:
    number, code = pending
    response = _activate(client, number, code, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/login?notice=activated"
    assert "Tài khoản đã được kích hoạt; hãy đăng nhập." in client.get(response.headers["Location"]).text
    assert Browser(client).login(number, NEW_PASSWORD).status_code == 302
    response = _activate(app.test_client(), number, code, "another phrase to take over")
    assert response.status_code == 400
    assert _error(response.text) == "Số định danh hoặc mã kích hoạt không đúng, hoặc mã đã hết hạn."


def test_activation_page_explains_what_is_wrong(client, pending) -> None:
    number, code = pending
    response = _activate(client, number, code, NEW_PASSWORD, "a different phrase")
    assert response.status_code == 400
    assert _error(response.text) == "Hai mật khẩu không khớp."
    assert f'value="{number}"' in response.text  # the number is kept, the passwords are not
    response = _activate(client, number, code, "short")
    assert _error(response.text) == "Mật khẩu cần ít nhất 12 ký tự; một cụm từ dễ nhớ là lựa chọn tốt."
    assert _activate(client, number, code, NEW_PASSWORD).status_code == 302  # the code was not spent


# --- password change --------------------------------------------------------------------------

def _change(client, current, new, repeat=None):
    token = Browser.csrf(client.get("/account/password").text)
    return client.post("/account/password", data={"current": current, "password": new,
                                                  "password2": new if repeat is None else repeat,
                                                  "csrf_token": token})


PASSWORD_CHANGE_REFUSALS = [  # (current, new, repeat, Vietnamese, English, the field it is shown at)
    ("not my password", NEW_PASSWORD, None, "Mật khẩu hiện tại không đúng.", "The current password is wrong.",
     "current"),
    (TEST_PASSWORD, NEW_PASSWORD, "something else entirely", "Hai mật khẩu không khớp.", "The two passwords differ.",
     "password"),
    (TEST_PASSWORD, TEST_PASSWORD, None,
     "Mật khẩu mới phải khác mật khẩu cũ.", "The new password must differ from the current one.", "password"),
    (TEST_PASSWORD, "too short", None, "Mật khẩu cần ít nhất 12 ký tự; một cụm từ dễ nhớ là lựa chọn tốt.",
     "The password needs at least 12 characters; a memorable phrase works well.", "password"),
    (TEST_PASSWORD, "qwerty123456", None, *TOO_GUESSABLE, "password"),
]


def test_password_change_refusals(app, citizen_number) -> None:
    signed_in = _logged_in(app, citizen_number)
    for current, new, repeat, vietnamese, english, field in PASSWORD_CHANGE_REFUSALS:
        response = _change(signed_in, current, new, repeat)
        assert response.status_code == 400, vietnamese
        assert _error(response.text) == vietnamese
        # The message is also next to its field, which points at it and is marked invalid.
        assert f'<p class="field-error" id="{field}-error">{vietnamese}</p>' in response.text
        tag = re.search(rf'<input type="password" id="{field}"[^>]*>', response.text).group(0)
        assert f"{field}-error" in tag and 'aria-invalid="true"' in tag
        signed_in.set_cookie("idsvc_lang", "en")
        response = _change(signed_in, current, new, repeat)
        signed_in.delete_cookie("idsvc_lang")
        assert _error(response.text) == english
    assert signed_in.get("/account").status_code == 200
    assert Browser(app.test_client()).login(citizen_number).status_code == 302  # unchanged


def test_password_change_refuses_the_id_number(app, citizen_number) -> None:
    response = _change(_logged_in(app, citizen_number), TEST_PASSWORD, f"my id {citizen_number}")
    assert response.status_code == 400
    assert "không được chứa số định danh, họ tên hay ngày sinh" in _error(response.text)


def test_password_change_applies_and_ends_the_other_sessions(app, setup_data, citizen_number) -> None:
    here = _logged_in(app, citizen_number)
    elsewhere = _logged_in(app, citizen_number)
    response = _change(here, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert here.get("/account").status_code == 200
    assert _logged_out(elsewhere)
    assert Browser(app.test_client()).login(citizen_number).status_code == 401
    assert Browser(app.test_client()).login(citizen_number, NEW_PASSWORD).status_code == 302
    assert setup_data(lambda: len(audit_events(AuditAction.IDENTITY_PASSWORD_CHANGE))) == 1
    assert setup_data(lambda: db.session().scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == AuditAction.IDENTITY_SESSIONS_REVOKE))) == 1


def test_password_change_needs_a_login(client) -> None:
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_wrong_current_passwords_lock_the_account_like_failed_logins(app, setup_data, citizen_number) -> None:
    signed_in = _logged_in(app, citizen_number)
    for _ in range(5):
        assert _change(signed_in, "not my password", NEW_PASSWORD).status_code == 400
    assert _account_value(setup_data, citizen_number, Account.lockouts) == 1
    # Locked: even the right current password is refused, with the login's answer.
    response = _change(signed_in, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 400 and _error(response.text) == LOGIN_FAILED
    assert Browser(app.test_client()).login(citizen_number).status_code == 401
    setup_data(lambda: db.session().execute(update(Account).where(Account.id == _account_id(citizen_number)).values(
        locked_until=utcnow() - timedelta(seconds=1))))
    assert Browser(app.test_client()).login(citizen_number, NEW_PASSWORD).status_code == 401  # not changed


def test_password_change_while_locked_checks_nothing_and_does_not_lengthen_the_lock(
        app, setup_data, citizen_number, monkeypatch) -> None:
    signed_in = _logged_in(app, citizen_number)
    until = utcnow() + timedelta(minutes=10)
    setup_data(lambda: db.session().execute(update(Account).where(Account.id == _account_id(citizen_number)).values(
        locked_until=until, lockouts=1)))
    checked = []
    monkeypatch.setattr(service.passwords, "verify", lambda *args: checked.append(args) or False)
    for current in ("not my password", "still not it", TEST_PASSWORD):
        response = _change(signed_in, current, NEW_PASSWORD)
        assert response.status_code == 400 and _error(response.text) == LOGIN_FAILED
    assert checked == []
    assert _account_value(setup_data, citizen_number, Account.locked_until) == until
    assert _account_value(setup_data, citizen_number, Account.lockouts) == 1
    assert _account_value(setup_data, citizen_number, Account.failed_count) == 0
    reasons = setup_data(lambda: [e.data["reason"] for e in audit_events(AuditAction.IDENTITY_LOGIN_FAILURE)])
    assert reasons == ["password-change-locked"] * 3


def test_password_change_is_rate_limited_per_source(app_with) -> None:
    limited = app_with(LOGIN_RATE_LIMIT="3 per minute")
    with limited.app_context():
        number = make_account().citizen.id_number
        db.session().commit()
    signed_in = _logged_in(limited, number)
    for _ in range(3):
        assert _change(signed_in, "not my password", NEW_PASSWORD).status_code == 400
    response = _change(signed_in, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 429
    assert _change(signed_in, TEST_PASSWORD, NEW_PASSWORD).status_code == 429
    with limited.app_context():
        assert len(audit_events(AuditAction.IDENTITY_LOGIN_FAILURE)) == 3  # the refused ones never ran


# --- forms a screen reader and a password manager understand ----------------------------------

class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") != "hidden":
            self.inputs.append(values)
        if tag == "label" and values.get("for"):
            self.labels.add(values["for"])


def _fields(html: str) -> dict[str, dict[str, str | None]]:
    parser = _Fields()
    parser.feed(html)
    unlabelled = [f["id"] for f in parser.inputs if f.get("id") not in parser.labels]
    assert unlabelled == [], f"inputs without <label for>: {unlabelled}"
    return {str(f["id"]): f for f in parser.inputs}


def test_every_field_has_a_label_and_says_what_it_holds(app, level2_number, citizen_number) -> None:
    client = app.test_client()
    expected = {
        "/login": {"id_number": ("username", "numeric"), "password": ("current-password", None)},
        "/activate": {"id_number": ("username", "numeric"), "code": ("one-time-code", None),
                      "password": ("new-password", None), "password2": ("new-password", None)},
    }
    for path, fields in expected.items():
        found = _fields(client.get(path).text)
        assert {name: (f["autocomplete"], f.get("inputmode")) for name, f in found.items()} == fields, path
    found = _fields(_logged_in(app, level2_number).get("/login/otp").text)
    assert (found["code"]["autocomplete"], found["code"]["inputmode"]) == ("one-time-code", "numeric")
    found = _fields(_logged_in(app, citizen_number).get("/account/password").text)
    assert {name: f["autocomplete"] for name, f in found.items()} == {
        "current": "current-password", "password": "new-password", "password2": "new-password"}


def test_a_refused_activation_code_is_tied_to_its_field(client, pending) -> None:
    number, _ = pending
    response = _activate(client, number, "AAAA-BBBB-CCCC", NEW_PASSWORD)
    assert response.status_code == 400
    fields = _fields(response.text)
    assert fields["code"]["aria-invalid"] == "true" and fields["code"]["aria-describedby"] == "code-error"
    assert '<p class="field-error" id="code-error">' in response.text
    assert "aria-invalid" not in fields["password"]
    assert response.text.index('role="alert"') < response.text.index("<form")  # the summary comes first


def test_a_refused_login_marks_both_fields(client) -> None:
    response = Browser(client).login("001090999999", "not my password")
    fields = _fields(response.text)
    for name in ("id_number", "password"):
        assert fields[name]["aria-invalid"] == "true"
        assert "login-error" in str(fields[name]["aria-describedby"])
