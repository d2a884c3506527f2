"""idsvc: national population registry and e-identification (OpenID Connect) service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None, *, serving: bool = True) -> Flask:
    """Build the application: configuration, logging, database, keys, blueprints, errors, CLI.

    ``serving=False`` is the app of the ``idsvc`` commands: in production it does not ask for what
    the set-up commands create (see :func:`idsvc.config.check_production`).
    """
    from idsvc import api
    from idsvc import cli
    from idsvc import db
    from idsvc import errors
    from idsvc import i18n
    from idsvc import logs
    from idsvc import office
    from idsvc import unit_of_work
    from idsvc import web
    from idsvc.audit import documents as audit_documents
    from idsvc.config import check_production
    from idsvc.config import load_config
    from idsvc.eligibility import api as eligibility_api
    from idsvc.identity import receivers as identity_receivers
    from idsvc.identity import views as identity_views
    from idsvc.mydata import views as mydata_views
    from idsvc.oidc import admin_api
    from idsvc.oidc import documents
    from idsvc.oidc import keys
    from idsvc.oidc import receivers as oidc_receivers
    from idsvc.oidc import views as oidc_views
    from idsvc.oidc.server import init_oauth
    from idsvc.oidc.server import verify_access_token
    from idsvc.registry import api as registry_api

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(Path(app.instance_path), config))
    check_production(app.config, serving=serving)
    logs.init_app(app)
    db.init_app(app)
    unit_of_work.init_app(app)
    keys.init_app(app)
    web.init_app(app)
    i18n.init_app(app)
    init_oauth(app)
    api.init_app(app, verify_token=verify_access_token)
    identity_receivers.init_app(app)  # a death in the registry disables the account
    oidc_receivers.init_app(app)  # ended sessions revoke their tokens
    app.register_blueprint(identity_views.bp)
    app.register_blueprint(oidc_views.bp)
    app.register_blueprint(mydata_views.bp)  # the citizen's own pages: who used my data, download
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(registry_api.bp)
    app.register_blueprint(eligibility_api.bp)
    office.init_app(app)
    web.csrf.exempt(admin_api.bp)  # bearer tokens, no cookies: nothing to forge
    web.csrf.exempt(registry_api.bp)
    web.csrf.exempt(eligibility_api.bp)
    errors.register_error_handlers(app)
    documents.init_app(app)
    audit_documents.init_app(app)  # the ledger's public keys
    cli.register_commands(app)
    return app
