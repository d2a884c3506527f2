"""Development seed: administrative units and the committed demo population of ``fixtures/``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.registry import service
from idsvc.registry.imports import importer
from idsvc.registry.models import Citizen

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: Imported in this order: the named demo citizens first, so their numbers are theirs.
FILES = ("demo_citizens.csv", "demo_population.csv")


def run(*, if_empty: bool, echo: Callable[[str], None], fixtures: Path = FIXTURES) -> None:
    """Load units and the demo files through the importer (a re-run imports nothing twice)."""
    with db.transaction():
        service.sync_units()
    echo("administrative units loaded")
    if if_empty and db.session().scalar(select(func.count()).select_from(Citizen)):
        echo("the registry already has citizens; demo data not loaded again")
        return
    db.session().rollback()
    for name in FILES:
        path = fixtures / name
        if not path.exists():
            echo(f"{name}: not found, skipped")
            continue
        Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
        rejects = Path(current_app.instance_path) / f"{name}.rejects.csv"
        result = importer.import_file(path, actor="system:seed", rejects_path=rejects)
        echo(f"{name}: {result.imported} imported, {result.present} already present, {result.rejected} rejected"
             + (f" (see {rejects})" if result.rejected else ""))
