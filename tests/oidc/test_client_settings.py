"""A client's settings are checked once, by ``oidc.schemas``: whoever registers the client (the admin
API, the CLI, the seed) gets the same answer, naming the field."""

from __future__ import annotations

import pytest

from idsvc.errors import ValidationFailed
from idsvc.oidc.schemas import ClientSettingsSchema
from idsvc.oidc.schemas import client_settings


def test_settings_are_made_canonical() -> None:
    settings = client_settings({"name": "  Cổng   dịch vụ ", "redirect_uris": ["https://a.vn/cb", "https://a.vn/cb"],
                                "scopes": ["openid", "profile", "openid"]})
    assert settings.name == "Cổng dịch vụ"
    assert settings.redirect_uris == ["https://a.vn/cb"] and settings.scopes == ["openid", "profile"]
    assert settings.grant_types == ["authorization_code", "refresh_token"]  # the defaults
    assert settings.sector == "a.vn"  # the redirect URIs' one host


def test_without_one_host_the_sector_is_left_to_the_client_id() -> None:
    settings = client_settings({"name": "x", "grant_types": ["client_credentials"], "scopes": ["registry.verify"]})
    assert settings.sector is None


@pytest.mark.parametrize(("values", "field", "reason"), [
    ({"name": "x", "redirect_uris": ["http://a.vn/cb"]}, "redirect_uris", "must use https"),
    ({"name": "x", "auth_method": "none", "grant_types": ["client_credentials"]}, "grant_types",
     "cannot use client_credentials"),
    ({"name": "x", "redirect_uris": ["https://a.vn/cb"], "sector": "a\x00"}, "sector", "printable"),
    ({"name": "A\x1fB", "redirect_uris": ["https://a.vn/cb"]}, "name", "printable characters"),
    ({"name": "x", "scopes": ["everything"]}, "scopes", "unknown scope everything"),
    ({"name": "x", "min_level": 3}, "min_level", "min level is 1 or 2"),
])
def test_a_refusal_names_the_field_and_says_why_in_one_line(values, field, reason) -> None:
    with pytest.raises(ValidationFailed) as refused:
        client_settings(values)
    assert field in refused.value.extra["errors"]
    assert reason in refused.value.detail and "\n" not in refused.value.detail


def test_the_admin_api_and_the_cli_load_through_the_same_schema() -> None:
    from idsvc.oidc import admin_api
    from idsvc.oidc import commands

    assert admin_api.ClientSettingsSchema is ClientSettingsSchema
    assert commands.client_settings is client_settings


def test_the_cli_says_why_in_one_line(runner) -> None:
    result = runner.invoke(args=["clients", "create", "--name", "Bad", "--grant-type", "client_credentials",
                                 "--scope", "no-such-scope"])
    assert result.exit_code != 0
    assert [line for line in result.output.splitlines() if line] == [
        f"Error: unknown scope no-such-scope; known: {', '.join(_scopes())}"]


def _scopes() -> list[str]:
    from idsvc.oidc.claims import SCOPES

    return list(SCOPES)


def test_the_cli_leaves_the_level_rule_to_the_schema(runner) -> None:
    result = runner.invoke(args=["clients", "create", "--name", "Bad", "--redirect-uri", "https://a.vn/cb",
                                 "--min-level", "3"])
    assert result.exit_code != 0 and result.output.strip() == "Error: min level is 1 or 2"
