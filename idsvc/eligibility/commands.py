"""``idsvc eligibility``: social-assistance programmes and their rules."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from idsvc.clitools import actor_option
from idsvc.clitools import in_transaction
from idsvc.eligibility import access
from idsvc.eligibility import blockindex
from idsvc.eligibility import service

#: The demo programmes committed with the code.
PROGRAMMES = Path(__file__).resolve().parents[2] / "fixtures" / "programmes"


@click.group("eligibility", help="Social-assistance eligibility / Xét điều kiện trợ giúp xã hội.")
def eligibility_cli() -> None:
    pass


@eligibility_cli.group("programmes", help="Programmes and the versions of their rules.")
def programmes_cli() -> None:
    pass


def load(directory: Path, actor: str) -> list[str]:
    """Load the programme files of ``directory`` in one transaction; one line per programme."""
    loaded = in_transaction(lambda: service.load_programmes(directory, actor=actor))
    return [f"{p.code}: rule set version {p.version} ({p.change})" for p in loaded]


@programmes_cli.command("load")
@click.argument("directory", required=False, default=PROGRAMMES,
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@actor_option
@with_appcontext
def programmes_load(directory: Path, actor: str) -> None:
    """Load or update the programmes of DIRECTORY's *.toml files (default: the demo programmes).

    A changed file adds a rule-set version; an unchanged one adds nothing; one bad file loads nothing.
    """
    for line in load(directory, actor):
        click.echo(line)


@programmes_cli.command("list")
@with_appcontext
def programmes_list() -> None:
    """The programmes: code, rule-set version in force, monthly amount (VND), name, and the clients
    registered for it (when there are)."""
    programmes = service.list_programmes()
    clients = access.clients_of(programmes)
    for p in programmes:
        registered = f"\tclients: {', '.join(clients[p.id])}" if clients[p.id] else ""
        click.echo(f"{p.code}\tv{p.rule_set_version}\t{p.monthly_amount}\t{p.name_en}{registered}")


@programmes_cli.command("grant")
@click.argument("code")
@click.argument("client_id")
@actor_option
@with_appcontext
def programmes_grant(code: str, client_id: str, actor: str) -> None:
    """Register the OAuth client CLIENT_ID for programme CODE: it may then check lists against it
    through the API (with a client_credentials token of scope eligibility.lookup)."""
    added = in_transaction(lambda: access.grant(service.get_programme(code), client_id, actor=actor))
    click.echo(f"{client_id} may check lists against {code}" + ("" if added else " (already registered)"))


@programmes_cli.command("revoke")
@click.argument("code")
@click.argument("client_id")
@actor_option
@with_appcontext
def programmes_revoke(code: str, client_id: str, actor: str) -> None:
    """Take the registration of CLIENT_ID for programme CODE away."""
    removed = in_transaction(lambda: access.revoke(service.get_programme(code), client_id, actor=actor))
    click.echo(f"{client_id} may no longer check lists against {code}" if removed
               else f"{client_id} was not registered for {code}")


@eligibility_cli.command("worker")
@click.option("--once", is_flag=True, help="Do the work there is, then exit (instead of waiting for more).")
@with_appcontext
def worker_command(once: bool) -> None:
    """Check the lists uploaded to the API (batches): the eligibility worker.

    Run one or more beside the web server; each claims chunks of work with a lease, so a worker
    that is stopped or killed loses nothing: another, or itself restarted, goes on. SIGTERM or
    Ctrl-C stops it after the step in hand.
    """
    from idsvc.eligibility.worker import Worker

    worker = Worker.of_app()
    worker.stop_on_signals()
    click.echo(f"eligibility worker {worker.name}: waiting for batches" if not once
               else f"eligibility worker {worker.name}: doing the work there is")
    worker.run(once=once)
    click.echo(f"{worker.chunks} chunks resolved, {worker.decided} batches decided")


@eligibility_cli.command("index")
@with_appcontext
def index() -> None:
    """Rebuild the block-key index that identity resolution searches (after a bulk import).

    Streams over the registry in batches, in one transaction. Checks keep the index current on
    their own (they re-key the citizens changed since); a rebuild is only faster for many changes.
    """
    with click.progressbar(length=in_transaction(blockindex.citizen_count), label="Indexing citizens") as bar:
        done = in_transaction(lambda: blockindex.rebuild_index(bar.update))
    click.echo(f"Indexed {done} citizens.")
