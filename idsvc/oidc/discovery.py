"""The OpenID Provider metadata (OpenID Connect Discovery 1.0, RFC 8414)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from idsvc.oidc import claims
from idsvc.oidc import claimsrequest
from idsvc.oidc.grants import CLIENT_AUTH_METHODS
from idsvc.oidc.models import acr_for_level


def metadata() -> dict[str, Any]:
    issuer = current_app.config["ISSUER"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "end_session_endpoint": f"{issuer}/logout",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "scopes_supported": list(claims.SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256"],
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS[:-1],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [acr_for_level(1), acr_for_level(2)],
        "claims_supported": claims.CLAIMS_SUPPORTED,
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["vi", "en"],
        "userinfo_signing_alg_values_supported": ["ES256"],
        # OpenID Identity Assurance 1.0: claims verified against the registry record itself.
        "verified_claims_supported": True,
        "trust_frameworks_supported": [claimsrequest.TRUST_FRAMEWORK],
        "evidence_supported": [claimsrequest.EVIDENCE_TYPE],
        "electronic_records_supported": [claimsrequest.RECORD_TYPE],
        "claims_in_verified_claims_supported": sorted(claims.CATALOGUE),
    }
