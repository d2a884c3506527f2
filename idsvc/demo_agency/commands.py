"""``idsvc demo-agency``: serve the demo relying party (development only)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("demo-agency")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--provider-url", help="The provider's issuer (default: this service's IDSVC_ISSUER).")
@click.option("--client-id", default="demo-agency", show_default=True)
@with_appcontext
def demo_agency_cli(host: str, port: int, provider_url: str | None, client_id: str) -> None:
    """Serve the demo agency, a relying party of this provider, at http://HOST:PORT.

    Its client secret is $IDSVC_DEMO_AGENCY_SECRET, or the one `idsvc seed` wrote to
    instance/demo-credentials.json. The client's redirect URI must be http://HOST:PORT/callback
    and its post-logout redirect URI http://HOST:PORT/ (the seeded demo-agency has both for
    127.0.0.1:8000).
    """
    from werkzeug.serving import run_simple

    from idsvc.demo_agency.app import SECRET_ENV
    from idsvc.demo_agency.app import create_demo_agency
    from idsvc.demo_agency.app import read_client_secret

    if current_app.config["IDSVC_ENV"] == "production":
        raise click.UsageError("`idsvc demo-agency` is a development demo: it does not run in production.")
    secret = read_client_secret(current_app.instance_path, client_id)
    if secret is None:
        raise click.UsageError(
            f"no secret for client {client_id!r}: run `idsvc seed` (it writes instance/demo-credentials.json), "
            f"or `idsvc clients rotate-secret {client_id}` and set {SECRET_ENV}.")
    base_url = f"http://{host}:{port}"
    app = create_demo_agency(provider_url or current_app.config["ISSUER"], client_id, secret, base_url=base_url)
    click.echo(f"demo agency at {base_url}/ (client {client_id}, provider {app.config['PROVIDER_URL']})")
    run_simple(host, port, app, threaded=True)
