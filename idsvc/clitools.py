"""What the subdomains' click commands share: the ``--actor`` option and the transaction wrapper.

It sits below the subdomains, so their ``commands.py`` never import :mod:`idsvc.cli`, which
imports them to register their groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from idsvc import db
from idsvc.errors import DomainError

T = TypeVar("T")

#: ``--actor``: who does it, for the audit trail (commands that change something take it).
actor_option = click.option("--actor", default="system:cli", show_default=True, help="Who does it (for the audit).")


def in_transaction(action: Callable[[], T]) -> T:
    """Run a service call in one transaction; a domain error becomes a one-line CLI error."""
    try:
        with db.transaction():
            return action()
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
