"""Service-wide routes: liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from sqlalchemy import text

from idsvc import db

bp = Blueprint("web", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> dict[str, str]:
    """Readiness: the database answers."""
    db.session().execute(text("SELECT 1"))
    return {"status": "ready"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
