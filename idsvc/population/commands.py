"""``idsvc population``: synthetic data."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import click

from idsvc.population import generator


@click.group("population", help="Synthetic population for demos, tests and benchmarks.")
def population_cli() -> None:
    pass


@population_cli.command("generate")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many citizens.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same file.")
@click.option("--out", "out", type=click.Path(dir_okay=False, allow_dash=True), required=True,
              help="File to write ('-' for standard output).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]),
              help="csv or jsonl (default: from the file name, .jsonl = JSONL).")
def generate(count: int, seed: int, out: str, fmt: str | None) -> None:
    """Write COUNT synthetic citizens, household by household, in the registry import format."""
    fmt = fmt or ("jsonl" if out.lower().endswith((".jsonl", ".ndjson")) else "csv")
    write = generator.write_jsonl if fmt == "jsonl" else generator.write_csv
    started = time.perf_counter()
    rows = generator.generate(count, seed)
    if out == "-":
        write(rows, sys.stdout)
        return
    target = Path(out)
    if not target.parent.is_dir():
        raise click.BadParameter(f"the folder {target.parent} does not exist", param_hint="--out")
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f, \
                click.progressbar(length=count, label="generating", file=sys.stderr) as bar:
            write(_counted(rows, bar.update), f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # all or nothing: no half-written file if interrupted
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    click.echo(f"wrote {count:,} citizens to {target} in {seconds:.1f} s ({count / seconds:,.0f} rows/s)")


def _counted(rows: Iterator[dict[str, str]], update: Callable[[int], object],
             every: int = 1000) -> Iterator[dict[str, str]]:
    for n, row in enumerate(rows, 1):
        yield row
        if n % every == 0:
            update(every)
