"""Development seed: administrative units and the committed demo population of ``fixtures/``."""

from __future__ import annotations

from collections.abc import Callable

from idsvc import db
from idsvc.registry import service


def run(*, if_empty: bool, echo: Callable[[str], None]) -> None:
    with db.transaction():
        service.sync_units()
    echo("administrative units loaded")
