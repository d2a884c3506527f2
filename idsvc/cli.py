"""The commands of every app (``idsvc …``, ``flask --app wsgi …``): one click group per subdomain.

The ``idsvc`` console entry point itself is :func:`idsvc.startup.main`: it builds the app, whose
:func:`~idsvc.create_app` registers these.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from idsvc.clitools import actor_option


def register_commands(app: Flask) -> None:
    from idsvc.audit.commands import audit_cli
    from idsvc.demo_agency.commands import demo_agency_cli
    from idsvc.eligibility.commands import eligibility_cli
    from idsvc.eligibility.sources.commands import sources_cli
    from idsvc.identity.commands import identity_cli
    from idsvc.office.commands import attach as attach_office_commands
    from idsvc.oidc.commands import clients_cli
    from idsvc.oidc.commands import keys_cli
    from idsvc.population.commands import population_cli
    from idsvc.registry.commands import registry_cli
    from idsvc.registry.commands import units_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(purge)
    app.cli.add_command(keys_cli)
    app.cli.add_command(clients_cli)
    app.cli.add_command(identity_cli)
    app.cli.add_command(units_cli)
    attach_office_commands(registry_cli)
    app.cli.add_command(registry_cli)
    app.cli.add_command(population_cli)
    app.cli.add_command(seed)
    app.cli.add_command(demo_agency_cli)
    app.cli.add_command(eligibility_cli)
    app.cli.add_command(sources_cli)
    app.cli.add_command(audit_cli)


@click.group("db", help="Database schema (Alembic migrations).")
def db_cli() -> None:
    pass


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    from idsvc import migrate
    from idsvc.db import get_db

    migrate.upgrade(get_db().engine, revision)
    click.echo(f"database at {migrate.current(get_db().engine)}")


@db_cli.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" empties it)."""
    from idsvc import migrate
    from idsvc.db import get_db

    migrate.downgrade(get_db().engine, revision)
    click.echo(f"database at {migrate.current(get_db().engine) or 'base'}")


@db_cli.command("current")
@with_appcontext
def db_current() -> None:
    """Show the schema revision of the database."""
    from idsvc import migrate
    from idsvc.db import get_db

    click.echo(migrate.current(get_db().engine) or "base (empty database)")


@click.command("purge")
@click.option("--batch-size", type=click.IntRange(1, 10000), default=5000, show_default=True,
              help="Rows deleted per transaction.")
@click.option("--grace-seconds", type=click.IntRange(min=0), default=300, show_default=True,
              help="How long past its end a row is kept (clock skew between workers, requests in flight).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete and record nothing.")
@actor_option
@with_appcontext
def purge(batch_size: int, grace_seconds: int, dry_run: bool, actor: str) -> None:
    """Delete expired codes and tokens, ended sessions, spent assertions and activation codes, old outbox messages.

    Safe to run from cron while serving: short transactions of --batch-size rows, and a second
    run at the same time only finds less to do.
    """
    from idsvc import housekeeping

    result = housekeeping.purge(batch_size=batch_size, grace_seconds=grace_seconds, dry_run=dry_run, actor=actor)
    verb = "would delete" if dry_run else "deleted"
    for table, count in result.counts.items():
        batches = "" if dry_run else f" ({result.batches[table]} batch{'es' if result.batches[table] != 1 else ''})"
        click.echo(f"{table:<20} {verb} {count}{batches}")
    click.echo(f"{'total':<20} {verb} {result.total}")


@click.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when the registry already has citizens.")
@with_appcontext
def seed(if_empty: bool) -> None:
    """Load the units, the demo population, demo accounts and clients, the demo registry staff, the
    demo social-assistance programmes and the demo attribute-source lists (safe to re-run)."""
    from flask import current_app

    from idsvc.eligibility import commands as eligibility_commands
    from idsvc.eligibility import seed as eligibility_seed
    from idsvc.eligibility.sources import commands as sources_commands
    from idsvc.identity import seed as identity_seed
    from idsvc.office import seed as office_seed
    from idsvc.oidc import seed as oidc_seed
    from idsvc.registry import seed as registry_seed

    if current_app.config["IDSVC_ENV"] == "production":
        raise click.UsageError("`idsvc seed` loads public demo passwords: it does not run in production.")
    registry_seed.run(if_empty=if_empty, echo=click.echo)
    codes = identity_seed.run(echo=click.echo)
    office_seed.run(echo=click.echo)
    oidc_seed.run(echo=click.echo, extra=codes)
    for line in eligibility_commands.load(eligibility_commands.PROGRAMMES, "system:seed"):
        click.echo(line)
    for line in sources_commands.load_demo("system:seed"):
        click.echo(line)
    eligibility_seed.run(echo=click.echo)
