"""``idsvc keys`` (signing keys) and ``idsvc clients`` (OAuth clients)."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.clitools import actor_option
from idsvc.clitools import in_transaction
from idsvc.oidc import clients
from idsvc.oidc import purposes
from idsvc.oidc.keys import ALGORITHMS
from idsvc.oidc.keys import get_keystore
from idsvc.oidc.models import AUTH_METHODS
from idsvc.oidc.models import GRANT_TYPES
from idsvc.oidc.models import LEGAL_BASES
from idsvc.oidc.models import USERINFO_ALGORITHMS
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.purposes import PurposeSettings
from idsvc.oidc.schemas import client_settings


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


@keys_cli.command("rotate")
@click.option("--alg", type=click.Choice(["ES256", "RS256", "all"]), default="all", show_default=True)
@with_appcontext
def keys_rotate(alg: str) -> None:
    """Make a new active key; the old one stays published (retired) for tokens it signed.

    Restart the workers afterwards: each process loads keys/ once.
    """
    store = get_keystore()
    for name in ("ES256", "RS256") if alg == "all" else (alg,):
        key = store.generate(name)
        click.echo(f"generated {key.alg} key {key.kid}; the previous one is retired")
        with db.transaction():
            audit.record(AuditAction.KEYS_GENERATE, actor="system:cli", subject_type="key",
                         subject_id=key.kid, data={"alg": key.alg, "rotation": True})


@keys_cli.command("prune")
@click.option("--older-than", type=int, default=None,
              help="Seconds since retirement (default: the longest token lifetime, plus 5 minutes).")
@with_appcontext
def keys_prune(older_than: int | None) -> None:
    """Delete retired keys that no unexpired token can need any more; they leave the JWKS."""
    cfg = current_app.config
    window = older_than if older_than is not None else max(cfg["ID_TOKEN_SECONDS"], cfg["ACCESS_TOKEN_SECONDS"]) + 300
    gone = get_keystore().prune(window)
    for kid in gone:
        click.echo(f"deleted retired key {kid}")
    if gone:
        with db.transaction():
            audit.record(AuditAction.KEYS_PRUNE, actor="system:cli", subject_type="key", data={"kids": gone})
    click.echo(f"{len(gone)} retired key(s) deleted; restart the workers to stop publishing them")


@click.group("clients", help="OAuth / OpenID Connect clients (agency apps and machine clients).")
def clients_cli() -> None:
    pass


def _client_lines(client: OAuthClient) -> list[str]:
    return [
        f"client_id      {client.client_id}", f"name           {client.name}",
        f"auth method    {client.token_endpoint_auth_method}", f"grant types    {' '.join(client.grant_types)}",
        f"scopes         {' '.join(client.scopes)}", f"redirect URIs  {' '.join(client.redirect_uris) or '-'}",
        f"logout URIs    {' '.join(client.post_logout_redirect_uris) or '-'}",
        f"min level      {client.min_level}", f"sector         {client.sector}",
        f"trusted        {'yes' if client.trusted else 'no'}",
        f"allowed claims {' '.join(client.allowed_claims) or '-'}",
        f"userinfo       {client.userinfo_signed_response_alg or 'JSON'}",
        *(f"purpose        {p.code} ({p.legal_basis}; kept {p.retention_days or '-'} days; consent lasts "
          f"{p.consent_days or '-'} days): {p.description_en}" for p in purposes.purposes_of(client)),
        f"status         {'disabled ' + client.disabled_at.isoformat() if client.disabled_at else 'enabled'}",
    ]


@clients_cli.command("create")
@click.option("--name", required=True)
@click.option("--auth-method", type=click.Choice(list(AUTH_METHODS)), default="client_secret_basic", show_default=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI (repeatable).")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True)
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(list(GRANT_TYPES)))
@click.option("--scope", "scopes", multiple=True, help="Allowed scope (repeatable).")
@click.option("--min-level", type=int, default=1, show_default=True, help="1 or 2.")
@click.option("--sector", help="Pairwise sector (default: the redirect URIs' host).")
@click.option("--trusted", is_flag=True, help="First-party: no consent screen, may get the ID number.")
@click.option("--resource-server", is_flag=True, help="May introspect other clients' tokens.")
@click.option("--jwks", "jwks_file", type=click.File(), help="JWKS file of the client (private_key_jwt).")
@click.option("--id-token-alg", type=click.Choice(list(ALGORITHMS)), default="ES256", show_default=True)
@click.option("--allow-claim", "allowed_claims", multiple=True,
              help="A claim it may receive (repeatable; default: the claims of its scopes, none sensitive).")
@click.option("--userinfo-alg", type=click.Choice(list(USERINFO_ALGORITHMS)), default=None,
              help="Answer userinfo as a JWT signed with this algorithm (default: plain JSON).")
@actor_option
@with_appcontext
def clients_create(name: str, auth_method: str, redirect_uris: tuple[str, ...], logout_uris: tuple[str, ...],
                   grant_types: tuple[str, ...], scopes: tuple[str, ...], min_level: int, sector: str | None,
                   trusted: bool, resource_server: bool, jwks_file: Any, id_token_alg: str,
                   allowed_claims: tuple[str, ...], userinfo_alg: str | None, actor: str) -> None:
    """Register a client (with the purpose ``login``: add others with ``add-purpose``); its
    secret is shown once and never stored in clear."""
    jwks = json.load(jwks_file) if jwks_file else None
    values: dict[str, Any] = {
        "name": name, "auth_method": auth_method, "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": list(logout_uris), "min_level": min_level, "sector": sector,
        "trusted": trusted, "is_resource_server": resource_server, "jwks": jwks, "id_token_alg": id_token_alg,
        "allowed_claims": list(allowed_claims) or None, "userinfo_signed_response_alg": userinfo_alg}
    # Left out when not given: the schema's defaults apply (a code-flow client with scope openid).
    values.update({key: list(given) for key, given in (("grant_types", grant_types), ("scopes", scopes)) if given})
    client, secret = in_transaction(lambda: clients.register_client(client_settings(values), actor=actor))
    click.echo("\n".join(_client_lines(client)))
    if secret:
        click.echo(f"client_secret  {secret}   (shown once: store it now)")


@clients_cli.command("list")
@with_appcontext
def clients_list() -> None:
    """One line per client."""
    for client in clients.list_clients():
        state = "disabled" if client.disabled_at else "enabled"
        click.echo(f"{client.client_id}\t{client.token_endpoint_auth_method}\t{state}\t{client.name}")


@clients_cli.command("show")
@click.argument("client_id")
@with_appcontext
def clients_show(client_id: str) -> None:
    """Show a client's settings (never its secret)."""
    click.echo("\n".join(_client_lines(in_transaction(lambda: clients.get_client(client_id)))))


@clients_cli.command("rotate-secret")
@click.argument("client_id")
@actor_option
@with_appcontext
def clients_rotate_secret(client_id: str, actor: str) -> None:
    """Issue a new secret; the old one stops working at once."""
    secret = in_transaction(lambda: clients.rotate_secret(clients.get_client(client_id), actor=actor))
    click.echo(f"client_secret  {secret}   (shown once: store it now)")


@clients_cli.command("disable")
@click.argument("client_id")
@actor_option
@with_appcontext
def clients_disable(client_id: str, actor: str) -> None:
    """Disable a client and revoke every token it holds."""
    revoked = in_transaction(lambda: clients.disable_client(clients.get_client(client_id), actor=actor))
    click.echo(f"disabled; {revoked} tokens revoked")


@clients_cli.command("add-purpose")
@click.argument("client_id")
@click.argument("code")
@click.option("--vi", "description_vi", required=True, help="What the data are for, in Vietnamese.")
@click.option("--en", "description_en", required=True, help="The same in English.")
@click.option("--legal-basis", type=click.Choice(list(LEGAL_BASES)), default="consent", show_default=True,
              help="statutory: a law requires it (no consent page; the person sees it on Connected services).")
@click.option("--retention-days", type=int, help="How long the agency keeps the data.")
@click.option("--consent-days", type=int, help="How long a consent lasts before it is asked again.")
@actor_option
@with_appcontext
def clients_add_purpose(client_id: str, code: str, description_vi: str, description_en: str, legal_basis: str,
                        retention_days: int | None, consent_days: int | None, actor: str) -> None:
    """Register a purpose the client may name in the ``purpose`` authorization parameter."""
    settings = PurposeSettings(code, description_vi, description_en, legal_basis, retention_days, consent_days)
    in_transaction(lambda: purposes.add_purpose(clients.get_client(client_id), settings, actor=actor))
    click.echo(f"purpose {code} ({legal_basis}) registered for {client_id}")


@clients_cli.command("allow-claims")
@click.argument("client_id")
@click.argument("claims", nargs=-1, required=True)
@actor_option
@with_appcontext
def clients_allow_claims(client_id: str, claims: tuple[str, ...], actor: str) -> None:
    """Replace the client's allow-list: the claims it may ever receive, whatever it asks."""
    allowed = in_transaction(lambda: clients.set_allowed_claims(clients.get_client(client_id), list(claims),
                                                                actor=actor))
    click.echo(f"allowed claims {' '.join(allowed)}")


@clients_cli.command("userinfo-alg")
@click.argument("client_id")
@click.argument("alg", type=click.Choice([*USERINFO_ALGORITHMS, "none"]))
@actor_option
@with_appcontext
def clients_userinfo_alg(client_id: str, alg: str, actor: str) -> None:
    """Answer the client's userinfo requests as a signed JWT (ES256), or as plain JSON (none)."""
    chosen = None if alg == "none" else alg
    in_transaction(lambda: clients.set_userinfo_alg(clients.get_client(client_id), chosen, actor=actor))
    click.echo(f"userinfo for {client_id}: {'JWT signed ' + chosen if chosen else 'JSON'}")
