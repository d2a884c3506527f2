"""The person's ``sub`` at a client: pairwise, per sector (OIDC Core §8.1)."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from idsvc import crypto
from idsvc.identity.models import Account
from idsvc.oidc.models import OAuthClient


def pairwise_sub(client: OAuthClient, account: Account) -> str:
    """The person's ``sub`` for this client's sector: HMAC(sector, citizen), not reversible, and
    different for every sector so two agencies cannot join their users on it.
    """
    key = str(current_app.config["PAIRWISE_KEY"]).encode()
    mac = hmac.new(key, f"{client.sector}|{account.citizen_id}".encode(), hashlib.sha256).digest()
    return crypto.b64url(mac)
