"""RP-initiated logout 1.0: where the browser may go after logging out, and whose hint came along."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.common.urls import add_params_to_uri

from idsvc.identity.models import Account
from idsvc.oidc import clients
from idsvc.oidc import tokens
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.subjects import pairwise_sub


@dataclass(frozen=True)
class LogoutTarget:
    """Where RP-initiated logout may send the browser, and whose ``id_token_hint`` came with it."""

    redirect_uri: str | None
    client: OAuthClient | None
    hint_sub: str | None
    #: An ``id_token_hint`` was sent but is not an ID token of ours (nothing in the request is used).
    hint_invalid: bool = False

    def hint_matches(self, account: Account) -> bool:
        return (self.client is not None and self.hint_sub is not None
                and self.hint_sub == pairwise_sub(self.client, account))


def logout_target(values: Any) -> LogoutTarget:
    """Read ``id_token_hint``, ``client_id``, ``post_logout_redirect_uri`` and ``state``; the URI
    is used only when it is registered, exactly, for that client (else the person stays with us)."""
    client, hint_sub = None, None
    hint = values.get("id_token_hint")
    if hint:
        try:
            claims = tokens.decode_id_token_hint(hint)
        except tokens.TokenInvalid:
            return LogoutTarget(None, None, None, hint_invalid=True)
        audience = claims.get("aud")
        client = clients.find_client(audience[0] if isinstance(audience, list) else audience)
        hint_sub = claims.get("sub") if client else None
    if client is None:
        client = clients.find_client(values.get("client_id"))
    uri = values.get("post_logout_redirect_uri")
    if not uri or client is None or uri not in client.post_logout_redirect_uris:
        return LogoutTarget(None, client, hint_sub)
    state = values.get("state")
    if state:
        uri = add_params_to_uri(uri, [("state", state)])
    return LogoutTarget(uri, client, hint_sub)
