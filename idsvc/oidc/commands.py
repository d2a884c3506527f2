"""``idsvc keys``: signing keys of the OpenID Connect provider."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.oidc.keys import get_keystore


@click.group("keys", help="Signing keys (keys/).")
def keys_cli() -> None:
    pass


@keys_cli.command("generate")
@click.option("--if-missing", is_flag=True, help="Only create the algorithms that have no active key.")
@with_appcontext
def keys_generate(if_missing: bool) -> None:
    """Create an ES256 and an RS256 signing key (development keys on first run)."""
    store = get_keystore()
    new = store.ensure() if if_missing else [store.generate(alg) for alg in ("ES256", "RS256")]
    for key in new:
        click.echo(f"generated {key.alg} key {key.kid} in {store.directory}")
    if new:
        with db.transaction():
            for key in new:
                audit.record(AuditAction.KEYS_GENERATE, actor="system:cli", subject_type="key",
                             subject_id=key.kid, data={"alg": key.alg})


@keys_cli.command("list")
@with_appcontext
def keys_list() -> None:
    """List keys with their status (active keys sign; retired ones are still published)."""
    for kid, alg, status in get_keystore().listing():
        click.echo(f"{kid}\t{alg}\t{status}")
