"""The review queue of the console (``/office/reviews``): uncertain matches of the eligibility matcher."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("office_review", __name__, url_prefix="/office/reviews")
