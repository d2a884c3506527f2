"""The authorization code flow with PKCE, end to end through the pages and the token endpoint."""

from __future__ import annotations

import re
import time

import jwt
import pytest

from tests.browser import Browser
from tests.browser import query
from tests.oidc.helpers import code_tokens
from tests.oidc.helpers import verify_jwt


def test_login_with_national_id_returns_code_then_tokens(client, rp) -> None:
    client_id, secret, number = rp
    browser = Browser(client)
    request, response = browser.start(client_id, scope="openid profile birthdate")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    response = browser.follow(response, id_number=number)
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert response.headers["Location"].startswith("https://rp.example.vn/callback?")
    assert params["state"] == request.state
    assert params["iss"] == client.application.config["ISSUER"]

    token = browser.redeem(request, params["code"], (client_id, secret))
    assert token.status_code == 200, token.text
    body = token.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] <= 600
    assert "refresh_token" in body
    jwks = client.get("/jwks.json").get_json()
    header = jwt.get_unverified_header(body["id_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(body["id_token"], jwt.PyJWK(key).key, algorithms=[key["alg"]], audience=client_id,
                        issuer=client.application.config["ISSUER"])
    assert claims["nonce"] == request.nonce
    assert claims["acr"] == "urn:idsvc:loa:1" and claims["amr"] == ["pwd"]
    assert number not in body["id_token"] and claims["sub"] != number

    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.get_json()["name"] == "Trần Thị Bình"
    assert info.get_json()["family_name"] == "Trần"
    assert info.get_json()["birthdate"] == "1985-05-17"
    assert info.get_json()["sub"] == claims["sub"]


@pytest.mark.parametrize("lifetime", [3600, 1234])
def test_an_id_token_lives_for_its_configured_lifetime(client, rp, lifetime) -> None:
    client.application.config["ID_TOKEN_SECONDS"] = lifetime
    client_id, secret, number = rp
    body = code_tokens(client, client_id, secret, number)
    _, claims = verify_jwt(client, body["id_token"], audience=client_id)
    assert claims["exp"] - claims["iat"] == lifetime
    assert abs(claims["iat"] - time.time()) < 60


def test_userinfo_follows_the_current_consent_at_every_read(client, rp, app) -> None:
    """A token keeps what its request asked; what it receives is what the consent grants now."""
    from sqlalchemy import select

    from idsvc import db
    from idsvc.db import utcnow
    from idsvc.oidc.models import ConsentRecord

    client_id, secret, number = rp
    browser = Browser(client)
    request, response = browser.start(client_id, scope="openid profile birthdate")
    params = query(browser.follow(response, id_number=number).headers["Location"])
    access = browser.redeem(request, params["code"], (client_id, secret)).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    before = client.get("/userinfo", headers=bearer).get_json()
    assert before["name"] == "Trần Thị Bình" and before["birthdate"] == "1985-05-17"

    # The person asked again (prompt=consent) unticks the name: the consent is narrowed.
    _, page = browser.start(client_id, scope="openid profile birthdate", prompt="consent")
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    client.post(action, data={"decision": "allow", "csrf_token": Browser.csrf(page.text), "claim": ["birthdate"]})
    narrowed = client.get("/userinfo", headers=bearer).get_json()
    assert "name" not in narrowed and narrowed["birthdate"] == "1985-05-17"

    with app.app_context():  # a consent ended behind the tokens' back (no revocation): nothing released
        last = db.session().scalar(select(ConsentRecord).order_by(ConsentRecord.id.desc()).limit(1))
        db.session().add(ConsentRecord(account_id=last.account_id, client_pk=last.client_pk,
                                       purpose_id=last.purpose_id, event="withdrawn", claims=[], declined=[],
                                       level=1, at=utcnow()))
        db.session().commit()
    assert client.get("/userinfo", headers=bearer).get_json() == {"sub": before["sub"]}


def test_the_code_keeps_the_login_session_that_consented(client, rp, app) -> None:
    """The authorize view hands its login session to the grant (``grant_user``); the code and the
    ID token's ``sid`` name that session, and its level and time of login."""
    from sqlalchemy import select

    from idsvc import crypto
    from idsvc import db
    from idsvc.identity.models import LoginSession
    from idsvc.oidc.models import AuthorizationCode

    client_id, secret, number = rp
    body = code_tokens(client, client_id, secret, number)
    _, claims = verify_jwt(client, body["id_token"], audience=client_id)
    with app.app_context():
        code = db.session().scalars(select(AuthorizationCode)).one()
        login = db.session().scalars(select(LoginSession).where(LoginSession.revoked_at.is_(None))).one()
        assert (code.login_session_id, code.account_id) == (login.id, login.account_id)
        assert (code.level, code.amr, code.auth_time) == (login.level, login.amr, login.auth_time)
        assert claims["sid"] == crypto.keyed_hash("sid", str(login.id))[:32]
