"""Authlib subclasses: the grants, PKCE policy, client assertion, token endpoints and the bearer
validator. Every hook Authlib asks for is here; what it stores goes through the oidc services
(``clients``, ``issuance``, ``subjects``).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc6749
from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.errors import RequestNotSupportedError
from authlib.oidc.core.errors import RequestURINotSupportedError
from flask import current_app
from joserfc.jwk import KeySet

from idsvc import crypto
from idsvc.db import utcnow
from idsvc.identity.models import LoginSession
from idsvc.oidc import claims
from idsvc.oidc import claimsrequest
from idsvc.oidc import clients
from idsvc.oidc import consents
from idsvc.oidc import issuance
from idsvc.oidc import purposes
from idsvc.oidc import subjects
from idsvc.oidc import tokens
from idsvc.oidc.models import AuthorizationCode
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.models import OAuthToken
from idsvc.oidc.models import acr_for_level

#: Every client authenticates with exactly the one method it was registered with.
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect Unmet Authentication Requirements 1.0: the acr asked for cannot be met."""

    error = "unmet_authentication_requirements"


class InsufficientUserAuthentication(OAuth2Error):
    """RFC 9470 §3: the token's login is weaker than the API needs (a staff API and a level-1 login)."""

    error = "insufficient_user_authentication"
    status_code = 401


class S256Only(CodeChallenge):
    """PKCE is required of every client, confidential ones too, and only with S256 (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256; 'plain' is not accepted.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier' (PKCE is required).")
        super().validate_code_verifier(grant, result)


def _check_scopes(request: Any, kind: Any) -> None:
    """The asked scopes must be of this ``kind`` (a person's or a machine's) and allowed to the client."""
    refused = [s for s in scope_to_list(request.payload.scope) or [] if s not in request.client.scopes or s not in kind]
    if refused:
        raise rfc6749.InvalidScopeError(f"Scope not allowed for this client: {' '.join(refused)}")


#: Longest ``nonce`` kept with a code (the column's size).
NONCE_MAX_LENGTH = 255
#: Longest lifetime accepted for a client assertion (RFC 7523 §3: the server may refuse a distant ``exp``).
ASSERTION_MAX_SECONDS = 3600


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        """Only the person's scopes the client is registered for (machine scopes never).

        Authlib validates the scope first among the request's parameters, with errors sent back to
        the client: request objects, which we do not support, are refused here too (OIDC Core §6).
        """
        data = self.request.payload.data
        if data.get("request"):
            raise RequestNotSupportedError("Request objects ('request') are not supported; send plain parameters.")
        if data.get("request_uri"):
            raise RequestURINotSupportedError("'request_uri' is not supported; send plain parameters.")
        nonce = data.get("nonce") or ""
        if len(nonce) > NONCE_MAX_LENGTH:
            raise rfc6749.InvalidRequestError(f"nonce is longer than {NONCE_MAX_LENGTH} characters")
        if not nonce.isprintable():  # it is stored with the code (PostgreSQL refuses a NUL in text)
            raise rfc6749.InvalidRequestError("nonce holds control characters")
        super().validate_requested_scope()
        _check_scopes(self.request, claims.USER_SCOPES)

    def save_authorization_code(self, code: str, request: Any) -> AuthorizationCode:
        """Store the code. ``request.user`` is the login session that consented: the authorize view
        grants with it (``grant_user``), so the code keeps how and when the person logged in."""
        login: LoginSession = request.user
        data = request.payload.data
        # Both were checked by the authorize view (``authorize.decide``) before it granted.
        purpose = purposes.resolve(request.client, data.get("purpose"))
        claims_request = claimsrequest.parse(data.get("claims")).to_json()
        return issuance.store_code(
            code, client=request.client, login=login,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            scope=request.scope, nonce=data.get("nonce"), code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"], purpose_id=purpose.id,
            claims_request=claims_request)

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        return issuance.redeem_code(code, client)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        pass  # already marked used in query_authorization_code; the row stays for replay detection

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Any:
        account = authorization_code.account
        return account if account.status == "active" else None

    def generate_token(self, user: Any = None, scope: str | None = None, grant_type: str | None = None,
                       expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        code: AuthorizationCode = self.request.authorization_code
        return issuance.issue_tokens(
            client=self.request.client, account=user, scope=scope or "", grant_type=self.GRANT_TYPE,
            include_refresh=include_refresh_token, level=code.level, amr=code.amr, auth_time=code.auth_time,
            code_id=code.id, purpose_id=code.purpose_id, claims_request=code.claims_request)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> OAuthToken | None:
        row = issuance.token_by_refresh(refresh_token)
        if row is None or (row.revoked_at is not None and row.rotated_at is None):
            return None
        if row.client_pk != self.request.client.id:
            return None  # another client's token: refused, and left as it is
        row.presented_refresh = True  # its scope is the grant's (the narrower-scope check uses it)
        if row.rotated_at is None:
            if row.refresh_expires_at is None or row.refresh_expires_at <= utcnow():
                return None
            return row  # rotated in issue_token, once nothing can refuse the request any more
        issuance.refresh_reused(row)
        return None

    def _rotate(self, row: OAuthToken) -> None:
        """Rotate the presented refresh token (``issuance.rotate_refresh``), last of the checks,
        after the scope and the person's account: the token view commits its 400 answers (a spent
        code, a revoked family must stand), so no refusal may follow a rotation, which a refused
        request must not keep.

        :raises InvalidGrantError: the token was rotated or revoked meanwhile.
        """
        if not issuance.rotate_refresh(row):
            raise InvalidGrantError()

    def authenticate_user(self, refresh_token: OAuthToken) -> Any:
        account = refresh_token.account
        return account if account is not None and account.status == "active" else None

    def revoke_old_credential(self, refresh_token: OAuthToken) -> None:
        pass  # rotated when it was authenticated (authenticate_refresh_token)

    def issue_token(self, user: Any, refresh_token: OAuthToken) -> dict[str, Any]:
        self._rotate(refresh_token)
        # A narrower scope is for this access token only: the new refresh token keeps the grant's.
        scope = self.request.payload.scope or refresh_token.grant_scope()
        return issuance.issue_tokens(
            client=self.request.client, account=user, scope=scope, refresh_scope=refresh_token.grant_scope(),
            grant_type=self.GRANT_TYPE, include_refresh=True, level=refresh_token.level, amr=refresh_token.amr,
            auth_time=refresh_token.auth_time, family=refresh_token.family, code_id=refresh_token.code_id,
            purpose_id=refresh_token.purpose_id, claims_request=refresh_token.claims_request)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        _check_scopes(self.request, claims.MACHINE_SCOPES)

    def generate_token(self, user: Any = None, scope: str | None = None, grant_type: str | None = None,
                       expires_in: int | None = None, include_refresh_token: bool = False) -> dict[str, Any]:
        return issuance.issue_tokens(client=self.request.client, account=None,
                                     scope=self.request.client.get_allowed_scope(scope), grant_type=self.GRANT_TYPE,
                                     include_refresh=False)


class IdToken(OpenIDCode):
    """Adds the ID token to code-flow token responses, signed by ``tokens.py`` (PyJWT).

    The ID token carries who and how (sub, acr, amr, auth_time), and the attributes the
    ``claims`` parameter asked for it (``id_token``) that the person granted, with the release's
    audit event; the others are at userinfo.
    """

    def __init__(self) -> None:
        super().__init__(require_nonce=False)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # a nonce is bound to one code, and a code is single-use

    def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
        client: OAuthClient = request.client
        cfg = current_app.config
        now = tokens.now()
        source = request.authorization_code or request.refresh_token
        id_claims: dict[str, Any] = {
            "iss": cfg["ISSUER"], "sub": subjects.pairwise_sub(client, request.user), "aud": client.client_id,
            "azp": client.client_id, "iat": now, "exp": now + cfg["ID_TOKEN_SECONDS"],
            "auth_time": int(source.auth_time.timestamp()), "acr": acr_for_level(source.level),
            "amr": source.amr.split(),
            "at_hash": tokens.half_hash(token["access_token"], client.id_token_signed_response_alg),
        }
        if request.authorization_code is not None and request.authorization_code.nonce:
            id_claims["nonce"] = request.authorization_code.nonce
        if getattr(source, "login_session_id", None):
            id_claims["sid"] = crypto.keyed_hash("sid", str(source.login_session_id))[:32]
        released = consents.release(account=request.user, client=client, purpose_id=source.purpose_id,
                                    scope=token.get("scope") or source.get_scope(),
                                    claims_request=source.claims_request, target="id_token", via="id_token",
                                    reader=f"client:{client.client_id}")
        id_claims.update({name: value for name, value in released.items() if name not in id_claims})
        return tokens.encode_id_token(id_claims, client.id_token_signed_response_alg)

    def generate_user_info(self, user: Any, scope: str) -> dict[str, Any]:
        return {}


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt`` (RFC 7523 §2.2) with ``jti`` replay protection in the database."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self) -> None:
        super().__init__(validate_jti=True, leeway=30)

    def get_audiences(self) -> list[str]:
        issuer = current_app.config["ISSUER"]
        return [issuer, f"{issuer}/token"]

    def resolve_client_public_key(self, client: OAuthClient) -> Any:
        if not (client.jwks and client.jwks.get("keys")):
            # Not a private_key_jwt client: refused as any client that uses a method it was not
            # registered with (401 and the challenge), never an empty key set (which raises).
            raise rfc6749.InvalidClientError(description="the client has no registered public keys",
                                             status_code=401)
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]  # a JWKS, checked at registration

    def validate_jti(self, claims_: dict[str, Any], jti: str) -> bool:
        client = clients.find_client(claims_["sub"])
        if client is None:
            return False
        lifetime = int(claims_["exp"]) - tokens.now()
        if lifetime > ASSERTION_MAX_SECONDS:  # its jti would have to be kept that long
            raise rfc6749.InvalidClientError(
                description=f"the client assertion expires more than {ASSERTION_MAX_SECONDS} s from now")
        return clients.spend_assertion(client, str(jti), lifetime)


class _TokenLookup:
    """Finds the stored row of an access token (a JWT of ours) or of a refresh token.

    ``token_type_hint`` only says which kind to look for first: a token not found as that kind is
    looked for as the other, and an unknown hint is ignored (RFC 7009 §2.1, RFC 7662 §2.1).
    """

    def check_params(self, request: Any, client: Any) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("the 'token' parameter is required")

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuthToken | None:
        if "." in token_string:  # a JWT: ours are access tokens (a refresh token has no dot)
            return self._as_access(token_string)
        lookups = [self._as_access, self._as_refresh]
        if token_type_hint == "refresh_token":  # noqa: S105 (a hint name, not a secret)
            lookups.reverse()
        for lookup in lookups:
            row = lookup(token_string)
            if row is not None:
                return row
        return None

    @staticmethod
    def _as_access(token_string: str) -> OAuthToken | None:
        return issuance.access_token_row(token_string)

    @staticmethod
    def _as_refresh(token_string: str) -> OAuthToken | None:
        row = issuance.token_by_refresh(token_string)
        if row is not None:
            row.presented_refresh = True
        return row


class Revocation(_TokenLookup, RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def revoke_token(self, token: OAuthToken, request: Any) -> None:
        # Revoking either token ends the grant: every token of its family goes (RFC 7009 §2.1).
        issuance.revoke_family(token.family, reason="client-revocation", actor=f"client:{request.client.client_id}")


class Introspection(_TokenLookup, IntrospectionEndpoint):
    """Introspection; an active token of a person, introspected by its own client, also answers
    with the claims that client was granted (as userinfo would), with the release's audit event. A
    resource server introspecting another client's token learns whether it is active, its scope and
    ``sub``, never the person's claims: the person granted them to the token's client, not to it."""

    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def check_permission(self, token: OAuthToken, client: OAuthClient, request: Any) -> bool:
        allowed = token.client_pk == client.id or client.is_resource_server
        if allowed:
            request.introspected = (token, client)  # this request's own object: safe across threads
        return allowed

    def create_endpoint_response(self, request: Any) -> Any:
        status, body, headers = super().create_endpoint_response(request)
        found = getattr(request, "introspected", None)
        if (body.get("active") and found is not None and found[0].account is not None
                and found[0].client_pk == found[1].id):
            token, reader = found
            released = consents.release(account=token.account, client=token.client, purpose_id=token.purpose_id,
                                        scope=token.get_scope(), claims_request=token.claims_request,
                                        target="userinfo", via="introspection", reader=f"client:{reader.client_id}")
            body = {**released, **body}
        return status, body, headers

    def introspect_token(self, token: OAuthToken) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True, "client_id": token.client.client_id, "scope": token.get_scope(),
            "iat": int(token.issued_at.timestamp()), "exp": int(token.expires_at().timestamp()),
            "iss": current_app.config["ISSUER"], "aud": current_app.config["ISSUER"], "jti": token.jti,
            "sub": subjects.pairwise_sub(token.client, token.account) if token.account else token.client.client_id,
        }
        if token.level is not None:
            body["acr"] = acr_for_level(token.level)
        if not token.presented_refresh:
            body["token_type"] = "Bearer"  # noqa: S105 (a token type, not a secret)
        return body


class Issuer(IssuerParameter):
    """``iss`` in every authorization response (RFC 9207), against mix-up attacks."""

    def get_issuer(self) -> str:
        return current_app.config["ISSUER"]


class AccessTokenValidator(BearerTokenValidator):
    """Bearer tokens at our APIs: a JWT of ours whose row is neither revoked nor expired."""

    def authenticate_token(self, token_string: str) -> OAuthToken | None:
        return issuance.access_token_row(token_string)

    def validate_token(self, token: OAuthToken | None, scopes: Any, request: Any, **kwargs: Any) -> None:
        if token is not None and token.account is not None and token.account.status != "active":
            token = None  # the person's account was disabled: nothing of theirs is served
        # A person's endpoint (scope openid) with a machine token: the token is not for it at all.
        if token is not None and token.account_id is None and scopes and "openid" in scopes:
            token = None
        super().validate_token(token, scopes, request, **kwargs)
