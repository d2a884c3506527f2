"""The registry office's JSON API for staff (``/api/v1/registry/…``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("office_api", __name__, url_prefix="/api/v1/registry")
