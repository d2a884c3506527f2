"""``idsvc units`` and ``idsvc registry``: reference data, bulk import, look-ups."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from idsvc import db
from idsvc.clitools import actor_option
from idsvc.clitools import in_transaction
from idsvc.errors import DomainError
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.registry import idnumbers
from idsvc.registry import search
from idsvc.registry import service
from idsvc.registry.imports import importer
from idsvc.registry.imports import reader


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


@registry_cli.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--rejects", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the rejected rows (default: FILE.rejects.csv).")
@click.option("--format", "fmt", type=click.Choice(reader.FORMATS),
              help="csv or jsonl (default: from the file name, .jsonl = JSONL).")
@click.option("--actor", default="system:cli", show_default=True, help="Who runs the import, for the audit trail.")
@click.option("--initial-load", is_flag=True,
              help="Load an empty registry in one transaction, building indexes (and foreign keys on "
                   "PostgreSQL) at the end: faster, all or nothing, tables locked meanwhile.")
@with_appcontext
def registry_import(file: Path, rejects: Path | None, fmt: str | None, actor: str, initial_load: bool) -> None:
    """Import citizens from FILE (CSV or JSONL); safe to re-run, Ctrl-C stops after the current chunk.

    Exit status: 0 every row imported or already present, 1 some rows rejected (see the rejects
    file), 2 the file was refused and nothing imported (unreadable, bad header, another import
    running ...), 130 stopped by Ctrl-C (run the same command again to finish).
    """
    try:
        facts = reader.inspect(file)
    except reader.UnreadableFile as exc:
        raise FileRefused(str(exc)) from None
    stop = StopOnInterrupt()
    with stop, click.progressbar(length=max(facts.lines - 1, 1), label="importing", file=sys.stderr) as bar:
        try:
            result = importer.import_file(file, actor=actor, rejects_path=rejects, fmt=fmt,
                                          progress=bar.update, should_stop=stop, initial_load=initial_load, facts=facts)
        except (reader.UnreadableFile, DomainError) as exc:
            raise FileRefused(str(exc)) from None
        except importer.ImportStopped as exc:
            click.echo(str(exc), err=True)
            sys.exit(130)
    again = "this file was imported before; " if result.resumed else ""
    click.echo(f"{again}read {result.rows_read:,} rows in {result.seconds:.1f} s "
               f"({result.rows_per_second:,.0f} rows/s): "
               f"{result.imported:,} imported, {result.present:,} already in the registry, "
               f"{result.rejected:,} rejected")
    if result.rejects_path:
        click.echo(f"rejected rows and the reasons: {result.rejects_path}")
    if result.interrupted:
        click.echo("stopped before the end of the file; every row reported imported is saved. "
                   "Run the same command again to finish.", err=True)
        sys.exit(130)
    if result.rejected:
        sys.exit(ROWS_REJECTED)


#: Exit status of ``registry import`` when some rows were rejected (the others are imported).
ROWS_REJECTED = 1


class FileRefused(click.ClickException):
    """An import (``registry import``, ``sources import``) imported nothing: the file, or the run,
    was refused (exit status 2)."""

    exit_code = 2


class StopOnInterrupt:
    """First Ctrl-C: finish the chunk in hand and stop. Second Ctrl-C: stop at once (rolled back)."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        click.echo("\nstopping after the current chunk (Ctrl-C again to stop at once)", err=True)

    def __enter__(self) -> StopOnInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)


@registry_cli.command("show")
@click.argument("id_number")
@with_appcontext
def registry_show(id_number: str) -> None:
    """Show the record of the citizen holding ID_NUMBER, with numbers, relatives and history."""
    number = id_number.strip()
    try:
        idnumbers.parse(number)
    except idnumbers.InvalidIdNumber as exc:
        raise click.ClickException(f"not a valid ID number: {exc}") from None
    try:
        citizen = service.get_citizen_by_number(number)
    except NotFound as exc:
        # The operator typed the number: name it in full (the service masks it for logs and screens).
        raise click.ClickException(
            f"ID number {number} was replaced by a newer number; look the person up by their current number"
            if exc.extra.get("replaced") else f"no citizen with this number ({number})") from None
    rows = service.describe(citizen)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label:<{width}}  {value}")
    for revision in service.history(citizen):
        changed = ", ".join(sorted(revision.changes))
        approved = f", approved by {revision.approved_by}" if revision.approved_by else ""
        document = (f" [{revision.document_number} of {revision.document_date:%Y-%m-%d}]"
                    if revision.document_number and revision.document_date else "")
        click.echo(f"  v{revision.version} {revision.at:%Y-%m-%d %H:%M} {revision.source} by {revision.actor}"
                   f"{approved}: {changed} — {revision.reason}{document}")


@registry_cli.command("search")
@click.option("--name", help="Full name, with or without diacritics.")
@click.option("--name-words", help="Some words of the name, in their order (at least one of 3 letters).")
@click.option("--born", help="Date of birth: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--commune", help="5-digit commune code of permanent residence (2025 or pre-2025).")
@click.option("--household", help="Household registration number.")
@click.option("--number", help="A 12-digit ID number the person held, or a 9-digit old identity-card number.")
@click.option("--limit", type=click.IntRange(1, search.MAX_PAGE), default=50, show_default=True)
@click.option("--after", type=int, help="Show the people after this one (the line 'more: --after N').")
@with_appcontext
def registry_search(name: str | None, name_words: str | None, born: str | None, commune: str | None,
                    household: str | None, number: str | None, limit: int, after: int | None) -> None:
    """Find people / Tìm công dân: every criterion given must hold; one line a person."""
    query = search.Query(name=name, name_words=name_words, born=born, commune=commune, household=household,
                         number=number)
    try:
        page = search.search(query, limit=limit, after=after)
    except ValidationFailed as exc:
        raise click.UsageError(str(exc)) from None
    for c in page.citizens:
        click.echo(f"{c.id_number}  {c.full_name}  {c.date_of_birth}  {c.sex}  {c.permanent_commune_code or '-'}  "
                   f"{c.status}")
    if not page.citizens:
        click.echo("nobody found / không tìm thấy")
    if page.next_after is not None:
        click.echo(f"more: --after {page.next_after}")


@registry_cli.command("record-death")
@click.argument("id_number")
@click.argument("date_of_death", metavar="DATE")
@click.option("--reason", required=True, help="The civil-status record (death certificate number ...).")
@actor_option
@with_appcontext
def registry_record_death(id_number: str, date_of_death: str, reason: str, actor: str) -> None:
    """Record the death of the citizen holding ID_NUMBER on DATE (YYYY-MM-DD), as the civil-status
    registration reports it: the record, its history and the audit trail, in one transaction."""
    def run() -> None:
        service.record_death(service.get_citizen_by_number(id_number.strip()), date_of_death, actor=actor,
                             reason=reason)

    in_transaction(run)
    click.echo(f"Death recorded on {date_of_death}.")
