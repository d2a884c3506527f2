"""The clerk console (``/office``): server-rendered pages for registry staff."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")
