"""Audit action tags, ``source:subject:action`` (Warehouse EventTag style)."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    REGISTRY_IMPORT_RUN = "registry:import:run"
    REGISTRY_BIRTH_REGISTER = "registry:citizen:register-birth"
    REGISTRY_CITIZEN_UPDATE = "registry:citizen:update"
    REGISTRY_DEATH_RECORD = "registry:citizen:record-death"
    REGISTRY_NUMBER_REISSUE = "registry:citizen:reissue-number"
    REGISTRY_UNITS_SYNC = "registry:units:sync"
    KEYS_GENERATE = "oidc:keys:generate"
    IDENTITY_ACCOUNT_CREATE = "identity:account:create"
    IDENTITY_ACTIVATION_ISSUE = "identity:account:issue-activation"
    IDENTITY_ACCOUNT_ACTIVATE = "identity:account:activate"
    IDENTITY_ACCOUNT_DISABLE = "identity:account:disable"
    IDENTITY_LEVEL2_VERIFY = "identity:account:verify-in-person"
    IDENTITY_ROLE_GRANT = "identity:account:grant-role"
    IDENTITY_PASSWORD_CHANGE = "identity:account:change-password"
    IDENTITY_LOGIN_SUCCESS = "identity:login:success"
    IDENTITY_LOGIN_FAILURE = "identity:login:failure"
    IDENTITY_OTP_FAILURE = "identity:otp:failure"
    IDENTITY_STEP_UP = "identity:login:step-up"
    IDENTITY_LOGOUT = "identity:login:logout"
    IDENTITY_SESSIONS_REVOKE = "identity:sessions:revoke"
    OIDC_CLIENT_CREATE = "oidc:client:create"
    OIDC_CLIENT_UPDATE = "oidc:client:update"
    OIDC_CLIENT_ROTATE_SECRET = "oidc:client:rotate-secret"
    OIDC_CLIENT_DISABLE = "oidc:client:disable"
    OIDC_AUTHORIZE = "oidc:authorization:grant"
    OIDC_AUTHORIZE_DENY = "oidc:authorization:deny"
    OIDC_TOKEN_ISSUE = "oidc:token:issue"
    OIDC_CODE_REPLAY = "oidc:code:replay"
    OIDC_REFRESH_REUSE = "oidc:refresh:reuse"
    OIDC_TOKEN_REVOKE = "oidc:token:revoke"
    OIDC_USERINFO_READ = "oidc:userinfo:read"
