"""Consent per purpose: the page, the allow-list, essential and voluntary claims, append-only
records (granted, narrowed, expired, withdrawn), statutory purposes, and the releases at the ID
token, userinfo and introspection."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.db import utcnow
from idsvc.oidc.models import ConsentRecord
from tests.browser import Browser
from tests.browser import query
from tests.factories import make_account
from tests.factories import make_client
from tests.oidc.helpers import introspect
from tests.oidc.helpers import userinfo
from tests.oidc.helpers import verify_jwt

AGENCY = "Cổng dịch vụ công tỉnh"
SERVICES = {"code": "public-services", "description_vi": "Giải quyết thủ tục hành chính của bạn",
            "description_en": "Handling your administrative procedures", "legal_basis": "consent",
            "retention_days": 365, "consent_days": 30}


@pytest.fixture()
def agency(setup_data):
    """A consent-based agency app allowed name, birthdate and gender (not address, not ethnicity
    although it may ask the scope of the address), and Trần Thị Bình: (client_id, secret, number)."""
    def create():
        client, secret = make_client(name=AGENCY, scopes=["openid", "profile", "birthdate", "gender", "address"],
                                     allowed_claims=["name", "birthdate", "gender"], purposes=[SERVICES])
        account = make_account(full_name="Trần Thị Bình", sex="F", birth_year=1985)
        return client.client_id, secret, account.citizen.id_number
    return setup_data(create)


def _consent_page(browser: Browser, client_id: str, number: str | None = None, **params: str) -> Any:
    """The consent page of a new request (logging in first when ``number`` is given)."""
    _, response = browser.start(client_id, **params)
    if number is not None:
        response = browser.follow(response, id_number=number, consent=None)
    assert response.status_code == 200 and 'name="decision"' in response.text, response.text[:500]
    return response


def _answer(browser: Browser, page: Any, claims: list[str] | None = None, decision: str = "allow") -> Any:
    """Send the consent form with these boxes ticked (None: as the page opened)."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    ticked = Browser.ticked(page.text) if claims is None else claims
    return browser.client.post(action, data={"decision": decision, "csrf_token": Browser.csrf(page.text),
                                             "claim": ticked})


def _tokens(browser: Browser, request: Any, response: Any, client_id: str, secret: str) -> dict[str, Any]:
    assert response.status_code == 302, response.text[:500]
    code = query(response.headers["Location"])["code"]
    answer = browser.redeem(request, code, (client_id, secret))
    assert answer.status_code == 200, answer.text
    return answer.get_json()


def _grant(client: Any, client_id: str, secret: str, number: str | None, ticked: list[str] | None = None,
           **params: str) -> dict[str, Any]:
    """A complete code flow through the consent page, ticking ``ticked`` (None: as the page opens);
    the token response."""
    browser = Browser(client)
    request, response = browser.start(client_id, **params)
    response = browser.follow(response, id_number=number, consent=None)
    if response.status_code == 200:
        response = _answer(browser, response, ticked)
    return _tokens(browser, request, response, client_id, secret)


def _records(setup_data) -> list[tuple[str, list[str], list[str]]]:
    return setup_data(lambda: [(r.event, r.claims, r.declined) for r in db.session().scalars(
        select(ConsentRecord).order_by(ConsentRecord.id))])


def _events(setup_data, action: str) -> list[dict[str, Any]]:
    return setup_data(lambda: [e.data | {"_actor": e.actor, "_subject": (e.subject_type, e.subject_id)}
                               for e in db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                             .order_by(AuditEvent.id))])


def test_the_page_names_the_agency_purpose_basis_retention_and_each_value(client, agency) -> None:
    client_id, _, number = agency
    page = _consent_page(Browser(client), client_id, number, scope="openid profile birthdate gender address")
    text = page.text
    assert AGENCY in text and "Giải quyết thủ tục hành chính của bạn" in text and "365" in text
    assert "Nghị định 13/2023" in text  # the legal basis: the person's consent
    assert "Trần Thị Bình" in text  # the value that would be shared, next to its plain name
    assert 'value="name"' in text and 'value="birthdate"' in text and 'value="gender"' in text
    assert 'value="address"' not in text  # outside the allow-list: not even shown
    client.get("/language/en")
    english = _consent_page(Browser(client), client_id, scope="openid profile").text
    assert "Handling your administrative procedures" in english and "Full name" in english


def test_claims_outside_the_allow_list_are_never_released(client, agency, setup_data) -> None:
    client_id, secret, number = agency
    asked = {"userinfo": {"address": {"essential": True}, "email": None, "birthdate": None},
             "id_token": {"gender": None, "address": None}}
    tokens = _grant(client, client_id, secret, number, scope="openid profile address",
                    claims=json.dumps(asked))
    body = userinfo(client, tokens["access_token"]).get_json()
    assert body["name"] == "Trần Thị Bình" and body["birthdate"] == "1985-05-17"
    assert not {"address", "email", "vn_temporary_residence", "family_name"} & set(body)  # address scope, too
    _, id_token = verify_jwt(client, tokens["id_token"], audience=client_id)
    assert id_token["gender"] == "female" and "address" not in id_token
    released = {name for event in _events(setup_data, "oidc:claims:release") for name in event["claims"]}
    assert released == {"name", "birthdate", "gender"}


def test_a_sensitive_claim_is_never_in_a_broad_scope_and_starts_unticked(client, setup_data) -> None:
    def create():
        client, secret = make_client(scopes=["openid", "profile", "vn_ethnicity"],
                                     allowed_claims=["name", "given_name", "vn_ethnicity"])
        default, _ = make_client(scopes=["openid", "profile", "birthdate"])
        return client.client_id, secret, default.allowed_claims, make_account().citizen.id_number
    client_id, secret, default_allowed, number = setup_data(create)
    assert "vn_ethnicity" not in default_allowed  # the scopes' claims, never a sensitive one

    browser = Browser(client)
    page = _consent_page(browser, client_id, number, scope="openid profile",
                         claims=json.dumps({"userinfo": {"vn_ethnicity": None}}))
    box = re.search(r'<input type="checkbox"[^>]*value="vn_ethnicity"[^>]*>', page.text).group(0)
    assert " checked" not in box and " disabled" not in box
    assert "vn_ethnicity" not in Browser.ticked(page.text) and "name" in Browser.ticked(page.text)
    tokens = _grant(client, client_id, secret, None, scope="openid profile", prompt="consent",
                    claims=json.dumps({"userinfo": {"vn_ethnicity": None}}))
    body = userinfo(client, tokens["access_token"]).get_json()
    assert "name" in body and "vn_ethnicity" not in body
    assert _records(setup_data)[-1][2] == ["vn_ethnicity"]  # shown and left unticked: declined
    # Its own scope asks it too: still unticked, and released only once the person ticks it.
    page = _consent_page(browser, client_id, scope="openid vn_ethnicity", prompt="consent")
    assert "Kinh" in page.text and "vn_ethnicity" not in Browser.ticked(page.text)
    ticked = _grant(client, client_id, secret, None, ["vn_ethnicity", "name"], scope="openid profile vn_ethnicity",
                    prompt="consent")
    assert "Kinh" in json.dumps(userinfo(client, ticked["access_token"]).get_json(), ensure_ascii=False)


def test_a_client_asking_the_sensitive_scope_gets_nothing_outside_its_allow_list(client, setup_data) -> None:
    def create():
        client, secret = make_client(scopes=["openid", "profile", "vn_ethnicity", "vn_religion"])
        return client.client_id, secret, client.allowed_claims, make_account().citizen.id_number
    client_id, secret, allowed, number = setup_data(create)
    assert not {"vn_ethnicity", "vn_religion"} & set(allowed)  # the default allow-list leaves them out
    tokens = _grant(client, client_id, secret, number, scope="openid profile vn_ethnicity vn_religion")
    body = userinfo(client, tokens["access_token"]).get_json()
    assert "name" in body and not {"vn_ethnicity", "vn_religion"} & set(body)


def test_refusing_an_essential_claim_sends_access_denied(client, setup_data) -> None:
    def create():
        client, _ = make_client(scopes=["openid", "profile"], allowed_claims=["name", "vn_ethnicity"])
        return client.client_id, make_account().citizen.id_number
    client_id, number = setup_data(create)
    browser = Browser(client)
    request, response = browser.start(client_id, claims=json.dumps({"userinfo": {"vn_ethnicity": {"essential": True}}}))
    page = browser.follow(response, id_number=number, consent=None)
    assert "vn_ethnicity" not in Browser.ticked(page.text)
    answer = _answer(browser, page)  # as it opened: the essential sensitive claim unticked
    assert answer.status_code == 302
    params = query(answer.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == request.state and "code" not in params
    assert _records(setup_data) == []


def test_an_essential_basic_claim_is_given_even_if_the_form_leaves_it_out(client, agency, setup_data) -> None:
    client_id, secret, number = agency
    browser = Browser(client)
    page = _consent_page(browser, client_id, number, scope="openid",
                         claims=json.dumps({"userinfo": {"name": {"essential": True}}}))
    assert re.search(r'<input type="checkbox"[^>]*value="name"[^>]* checked disabled>', page.text)
    tokens = _grant(client, client_id, secret, None, scope="openid", prompt="consent",
                    claims=json.dumps({"userinfo": {"name": {"essential": True}}}))
    assert userinfo(client, tokens["access_token"]).get_json()["name"] == "Trần Thị Bình"


def test_an_unticked_voluntary_claim_reaches_neither_userinfo_nor_the_id_token(client, agency, setup_data) -> None:
    client_id, secret, number = agency
    asked = json.dumps({"userinfo": {"gender": None}, "id_token": {"birthdate": None, "name": None}})
    tokens = _grant(client, client_id, secret, number, ["name", "gender"], scope="openid profile birthdate",
                    claims=asked)
    body = userinfo(client, tokens["access_token"]).get_json()
    assert body["name"] == "Trần Thị Bình" and body["gender"] == "female" and "birthdate" not in body
    _, id_token = verify_jwt(client, tokens["id_token"], audience=client_id)
    assert id_token["name"] == "Trần Thị Bình" and "birthdate" not in id_token
    assert _records(setup_data) == [("granted", ["gender", "name"], ["birthdate"])]
    [grant] = _events(setup_data, "oidc:consent:grant")
    assert grant["purpose"] == "public-services" and grant["declined"] == ["birthdate"]
    assert grant["event"] == "granted" and grant["_subject"][0] == "account"
    vias = sorted(event["via"] for event in _events(setup_data, "oidc:claims:release"))
    assert vias == ["id_token", "userinfo"]


def test_a_request_inside_the_consent_skips_the_page_and_more_asks_again(client, agency) -> None:
    client_id, secret, number = agency
    _grant(client, client_id, secret, number, ["name"], scope="openid profile birthdate")
    # Inside: name granted, birthdate declined → no page.
    browser = Browser(client)
    _, response = browser.start(client_id, scope="openid profile birthdate")
    assert response.status_code == 302 and "code" in query(response.headers["Location"])
    # Asking more (gender) shows the page again.
    _consent_page(browser, client_id, scope="openid profile gender")


def test_prompt_consent_always_asks(client, agency) -> None:
    client_id, secret, number = agency
    _grant(client, client_id, secret, number, scope="openid profile")
    _consent_page(Browser(client), client_id, scope="openid profile", prompt="consent")
    silent = Browser(client).start(client_id, scope="openid profile", prompt="none consent")[1]
    assert query(silent.headers["Location"]).get("error") in ("consent_required", "invalid_request")


def test_narrowing_writes_narrowed_and_the_old_token_gets_less(client, agency, setup_data) -> None:
    client_id, secret, number = agency
    first = _grant(client, client_id, secret, number, ["name", "birthdate"], scope="openid profile birthdate")
    _grant(client, client_id, secret, None, ["birthdate"], scope="openid profile birthdate", prompt="consent")
    assert [r[0] for r in _records(setup_data)] == ["granted", "narrowed"]
    assert _records(setup_data)[-1][1:] == (["birthdate"], ["name"])
    assert set(userinfo(client, first["access_token"]).get_json()) == {"sub", "birthdate"}


def test_an_expired_consent_asks_again_and_is_recorded_as_expired(client, agency, setup_data, app) -> None:
    client_id, secret, number = agency
    tokens = _grant(client, client_id, secret, number, scope="openid profile")
    with app.app_context():
        [(expires_at,)] = db.session().execute(select(ConsentRecord.expires_at)).all()
        assert timedelta(days=29) < expires_at - utcnow() <= timedelta(days=30)  # the purpose's consent_days
        # Thirty days on (the records are append-only for the service; the test moves time).
        db.session().execute(update(ConsentRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session().commit()
    assert set(userinfo(client, tokens["access_token"]).get_json()) == {"sub"}  # nothing live: nothing released
    page = _consent_page(Browser(client), client_id, scope="openid profile")
    assert [r[0] for r in _records(setup_data)] == ["granted", "expired"]
    _answer(Browser(client), page)
    assert [r[0] for r in _records(setup_data)] == ["granted", "expired", "granted"]


def test_withdrawing_one_purpose_stops_that_clients_tokens_only(client, agency, setup_data) -> None:
    client_id, secret, number = agency

    def create_other():
        other, other_secret = make_client(name="Cổng thuế")
        return other.client_id, other_secret
    other_id, other_secret = setup_data(create_other)
    tokens = _grant(client, client_id, secret, number, scope="openid profile")
    others = _grant(client, other_id, other_secret, None, scope="openid profile")
    apps = client.get("/account/apps")
    assert f'id="service-{client_id}-public-services"' in apps.text and "Cổng thuế" in apps.text
    assert "Giải quyết thủ tục hành chính của bạn" in apps.text
    withdrawn = client.post(f"/account/apps/{client_id}/withdraw",
                            data={"csrf_token": Browser.csrf(apps.text), "purpose": "public-services"})
    assert withdrawn.status_code == 302
    assert userinfo(client, tokens["access_token"]).status_code == 401
    assert introspect(client, (client_id, secret), tokens["access_token"]) == {"active": False}
    assert userinfo(client, others["access_token"]).get_json()["name"] == "Trần Thị Bình"
    assert [r[0] for r in _records(setup_data)] == ["granted", "granted", "withdrawn"]
    [event] = _events(setup_data, "oidc:consent:withdraw")
    assert event["purpose"] == "public-services" and event["client"] == client_id


def test_signed_userinfo_verifies_with_the_published_keys(client, setup_data) -> None:
    def create():
        rp, secret = make_client(scopes=["openid", "profile"], userinfo_signed_response_alg="ES256")
        return rp.client_id, secret, make_account(full_name="Lê Văn Cường").citizen.id_number
    client_id, secret, number = setup_data(create)
    tokens = _grant(client, client_id, secret, number, scope="openid profile")
    response = userinfo(client, tokens["access_token"])
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    assert response.headers["Cache-Control"] == "no-store"
    header, claims = verify_jwt(client, response.text, audience=client_id)
    assert header["alg"] == "ES256"
    assert claims["name"] == "Lê Văn Cường" and claims["aud"] == client_id and claims["sub"]


def test_introspection_answers_with_the_granted_claims_and_is_audited(client, agency, setup_data) -> None:
    client_id, secret, number = agency
    tokens = _grant(client, client_id, secret, number, ["birthdate"], scope="openid profile birthdate")
    body = introspect(client, (client_id, secret), tokens["access_token"])
    assert body["active"] is True and body["birthdate"] == "1985-05-17" and "name" not in body
    [release] = [e for e in _events(setup_data, "oidc:claims:release") if e["via"] == "introspection"]
    assert release["claims"] == ["birthdate"] and release["_actor"] == f"client:{client_id}"


def test_a_resource_server_introspecting_another_clients_token_gets_no_claim(client, agency, setup_data) -> None:
    client_id, secret, number = agency
    tokens = _grant(client, client_id, secret, number, ["birthdate"], scope="openid profile birthdate")
    api, api_secret = setup_data(lambda: make_client(name="Records API", grant_types=["client_credentials"],
                                                     redirect_uris=[], scopes=[], is_resource_server=True))
    body = introspect(client, (api.client_id, api_secret), tokens["access_token"])
    # The person granted their date of birth to the agency, not to the API that checks its tokens.
    assert body["active"] is True and body["sub"] and "birthdate" not in body and "name" not in body
    assert not [e for e in _events(setup_data, "oidc:claims:release") if e["via"] == "introspection"]


def test_a_statutory_purpose_shows_no_page_but_is_recorded_and_listed(client, setup_data) -> None:
    law = {"code": "social-insurance", "legal_basis": "statutory", "description_vi": "Chi trả bảo hiểm xã hội",
           "description_en": "Paying social insurance benefits"}

    def create():
        rp, secret = make_client(name="Bảo hiểm xã hội", scopes=["openid", "profile"], purposes=[law])
        return rp.client_id, secret, make_account().citizen.id_number
    client_id, secret, number = setup_data(create)
    browser = Browser(client)
    request, response = browser.start(client_id, scope="openid profile")
    response = browser.follow(response, id_number=number, consent=None)  # no page to answer
    tokens = _tokens(browser, request, response, client_id, secret)
    assert "name" in userinfo(client, tokens["access_token"]).get_json()
    assert [r[0] for r in _records(setup_data)] == ["granted"]
    apps = client.get("/account/apps").text
    assert "Bảo hiểm xã hội" in apps and "Chi trả bảo hiểm xã hội" in apps
    assert 'value="social-insurance"' not in apps  # no withdraw button
    assert "không dựa trên sự đồng ý" in apps  # the law explained instead
    refused = client.post(f"/account/apps/{client_id}/withdraw",
                          data={"csrf_token": Browser.csrf(client.get("/account").text),
                                "purpose": "social-insurance"})
    assert refused.status_code == 409
    assert userinfo(client, tokens["access_token"]).status_code == 200


def test_a_bad_claims_parameter_or_purpose_is_sent_back_as_invalid_request(client, agency) -> None:
    client_id, _, number = agency
    browser = Browser(client)
    browser.login(number)
    for extra in ({"claims": "{not json"}, {"claims": "[" * 3000}, {"purpose": "marketing"}, {"purpose": "\x00login"},
                  {"purpose": "Public Services"}):
        request, response = browser.start(client_id, **extra)
        assert response.status_code == 302, response.text[:300]
        params = query(response.headers["Location"])
        assert params["error"] == "invalid_request" and params["state"] == request.state


def test_the_named_purpose_is_the_one_consented(client, setup_data) -> None:
    other = {**SERVICES, "code": "newsletter", "description_en": "News", "description_vi": "Tin tức"}

    def create():
        rp, secret = make_client(scopes=["openid", "profile"], purposes=[SERVICES, other])
        return rp.client_id, secret, make_account().citizen.id_number
    client_id, secret, number = setup_data(create)
    _grant(client, client_id, secret, number, scope="openid profile", purpose="newsletter")
    page = _consent_page(Browser(client), client_id, scope="openid profile")  # the first purpose: not given yet
    assert "Giải quyết thủ tục hành chính của bạn" in page.text
    _, skipped = Browser(client).start(client_id, scope="openid profile", purpose="newsletter")
    assert skipped.status_code == 302 and "code" in query(skipped.headers["Location"])


def test_parallel_grants_leave_a_consistent_newest_record(app, backend, setup_data) -> None:
    """Two tabs answer at once: the records stay a chain, each written knowing the one before it."""
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL")
    from idsvc.oidc import claimsrequest
    from idsvc.oidc import consents
    from idsvc.oidc import purposes

    def create():
        rp, _ = make_client(scopes=["openid", "profile", "birthdate", "gender"])
        return rp.id, make_account().id
    client_pk, account_id = setup_data(create)
    choices = [["name"], ["birthdate", "gender"], ["name", "gender"], ["birthdate"]] * 3
    start = threading.Barrier(len(choices))

    def grant(ticked: list[str]) -> None:
        from idsvc.identity.models import Account
        from idsvc.oidc.models import OAuthClient

        with app.app_context():
            account, rp = db.session().get(Account, account_id), db.session().get(OAuthClient, client_pk)
            asked = claimsrequest.asked(["openid", "profile", "birthdate", "gender"], claimsrequest.EMPTY)
            offer = consents.offer(account, rp, purposes.resolve(rp, None), asked)
            start.wait()
            consents.give(account, offer, ticked=ticked, level=1)
            db.session().commit()

    threads = [threading.Thread(target=grant, args=(ticked,)) for ticked in choices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = _records(setup_data)
    assert len(records) == len(choices)
    previous: set[str] = set()
    for event, granted, declined in records:
        assert not set(granted) & set(declined)
        assert event == ("narrowed" if previous and not previous <= set(granted) else "granted")
        previous = set(granted)


def test_current_consents_and_history_for_the_persons_pages(client, agency, setup_data, app) -> None:
    from idsvc.identity.models import Account
    from idsvc.oidc import consents

    client_id, secret, number = agency
    _grant(client, client_id, secret, number, ["name", "birthdate"], scope="openid profile birthdate")
    _grant(client, client_id, secret, None, ["birthdate"], scope="openid profile birthdate", prompt="consent")
    with app.app_context():
        account = db.session().scalar(select(Account).join(ConsentRecord, ConsentRecord.account_id == Account.id))
        [state] = consents.current_consents(account)
        assert (state.client_id, state.client_name, state.purpose_code, state.legal_basis) == (
            client_id, AGENCY, "public-services", "consent")
        assert state.purpose_text == {"vi": SERVICES["description_vi"], "en": SERVICES["description_en"]}
        assert state.claims == ("birthdate",) and state.level == 1 and state.expires_at > state.since
        assert consents.withdraw(account, client_id, "public-services") == 2  # both logins' tokens
        db.session().commit()
        assert consents.current_consents(account) == []
        history = consents.consent_history(account)
    assert [h["event"] for h in history] == ["withdrawn", "narrowed", "granted"]  # newest first
    assert history[1]["claims"] == ["birthdate"] and "name" in history[1]["declined"]
    assert history[0]["client_id"] == client_id and history[0]["purpose"] == "public-services"
    json.dumps(history)  # ready for the download of the person's data
