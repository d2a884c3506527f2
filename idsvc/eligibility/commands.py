"""``idsvc eligibility``: social-assistance programmes and their rules."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from idsvc import csvsafe
from idsvc.clitools import actor_option
from idsvc.clitools import in_transaction
from idsvc.eligibility import access
from idsvc.eligibility import applicants
from idsvc.eligibility import batches
from idsvc.eligibility import blockindex
from idsvc.eligibility import check as checking
from idsvc.eligibility import recheck as rechecking
from idsvc.eligibility import resolution
from idsvc.eligibility import service
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.models import Programme
from idsvc.errors import DomainError
from idsvc.errors import NotFound
from idsvc.registry import dates
from idsvc.registry.imports.reader import UnreadableFile
from idsvc.registry.imports.reader import detect_format
from idsvc.registry.imports.reader import read_blocks

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
    blockindex.vacuum()
    click.echo(f"Indexed {done} citizens.")


# -- checking lists ---------------------------------------------------------------------------

#: Rows resolved at a time (one step of the progress bar).
STEP = 2000

programme_option = click.option("--programme", "code", required=True, metavar="CODE",
                                help="The programme's code (see 'idsvc eligibility programmes list').")
on_option = click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                         help="Reference date, YYYY-MM-DD (default: today in Vietnam).")


def _programme(code: str) -> Programme:
    """The programme, or a one-line message and exit status 2."""
    try:
        return service.get_programme(code)
    except NotFound:
        click.echo(f"Error: no programme '{code}' / không có chương trình '{code}'. "
                   "See 'idsvc eligibility programmes list'.", err=True)
        raise click.exceptions.Exit(2) from None


def read_applicants(path: Path, *, today: date) -> list[Applicant]:
    """The rows of an applicant list (CSV or JSONL by the file's name), in order; a row the reader
    cannot parse is an invalid :class:`Applicant` with the reader's reason.

    :raises UnreadableFile: the file as a whole cannot be read (no header, missing columns ...).
    """
    rows: list[Applicant] = []
    for block in read_blocks(path, detect_format(path), layout=applicants.LAYOUT):
        for raw in block.raw_rows():
            position = len(rows) + 1
            if raw.error is not None:
                ref = (raw.values.get("ref") or "")[:applicants.MAX_REF]
                rows.append(Applicant(line=position, ref=ref, full_name="", born=None,
                                      invalid=f"line {raw.line}: {raw.error}"))
            else:
                rows.append(applicants.applicant(raw.values, position, today=today))
    return rows


def output_json(row: checking.CheckedRow) -> dict[str, Any]:
    """A row of a JSONL answer: the output columns, with numbers as numbers and reasons as a list."""
    return {"ref": row.ref, "verdict": row.verdict, "citizen_id": row.citizen_id, "match": row.match,
            "score": None if row.score is None else round(row.score, 1), "reasons": list(row.reasons),
            "duplicate_group": row.duplicate_group, "monthly_amount": row.monthly_amount}


def write_results(path: Path, rows: Sequence[checking.CheckedRow]) -> None:
    """JSONL if the name ends in .jsonl (or .ndjson), else CSV (UTF-8 with a byte-order mark, so that
    spreadsheets read the Vietnamese right; cells escaped against formula injection)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(output_json(row), ensure_ascii=False) + "\n")
        return
    _write_csv(path, checking.OUTPUT_COLUMNS, (row.as_output() for row in rows))


def _write_csv(path: Path, columns: Sequence[str], rows: Any) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csvsafe.Writer(f)
        writer.writerow(list(columns))
        for values in rows:
            writer.writerow([values[c] for c in columns])


def _resolve(rows: Sequence[Applicant], on: date, programme_id: int) -> list[resolution.Resolution]:
    found: list[resolution.Resolution] = []
    with click.progressbar(length=len(rows), label="Checking / Đang kiểm tra", file=sys.stderr) as bar:
        for start in range(0, len(rows), STEP):
            chunk = rows[start:start + STEP]
            found.extend(resolution.resolve_all(chunk, on=on, programme_id=programme_id))
            bar.update(len(chunk))
    if not sys.stderr.isatty():
        click.echo("", err=True)  # the bar only printed its label: end its line
    return found


def verdict_summary(rows: Sequence[checking.CheckedRow]) -> str:
    counts = checking.counts(rows)
    return f"{len(rows)} rows: " + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


@eligibility_cli.command("check")
@programme_option
@click.argument("applicants_file", metavar="APPLICANTS", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Results file: .csv or .jsonl.")
@on_option
@click.option("--enrol", is_flag=True, help="Enrol the people found ELIGIBLE.")
@actor_option
@with_appcontext
def check_command(code: str, applicants_file: Path, out: Path, on: datetime | None, enrol: bool,
                  actor: str) -> None:
    """Check APPLICANTS (CSV or JSONL: ref, citizen_id, full_name, date_of_birth, sex, commune_code)
    against a programme; one result per row, same order, in --out (CSV or JSONL).

    Kiểm tra danh sách đối tượng theo một chương trình trợ giúp xã hội.
    """
    programme = _programme(code)
    today = dates.today()
    day = on.date() if on is not None else today
    try:
        rows = read_applicants(applicants_file, today=today)
    except UnreadableFile as exc:
        raise click.ClickException(str(exc)) from None

    def run() -> list[checking.CheckedRow]:
        current = service.get_programme(code)
        return checking.decide(current, rows, _resolve(rows, day, current.id), on=day, actor=actor, enrol=enrol)

    results: list[checking.CheckedRow] = in_transaction(run)
    write_results(out, results)
    click.echo(f"{programme.code}, {day.isoformat()}: {verdict_summary(results)}"
               + (" (ELIGIBLE enrolled)" if enrol else "") + f"; results in {out}", err=True)


@eligibility_cli.command("submit")
@programme_option
@click.argument("applicants_file", metavar="APPLICANTS", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--client", "client_id", required=True, metavar="CLIENT_ID",
              help="The programme's client the batch is submitted for (it alone reads the results).")
@on_option
@with_appcontext
def submit_command(code: str, applicants_file: Path, client_id: str, on: datetime | None) -> None:
    """Queue APPLICANTS as a batch of CLIENT_ID, as the API's upload does: the worker checks it, the
    client reads the results through the API, and the rows several people fit wait for a clerk in
    the review queue (/office/reviews).

    Gửi danh sách để kiểm tra theo lô (hàng đợi của tiến trình kiểm tra).
    """
    programme = _programme(code)
    today = dates.today()

    def run() -> tuple[str, int]:
        current = service.get_programme(code)
        client = access.registered_client(current, client_id)
        if client is None:
            raise click.ClickException(f"{client_id} is not registered for {code}: "
                                       f"idsvc eligibility programmes grant {code} {client_id}")
        batch = batches.submit(current, client_pk=client.id, actor=f"client:{client_id}", path=applicants_file,
                               fmt=detect_format(applicants_file), reference_date=on.date() if on else today,
                               submitted_on=today, limits=batches.Limits.of_app())
        return batch.key, batch.rows_total

    try:
        key, rows = in_transaction(run)
    except DomainError as exc:  # an unreadable or too long list
        raise click.ClickException(exc.detail) from None
    click.echo(f"{programme.code}: batch {key} queued, {rows} rows; results at /api/v1/eligibility/batches/{key}")


@eligibility_cli.command("recheck")
@programme_option
@on_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="CSV file of the people whose situation changed (ref, citizen_id, change, reasons).")
@actor_option
@with_appcontext
def recheck_command(code: str, on: datetime | None, out: Path | None, actor: str) -> None:
    """Re-evaluate every active enrolment of a programme and report what changed since the last run:
    DECEASED, MOVED, NO_LONGER_ELIGIBLE:<reasons>, ELIGIBLE_AGAIN.

    Rà soát lại các đối tượng đang hưởng của một chương trình.
    """
    _programme(code)
    day = on.date() if on is not None else dates.today()

    def run() -> rechecking.Report:
        return rechecking.recheck(service.get_programme(code), on=day, actor=actor)

    report = in_transaction(run)
    if out is not None:
        _write_csv(out, rechecking.COLUMNS, (c.as_output() for c in report.changed))
    else:
        for changed in report.changed:
            click.echo(f"{changed.ref}\t{changed.citizen_id}\t{';'.join(changed.changes)}")
    click.echo(rechecking.summary(report) + (f"; changes in {out}" if out is not None else ""), err=True)
