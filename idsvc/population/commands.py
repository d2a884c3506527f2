"""``idsvc population``: synthetic data."""

from __future__ import annotations

import click


@click.group("population", help="Synthetic population for demos, tests and benchmarks.")
def population_cli() -> None:
    pass
