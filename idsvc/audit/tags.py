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
