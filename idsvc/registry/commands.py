"""``idsvc units`` and ``idsvc registry``: reference data, bulk import, look-ups."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idsvc import db
from idsvc.registry import service


@click.group("units", help="Administrative units (2025 provinces and communes, legacy ID codes).")
def units_cli() -> None:
    pass


@units_cli.command("sync")
@with_appcontext
def units_sync() -> None:
    """Load or refresh the administrative units from the vietnam-provinces package."""
    with db.transaction():
        added = service.sync_units()
    provinces, communes = service.unit_counts()
    click.echo(f"{provinces} provinces, {communes} communes ({sum(added.values())} new rows)")


@click.group("registry", help="The population registry.")
def registry_cli() -> None:
    pass
