"""``idsvc eligibility``: social-assistance programmes and their rules."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from idsvc.clitools import actor_option
from idsvc.clitools import in_transaction
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
    """The programmes: code, rule-set version in force, monthly amount (VND), name."""
    for p in service.list_programmes():
        click.echo(f"{p.code}\tv{p.rule_set_version}\t{p.monthly_amount}\t{p.name_en}")


@eligibility_cli.command("index")
@with_appcontext
def index() -> None:
    """Rebuild the block-key index that identity resolution searches (after a bulk import).

    Streams over the registry in batches, in one transaction. Checks keep the index current on
    their own (they re-key the citizens changed since); a rebuild is only faster for many changes.
    """
    with click.progressbar(length=in_transaction(blockindex.citizen_count), label="Indexing citizens") as bar:
        done = in_transaction(lambda: blockindex.rebuild_index(bar.update))
    blockindex.vacuum()
    click.echo(f"Indexed {done} citizens.")
