"""The demo agency's application factory and where it finds its client secret."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from authlib.integrations.flask_client import OAuth
from flask import Flask

#: What the demo agency asks for by scope (the seeded ``demo-agency`` client may ask them).
SCOPE = "openid profile birthdate gender address"
#: And by the ``claims`` parameter (OIDC Core §5.5): the name and date of birth are essential (the
#: person cannot untick them), the ethnicity is voluntary (a sensitive claim: shared only if the
#: person ticks it, and only to a client whose allow-list has it).
CLAIMS = {"userinfo": {"name": {"essential": True}, "birthdate": {"essential": True}, "vn_ethnicity": None},
          "id_token": {"name": {"essential": True}}}
#: The environment variable that overrides the secret of ``instance/demo-credentials.json``.
SECRET_ENV = "IDSVC_DEMO_AGENCY_SECRET"  # noqa: S105 (a variable name)


def create_demo_agency(provider_url: str, client_id: str, client_secret: str, *,
                       base_url: str = "http://127.0.0.1:8000", scope: str = SCOPE,
                       secret_key: str | None = None) -> Flask:
    """Build the demo agency.

    :param provider_url: the provider's issuer; its discovery document is read at the first login.
    :param base_url: where the agency is served; its ``/callback`` and ``/`` must be the client's
        registered redirect URI and post-logout redirect URI, exactly.
    :param secret_key: signs the agency's session cookie; a fresh random one by default (a restart
        logs everyone out of the demo, which is fine).
    """
    from idsvc import logs
    from idsvc.demo_agency import views

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_urlsafe(32),
        # Cookies ignore ports: on 127.0.0.1 the provider's ``idsvc_session`` and this one share
        # a jar, so the agency's cookie needs a name of its own.
        SESSION_COOKIE_NAME="demo_agency_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=base_url.startswith("https://"),
        DEMO_AGENCY_URL=base_url.rstrip("/"),
        PROVIDER_URL=provider_url.rstrip("/"),
        DEMO_AGENCY_CLAIMS=CLAIMS,
        LOG_LEVEL="INFO",
    )
    logs.init_app(app)  # the dev server's request lines carry ?code=…&state=…: masked
    oauth = OAuth(app)
    app.extensions["demo_agency"] = oauth.register(
        "idsvc", client_id=client_id, client_secret=client_secret,
        server_metadata_url=f"{app.config['PROVIDER_URL']}/.well-known/openid-configuration",
        authorize_params={"claims": json.dumps(CLAIMS, separators=(",", ":"))},
        client_kwargs={"scope": scope, "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "client_secret_basic", "timeout": 10})
    app.register_blueprint(views.bp)
    return app


def read_client_secret(instance_path: str | Path, client_id: str) -> str | None:
    """The client's secret: ``$IDSVC_DEMO_AGENCY_SECRET``, else what ``idsvc seed`` wrote to
    ``instance/demo-credentials.json``; ``None`` when neither has it."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = Path(instance_path) / "demo-credentials.json"
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    secret = saved.get(client_id) if isinstance(saved, dict) else None
    return secret if isinstance(secret, str) and secret else None
