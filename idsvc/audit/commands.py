"""``idsvc audit …``: seal the ledger, verify it, export it, prove one event, rotate its key."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC
from datetime import datetime
from typing import IO

import click
from flask.cli import with_appcontext

from idsvc import db
from idsvc.clitools import actor_option


@click.group("audit", help="The audit ledger: seal, verify, export, prove.")
def audit_cli() -> None:
    pass


@audit_cli.command("seal")
@click.option("--follow", is_flag=True, help="Keep sealing, every --every seconds, until stopped.")
@click.option("--every", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds between rounds with --follow.")
@with_appcontext
def seal_command(follow: bool, every: float) -> None:
    """Seal the events not yet in the ledger (one block per transaction of up to 10,000 events).

    Safe to run from several places at once (cron, a --follow process): sealers queue on a database lock.
    """
    from idsvc.audit import ledger

    while True:
        total = blocks = 0
        while True:
            with db.transaction():
                sealed = ledger.seal()
            if not sealed:
                break
            total, blocks = total + sealed, blocks + 1
        if total or not follow:
            click.echo(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} sealed {total} events in {blocks} blocks")
        if not follow:
            return
        time.sleep(every)


@audit_cli.command("verify")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@with_appcontext
def verify_command(quiet: bool) -> None:
    """Check every block and every sealed event; exit 1 naming the first bad entry."""
    from idsvc.audit import ledger

    started = time.monotonic()

    def progress(done: int) -> None:
        if not quiet and time.monotonic() - progress.last > 5:  # type: ignore[attr-defined]
            progress.last = time.monotonic()  # type: ignore[attr-defined]
            click.echo(f"... {done} events checked", err=True)

    progress.last = started  # type: ignore[attr-defined]
    result = ledger.verify(progress=progress)
    seconds = time.monotonic() - started
    if result.problem is not None:
        click.echo(f"ledger broken at {result.problem}", err=True)
        click.echo(f"(checked {result.events} events in {result.blocks} blocks before it)", err=True)
        sys.exit(1)
    click.echo(f"ledger ok: {result.events} events in {result.blocks} blocks, checked in {seconds:.1f} s")


@audit_cli.command("export")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), required=True,
              help="First day (UTC) of the blocks to export.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8", lazy=False), required=True,
              help="The JSON Lines file to write ('-': standard output).")
@with_appcontext
def export_command(since: datetime, output: IO[str]) -> None:
    """Write the blocks sealed since DATE, whole, with their events and the ledger keys (JSON Lines)."""
    from idsvc.audit.ledgerexport import export

    blocks, events = export(since.replace(tzinfo=UTC), output)
    click.echo(f"exported {events} events in {blocks} blocks", err=True)


@audit_cli.command("proof")
@click.argument("event_id", type=int)
@with_appcontext
def proof_command(event_id: int) -> None:
    """Print the inclusion proof of one event (JSON)."""
    from idsvc.audit import ledger

    found = ledger.proof(event_id)
    if found is None:
        raise click.ClickException(f"event {event_id} is not sealed (or does not exist): run `idsvc audit seal`")
    click.echo(json.dumps(found.to_json(), ensure_ascii=False, indent=2))


@audit_cli.command("rotate-key")
@actor_option
@with_appcontext
def rotate_key_command(actor: str) -> None:
    """Make a new ledger signing key; the previous one stays published (the heads it signed)."""
    from idsvc.audit import service
    from idsvc.audit.ledgerkeys import get_ledger_keys
    from idsvc.audit.tags import AuditAction

    with db.transaction():
        key = get_ledger_keys().rotate()
        service.record(AuditAction.AUDIT_LEDGER_KEY_ROTATE, actor=actor, data={"kid": key.kid})
    click.echo(f"ledger key {key.kid} is active")
