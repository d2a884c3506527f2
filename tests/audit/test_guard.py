"""audit.event() keeps no full ID number and no secret in the ledger, which keeps events for ever:
numbers in texts are masked, secret-named keys and 12-digit integers refused."""

from __future__ import annotations

import pytest

from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction


@pytest.mark.parametrize(("data", "kept"), [
    ({"id_number": "001080012345"}, {"id_number": "*********345"}),
    ({"note": "checked 001080012345 at the desk"}, {"note": "checked *********345 at the desk"}),
    ({"nested": {"deeper": {"who": ["079201000001"]}}}, {"nested": {"deeper": {"who": ["*********001"]}}}),
    ({"001080012345": "as a key"}, {"*********345": "as a key"}),
    ({"name": "Cổng 123456789012", "redirect_uris": ["https://a.example/cb/123456789012"]},
     {"name": "Cổng *********012", "redirect_uris": ["https://a.example/cb/*********012"]}),
])
def test_a_full_id_number_in_a_text_is_masked(data, kept) -> None:
    _, row = audit.event(AuditAction.IDENTITY_LOGIN_SUCCESS, actor="account:1", data=data)
    assert row["data"] == kept


@pytest.mark.parametrize("data", [
    {"numbers": ["xx", 1080012345, 1000_0000_0000 + 5]},
    {"password": "x"},
    {"Secret": "x"},
    {"token": "x"},
    {"refresh_token": "x"},
    {"code": "x"},
    {"client_secret": "x"},
    {"inner": [{"access_token": "x"}]},
    {"new_password": "x"},
])
def test_refused(data) -> None:
    with pytest.raises(ValueError):
        audit.event(AuditAction.IDENTITY_LOGIN_SUCCESS, actor="account:1", data=data)


@pytest.mark.parametrize("data", [
    None,
    {"jti": "3f0c6d1e-6b7a-4b1e-9a51-0c8d1c2c4e11"},
    {"id_number": "0010****2345"},
    {"sha256": "0123456789012a" + "f" * 50},
    {"count": 100_000, "at": "2026-12-06T01:00:00Z", "citizen_id": 12345678901},
    {"programme_code": "HN-SA-01", "token_type": "Bearer", "scope": "openid"},
    {"deleted": {"oauth_token": 3, "authorization_code": 1}},
    {"when": 1765000000000},  # 13 digits: a time in milliseconds
])
def test_allowed(data) -> None:
    audit.event(AuditAction.IDENTITY_LOGIN_SUCCESS, actor="account:1", data=data)
