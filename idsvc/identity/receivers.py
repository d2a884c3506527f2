"""What identity does when the registry signals (:mod:`idsvc.registry.signals`)."""

from __future__ import annotations

from flask import Flask

from idsvc.identity import service
from idsvc.registry import signals as registry_signals
from idsvc.registry.models import Citizen


def init_app(app: Flask) -> None:
    """Connect identity's receivers to the registry's signals, for this app."""
    registry_signals.death_recorded.connect(_death_recorded, sender=app)
    registry_signals.records_merged.connect(_records_merged, sender=app)


def _death_recorded(app: Flask, *, citizen: Citizen, actor: str) -> None:
    """A death disables the person's account; a disappearance ends its sessions and tokens."""
    service.on_citizen_status(citizen, actor=actor)


def _records_merged(app: Flask, *, survivor: Citizen, duplicate: Citizen, actor: str) -> None:
    """A duplicate record merged into the person's record: the duplicate's account is disabled
    (the person keeps, or opens, the account of the surviving record)."""
    service.on_record_merged(duplicate, actor=actor)
