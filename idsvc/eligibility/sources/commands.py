"""``idsvc sources``: attribute-source lists (poverty, disability, pension) for the eligibility rules."""

from __future__ import annotations

import sys
from datetime import date
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from idsvc import db
from idsvc.clitools import actor_option
from idsvc.eligibility.sources import importer
from idsvc.eligibility.sources import service
from idsvc.eligibility.sources.kinds import KINDS
from idsvc.errors import DomainError
from idsvc.registry.commands import ROWS_REJECTED
from idsvc.registry.commands import FileRefused
from idsvc.registry.commands import StopOnInterrupt
from idsvc.registry.imports import reader

#: The demo lists committed with the code, loaded by ``idsvc seed`` (kind, file, issuer, as of).
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "sources"
DEMO_LISTS = (
    ("poverty", "poverty-2025.csv", "UBND xã (demo): danh sách hộ nghèo, cận nghèo năm 2025", None),
    ("disability", "disability.csv", "Hội đồng xác định mức độ khuyết tật cấp xã (demo)", date(2025, 7, 1)),
    ("pension", "pension.csv", "Bảo hiểm xã hội Việt Nam (demo): người hưởng lương hưu, trợ cấp BHXH hằng tháng",
     date(2025, 7, 1)),
)


@click.group("sources", help="Attribute sources for eligibility / Nguồn dữ liệu chuyên ngành "
                              "(poverty, disability, pension lists).")
def sources_cli() -> None:
    pass


@sources_cli.command("import")
@click.argument("kind", type=click.Choice(tuple(KINDS)))
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--issuer", default="", help="Who issued the list and how it came (provenance).")
@click.option("--valid-on", type=click.DateTime(("%Y-%m-%d",)),
              help="The date the list is as of, from which it is in force (disability, pension; "
                   "default: today). A poverty list is dated by its year column.")
@click.option("--rejects", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the rejected rows (default: FILE.rejects.csv).")
@click.option("--format", "fmt", type=click.Choice(reader.FORMATS),
              help="csv or jsonl (default: from the file name, .jsonl = JSONL).")
@actor_option
@with_appcontext
def sources_import(kind: str, file: Path, issuer: str, valid_on: datetime | None, rejects: Path | None, fmt: str | None,
                   actor: str) -> None:
    """Load FILE, a list of KIND (CSV or JSONL), in one transaction; the same file again adds nothing.

    Exit status: 0 every row loaded (or the file was loaded before), 1 some rows rejected (see the
    rejects file), 2 the file was refused and nothing loaded, 130 stopped by Ctrl-C (nothing loaded).
    """
    try:
        facts = reader.inspect(file)
    except reader.UnreadableFile as exc:
        raise FileRefused(str(exc)) from None
    as_of = valid_on.date() if valid_on is not None else None
    stop = StopOnInterrupt()
    with stop, click.progressbar(length=max(facts.lines - 1, 1), label="loading", file=sys.stderr) as bar:
        try:
            with db.transaction():
                result = importer.import_list(kind, file, actor=actor, issuer=issuer, valid_on=as_of, fmt=fmt,
                                              rejects_path=rejects, progress=bar.update, should_stop=stop,
                                              facts=facts)
        except (reader.UnreadableFile, DomainError) as exc:
            raise FileRefused(str(exc)) from None
        except IntegrityError:  # the unique file hash: a run at the same time loaded this file first
            raise FileRefused("another run loaded this file at the same time; nothing added") from None
        except importer.ImportStopped as exc:
            click.echo(str(exc), err=True)
            sys.exit(130)
    for line in describe(result):
        click.echo(line)
    if result.rejected and not result.already_loaded:
        sys.exit(ROWS_REJECTED)


def describe(result: importer.SourceResult) -> list[str]:
    """What a load did, in a line or two."""
    if result.already_loaded:
        when = f"{result.loaded_at:%Y-%m-%d %H:%M}" if result.loaded_at else "before"
        return [f"this file was loaded before as {result.kind} list {result.list_id} ({when}): nothing added"]
    lines = [f"{result.kind} list {result.list_id}, in force from {result.valid_on}: read {result.rows_read:,} "
             f"rows, {result.imported:,} loaded, {result.rejected:,} rejected"]
    if result.rejects_path:
        lines.append(f"rejected rows and the reasons: {result.rejects_path}")
    return lines


def load_demo(actor: str = "system:seed", directory: Path = FIXTURES) -> list[str]:
    """Load the demo lists (``idsvc seed``), each in its own transaction; a re-run adds nothing."""
    from flask import current_app

    done = []
    for kind, name, issuer, as_of in DEMO_LISTS:
        path = directory / name
        if not path.exists():
            done.append(f"{name}: not found, skipped")
            continue
        Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
        rejects = Path(current_app.instance_path) / f"{name}.rejects.csv"
        with db.transaction():
            result = importer.import_list(kind, path, actor=actor, issuer=issuer, valid_on=as_of,
                                          rejects_path=rejects)
        done.append(f"{name}: " + "; ".join(describe(result)))
    return done


@sources_cli.command("list")
@with_appcontext
def sources_list() -> None:
    """The lists loaded, newest first: id, kind, in force from, rows loaded/rejected, loaded at and by, file, issuer."""
    for s in service.list_lists():
        click.echo(f"{s.id}\t{s.kind}\t{s.valid_on}\t{s.rows_imported}/{s.rows_rejected}\t"
                   f"{s.loaded_at:%Y-%m-%d %H:%M}\t{s.loaded_by}\t{s.file_name}\t{s.issuer}")
