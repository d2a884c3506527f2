"""audit.event() refuses data that would keep a full ID number or a secret in the ledger for ever."""

from __future__ import annotations

import pytest

from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction


@pytest.mark.parametrize("data", [
    {"id_number": "001080012345"},
    {"note": "checked 001080012345 at the desk"},
    {"numbers": ["xx", 1080012345, 1000_0000_0000 + 5]},
    {"nested": {"deeper": {"who": "079201000001"}}},
    {"001080012345": "as a key"},
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
